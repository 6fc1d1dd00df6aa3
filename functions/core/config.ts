import { SourceAllowlist } from './cidr.js';
import { ConfigurationError } from './errors.js';
import type { ProviderName } from './names.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Environment variable names the functions read; the CDK stack sets the same names. */
export const EnvNames = {
  tableName: 'WEBHOOK_TABLE_NAME',
  queueUrl: 'WEBHOOK_QUEUE_URL',
  archiveQueueUrl: 'WEBHOOK_ARCHIVE_QUEUE_URL',
  archiveBucket: 'WEBHOOK_ARCHIVE_BUCKET',
  archivePrefix: 'WEBHOOK_ARCHIVE_PREFIX',
  /** The archiver's queues: `<provider>=<queue ARN>` pairs, comma-separated (`*` for the shared queue). */
  archiveSources: 'WEBHOOK_ARCHIVE_SOURCES',
  /**
   * The idempotency table and its retention, as the archiver reads them to settle each
   * attempt: variables of its own, since `WEBHOOK_TABLE_NAME` marks a function that writes it.
   */
  archiveLedgerTable: 'WEBHOOK_ARCHIVE_LEDGER_TABLE',
  archiveLedgerRetentionDays: 'WEBHOOK_ARCHIVE_LEDGER_RETENTION_DAYS',
  secretId: 'WEBHOOK_SECRET_ID',
  secretMaxAgeSeconds: 'WEBHOOK_SECRET_MAX_AGE_SECONDS',
  maxBodyBytes: 'WEBHOOK_MAX_BODY_BYTES',
  retentionDays: 'WEBHOOK_RETENTION_DAYS',
  leaseSeconds: 'WEBHOOK_LEASE_SECONDS',
  sourceAllowlist: 'WEBHOOK_SOURCE_ALLOWLIST',
  pathPrefix: 'WEBHOOK_PATH_PREFIX',
  /** A declared provider's function: its entry of the `providers` list, as JSON. */
  provider: 'WEBHOOK_PROVIDER',
  // Read by the SDK clients (functions/core/aws.ts), as the SDK itself reads them.
  region: 'AWS_REGION',
  dynamodbEndpoint: 'AWS_ENDPOINT_URL_DYNAMODB',
  sqsEndpoint: 'AWS_ENDPOINT_URL_SQS',
  secretsManagerEndpoint: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  s3Endpoint: 'AWS_ENDPOINT_URL_S3',
} as const;

export const Defaults = {
  maxBodyBytes: 256 * 1024,
  retentionDays: 7,
  leaseSeconds: 10,
  secretMaxAgeSeconds: 300,
} as const;

/** SQS takes 1 MiB messages; the envelope adds a few hundred bytes to the body. */
export const MAX_BODY_LIMIT = 1_000_000;

/** Everything a provider function needs, read once at cold start. */
export interface IngressConfig {
  readonly provider: ProviderName;
  readonly tableName: string;
  readonly queueUrl: string;
  /** The audit archive's queue; unset turns the archive off for this function. */
  readonly archiveQueueUrl: string | undefined;
  /** Set in AWS: the provider's Secrets Manager secret. Unset: secrets come from the environment. */
  readonly secretId: string | undefined;
  readonly secretMaxAgeSeconds: number;
  readonly maxBodyBytes: number;
  readonly retentionDays: number;
  /** Claim lease when the invocation's remaining time is unknown. */
  readonly leaseSeconds: number;
  readonly sourceAllowlist: SourceAllowlist | undefined;
  /** A custom domain's API mapping path, taken off request paths before routing. */
  readonly pathPrefix: string | undefined;
}

