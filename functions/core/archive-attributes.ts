import { SQS_MAX_MESSAGE_BYTES, sqsSafeText } from './envelope.js';
import { InvalidPayloadError } from './errors.js';
import type { DescribedEvent } from './pipeline.js';
import type { MessageAttributes } from './publisher.js';

/**
 * The archive queue message's attributes, apart from the archiver: the provider functions
 * import this alone, so their cold start does not load `node:zlib` (the archiver's gzip,
 * functions/core/archive.ts) — about 2 % of their cold init in a profile (docs/decisions.md §21).
 */

/**
 * The metadata an archive queue message carries as message attributes, beside the
 * `provider` and `type` every envelope carries: what the envelope itself does not hold.
 */
export const ArchiveAttributeNames = ['subject', 'sourceIp', 'requestId'] as const;
export type ArchiveAttributeName = (typeof ArchiveAttributeNames)[number];

/**
 * The archive queue message's attributes for one event: the metadata the envelope does
 * not hold, each only when known (SQS refuses an empty value). Values must already be
 * SQS-safe text (`sqsSafeText`).
 */
export function archiveAttributes(
  metadata: Readonly<Partial<Record<ArchiveAttributeName, string | undefined>>>,
): Partial<Record<ArchiveAttributeName, string>> {
  const attributes: Partial<Record<ArchiveAttributeName, string>> = {};
  for (const name of ArchiveAttributeNames) {
    const value = metadata[name];
    if (value !== undefined && value !== '') attributes[name] = value;
  }
  return attributes;
}

/** Who sent the request, as the API saw it: archived next to the envelope. */
export interface RequestOrigin {
  readonly sourceIp: string | undefined;
  readonly requestId: string | undefined;
}

/** Whether SQS takes a message of this body and these String attributes (names, type, values). */
export function fitsOneMessage(
  body: string,
  attributes: Readonly<Record<string, string>>,
): boolean {
  const attributeBytes = Object.entries(attributes).reduce(
    (sum, [name, value]) =>
      sum + Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value),
    0,
  );
  return Buffer.byteLength(body) + attributeBytes <= SQS_MAX_MESSAGE_BYTES;
}

/**
 * The archive queue message's attributes: the envelope's `provider` and `type`, and the
 * metadata the envelope does not hold (subject, source IP, request id); the body is the
 * envelope itself, byte for byte, so the archive message is no larger than the enqueued
 * one but for these few attributes. Built before the claim: an event whose archive
 * message SQS could never carry (a subject as large as the rest of the queue's limit) is
 * refused with a definitive `400`, like an oversized envelope, never a `503` loop.
 */
export function archiveAttributesOf(
  event: Pick<DescribedEvent, 'attributes' | 'subject' | 'envelope'>,
  origin: RequestOrigin,
): MessageAttributes {
  const attributes: MessageAttributes = {
    ...event.attributes,
    ...archiveAttributes({
      subject: event.subject,
      sourceIp: origin.sourceIp === undefined ? undefined : sqsSafeText(origin.sourceIp),
      requestId: origin.requestId === undefined ? undefined : sqsSafeText(origin.requestId),
    }),
  };
  if (!fitsOneMessage(event.envelope, attributes)) {
    throw new InvalidPayloadError(
      `the event's archive message is larger than the queue's ${SQS_MAX_MESSAGE_BYTES}-byte message limit`,
    );
  }
  return attributes;
}
