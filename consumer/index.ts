/**
 * `webhook-ingress/consumer`: what a consumer of the provider queues needs, with no
 * dependency (no AWS SDK, no CDK): the envelope's type, a parser that checks it, and the
 * key to deduplicate on.
 *
 * ```ts
 * import { dedupeKey, parseEnvelope } from 'webhook-ingress/consumer';
 * for (const record of event.Records) {
 *   const envelope = parseEnvelope(record.body);
 *   if (await seen(dedupeKey(envelope))) continue; // a redelivery, a replay, or a retry's copy
 *   await handle(envelope.type, envelope.payload);
 * }
 * ```
 */

/** The queue message of the contract (envelope version 1). */
export interface Envelope<TPayload = Record<string, unknown>> {
  readonly version: 1;
  /** This envelope's own id: a new one for every enqueue, replays included. */
  readonly id: string;
  /** The provider's name as configured: `sigma`, `sigmate`, `signifyd` or a declared one. */
  readonly provider: string;
  /** The event's type as the provider names it (Sigma: `body.event`; Signifyd: the topic). */
  readonly type: string;
  /** Sigma only: `transaction-monitoring`, `aml` or `cdd`. */
  readonly product?: string;
  /** The same for every delivery of one event: deduplicate on it (with the provider). */
  readonly idempotencyKey: string;
  /** When the ingress received the delivery (ISO-8601, UTC). */
  readonly receivedAt: string;
  /** A provider test delivery forwarded by configuration. */
  readonly test?: boolean;
  /** Re-enqueued by an operator (`webhook-ingress replay`): the same event again. */
  readonly replay?: boolean;
  /** The provider's JSON body, exactly as verified. */
  readonly payload: TPayload;
}

/** The message is not an envelope version 1: a message to set aside, not to retry. */
export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const REQUIRED_TEXT = ['id', 'provider', 'type', 'idempotencyKey', 'receivedAt'] as const;
const OPTIONAL_FLAGS = ['test', 'replay'] as const;

/**
 * Parses and checks one queue message body. Throws {@link EnvelopeError} naming the
 * first field that is wrong (never echoing the body).
 */
export function parseEnvelope<TPayload = Record<string, unknown>>(
  body: string,
): Envelope<TPayload> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new EnvelopeError('the message body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EnvelopeError('the message body is not a JSON object');
  }
  const envelope = value as Record<string, unknown>;
  if (envelope.version !== 1) throw new EnvelopeError('not an envelope of version 1');
  for (const field of REQUIRED_TEXT) {
    const text = envelope[field];
    if (typeof text !== 'string' || text.length === 0) {
      throw new EnvelopeError(`the envelope's ${field} is missing or not a string`);
    }
  }
  if (!ISO_INSTANT.test(envelope.receivedAt as string)) {
    throw new EnvelopeError("the envelope's receivedAt is not an ISO-8601 UTC instant");
  }
  if (envelope.product !== undefined && typeof envelope.product !== 'string') {
    throw new EnvelopeError("the envelope's product is not a string");
  }
  for (const flag of OPTIONAL_FLAGS) {
    if (envelope[flag] !== undefined && typeof envelope[flag] !== 'boolean') {
      throw new EnvelopeError(`the envelope's ${flag} is not a boolean`);
    }
  }
  const payload = envelope.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new EnvelopeError("the envelope's payload is not a JSON object");
  }
  return envelope as unknown as Envelope<TPayload>;
}

/**
 * The key to deduplicate on: the provider and its idempotency key. Every copy of one event
 * shares it — a provider's redelivery the ingress let through after a lost answer, an SQS
 * redelivery, an operator's replay — while the envelope `id` differs between them.
 */
export function dedupeKey(envelope: Pick<Envelope<unknown>, 'provider' | 'idempotencyKey'>) {
  return `${envelope.provider}#${envelope.idempotencyKey}`;
}
