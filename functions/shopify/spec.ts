import type { NoOptions } from '../core/options.js';
import type { HmacSchemeSpec } from '../hmac/options.js';

/** The `shopify` scheme takes no options: Shopify's format is fixed. */
export type ShopifyOptions = NoOptions;

/**
 * Shopify HTTPS webhooks (shopify.dev, "Webhooks delivery structure"):
 * `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body keyed with the app's
 * client secret; type `X-Shopify-Topic`. The key is `<topic>:<X-Shopify-Event-Id>`:
 * Shopify's "Ignore duplicate webhooks" names the event id as the header whose repeat
 * marks a duplicate, and its delivery-structure page says one merchant action shares
 * that id across its deliveries — so the topic keeps two topics of one action apart
 * (one key for both would refuse the second as a `409 conflict`). `X-Shopify-Triggered-At`
 * is not signed, so there is no replay window.
 */
export const SHOPIFY_SPEC: HmacSchemeSpec = {
  signatureHeader: 'x-shopify-hmac-sha256',
  encoding: 'base64',
  key: { header: 'x-shopify-event-id' },
  keyPerType: true,
  type: { header: 'x-shopify-topic' },
  // The GraphQL id first: REST ids pass 2^53 and arrive rounded.
  subjectFields: ['admin_graphql_api_id', 'id'],
  // Shopify retries a failed delivery 8 times over 4 hours (shopify.dev changelog,
  // "Updates to webhook retry mechanism", 2024-09-10).
  minRetentionDays: 1,
};
