import type { ToleranceOptions } from '../core/options.js';

/** The `stripe` scheme's options: its replay window (default 300 s, as Stripe's libraries). */
export type StripeOptions = ToleranceOptions;

/** Stripe shows endpoint secrets with this prefix and signs with the whole string. */
export const STRIPE_SECRET_PREFIX = 'whsec_';
export const STRIPE_SECRET_SHAPE = '{"secrets":["whsec_…"]}';
/**
 * Live mode retries "for up to three days with an exponential back off"
 * (docs.stripe.com, "Webhooks: automatic retries"); a day of margin.
 */
export const STRIPE_MIN_RETENTION_DAYS = 4;
