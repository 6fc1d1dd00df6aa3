import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { Defaults, MAX_BODY_LIMIT } from '../functions/core/config.js';
import { type ProviderName, ProviderNames } from '../functions/registry.js';

/** Everything an operator may choose about a deployment; every default is production-safe. */
export interface IngressSettings {
  /** Deployment stage, e.g. `prod`: names the stack and its resources. */
  readonly stageName: string;
  /** How long identical redeliveries are recognised (the idempotency records' TTL). */
  readonly idempotencyRetentionDays: number;
  /** Retention of the functions' logs and the API access logs. */
  readonly logRetentionDays: RetentionDays;
  /** Bodies larger than this are answered 413. */
  readonly maxBodyBytes: number;
  /** Accept Sigma's legacy plain SHA-256 signature (the Python sample's variant). */
  readonly sigmaAllowLegacySha256: boolean;
  /** Forward Signifyd test deliveries signed with the team key to the queue. */
  readonly signifydForwardTestEvents: boolean;
  /** Keep each envelope in its idempotency record so the operator CLI can replay it. */
  readonly storeEnvelopes: boolean;
  /** Per provider, the source CIDR ranges allowed to call it; none means any source. */
  readonly sourceAllowlists: Readonly<Partial<Record<ProviderName, readonly string[]>>>;
  /** API Gateway default-stage throttling. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Alarms notify an SNS topic subscribed by this address; none: alarms without actions. */
  readonly alarmEmail: string | undefined;
  /** 401s per provider in 5 minutes that count as a spike. */
  readonly unauthorizedAlarmThreshold: number;
  /** Age of the oldest queued message, in seconds, that means consumers are behind. */
  readonly oldestMessageAlarmSeconds: number;
  /** Deploy the example SQS consumer. */
  readonly exampleConsumer: boolean;
}

export const DefaultSettings: IngressSettings = {
  stageName: 'prod',
  idempotencyRetentionDays: Defaults.retentionDays,
  logRetentionDays: RetentionDays.THREE_MONTHS,
  maxBodyBytes: Defaults.maxBodyBytes,
  sigmaAllowLegacySha256: false,
  signifydForwardTestEvents: false,
  storeEnvelopes: false,
  sourceAllowlists: {},
  throttle: { rateLimit: 100, burstLimit: 200 },
  alarmEmail: undefined,
  unauthorizedAlarmThreshold: 20,
  oldestMessageAlarmSeconds: 3600,
  exampleConsumer: false,
};

/** The CDK context keys (`cdk deploy -c key=value` or cdk.json) that override the defaults. */
export const ContextKeys = {
  stageName: 'stage',
  idempotencyRetentionDays: 'idempotencyRetentionDays',
  logRetentionDays: 'logRetentionDays',
  maxBodyBytes: 'maxBodyBytes',
  sigmaAllowLegacySha256: 'sigmaAllowLegacySha256',
  signifydForwardTestEvents: 'signifydForwardTestEvents',
  storeEnvelopes: 'storeEnvelopes',
  throttleRateLimit: 'throttleRateLimit',
  throttleBurstLimit: 'throttleBurstLimit',
  alarmEmail: 'alarmEmail',
  unauthorizedAlarmThreshold: 'unauthorizedAlarmThreshold',
  oldestMessageAlarmSeconds: 'oldestMessageAlarmSeconds',
  exampleConsumer: 'exampleConsumer',
  /** Followed by the provider, e.g. `sourceAllowlist.signifyd=203.0.113.0/24,198.51.100.7/32`. */
  sourceAllowlistPrefix: 'sourceAllowlist.',
} as const;

/** A setting that cannot be used; names the context key. */
export class SettingsError extends Error {
  constructor(key: string, expected: string) {
    super(`context "${key}" must be ${expected}`);
    this.name = 'SettingsError';
  }
}

const RETENTION_VALUES = new Set<number>(
  Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'),
);
const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;
const CIDR = /^[0-9a-fA-F:.]+\/\d{1,3}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Lookup = (key: string) => unknown;

