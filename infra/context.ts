/**
 * The settings from the CDK context (`cdk.json` or `-c key=value`): each key read and
 * converted, unknown keys refused with the closest known one, every value checked.
 */
import type { Node } from 'constructs';
import type { ProviderName } from '../functions/provider-names.js';
import { parseProviders, SEED_PROVIDERS } from '../functions/providers.js';
import {
  type ArchiveObjectLock,
  ContextKeys,
  checkSettings,
  contextName,
  DefaultSettings,
  type EdgeRateWindow,
  type IngressSettings,
  SettingsError,
  strictestRetention,
  type ThrottledRoute,
  UnknownSettingError,
} from './config.js';
import { checkProviderCount } from './props.js';

/** How an error names a context key. */
const ctx = (key: string) => `context "${key}"`;

type Lookup = (key: string) => unknown;

function integer(lookup: Lookup, key: string): number | undefined {
  const raw = lookup(key);
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const value = typeof raw === 'number' ? raw : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new SettingsError(ctx(key), 'a whole number');
  return value;
}

function boolean(lookup: Lookup, key: string, fallback: boolean): boolean {
  const raw = lookup(key);
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new SettingsError(ctx(key), 'true or false');
}

function text(lookup: Lookup, key: string): string | undefined {
  const raw = lookup(key);
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.trim() === '')
    throw new SettingsError(ctx(key), 'a text value');
  return raw.trim();
}

function list(lookup: Lookup, key: string): string[] | undefined {
  const raw = lookup(key);
  if (raw === undefined) return undefined;
  const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
}

/** Days as a whole number, or years as `<n>y` (`7y` = 7 × 365 + the leap days, 2 557). */
function archiveRetention(lookup: Lookup, key: string): number | undefined {
  const raw = lookup(key);
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const years = /^(\d{1,3})y$/.exec(text);
  if (years) return Math.ceil(Number(years[1]) * 365.25);
  return integer(lookup, key);
}

/** Every context key the app reads, expanded per provider served. */
export function knownContextKeys(
  providers: readonly ProviderName[] = SEED_PROVIDERS.map((p) => p.name),
): string[] {
  const k = ContextKeys;
  const routes: string[] = [...providers, 'default'];
  return [
    ...Object.values(k).filter((key) => !key.endsWith('.')),
    ...providers.map((p) => `${k.sourceAllowlistPrefix}${p}`),
    ...providers.map((p) => `${k.reservedConcurrencyPrefix}${p}`),
    ...providers.map((p) => `${k.edgeRateLimitPrefix}${p}`),
    ...routes.map((r) => `${k.throttleRateLimitPrefix}${r}`),
    ...routes.map((r) => `${k.throttleBurstLimitPrefix}${r}`),
  ];
}

/**
 * Context keys that belong to the CDK itself (feature flags `@aws-cdk/…`, `aws:cdk:…`,
 * lookups `key:account=…`) or its CLI; everything else must be one of ours.
 */
function isCdkOwnKey(key: string): boolean {
  return key.startsWith('@') || key.includes(':') || CDK_PLAIN_KEYS.has(key);
}
const CDK_PLAIN_KEYS = new Set(['acknowledged-issue-numbers', 'cli-telemetry', 'cdk-nag']);

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(saved + 1, (row[j - 1] ?? 0) + 1, previous + cost);
      previous = saved;
    }
  }
  return row[b.length] ?? 0;
}

/** The known key nearest to `key`, when near enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; score: number } | undefined;
  for (const candidate of known) {
    const score = distance(key, candidate);
    if (best === undefined || score < best.score) best = { key: candidate, score };
  }
  return best && best.score <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

/** Throws {@link UnknownSettingError} for the first context key that is neither ours nor the CDK's. */
export function checkContextKeys(
  keys: readonly string[],
  providers?: readonly ProviderName[],
): void {
  const known = knownContextKeys(providers);
  const knownSet = new Set(known);
  for (const key of keys) {
    if (knownSet.has(key) || isCdkOwnKey(key)) continue;
    throw new UnknownSettingError(key, closestKey(key, known));
  }
}

function perRoute<T>(
  routes: readonly string[],
  read: (route: string) => T | undefined,
): Partial<Record<string, T>> {
  const out: Partial<Record<string, T>> = {};
  for (const route of routes) {
    const value = read(route);
    if (value !== undefined) out[route] = value;
  }
  return out;
}

/**
 * Reads the settings from a lookup (CDK context), converting command-line strings and
 * checking each value; throws {@link SettingsError} naming the context key.
 */
