/** Sigma's routes, header and environment names, shared with infra/ (no runtime dependency). */
export const SigmaProducts = ['transaction-monitoring', 'aml', 'cdd'] as const;
export type SigmaProduct = (typeof SigmaProducts)[number];

export const SIGMA_ROUTE_PREFIX = '/webhooks/sigma/';
export const SIGMA_SIGNATURE_HEADER = 'x-signature';
export const SigmaEnvNames = {
  apiKey: 'SIGMA_API_KEY',
  apiSecret: 'SIGMA_API_SECRET',
  businessId: 'SIGMA_BUSINESS_ID',
  /** Also accept the plain SHA-256 of the docs' Python sample. Off by default. */
  allowLegacySha256: 'SIGMA_ALLOW_LEGACY_SHA256',
} as const;
