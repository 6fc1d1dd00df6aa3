import type { ProviderDeclaration } from '../../functions/providers.js';
import { declaredSampler, uuidOf } from './declared.js';
import type { ProviderSampler, SampleOptions } from './types.js';

/** Shopify's REST ids pass 2^53: written as JSON numbers, read exactly only as text. */
const restId = (base: bigint, sequence: number) => String(base + BigInt(sequence));
const API_VERSION = '2025-07';
const SHOP = 'acme-demo.myshopify.com';

/** The `admin_graphql_api_id` resource of a topic: `orders/create` → `Order`. */
function resource(topic: string): string {
  const plural = topic.split('/')[0] ?? 'orders';
  const singular = plural.endsWith('ies') ? `${plural.slice(0, -3)}y` : plural.replace(/s$/, '');
  return singular
    .split('_')
    .map((part) => `${part.charAt(0).toUpperCase()}${part.slice(1)}`)
    .join('');
}

/** A body for `topic`, shaped as Shopify's REST resources (an order by default). */
function payload(topic: string, { sequence, now }: SampleOptions): string {
  const name = resource(topic);
  const id = restId(
    name === 'Order' ? 820_982_911_946_154_508n : 632_910_392_000_000_000n,
    sequence,
  );
  const time = now.toISOString();
  // The id as a JSON number, written by hand: JSON.stringify cannot write a 64-bit integer.
  const head = `{"id":${id},"admin_graphql_api_id":"gid://shopify/${name}/${id}"`;
  if (name !== 'Order') {
    return `${head},"created_at":"${time}","updated_at":"${time}"}`;
  }
  const price = (19.99 + (sequence % 40)).toFixed(2);
  const rest = JSON.stringify({
    name: `#${1001 + sequence}`,
    email: `customer+${sequence}@example.com`,
    created_at: time,
    updated_at: time,
    currency: 'EUR',
    financial_status: topic === 'orders/paid' ? 'paid' : 'pending',
    total_price: price,
    line_items: [{ title: 'Aviator sunglasses', quantity: 1, price, sku: `SKU-${sequence % 7}` }],
  });
  return `${head},${rest.slice(1)}`;
}

/**
 * Shopify (shopify.dev, "Webhooks delivery structure"): an order for `orders/create` by
 * default, with `X-Shopify-Topic`, `X-Shopify-Event-Id` (shared by every delivery of the
 * merchant's action, so a redelivery keeps it), `X-Shopify-Hmac-Sha256` (base64 HMAC of
 * the body with the app's client secret), the shop's domain and the API version.
 */
export function shopifySampler(declaration: ProviderDeclaration): ProviderSampler<string> {
  return declaredSampler(declaration, {
    sampleBody: (options) => payload(options.topic ?? 'orders/create', options),
    headerType: (options) => options.topic ?? 'orders/create',
    extraHeaders: (id) => ({
      'x-shopify-shop-domain': SHOP,
      'x-shopify-api-version': API_VERSION,
      'x-shopify-webhook-id': uuidOf(Buffer.from(`webhook:${id}`)),
    }),
  });
}
