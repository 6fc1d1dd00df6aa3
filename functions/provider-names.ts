/** The providers this build serves: one folder each under `functions/`. */
export const ProviderNames = ['sigma', 'sigmate', 'signifyd'] as const;
export type ProviderName = (typeof ProviderNames)[number];
