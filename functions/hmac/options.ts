import { MAX_TOLERANCE_SECONDS } from '../core/declaration.js';
import { OptionReader } from '../core/options.js';

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

/** The signed-content template's placeholders. */
export const SIGNED_BODY = '{body}';
export const SIGNED_TIMESTAMP = '{timestamp}';
/** The contract's 7-day default: a sender whose retry horizon we do not know gets it as a floor. */
export const HMAC_DEFAULT_MIN_RETENTION_DAYS = 7;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const FIELD_NAME = /^(?!__proto__$)[^\s]{1,64}$/;
const PREFIX = /^[\x21-\x7e]{1,32}$/;

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
  const signedPayload = reader.string('signedPayload', `a template ending in ${SIGNED_BODY}`);
  const timestampHeader = headerName(reader, 'timestampHeader');
  const toleranceSeconds = reader.integer('toleranceSeconds', 1, MAX_TOLERANCE_SECONDS);
  const minRetentionDays = reader.integer('minRetentionDays', 1, 14);
  const key = keySource(reader);
  const type = typeSource(reader);
  reader.done();

  const template = signedPayload ?? SIGNED_BODY;
  const head = template.slice(0, template.length - SIGNED_BODY.length);
  if (!template.endsWith(SIGNED_BODY) || head.includes(SIGNED_BODY)) {
    reader.fail(`option "signedPayload" must end with ${SIGNED_BODY} and hold it once`);
  }
  const placeholders = head.match(/\{[^}]*\}/g) ?? [];
  if (
    placeholders.some((placeholder) => placeholder !== SIGNED_TIMESTAMP) ||
    placeholders.length > 1
  ) {
    reader.fail(
      `option "signedPayload" may hold ${SIGNED_TIMESTAMP} once and no other placeholder`,
    );
  }
  const signsTimestamp = placeholders.length === 1;
  if (signsTimestamp && timestampHeader === undefined) {
    reader.fail(`option "timestampHeader" is missing (signedPayload uses ${SIGNED_TIMESTAMP})`);
  }
  if (!signsTimestamp && timestampHeader !== undefined) {
    // A timestamp outside the signed bytes can be changed by anyone: it would protect nothing.
    reader.fail(
      `option "timestampHeader" needs ${SIGNED_TIMESTAMP} in "signedPayload", so it is signed`,
    );
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