export function readSettings(
  lookup: Lookup,
  minRetentionDays?: { readonly days: number; readonly provider: string },
): IngressSettings {
  const d = DefaultSettings;
  const k = ContextKeys;
  // Throws ProviderDeclarationError: one line naming the entry.
  const providers = parseProviders(lookup(k.providers));
  checkProviderCount(providers, 'providers');
  const names = providers.map((p) => p.name);
  const logRetentionDays = integer(lookup, k.logRetentionDays) ?? d.logRetentionDays;
  const rateLimit = integer(lookup, k.throttleRateLimit) ?? d.throttle.rateLimit;
  const burstLimit = integer(lookup, k.throttleBurstLimit) ?? d.throttle.burstLimit;
  const routeThrottles = perRoute([...names, 'default'], (route) => {
    const rate = integer(lookup, `${k.throttleRateLimitPrefix}${route}`);
    const burst = integer(lookup, `${k.throttleBurstLimitPrefix}${route}`);
    const fallback = d.routeThrottles[route as ThrottledRoute];
    if (rate === undefined && burst === undefined) return fallback;
    return {
      rateLimit: rate ?? fallback?.rateLimit ?? rateLimit,
      burstLimit: burst ?? fallback?.burstLimit ?? burstLimit,
    };
  });
  const domainName = text(lookup, k.domainName);
  const certificateArn = text(lookup, k.certificateArn);
  const hostedZoneId = text(lookup, k.hostedZoneId);
  const hostedZoneName = text(lookup, k.hostedZoneName);
  const mappingPath = text(lookup, k.domainMappingPath)?.replace(/^\/+|\/+$/g, '');
  const domainKeys = [certificateArn, hostedZoneId, hostedZoneName, mappingPath];
  if (domainName === undefined && domainKeys.some((value) => value !== undefined)) {
    throw new SettingsError(
      ctx(k.domainName),
      `set with ${k.certificateArn} and the other domain keys`,
    );
  }
  if (domainName !== undefined && certificateArn === undefined) {
    throw new SettingsError(
      ctx(k.certificateArn),
      `set with ${k.domainName} (an ACM certificate ARN)`,
    );
  }
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    throw new SettingsError(
      ctx(hostedZoneId === undefined ? k.hostedZoneId : k.hostedZoneName),
      `set together with ${hostedZoneId === undefined ? k.hostedZoneName : k.hostedZoneId}`,
    );
  }
  const settings: IngressSettings = {
    stageName: String(lookup(k.stageName) ?? d.stageName),
    providers,
    idempotencyRetentionDays:
      integer(lookup, k.idempotencyRetentionDays) ?? d.idempotencyRetentionDays,
    queueRetentionDays: integer(lookup, k.queueRetentionDays) ?? d.queueRetentionDays,
    logRetentionDays,
    maxBodyBytes: integer(lookup, k.maxBodyBytes) ?? d.maxBodyBytes,
    sigmaAllowLegacySha256: boolean(lookup, k.sigmaAllowLegacySha256, d.sigmaAllowLegacySha256),
    signifydForwardTestEvents: boolean(
      lookup,
      k.signifydForwardTestEvents,
      d.signifydForwardTestEvents,
    ),
    storeEnvelopes: boolean(lookup, k.storeEnvelopes, d.storeEnvelopes),
    sourceAllowlists: perRoute(names, (p) => {
      const ranges = list(lookup, `${k.sourceAllowlistPrefix}${p}`);
      return ranges?.length ? ranges : undefined;
    }),
    throttle: { rateLimit, burstLimit },
    routeThrottles,
    reservedConcurrency: perRoute(names, (p) =>
      integer(lookup, `${k.reservedConcurrencyPrefix}${p}`),
    ),
    alarmEmail: text(lookup, k.alarmEmail),
    alarmTopicArn: text(lookup, k.alarmTopicArn),
    unauthorizedAlarmThreshold:
      integer(lookup, k.unauthorizedAlarmThreshold) ?? d.unauthorizedAlarmThreshold,
    oldestMessageAlarmSeconds:
      integer(lookup, k.oldestMessageAlarmSeconds) ?? d.oldestMessageAlarmSeconds,
    kmsKeyArn: text(lookup, k.kmsKeyArn),
    customDomain:
      domainName === undefined || certificateArn === undefined
        ? undefined
        : {
            domainName,
            certificateArn,
            hostedZone:
              hostedZoneId !== undefined && hostedZoneName !== undefined
                ? { id: hostedZoneId, name: hostedZoneName }
                : undefined,
            mappingPath: mappingPath || undefined,
          },
    exampleConsumer: boolean(lookup, k.exampleConsumer, d.exampleConsumer),
    archive: boolean(lookup, k.archive, d.archive),
    archiveRetentionDays:
      archiveRetention(lookup, k.archiveRetentionDays) ?? d.archiveRetentionDays,
    archiveObjectLock: (text(lookup, k.archiveObjectLock) ??
      d.archiveObjectLock) as ArchiveObjectLock,
    archiveObjectLockEnabled: boolean(
      lookup,
      k.archiveObjectLockEnabled,
      d.archiveObjectLockEnabled,
    ),
    archivePreviousBuckets: list(lookup, k.archivePreviousBuckets) ?? d.archivePreviousBuckets,
    archiveAccessLogging: boolean(lookup, k.archiveAccessLogging, d.archiveAccessLogging),
    edgeProtection: boolean(lookup, k.edgeProtection, d.edgeProtection),
    edgeRateLimit: integer(lookup, k.edgeRateLimit) ?? d.edgeRateLimit,
    edgeRateLimits: perRoute(names, (p) => integer(lookup, `${k.edgeRateLimitPrefix}${p}`)),
    edgeRateWindowSeconds: (integer(lookup, k.edgeRateWindowSeconds) ??
      d.edgeRateWindowSeconds) as EdgeRateWindow,
  };
  checkSettings(settings, contextName, minRetentionDays ?? strictestRetention(providers));
  return settings;
}

/** The settings from a construct tree's CDK context; unknown keys are refused. */
export function settingsFromContext(
  node: Node,
  minRetentionDays?: { readonly days: number; readonly provider: string },
): IngressSettings {
  const lookup = (key: string) => node.tryGetContext(key);
  const providers = parseProviders(lookup(ContextKeys.providers)).map((p) => p.name);
  checkContextKeys(Object.keys(node.getAllContext()), providers);
  return readSettings(lookup, minRetentionDays);
}
