import type { ProviderName } from './provider.js';

/** Everything of the contract's queue message but the payload. */
export interface EnvelopeHeader {
  readonly id: string;
  readonly provider: ProviderName;
  readonly type: string;
  readonly product?: string | undefined;
  readonly idempotencyKey: string;
  readonly receivedAt: string;
  /** Set on provider test deliveries that configuration forwards to the queue. */
  readonly test?: boolean | undefined;
  /** Set when the operator CLI re-enqueues a recorded event. */
  readonly replay?: boolean | undefined;
  /**
   * Set on a replay that recovers a delivery that was never acknowledged: `false` (it was
   * answered 503, or the provider gave up), or `null` (its acknowledgement is unknown).
   */
  readonly acknowledged?: false | null | undefined;
}

/**
 * Of what SQS refuses, only U+FFFE and U+FFFF can reach the envelope's text: the payload
 * is valid UTF-8 JSON (no raw control characters, no lone surrogates) and
 * `JSON.stringify` escapes controls and lone surrogates in the header.
 */
const SQS_FORBIDDEN_IN_JSON = /[\uFFFE\uFFFF]/g;

/**
 * Every code point SQS refuses in a message body or attribute value: it accepts #x9,
 * #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD and #x10000–#x10FFFF (lone surrogates are not
 * code points, so they are refused too).
 */
const SQS_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** The largest message SQS takes: body plus attribute names, types and values. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

const escapeCodeUnits = (text: string) =>
  Array.from(
    { length: text.length },
    (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`,
  ).join('');

/**
 * A string SQS accepts as an attribute value: each refused code point becomes the
 * six characters of its JSON escape (`\ufffe`), so the value stays readable and the
 * envelope, which carries the exact value, remains the reference.
 */
export function sqsSafeText(text: string): string {
  return text.replace(SQS_FORBIDDEN, escapeCodeUnits);
}

/**
 * The contract's envelope v1 as UTF-8 JSON. The payload is the provider's own JSON
 * text, already validated, spliced in verbatim: no re-serialisation, so numbers
 * keep their exact digits and the work stays linear in the body.
 */
export function buildEnvelope(header: EnvelopeHeader, payloadJson: string): string {
  const head = JSON.stringify({
    version: 1,
    id: header.id,
    provider: header.provider,
    type: header.type,
    ...(header.product === undefined ? {} : { product: header.product }),
    idempotencyKey: header.idempotencyKey,
    receivedAt: header.receivedAt,
    ...(header.test ? { test: true } : {}),
    ...(header.replay ? { replay: true } : {}),
    ...(header.acknowledged === undefined ? {} : { acknowledged: header.acknowledged }),
  });
  const envelope = `${head.slice(0, -1)},"payload":${payloadJson.trim()}}`;
  // Inside JSON strings a code point and its escape are the same value.
  return envelope.replace(SQS_FORBIDDEN_IN_JSON, escapeCodeUnits);
}
