import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { isAmbiguousFailure } from './aws.js';
import { ConfigurationError, DependencyError, SecretMisconfiguredError } from './errors.js';
import type { CallOptions } from './idempotency.js';

/** Where a provider's verification secrets come from. Values are never logged. */
export interface SecretSource<TSecrets> {
  /** The current secrets, from cache when fresh. Throws {@link DependencyError}. */
  get(options?: CallOptions): Promise<TSecrets>;
  /**
   * Fetches again, bypassing the cache, when a signature failed against cached
   * secrets that may predate a rotation. Undefined when nothing new can be had.
   */
  refresh(options?: CallOptions): Promise<TSecrets | undefined>;
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
  readonly client: SecretsManagerClient;
  readonly secretId: string;
  /** Turns the secret's JSON into secrets; throws ConfigurationError naming fields, never values. */
  readonly parse: (value: unknown) => TSecrets;
  /** The expected JSON, with placeholders, for the misconfiguration message. */
  readonly expectedShape: string;
  /** How long a fetched value is served from memory. Default 300 s. */
  readonly maxAgeSeconds?: number;
  /** How long a failed fetch or an unusable secret is answered from memory. Default 5 s. */
  readonly failureCacheSeconds?: number;
  /** The least time between two forced refreshes, so a flood of bad signatures cannot flood Secrets Manager. */
  readonly minRefreshIntervalMs?: number;
  readonly now?: () => number;
}

type Fetched<TSecrets> =
  | { readonly ok: true; readonly secrets: TSecrets; readonly until: number }
  | { readonly ok: false; readonly error: DependencyError; readonly until: number };

/**
 * A provider's secret in Secrets Manager, read with the SDK's `SecretsManagerClient` and
 * cached per container. Every error it raises is written by this class: a parser's
 * message, which can quote the text it failed on, never leaves it. A failure is kept
 * `failureCacheSeconds`, so a misconfigured secret costs one call per few seconds, not
 * one per request. Calls take the caller's abort signal (the invocation's budget).
 */
export class SecretsManagerSource<TSecrets> implements SecretSource<TSecrets> {
  private current: Fetched<TSecrets> | undefined;
  private inFlight: Promise<Fetched<TSecrets>> | undefined;
  private lastForcedFetch = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: SecretsManagerSourceOptions<TSecrets>) {
    this.now = options.now ?? Date.now;
  }

  async get(options: CallOptions = {}): Promise<TSecrets> {
    const current = this.current;
    const fetched =
      current !== undefined && current.until > this.now() ? current : await this.fetch(options);
    if (!fetched.ok) throw fetched.error;
    return fetched.secrets;
  }

  async refresh(options: CallOptions = {}): Promise<TSecrets | undefined> {
    const now = this.now();
    if (now - this.lastForcedFetch < (this.options.minRefreshIntervalMs ?? 30_000)) {
      return undefined;
    }
    this.lastForcedFetch = now;
    const fetched = await this.fetch(options);
    // A failed refetch is a failed dependency (503, retried), not a wrong signature (401).
    if (!fetched.ok) throw fetched.error;
    return fetched.secrets;
  }

  /** One fetch at a time per container; concurrent callers share it. */
  private fetch(options: CallOptions): Promise<Fetched<TSecrets>> {
    this.inFlight ??= this.read(options).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(options: CallOptions): Promise<Fetched<TSecrets>> {
    let output: GetSecretValueCommandOutput;
    try {
      output = await this.options.client.send(
        new GetSecretValueCommand({ SecretId: this.options.secretId }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      // The store's own error names the secret and the reason; it carries no secret value.
      const failure = new DependencyError(
        'secrets',
        `secret ${this.options.secretId} could not be read`,
        { cause: error, ambiguous: isAmbiguousFailure(error) },
      );
      // A caller's budget running out says nothing about the store: not kept for others.
      if (options.signal?.aborted) return { ok: false, error: failure, until: this.now() };
      return this.remember({ ok: false, error: failure });
    }
    const parsed = this.parse(output);
    return this.remember(
      parsed instanceof DependencyError
        ? { ok: false, error: parsed }
        : { ok: true, secrets: parsed },
    );
  }

  /** The secrets, or an error whose message holds nothing derived from the secret's value. */
  private parse(output: GetSecretValueCommandOutput): TSecrets | DependencyError {
    const misconfigured = (problem: string) =>
      new SecretMisconfiguredError(this.options.secretId, problem, this.options.expectedShape);
    const text =
      output.SecretString ??
      (output.SecretBinary === undefined
        ? undefined
        : Buffer.from(output.SecretBinary).toString('utf8'));
    if (text === undefined || text.trim() === '') return misconfigured('the secret has no value');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return misconfigured('the value is not JSON');
    }
    try {
      return this.options.parse(value);
    } catch (error) {
      // Adapters name fields, never values; anything else is reported without its message.
      return misconfigured(
        error instanceof ConfigurationError
          ? error.message
          : 'the value does not have the expected shape',
      );
    }
  }

  private remember(
    fetched:
      | { readonly ok: true; readonly secrets: TSecrets }
      | { readonly ok: false; readonly error: DependencyError },
  ): Fetched<TSecrets> {
    const seconds = fetched.ok
      ? (this.options.maxAgeSeconds ?? 300)
      : (this.options.failureCacheSeconds ?? 5);
    const entry = { ...fetched, until: this.now() + seconds * 1000 } as Fetched<TSecrets>;
    // A failed forced refresh does not replace secrets that still work.
    if (
      fetched.ok ||
      this.current === undefined ||
      !this.current.ok ||
      this.current.until <= this.now()
    ) {
      this.current = entry;
    }
    return entry;
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
