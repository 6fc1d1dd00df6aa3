import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Defaults, MAX_BODY_LIMIT } from '../functions/core/config.js';
import type { ProviderName } from '../functions/provider-names.js';
import {
  type ProviderDeclaration,
  providerMinRetentionDays,
  SEED_PROVIDERS,
} from '../functions/providers.js';

/** API Gateway throttling of one route: steady requests per second and burst. */
export interface RouteThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** The routes throttled separately: each provider's, and `default` for every other path. */
export type ThrottledRoute = ProviderName | 'default';

/** A custom domain for stable provider URLs, as plain values (CDK context). */
export interface CustomDomainSettings {
  /** e.g. `webhooks.example.com`; an ACM certificate in the stack's region must cover it. */
  readonly domainName: string;
  readonly certificateArn: string;
  /** Route 53 hosted zone to create the alias records in; unset: point a CNAME yourself. */
  readonly hostedZone: { readonly id: string; readonly name: string } | undefined;
  /** API mapping path such as `ingress` (URLs become `https://domain/ingress/webhooks/…`). */
  readonly mappingPath: string | undefined;
}

/** Everything an operator may choose about a deployment; every default is production-safe. */
export interface IngressSettings {
  /** Deployment stage, e.g. `prod`: names the stack and its resources. */
  readonly stageName: string;
  /**
   * The providers served, each `{ name, scheme, …options }` (functions/providers.ts);
   * default the three seed providers under their own names.
   */
  readonly providers: readonly ProviderDeclaration[];
  /**
   * How long identical redeliveries are recognised (the idempotency records' TTL), in
   * days: at least 7 while Sigma is deployed (it publishes no retry horizon), at most 14
   * (the queues must keep an event at least as long, and SQS keeps 14 days at most).
   */
  readonly idempotencyRetentionDays: number;
  /** How long the queues keep an unconsumed event; unset: the idempotency retention. */
  readonly queueRetentionDays: number | undefined;
  /** Retention of the functions' logs and the API access logs. */
  readonly logRetentionDays: RetentionDays;
  /** Bodies larger than this are answered 413. */
  readonly maxBodyBytes: number;
  /** Accept Sigma's legacy plain SHA-256 signature (the Python sample's variant). */
  readonly sigmaAllowLegacySha256: boolean;
  /** Forward Signifyd test deliveries signed with the team key to the queue. */
  readonly signifydForwardTestEvents: boolean;
  /**
   * @deprecated Retired: replay and `find` read the audit archive, and the functions no
   * longer keep envelopes in the idempotency table. Accepted so existing configurations
   * still synthesize; `true` gets a synth warning and has no effect.
   */
  readonly storeEnvelopes: boolean;
  /** Per provider, the source CIDR ranges allowed to call it; none means any source. */
  readonly sourceAllowlists: Readonly<Partial<Record<ProviderName, readonly string[]>>>;
  /** API Gateway throttling of each route that has no limit of its own below. */
  readonly throttle: RouteThrottle;
  /** Per route: a provider's URLs, or `default` (unknown paths: scanners). */
  readonly routeThrottles: Readonly<Partial<Record<ThrottledRoute, RouteThrottle>>>;
  /** Per provider, Lambda reserved concurrency; unset: the account's unreserved pool. */
  readonly reservedConcurrency: Readonly<Partial<Record<ProviderName, number>>>;
  /** Alarms notify an SNS topic subscribed by this address. */
  readonly alarmEmail: string | undefined;
  /** Alarms also notify this existing SNS topic. */
  readonly alarmTopicArn: string | undefined;
  /** 401s per provider in 5 minutes that count as a spike. */
  readonly unauthorizedAlarmThreshold: number;
  /** Age of the oldest queued message, in seconds, that means consumers are behind. */
  readonly oldestMessageAlarmSeconds: number;
  /** A customer-managed KMS key for the table, queues, secrets and log groups. */
  readonly kmsKeyArn: string | undefined;
  readonly customDomain: CustomDomainSettings | undefined;
  /** Deploy the example SQS consumer. */
  readonly exampleConsumer: boolean;
  /** The audit archive in S3 (docs/decisions.md §15): every acknowledged event, before its 2xx. */
  readonly archive: boolean;
  /** How long archived events are kept, in days (then expired by the lifecycle). */
  readonly archiveRetentionDays: number;
  /** S3 Object Lock on the archive: `off`, `governance` or `compliance` (for the retention). */
  readonly archiveObjectLock: ArchiveObjectLock;
  /**
   * Whether the archive bucket was created with S3 Object Lock. Fixed for the bucket's
   * life: CloudFormation replaces the bucket when it changes, so changing it means moving
   * to a new bucket (README, "Switch Object Lock"); a lock mode other than `off` needs it.
   */
  readonly archiveObjectLockEnabled: boolean;
  /**
   * Archive buckets this one replaced (bucket names): kept reachable by `replay`/`find`
   * (output `ArchivePreviousBucketNames`), readable by the operator, queryable in Athena.
   */
  readonly archivePreviousBuckets: readonly string[];
  /** S3 server access logs of the archive bucket, to a bucket of their own. */
  readonly archiveAccessLogging: boolean;
  /**
   * Edge protection (infra/edge.ts, docs/decisions.md "Edge protection"): a REST API with
   * an AWS WAF web ACL replaces the HTTP API, so each source is rate limited and the
   * source allowlists are enforced before a request reaches a provider's throttle.
   */
  readonly edgeProtection: boolean;
  /** With edge protection: requests one source may send to one provider's URLs per window. */
  readonly edgeRateLimit: number;
  /** Per provider, its own per-source limit instead of {@link edgeRateLimit}. */
  readonly edgeRateLimits: Readonly<Partial<Record<ProviderName, number>>>;
  /** The window WAF counts each source's requests over: 60, 120, 300 or 600 seconds. */
  readonly edgeRateWindowSeconds: EdgeRateWindow;
}

