import type { ProviderAdapter } from '../core/provider.js';
import type { Clock, SecretList } from '../core/scheme.js';
import { createHmacSchemeAdapter } from '../hmac/adapter.js';
import { SHOPIFY_SPEC, type ShopifyOptions } from './spec.js';

/** A Shopify webhook provider under a declared name. */
export function createShopifyAdapter(
  name: string,
  _options: ShopifyOptions = {},
  now: Clock = Date.now,
): ProviderAdapter<SecretList> {
  return createHmacSchemeAdapter(name, SHOPIFY_SPEC, now);
}
