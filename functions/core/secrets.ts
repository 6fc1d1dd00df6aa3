import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, DependencyError } from './errors.js';

/** Where a provider's verification secrets come from. Values are never logged. */
export interface SecretSource<TSecrets> {
  /** The current secrets, from cache when fresh. Throws {@link DependencyError}. */
  get(): Promise<TSecrets>;
  /**
   * Fetches again, bypassing the cache, when a signature failed against cached
   * secrets that may predate a rotation. Undefined when nothing new can be had.
   */
  refresh(): Promise<TSecrets | undefined>;
}

/** Secrets fixed at start-up (local mode: from the environment). */
export class StaticSecretSource<TSecrets> implements SecretSource<TSecrets> {
  constructor(private readonly secrets: TSecrets) {}

  async get(): Promise<TSecrets> {
    return this.secrets;
  }

  async refresh(): Promise<TSecrets | undefined> {
    return undefined;
  }
}

export interface SecretsManagerSourceOptions<TSecrets> {
  readonly secretId: string;
  readonly parse: (value: unknown) => TSecrets;
  readonly client?: SecretsManagerClient;
  /** How long a fetched value is served from memory. */
  readonly maxAgeSeconds?: number;
  /** The least time between two forced refreshes, so a flood of bad signatures cannot flood Secrets Manager. */
  readonly minRefreshIntervalMs?: number;
  readonly now?: () => number;
}

/** Secrets Manager through Powertools Parameters, cached per container. */
export class SecretsManagerSource<TSecrets> implements SecretSource<TSecrets> {
  private readonly provider: SecretsProvider;
  private lastForcedFetch = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SecretsManagerSourceOptions<TSecrets>) {
    this.provider = options.client
      ? new SecretsProvider({ awsSdkV3Client: options.client })
      : new SecretsProvider();
  }

  async get(): Promise<TSecrets> {
    return this.fetch(false);
  }

  async refresh(): Promise<TSecrets | undefined> {
    const now = (this.options.now ?? Date.now)();
    if (now - this.lastForcedFetch < (this.options.minRefreshIntervalMs ?? 30_000))
      return undefined;
    this.lastForcedFetch = now;
    return this.fetch(true);
  }

  private async fetch(forceFetch: boolean): Promise<TSecrets> {
    let value: unknown;
    try {
      value = await this.provider.get(this.options.secretId, {
        maxAge: this.options.maxAgeSeconds ?? 300,
        forceFetch,
        transform: 'json',
      });
    } catch (error) {
      throw new DependencyError('secrets', 'the secret store could not be read', { cause: error });
    }
    if (value === undefined) {
      throw new DependencyError('secrets', 'the secret has no value');
    }
    try {
      return this.options.parse(value);
    } catch (error) {
      // A malformed secret is an operator error, but retrying after it is fixed must work: 503.
      throw new DependencyError('secrets', 'the secret does not have the documented shape', {
        cause: error,
      });
    }
  }
}

/** Splits a comma-separated setting or accepts a list; trims and drops empties. */
export function secretList(value: unknown, name: string): string[] {
  const items =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value) && value.every((item) => typeof item === 'string')
        ? (value as string[])
        : undefined;
  if (items === undefined)
    throw new ConfigurationError(`${name} must be a string or a list of strings`);
  const values = items.map((item) => item.trim()).filter((item) => item.length > 0);
  if (values.length === 0) throw new ConfigurationError(`${name} has no value`);
  return values;
}