/** The evaluation windows AWS WAF's rate-based rules accept, in seconds. */
export const EdgeRateWindows = [60, 120, 300, 600] as const;
export type EdgeRateWindow = (typeof EdgeRateWindows)[number];

/** Object Lock modes of the archive: compliance cannot be shortened or lifted by anyone. */
export const ArchiveObjectLockModes = ['off', 'governance', 'compliance'] as const;
export type ArchiveObjectLock = (typeof ArchiveObjectLockModes)[number];

/** Bounds shared by the context reader and the construct's own checks. */
export const Limits = {
  /** SQS keeps a message 14 days at most, and the queues keep at least the retention. */
  maxRetentionDays: 14,
  throttleRate: 10_000,
  throttleBurst: 5_000,
  reservedConcurrency: 1_000,
  /** 100 years: S3 Object Lock's own ceiling is far above, a typo's is not. */
  archiveRetentionDays: 36_500,
  /** AWS WAF's lowest rate-based limit, and its highest. */
  edgeRateLimitMin: 10,
  edgeRateLimitMax: 2_000_000_000,
} as const;

/** Unknown paths are scanners: a low limit of their own keeps them off the providers' budget. */
export const DEFAULT_ROUTE_THROTTLE: RouteThrottle = { rateLimit: 10, burstLimit: 20 };

export const DefaultSettings: IngressSettings = {
  stageName: 'prod',
  providers: SEED_PROVIDERS,
  idempotencyRetentionDays: Defaults.retentionDays,
  queueRetentionDays: undefined,
  logRetentionDays: RetentionDays.THREE_MONTHS,
  maxBodyBytes: Defaults.maxBodyBytes,
  sigmaAllowLegacySha256: false,
  signifydForwardTestEvents: false,
  storeEnvelopes: false,
  sourceAllowlists: {},
  throttle: { rateLimit: 100, burstLimit: 200 },
  routeThrottles: { default: DEFAULT_ROUTE_THROTTLE },
  reservedConcurrency: {},
  alarmEmail: undefined,
  alarmTopicArn: undefined,
  unauthorizedAlarmThreshold: 20,
  oldestMessageAlarmSeconds: 3600,
  kmsKeyArn: undefined,
  customDomain: undefined,
  exampleConsumer: false,
  archive: true,
  // Five years and the leap days in them: FATF R.11 and 31 CFR 1010.430 ask for five.
  archiveRetentionDays: 1_827,
  archiveObjectLock: 'off',
  archiveObjectLockEnabled: false,
  archivePreviousBuckets: [],
  archiveAccessLogging: true,
  // Off: it replaces the HTTP API (new execute-api URLs) and costs more (docs/decisions.md).
  edgeProtection: false,
  // 10 requests/s from one source, sustained over a minute: a tenth of a route's default
  // throttle, so at least ten sources are needed to fill it (docs/decisions.md).
  edgeRateLimit: 600,
  edgeRateLimits: {},
  edgeRateWindowSeconds: 60,
};

