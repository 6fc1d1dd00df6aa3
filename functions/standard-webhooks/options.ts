import type { ToleranceOptions } from '../core/options.js';

/** The `standard-webhooks` scheme's options: its replay window (default 300 s, the spec libraries'). */
export type StandardWebhooksOptions = ToleranceOptions;

export const STANDARD_WEBHOOKS_SECRET_SHAPE = '{"secrets":["whsec_…","whpk_…"]}';
/**
 * The spec's example schedule retries for 75.5 hours (Svix's own: about 27.6 hours,
 * docs.svix.com "Retry Schedule"); four days covers either.
 */
export const STANDARD_WEBHOOKS_MIN_RETENTION_DAYS = 4;
