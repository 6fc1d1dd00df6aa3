/**
 * A provider's name as configured (`providers` entries): routes, queues, records, logs.
 * Any name the contract allows; functions/providers.ts checks them.
 */
export type ProviderName = string;

/** The three seed providers, served under their own names when no `providers` list is given. */
export const ProviderNames = ['sigma', 'sigmate', 'signifyd'] as const;
