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
}

// SQS refuses these two code points; in valid JSON they can only stand inside strings.
const SQS_FORBIDDEN = /[\uFFFE\uFFFF]/g;

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
  });
  const payload = payloadJson.replace(
    SQS_FORBIDDEN,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
  return `${head.slice(0, -1)},"payload":${payload.trim()}}`;
}