/** The CDK context keys (`cdk deploy -c key=value` or cdk.json) that override the defaults. */
export const ContextKeys = {
  stageName: 'stage',
  /** A JSON list of `{ "name", "scheme", …options }` (README, "Add a provider"). */
  providers: 'providers',
  idempotencyRetentionDays: 'idempotencyRetentionDays',
  queueRetentionDays: 'queueRetentionDays',
  logRetentionDays: 'logRetentionDays',
  maxBodyBytes: 'maxBodyBytes',
  sigmaAllowLegacySha256: 'sigmaAllowLegacySha256',
  signifydForwardTestEvents: 'signifydForwardTestEvents',
  storeEnvelopes: 'storeEnvelopes',
  throttleRateLimit: 'throttleRateLimit',
  throttleBurstLimit: 'throttleBurstLimit',
  alarmEmail: 'alarmEmail',
  alarmTopicArn: 'alarmTopicArn',
  unauthorizedAlarmThreshold: 'unauthorizedAlarmThreshold',
  oldestMessageAlarmSeconds: 'oldestMessageAlarmSeconds',
  kmsKeyArn: 'kmsKeyArn',
  domainName: 'domainName',
  certificateArn: 'certificateArn',
  hostedZoneId: 'hostedZoneId',
  hostedZoneName: 'hostedZoneName',
  domainMappingPath: 'domainMappingPath',
  exampleConsumer: 'exampleConsumer',
  archive: 'archive',
  archiveRetentionDays: 'archiveRetentionDays',
  archiveObjectLock: 'archiveObjectLock',
  archiveObjectLockEnabled: 'archiveObjectLockEnabled',
  archivePreviousBuckets: 'archivePreviousBuckets',
  archiveAccessLogging: 'archiveAccessLogging',
  edgeProtection: 'edgeProtection',
  edgeRateLimit: 'edgeRateLimit',
  edgeRateWindowSeconds: 'edgeRateWindowSeconds',
  /** Followed by the provider, e.g. `edgeRateLimit.sigmate=1200`. */
  edgeRateLimitPrefix: 'edgeRateLimit.',
  /** Followed by the provider, e.g. `sourceAllowlist.signifyd=203.0.113.0/24,198.51.100.7/32`. */
  sourceAllowlistPrefix: 'sourceAllowlist.',
  /** Followed by a provider or `default`, e.g. `throttleRateLimit.sigmate=50`. */
  throttleRateLimitPrefix: 'throttleRateLimit.',
  throttleBurstLimitPrefix: 'throttleBurstLimit.',
  /** Followed by the provider, e.g. `reservedConcurrency.sigma=20`. */
  reservedConcurrencyPrefix: 'reservedConcurrency.',
} as const;

/** A setting that cannot be used; names the context key or construct property. */
export class SettingsError extends Error {
  constructor(label: string, expected: string) {
    super(`${label} must be ${expected}`);
    this.name = 'SettingsError';
  }
}

/** How an error names a context key. */
const ctx = (key: string) => `context "${key}"`;

/** A context key this app does not know; names the closest one it does. */
export class UnknownSettingError extends Error {
  constructor(
    readonly key: string,
    readonly closest: string | undefined,
  ) {
    super(
      `unknown context key "${key}"${closest ? `: did you mean "${closest}"?` : ''} (the settings are listed in the README's Deploy section)`,
    );
    this.name = 'UnknownSettingError';
  }
}

const RETENTION_VALUES = new Set<number>(
  Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'),
);
const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;
const CIDR = /^[0-9a-fA-F:.]+\/\d{1,3}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;
// A key ARN, not an alias: log groups and IAM grants need the key itself.
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/;
const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/;
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
/** An API mapping path such as `ingress` or `hooks/v1` (no leading or trailing slash). */
const MAPPING_PATH = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

/** Names a field of {@link IngressSettings} for an error message. */
export type SettingName = (field: string, sub?: string) => string;

/** Field names as the construct's properties spell them. */
export const propName: SettingName = (field, sub) => {
  const [head, ...rest] = field.split('.');
  return `WebhookIngress prop "${[head, sub, ...rest].filter(Boolean).join('.')}"`;
};

/** Field names as CDK context keys. */
export const contextName: SettingName = (field, sub) => ctx(contextKey(field, sub));

function contextKey(field: string, sub?: string): string {
  const prefixed: Record<string, string> = {
    sourceAllowlists: ContextKeys.sourceAllowlistPrefix,
    reservedConcurrency: ContextKeys.reservedConcurrencyPrefix,
    edgeRateLimits: ContextKeys.edgeRateLimitPrefix,
    'routeThrottles.rateLimit': ContextKeys.throttleRateLimitPrefix,
    'routeThrottles.burstLimit': ContextKeys.throttleBurstLimitPrefix,
    'throttle.rateLimit': ContextKeys.throttleRateLimit,
    'throttle.burstLimit': ContextKeys.throttleBurstLimit,
    'customDomain.domainName': ContextKeys.domainName,
    'customDomain.certificateArn': ContextKeys.certificateArn,
    'customDomain.mappingPath': ContextKeys.domainMappingPath,
    'customDomain.hostedZone.id': ContextKeys.hostedZoneId,
    'customDomain.hostedZone.name': ContextKeys.hostedZoneName,
  };
  if (sub !== undefined && prefixed[field]) return `${prefixed[field]}${sub}`;
  return prefixed[field] ?? (ContextKeys as Record<string, string>)[field] ?? field;
}