function integer(lookup: Lookup, key: string, fallback: number, min: number, max: number): number {
  const raw = lookup(key);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SettingsError(key, `a whole number from ${min} to ${max}`);
  }
  return value;
}

function boolean(lookup: Lookup, key: string, fallback: boolean): boolean {
  const raw = lookup(key);
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new SettingsError(key, 'true or false');
}

function list(lookup: Lookup, key: string): string[] | undefined {
  const raw = lookup(key);
  if (raw === undefined) return undefined;
  const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const values = items.map((item) => item.trim()).filter((item) => item.length > 0);
  if (!values.every((value) => CIDR.test(value))) {
    throw new SettingsError(key, 'a list of CIDR ranges such as 203.0.113.0/24');
  }
  return values;
}

/** Reads the settings from a lookup (CDK context), validating each; throws {@link SettingsError}. */
export function readSettings(lookup: Lookup): IngressSettings {
  const d = DefaultSettings;
  const k = ContextKeys;
  const stageName = String(lookup(k.stageName) ?? d.stageName);
  if (!STAGE_NAME.test(stageName)) {
    throw new SettingsError(k.stageName, 'lower-case letters, digits and dashes (at most 20)');
  }
  const logRetentionDays = integer(lookup, k.logRetentionDays, d.logRetentionDays, 1, 3653);
  if (!RETENTION_VALUES.has(logRetentionDays)) {
    throw new SettingsError(k.logRetentionDays, 'a CloudWatch Logs retention (e.g. 30, 90, 365)');
  }
  const alarmEmail = lookup(k.alarmEmail);
  if (alarmEmail !== undefined && (typeof alarmEmail !== 'string' || !EMAIL.test(alarmEmail))) {
    throw new SettingsError(k.alarmEmail, 'an e-mail address');
  }
  const sourceAllowlists: Partial<Record<ProviderName, string[]>> = {};
  for (const provider of ProviderNames) {
    const ranges = list(lookup, `${k.sourceAllowlistPrefix}${provider}`);
    if (ranges?.length) sourceAllowlists[provider] = ranges;
  }
  const rateLimit = integer(lookup, k.throttleRateLimit, d.throttle.rateLimit, 1, 10_000);
  return {
    stageName,
    idempotencyRetentionDays: integer(
      lookup,
      k.idempotencyRetentionDays,
      d.idempotencyRetentionDays,
      1,
      365,
    ),
    logRetentionDays,
    maxBodyBytes: integer(lookup, k.maxBodyBytes, d.maxBodyBytes, 1, MAX_BODY_LIMIT),
    sigmaAllowLegacySha256: boolean(lookup, k.sigmaAllowLegacySha256, d.sigmaAllowLegacySha256),
    signifydForwardTestEvents: boolean(
      lookup,
      k.signifydForwardTestEvents,
      d.signifydForwardTestEvents,
    ),
    storeEnvelopes: boolean(lookup, k.storeEnvelopes, d.storeEnvelopes),
    sourceAllowlists,
    throttle: {
      rateLimit,
      burstLimit: integer(lookup, k.throttleBurstLimit, d.throttle.burstLimit, 1, 5_000),
    },
    alarmEmail: alarmEmail as string | undefined,
    unauthorizedAlarmThreshold: integer(
      lookup,
      k.unauthorizedAlarmThreshold,
      d.unauthorizedAlarmThreshold,
      1,
      100_000,
    ),
    oldestMessageAlarmSeconds: integer(
      lookup,
      k.oldestMessageAlarmSeconds,
      d.oldestMessageAlarmSeconds,
      60,
      14 * 86_400,
    ),
    exampleConsumer: boolean(lookup, k.exampleConsumer, d.exampleConsumer),
  };
}

/** The settings from a construct tree's CDK context. */
export function settingsFromContext(node: Node): IngressSettings {
  return readSettings((key) => node.tryGetContext(key));
}
