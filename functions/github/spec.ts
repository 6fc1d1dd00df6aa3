import type { NoOptions } from '../core/options.js';
import type { HmacSchemeSpec } from '../hmac/options.js';

/** The `github` scheme takes no options: GitHub's format is fixed. */
export type GithubOptions = NoOptions;

/**
 * GitHub (docs.github.com, "Validating webhook deliveries"): `X-Hub-Signature-256:
 * sha256=<hex HMAC-SHA256 of the raw body>` keyed with the webhook secret; key
 * `X-GitHub-Delivery`, which a redelivery keeps; type `X-GitHub-Event`. Neither header
 * is signed and there is no timestamp, so there is no replay window: a captured delivery
 * replayed under a new delivery id would be a new event.
 */
export const GITHUB_SPEC: HmacSchemeSpec = {
  signatureHeader: 'x-hub-signature-256',
  prefix: 'sha256=',
  encoding: 'hex',
  key: { header: 'x-github-delivery' },
  type: { header: 'x-github-event' },
  // GitHub never retries on its own, but deliveries "from the past 3 days" can be
  // redelivered by hand or by script (docs.github.com, "Redelivering webhooks"), with
  // the same X-GitHub-Delivery: the key must outlast that window.
  minRetentionDays: 4,
};
