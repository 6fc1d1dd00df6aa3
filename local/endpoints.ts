/**
 * What the local ingress publishes (`.local/endpoints.json`) and the values it runs with,
 * apart from the code that starts it: the operator CLI reads these, with no emulator.
 */
import type { Env } from '../functions/core/config.js';
import type { ProviderName } from '../functions/provider-names.js';
import {
  type ProviderDeclaration,
  providerDemoSecrets,
  SEED_PROVIDERS,
} from '../functions/providers.js';
import type { LocalArchiveEndpoints } from './archiver.js';

/** Demo secrets used when the contract's variables are unset; printed by `npm start`. */
export const DEMO_SECRETS = {
  SIGMA_API_KEY: 'demo-sigma-api-key',
  SIGMA_API_SECRET: 'demo-sigma-api-secret',
  SIGMA_BUSINESS_ID: 'demo-sigma-business-id',
  SIGMATE_WEBHOOK_SECRET: 'demo-sigmate-webhook-secret',
  SIGNIFYD_API_KEY: 'demo-signifyd-api-key',
} as const;

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_TABLE = 'webhook-ingress-idempotency';
/** Local stand-ins for credentials: the emulators accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
/** The function timeout the CDK stack sets: under Sigmate's 5 s. */
export const LOCAL_FUNCTION_TIMEOUT_MS = 4_000;

/** The contract's `.local/endpoints.json`. */
export interface LocalEndpoints {
  readonly api: string;
  readonly region: string;
  readonly dynamodb: string;
  readonly sqs: string;
  readonly table: string;
  readonly queues: Record<ProviderName, string>;
  readonly deadLetterQueues: Record<ProviderName, string>;
  /**
   * Each served provider's declaration, `{ name, scheme, …options }` (an extra key the
   * contract allows); files written before it serve the seed providers.
   */
  readonly providers?: Record<ProviderName, Record<string, unknown>>;
  /** The audit archive (an extra key the contract allows); absent when the archive is off. */
  readonly archive?: LocalArchiveEndpoints;
}

/**
 * The local environment: the caller's settings, with demo values for the unset secrets of
 * every provider served (`<NAME>_WEBHOOK_SECRET`, the seeds' own variables); printed by
 * `npm start`.
 */
export function localEnv(
  env: Env,
  providers: readonly ProviderDeclaration[] = SEED_PROVIDERS,
): Env {
  const merged: Record<string, string | undefined> = { ...env };
  for (const provider of providers) {
    for (const [name, value] of Object.entries(providerDemoSecrets(provider))) {
      if (!merged[name]?.trim()) merged[name] = value;
    }
  }
  return merged;
}

/** A served provider's queue (or dead-letter queue) URL; throws when the file names none. */
export function queueUrlOf(
  endpoints: Pick<LocalEndpoints, 'queues' | 'deadLetterQueues'>,
  provider: ProviderName,
  which: 'queues' | 'deadLetterQueues' = 'queues',
): string {
  const url = endpoints[which][provider];
  if (url === undefined) throw new Error(`the local ingress serves no provider "${provider}"`);
  return url;
}