function check(condition: boolean, key: string, expected: string): void {
  if (!condition) throw new SettingsError(key, expected);
}

function whole(value: number, key: string, min: number, max: number): void {
  check(
    Number.isSafeInteger(value) && value >= min && value <= max,
    key,
    `a whole number from ${min} to ${max}`,
  );
}

/**
 * Checks settings as a whole, naming each field with `name`; throws {@link SettingsError}.
 * `minRetentionDays` is the largest retry horizon of the providers being deployed.
 */
export function checkSettings(
  settings: IngressSettings,
  name: SettingName,
  minRetentionDays: { readonly days: number; readonly provider: string } | undefined,
): void {
  const s = settings;
  check(
    STAGE_NAME.test(s.stageName),
    name('stageName'),
    'lower-case letters, digits and dashes (at most 20)',
  );
  whole(s.idempotencyRetentionDays, name('idempotencyRetentionDays'), 1, 365);
  if (s.idempotencyRetentionDays > Limits.maxRetentionDays) {
    throw new SettingsError(
      name('idempotencyRetentionDays'),
      `at most ${Limits.maxRetentionDays}: the queues must keep an event as long as its redeliveries are answered "duplicate", and SQS keeps messages ${Limits.maxRetentionDays} days at most`,
    );
  }
  if (minRetentionDays && s.idempotencyRetentionDays < minRetentionDays.days) {
    throw new SettingsError(
      name('idempotencyRetentionDays'),
      `at least ${minRetentionDays.days} while ${minRetentionDays.provider} is deployed (its retry window)`,
    );
  }
  if (s.queueRetentionDays !== undefined) {
    whole(s.queueRetentionDays, name('queueRetentionDays'), 1, Limits.maxRetentionDays);
    if (s.queueRetentionDays < s.idempotencyRetentionDays) {
      throw new SettingsError(
        name('queueRetentionDays'),
        `at least ${name('idempotencyRetentionDays')} (${s.idempotencyRetentionDays}): a redelivery answered "duplicate" after the queue dropped the event would lose it`,
      );
    }
  }
  check(
    RETENTION_VALUES.has(s.logRetentionDays),
    name('logRetentionDays'),
    'a CloudWatch Logs retention (e.g. 30, 90, 365)',
  );
  whole(s.maxBodyBytes, name('maxBodyBytes'), 1, MAX_BODY_LIMIT);
  for (const [provider, ranges] of Object.entries(s.sourceAllowlists)) {
    check(
      (ranges ?? []).every((range) => CIDR.test(range)),
      name('sourceAllowlists', provider),
      'a list of CIDR ranges such as 203.0.113.0/24',
    );
  }
  whole(s.throttle.rateLimit, name('throttle.rateLimit'), 1, Limits.throttleRate);
  whole(s.throttle.burstLimit, name('throttle.burstLimit'), 1, Limits.throttleBurst);
  for (const [route, t] of Object.entries(s.routeThrottles)) {
    whole(t?.rateLimit ?? 0, name('routeThrottles.rateLimit', route), 1, Limits.throttleRate);
    whole(t?.burstLimit ?? 0, name('routeThrottles.burstLimit', route), 1, Limits.throttleBurst);
  }
  for (const [provider, count] of Object.entries(s.reservedConcurrency)) {
    whole(count ?? 0, name('reservedConcurrency', provider), 1, Limits.reservedConcurrency);
  }
  if (s.alarmEmail !== undefined)
    check(EMAIL.test(s.alarmEmail), name('alarmEmail'), 'an e-mail address');
  if (s.alarmTopicArn !== undefined) {
    check(SNS_TOPIC_ARN.test(s.alarmTopicArn), name('alarmTopicArn'), 'an SNS topic ARN');
  }
  whole(s.unauthorizedAlarmThreshold, name('unauthorizedAlarmThreshold'), 1, 100_000);
  whole(s.oldestMessageAlarmSeconds, name('oldestMessageAlarmSeconds'), 60, 14 * 86_400);
  if (s.kmsKeyArn !== undefined) {
    check(
      KMS_KEY_ARN.test(s.kmsKeyArn),
      name('kmsKeyArn'),
      'a KMS key ARN (arn:aws:kms:…:key/…, not an alias)',
    );
  }
  whole(s.archiveRetentionDays, name('archiveRetentionDays'), 1, Limits.archiveRetentionDays);
  check(
    (ArchiveObjectLockModes as readonly string[]).includes(s.archiveObjectLock),
    name('archiveObjectLock'),
    `one of ${ArchiveObjectLockModes.join(', ')}`,
  );
  // Object Lock is fixed when a bucket is created: CloudFormation would replace the bucket
  // (keeping the old one, unreachable by every tool) rather than lock it. A lock mode
  // therefore needs the bucket to say it was created locked.
  check(
    s.archiveObjectLock === 'off' || s.archiveObjectLockEnabled,
    name('archiveObjectLock'),
    `off unless ${name('archiveObjectLockEnabled')} is true. Object Lock can only be chosen when the archive bucket is created: if this bucket was created with it (the lock mode was set at its first deploy), set ${name('archiveObjectLockEnabled')}=true; otherwise moving to a locked bucket replaces it — first add its name (stack output ArchiveBucketName) to ${name('archivePreviousBuckets')}, so replay, find and Athena keep reading it, then set both (README, Archive and audit, "Switch Object Lock")`,
  );
  for (const bucket of s.archivePreviousBuckets) {
    check(
      BUCKET_NAME.test(bucket),
      name('archivePreviousBuckets'),
      'a list of S3 bucket names (3–63 lower-case letters, digits, dots and hyphens)',
    );
  }
  const edgeLimit = (value: number, label: string) =>
    whole(value, label, Limits.edgeRateLimitMin, Limits.edgeRateLimitMax);
  edgeLimit(s.edgeRateLimit, name('edgeRateLimit'));
  for (const [provider, limit] of Object.entries(s.edgeRateLimits)) {
    edgeLimit(limit ?? 0, name('edgeRateLimits', provider));
  }
  check(
    (EdgeRateWindows as readonly number[]).includes(s.edgeRateWindowSeconds),
    name('edgeRateWindowSeconds'),
    `one of ${EdgeRateWindows.join(', ')} (AWS WAF's evaluation windows)`,
  );
  if (s.edgeProtection) {
    for (const [provider, ranges] of Object.entries(s.sourceAllowlists)) {
      check(
        !(ranges ?? []).some((range) => /\/0+$/.test(range)),
        name('sourceAllowlists', provider),
        'ranges narrower than /0 with edgeProtection (AWS WAF IP sets refuse /0, which allows everyone anyway)',
      );
    }
  }
  const domain = s.customDomain;
  if (domain !== undefined) {
    check(
      DOMAIN_NAME.test(domain.domainName),
      name('customDomain.domainName'),
      'a lower-case domain name such as webhooks.example.com',
    );
    check(
      ACM_CERTIFICATE_ARN.test(domain.certificateArn),
      name('customDomain.certificateArn'),
      'an ACM certificate ARN in the stack region',
    );
    if (domain.mappingPath !== undefined) {
      check(
        MAPPING_PATH.test(domain.mappingPath),
        name('customDomain.mappingPath'),
        'a path such as ingress or hooks/v1 (letters, digits, . _ ~ - and /)',
      );
    }
    if (domain.hostedZone !== undefined) {
      check(
        HOSTED_ZONE_ID.test(domain.hostedZone.id),
        name('customDomain.hostedZone.id'),
        'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ',
      );
      const zone = domain.hostedZone.name.replace(/\.$/, '');
      check(
        domain.domainName === zone || domain.domainName.endsWith(`.${zone}`),
        name('customDomain.hostedZone.name'),
        `the zone of ${domain.domainName} (e.g. ${domain.domainName.split('.').slice(1).join('.')})`,
      );
    }
  }
}

/** The provider with the longest retry window decides the shortest retention. */
export function strictestRetention(
  providers: readonly ProviderDeclaration[],
): { days: number; provider: string } | undefined {
  let strictest: { days: number; provider: string } | undefined;
  for (const provider of providers) {
    const days = providerMinRetentionDays(provider);
    if (strictest === undefined || days > strictest.days) {
      const seed = SEED_PROVIDERS.some(
        (p) => p.name === provider.name && p.scheme === provider.scheme,
      );
      const label = seed
        ? `${provider.name.slice(0, 1).toUpperCase()}${provider.name.slice(1)}`
        : `"${provider.name}"`;
      strictest = { days, provider: label };
    }
  }
  return strictest;
}