function present(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A required setting; throws {@link ConfigurationError} naming it. */
export function readRequired(env: Env, name: string): string {
  const value = present(env, name);
  if (value === undefined) throw new ConfigurationError(`${name} is not set`);
  return value;
}

/** A whole number within bounds, or the default when unset. */
export function readInteger(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = present(env, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** `true`/`false` (also 1/0, yes/no), or the default when unset. */
export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const text = present(env, name)?.toLowerCase();
  if (text === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  throw new ConfigurationError(`${name} must be true or false`);
}

/** A comma-separated list; empty when unset. */
export function readList(env: Env, name: string): string[] {
  return (present(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Reads and checks a provider function's configuration. Throws {@link ConfigurationError}. */
export function loadConfig(
  provider: ProviderName,
  env: Env,
  options: { minRetentionDays?: number } = {},
): IngressConfig {
  const minRetention = options.minRetentionDays ?? 1;
  const ranges = readList(env, EnvNames.sourceAllowlist);
  return {
    provider,
    tableName: readRequired(env, EnvNames.tableName),
    queueUrl: readRequired(env, EnvNames.queueUrl),
    archiveQueueUrl: present(env, EnvNames.archiveQueueUrl),
    secretId: present(env, EnvNames.secretId),
    secretMaxAgeSeconds: readInteger(
      env,
      EnvNames.secretMaxAgeSeconds,
      Defaults.secretMaxAgeSeconds,
      0,
      86_400,
    ),
    maxBodyBytes: readInteger(env, EnvNames.maxBodyBytes, Defaults.maxBodyBytes, 1, MAX_BODY_LIMIT),
    retentionDays: readInteger(
      env,
      EnvNames.retentionDays,
      Math.max(Defaults.retentionDays, minRetention),
      minRetention,
      365,
    ),
    leaseSeconds: readInteger(env, EnvNames.leaseSeconds, Defaults.leaseSeconds, 1, 900),
    sourceAllowlist: ranges.length > 0 ? new SourceAllowlist(ranges) : undefined,
    pathPrefix: readPathPrefix(env, EnvNames.pathPrefix),
  };
}

/** `/segment[/segment…]` without a trailing slash, or undefined when unset. */
export function readPathPrefix(env: Env, name: string): string | undefined {
  const text = present(env, name);
  if (text === undefined) return undefined;
  const prefix = `/${text.replace(/^\/+|\/+$/g, '')}`;
  if (prefix === '/') return undefined;
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    throw new ConfigurationError(`${name} must be a path such as /ingress`);
  }
  return prefix;
}

/** The archiver function's configuration, read once at cold start. */
export interface ArchiverConfig {
  readonly bucket: string;
  /** Key prefix without slashes at either end; empty puts partitions at the bucket's root. */
  readonly prefix: string;
  /** The idempotency table the archiver settles each attempt against. */
  readonly tableName: string;
  /** The deduplication window, days: how long an attempt's record can still be read. */
  readonly retentionDays: number;
  /** The provider each archive queue serves, by queue ARN (`*`: the shared queue of earlier versions). */
  readonly sources: ReadonlyMap<string, string>;
}

/** Reads and checks the archiver's configuration. Throws {@link ConfigurationError}. */
export function loadArchiverConfig(env: Env): ArchiverConfig {
  const prefix = (present(env, EnvNames.archivePrefix) ?? 'events').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && !/^[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/.test(prefix)) {
    throw new ConfigurationError(`${EnvNames.archivePrefix} must be a key prefix such as events`);
  }
  const sources = new Map<string, string>();
  for (const pair of readList(env, EnvNames.archiveSources)) {
    const split = pair.indexOf('=');
    const provider = pair.slice(0, split);
    const arn = pair.slice(split + 1);
    if (split < 1 || !/^(\*|[a-z][a-z0-9-]{0,63})$/.test(provider) || !arn.startsWith('arn:')) {
      throw new ConfigurationError(
        `${EnvNames.archiveSources} must list <provider>=<queue ARN> pairs, comma-separated`,
      );
    }
    sources.set(arn, provider);
  }
  if (sources.size === 0) throw new ConfigurationError(`${EnvNames.archiveSources} is not set`);
  return {
    bucket: readRequired(env, EnvNames.archiveBucket),
    prefix,
    tableName: readRequired(env, EnvNames.archiveLedgerTable),
    retentionDays: readInteger(
      env,
      EnvNames.archiveLedgerRetentionDays,
      Defaults.retentionDays,
      1,
      365,
    ),
    sources,
  };
}
