import { DependencyError } from '../errors.js';
import type { SecretSource } from '../secrets.js';
import type { JsonCaller } from './client.js';

interface GetSecretValueOutput {
  readonly SecretString?: string;
  /** Base64 in the JSON protocol. */
  readonly SecretBinary?: string;
}

export interface LeanSecretsManagerSourceOptions<TSecrets> {
  readonly client: JsonCaller;
  readonly secretId: string;
  readonly parse: (value: unknown) => TSecrets;
  /** How long a fetched value is served from memory. Default 300 s. */
  readonly maxAgeSeconds?: number;
  /** The least time between two forced refreshes, so a flood of bad signatures cannot flood Secrets Manager. */
  readonly minRefreshIntervalMs?: number;
  readonly now?: () => number;
}

interface CacheEntry<TSecrets> {
  readonly value: unknown;
  readonly expiresAt: number;
  parsed?: TSecrets;
}

/**
 * Secrets Manager on the lean JSON client, with the caching of `SecretsManagerSource`:
 * a JSON value kept `maxAgeSeconds`, forced refreshes rate-limited, failures not cached.
 */
export class LeanSecretsManagerSource<TSecrets> implements SecretSource<TSecrets> {
  private cache: CacheEntry<TSecrets> | undefined;
  private lastForcedFetch = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: LeanSecretsManagerSourceOptions<TSecrets>) {
    this.now = options.now ?? Date.now;
  }

  async get(): Promise<TSecrets> {
    const cached = this.cache;
    if (cached !== undefined && cached.expiresAt > this.now()) return this.parse(cached);
    return this.parse(await this.fetch());
  }

  async refresh(): Promise<TSecrets | undefined> {
    const now = this.now();
    if (now - this.lastForcedFetch < (this.options.minRefreshIntervalMs ?? 30_000))
      return undefined;
    this.lastForcedFetch = now;
    return this.parse(await this.fetch());
  }

  private async fetch(): Promise<CacheEntry<TSecrets>> {
    let value: unknown;
    try {
      const output = await this.options.client.call<GetSecretValueOutput>('GetSecretValue', {
        SecretId: this.options.secretId,
      });
      const text =
        output.SecretString ??
        (output.SecretBinary === undefined
          ? undefined
          : Buffer.from(output.SecretBinary, 'base64').toString('utf8'));
      value = text === undefined ? undefined : JSON.parse(text);
    } catch (error) {
      throw new DependencyError('secrets', 'the secret store could not be read', { cause: error });
    }
    if (value === undefined) {
      throw new DependencyError('secrets', 'the secret has no value');
    }
    const entry = { value, expiresAt: this.now() + (this.options.maxAgeSeconds ?? 300) * 1000 };
    this.cache = entry;
    return entry;
  }

  private parse(entry: CacheEntry<TSecrets>): TSecrets {
    if (entry.parsed !== undefined) return entry.parsed;
    try {
      entry.parsed = this.options.parse(entry.value);
      return entry.parsed;
    } catch (error) {
      // A malformed secret is an operator error, but retrying after it is fixed must work: 503.
      throw new DependencyError('secrets', 'the secret does not have the documented shape', {
        cause: error,
      });
    }
  }
}
