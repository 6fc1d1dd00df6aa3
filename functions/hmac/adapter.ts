import { decodeBase64Digest, decodeHexDigest, hmacSha256, matchesAny } from '../core/crypto.js';
import {
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../core/errors.js';
import type { WebhookRequest } from '../core/http.js';
import { OptionReader } from '../core/options.js';
import { type ProviderAdapter, subjectOf } from '../core/provider.js';
import {
  bodyEventType,
  type Clock,
  checkFreshness,
  DEFAULT_TOLERANCE_SECONDS,
  eventKey,
  exactRoute,
  header,
  headerEventType,
  MAX_TOLERANCE_SECONDS,
  readTimestamp,
  SECRET_LIST_SHAPE,
  type SecretList,
  secretEnvName,
  secretListFromJson,
  secretListFromValues,
  secretsFromVariable,
} from '../core/scheme.js';

/** How the signature is written in its header. */
export type HmacEncoding = 'hex' | 'base64';

/** Where the idempotency key comes from: a header, a top-level body field, or the body's SHA-256. */
export type HmacKeySource =
  | { readonly header: string }
  | { readonly field: string }
  | { readonly body: 'sha256' };

/** Where the event type comes from: a header or a top-level body field (each with a fallback), or a fixed value. */
export type HmacTypeSource =
  | { readonly header: string; readonly default?: string | undefined }
  | { readonly field: string; readonly default?: string | undefined }
  | { readonly value: string };

/**
 * The `hmac` scheme's options: a declarative HMAC-SHA256 for senders with no scheme of
 * their own. Header names are lower-case (parsing lower-cases them).
 */
export interface HmacOptions {
  /** The header that carries the signature, e.g. `x-acme-signature`. */
  readonly signatureHeader: string;
  /** Text before the digest in that header, e.g. `sha256=`; none by default. */
  readonly prefix?: string | undefined;
  readonly encoding: HmacEncoding;
  /**
   * What is signed: `{body}` (the default, the raw body) or a template ending in `{body}`
   * with the timestamp header's value in it, e.g. `{timestamp}.{body}` or `v0:{timestamp}:{body}`.
   */
  readonly signedPayload?: string | undefined;
  /** The header with the signed Unix-seconds timestamp; required when `signedPayload` uses `{timestamp}`. */
  readonly timestampHeader?: string | undefined;
  /** Replay window either side of now, in seconds; only with a timestamp. Default 300. */
  readonly toleranceSeconds?: number | undefined;
  readonly key: HmacKeySource;
  readonly type: HmacTypeSource;
  /** The sender's retry horizon plus a margin, in days. Default 7 (unknown horizon: the contract's default). */
  readonly minRetentionDays?: number | undefined;
}

/**
 * What the HMAC schemes share beyond {@link HmacOptions}, for the schemes built on it
 * (`github`, `shopify`) rather than for configuration.
 */
export interface HmacSchemeSpec extends HmacOptions {
  /** Key = `<type>:<key>`: the key is unique per event type only (Shopify's event id). */
  readonly keyPerType?: boolean;
  /** Body fields naming what the event is about, for operators; default the key's field. */
  readonly subjectFields?: readonly string[];
}

const BODY = '{body}';
const TIMESTAMP = '{timestamp}';
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const FIELD_NAME = /^(?!__proto__$)[^\s]{1,64}$/;
const PREFIX = /^[\x21-\x7e]{1,32}$/;
/** The contract's 7-day default: a sender whose retry horizon we do not know gets it as a floor. */
const DEFAULT_MIN_RETENTION_DAYS = 7;

/** The digest in a signature header, or undefined when it is not the configured shape. */
function decodeDigest(text: string, encoding: HmacEncoding): Buffer | undefined {
  return encoding === 'hex' ? decodeHexDigest(text) : decodeBase64Digest(text);
}

function ownField(body: Record<string, unknown>, field: string): unknown {
  return Object.hasOwn(body, field) ? body[field] : undefined;
}

function eventType(
  source: HmacTypeSource,
  request: WebhookRequest,
  body: Record<string, unknown>,
): string {
  if ('value' in source) return source.value;
  if ('header' in source) {
    const value = header(request, source.header);
    if (value !== undefined) return headerEventType(value, `header "${source.header}"`);
    if (source.default !== undefined) return source.default;
    throw new InvalidPayloadError(`header "${source.header}" is required`);
  }
  const value = bodyEventType(ownField(body, source.field)) ?? source.default;
  if (value === undefined) {
    throw new InvalidPayloadError(`field "${source.field}" must be a non-empty string`);
  }
  return value;
}

/**
 * An HMAC-SHA256 provider from a {@link HmacSchemeSpec}: the engine of `hmac`, `github`
 * and `shopify`. Verifies the raw bytes against every live secret in constant time,
 * then the timestamp (when there is one), so a stale but genuine delivery is told apart
 * in the logs; either way the answer is the same 401.
 */
export function createHmacSchemeAdapter(
  name: string,
  spec: HmacSchemeSpec,
  now: Clock = Date.now,
): ProviderAdapter<SecretList> {
  const prefix = spec.prefix ?? '';
  const template = spec.signedPayload ?? BODY;
  const signedPrefix = template.slice(0, template.length - BODY.length);
  const tolerance = spec.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const variable = secretEnvName(name);
  const subjectFields =
    spec.subjectFields ?? ('field' in spec.key ? [spec.key.field] : ([] as const));

  return {
    provider: name,
    minRetentionDays: spec.minRetentionDays ?? DEFAULT_MIN_RETENTION_DAYS,
    matchRoute: exactRoute(name),
    secretShape: SECRET_LIST_SHAPE,

    secretsFromEnv(env) {
      return secretsFromVariable(
        env,
        variable,
        (json) => secretListFromJson(json),
        (values) => secretListFromValues(values),
      );
    },

    secretsFromJson(value) {
      return secretListFromJson(value);
    },

    verify(request, secrets) {
      const value = header(request, spec.signatureHeader);
      if (value === undefined) throw new SignatureVerificationError(SignatureFailure.Missing);
      const received = value.startsWith(prefix)
        ? decodeDigest(value.slice(prefix.length), spec.encoding)
        : undefined;
      if (received === undefined) throw new SignatureVerificationError(SignatureFailure.Malformed);
      let signed: Buffer = request.body;
      let timestamp: number | undefined;
      if (spec.timestampHeader !== undefined) {
        const text = header(request, spec.timestampHeader);
        timestamp = readTimestamp(text);
        signed = Buffer.concat([Buffer.from(signedPrefix.replace(TIMESTAMP, `${text}`)), signed]);
      } else if (signedPrefix !== '') {
        signed = Buffer.concat([Buffer.from(signedPrefix), signed]);
      }
      const expected = secrets.secrets.map((secret) => hmacSha256(secret, signed));
      if (!matchesAny(expected, received)) {
        throw new SignatureVerificationError(SignatureFailure.Mismatch);
      }
      if (timestamp !== undefined) checkFreshness(timestamp, now(), tolerance);
      return {};
    },

    describe({ request, body, bodySha256 }) {
      const type = eventType(spec.type, request, body);
      const source = spec.key;
      const key =
        'header' in source
          ? eventKey(header(request, source.header), `header "${source.header}"`)
          : 'field' in source
            ? eventKey(ownField(body, source.field), `field "${source.field}"`)
            : bodySha256;
      return {
        kind: 'event',
        type,
        idempotencyKey: spec.keyPerType ? `${type}:${key}` : key,
        subject: subjectOf(body, subjectFields),
      };
    },
  };
}

/** The `hmac` scheme: {@link createHmacSchemeAdapter} from validated {@link HmacOptions}. */
export function createHmacAdapter(
  name: string,
  options: HmacOptions,
  now: Clock = Date.now,
): ProviderAdapter<SecretList> {
  return createHmacSchemeAdapter(name, options, now);
}

function headerName(reader: OptionReader, key: string): string | undefined {
  return reader.string(key, 'a header name', HEADER_NAME)?.toLowerCase();
}

/** `{ "header": … }`, `{ "field": … }` or `{ "body": "sha256" }`. */
function keySource(reader: OptionReader): HmacKeySource {
  const source = reader.nested('key', '{"header": "…"}, {"field": "…"} or {"body": "sha256"}');
  const fromHeader = headerName(source, 'header');
  const field = source.string('field', 'a top-level field name', FIELD_NAME);
  const body = source.choice('body', ['sha256'] as const);
  source.done();
  if ([fromHeader, field, body].filter((item) => item !== undefined).length !== 1) {
    reader.fail('option "key" must name exactly one of "header", "field" or "body"');
  }
  if (fromHeader !== undefined) return { header: fromHeader };
  if (field !== undefined) return { field };
  return { body: body ?? 'sha256' };
}

/** `{ "header": …, "default"? }`, `{ "field": …, "default"? }` or `{ "value": … }`. */
function typeSource(reader: OptionReader): HmacTypeSource {
  const source = reader.nested('type', '{"header": "…"}, {"field": "…"} or {"value": "…"}');
  const fromHeader = headerName(source, 'header');
  const field = source.string('field', 'a top-level field name', FIELD_NAME);
  const value = source.string('value', 'an event type such as "order.paid"', /^[^\s].{0,127}$/s);
  const fallback = source.string(
    'default',
    'an event type such as "order.paid"',
    /^[^\s].{0,127}$/s,
  );
  source.done();
  const named = [fromHeader, field, value].filter((item) => item !== undefined).length;
  if (named !== 1)
    reader.fail('option "type" must name exactly one of "header", "field" or "value"');
  if (value !== undefined) {
    if (fallback !== undefined)
      reader.fail('option "type": "default" goes with "header" or "field"');
    return { value };
  }
  if (fromHeader !== undefined) return { header: fromHeader, default: fallback };
  return { field: field ?? '', default: fallback };
}

/**
 * Checks an `hmac` entry's options (everything but `name` and `scheme`). Throws
 * {@link ProviderDeclarationError} naming `entry` and the option.
 */
export function parseHmacOptions(
  raw: Readonly<Record<string, unknown>>,
  entry: string,
): HmacOptions {
  const reader = new OptionReader(raw, entry);
  const signatureHeader = reader.required(
    'signatureHeader',
    headerName(reader, 'signatureHeader'),
    'the header that carries the signature',
  );
  const prefix = reader.string(
    'prefix',
    'printable text without spaces, such as "sha256="',
    PREFIX,
  );
  const encoding = reader.required(
    'encoding',
    reader.choice('encoding', ['hex', 'base64'] as const),
    'hex or base64',
  );
  const signedPayload = reader.string('signedPayload', `a template ending in ${BODY}`);
  const timestampHeader = headerName(reader, 'timestampHeader');
  const toleranceSeconds = reader.integer('toleranceSeconds', 1, MAX_TOLERANCE_SECONDS);
  const minRetentionDays = reader.integer('minRetentionDays', 1, 14);
  const key = keySource(reader);
  const type = typeSource(reader);
  reader.done();

  const template = signedPayload ?? BODY;
  const head = template.slice(0, template.length - BODY.length);
  if (!template.endsWith(BODY) || head.includes(BODY)) {
    reader.fail(`option "signedPayload" must end with ${BODY} and hold it once`);
  }
  const placeholders = head.match(/\{[^}]*\}/g) ?? [];
  if (placeholders.some((placeholder) => placeholder !== TIMESTAMP) || placeholders.length > 1) {
    reader.fail(`option "signedPayload" may hold ${TIMESTAMP} once and no other placeholder`);
  }
  const signsTimestamp = placeholders.length === 1;
  if (signsTimestamp && timestampHeader === undefined) {
    reader.fail(`option "timestampHeader" is missing (signedPayload uses ${TIMESTAMP})`);
  }
  if (!signsTimestamp && timestampHeader !== undefined) {
    // A timestamp outside the signed bytes can be changed by anyone: it would protect nothing.
    reader.fail(`option "timestampHeader" needs ${TIMESTAMP} in "signedPayload", so it is signed`);
  }
  if (toleranceSeconds !== undefined && timestampHeader === undefined) {
    reader.fail('option "toleranceSeconds" needs a signed "timestampHeader"');
  }
  return {
    signatureHeader,
    prefix,
    encoding,
    signedPayload,
    timestampHeader,
    toleranceSeconds,
    key,
    type,
    minRetentionDays,
  };
}
