import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ArchiveAttributeName, archiveAttributes } from './archive-attributes.js';

const gzipAsync = promisify(gzip);

/**
 * One archived delivery: the envelope exactly as enqueued (a JSON string, so the
 * payload's digits survive any reader) and the verified metadata. Never a secret or a
 * signature: nothing here comes from a header the provider signs with.
 */
export interface ArchiveRecord {
  readonly archiveVersion: 1;
  readonly provider: string;
  readonly type: string;
  readonly product: string | undefined;
  readonly subject: string | undefined;
  readonly idempotencyKey: string;
  readonly envelopeId: string;
  readonly receivedAt: string;
  readonly sourceIp: string | undefined;
  readonly requestId: string | undefined;
  /** The queue message body, byte for byte as the consumer receives it. */
  readonly envelope: string;
}

export {
  type ArchiveAttributeName,
  ArchiveAttributeNames,
  archiveAttributes,
} from './archive-attributes.js';

/**
 * One message of an archive-queue batch, as SQS's Lambda event source delivers it: the
 * body is the envelope exactly as enqueued, the metadata is in message attributes.
 */
export interface ArchiveQueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly messageAttributes?:
    | Readonly<Record<string, { readonly stringValue?: string | undefined } | undefined>>
    | undefined;
}

/**
 * The Lambda-shaped archive queue message the functions send for `record` (tests and
 * tools that feed {@link archiveBatch} directly).
 */
export function toArchiveQueueMessage(
  messageId: string,
  record: Omit<ArchiveRecord, 'archiveVersion'>,
): ArchiveQueueMessage {
  const attributes = archiveAttributes(record);
  return {
    messageId,
    body: record.envelope,
    messageAttributes: Object.fromEntries(
      Object.entries({ provider: record.provider, type: record.type, ...attributes }).map(
        ([name, value]) => [name, { stringValue: value }],
      ),
    ),
  };
}

/** The result Lambda's SQS event source reads with `ReportBatchItemFailures`. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Where the archive lives: a bucket and a key prefix (no leading or trailing slash). */
export interface ArchiveLocation {
  readonly bucket: string;
  readonly prefix: string;
}

/** The Hive-style partition of a record: `provider=…/date=YYYY-MM-DD`, by receive time (UTC). */
export function partitionOf(provider: string, receivedAt: string): string {
  return `provider=${encodeURIComponent(provider)}/date=${receivedAt.slice(0, 10)}`;
}

/**
 * The object key of one group: derived from the group's message ids only, so a batch
 * that Lambda retries (the same messages) overwrites its object instead of adding one.
 */
export function objectKey(
  location: ArchiveLocation,
  partition: string,
  messageIds: string[],
): string {
  const digest = createHash('sha256')
    .update([...messageIds].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
  const base = location.prefix ? `${location.prefix}/` : '';
  return `${base}${partition}/${digest}.jsonl.gz`;
}

interface Parsed {
  readonly messageId: string;
  readonly line: string;
  readonly partition: string;
  readonly receivedAt: string;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const stringOrUndefined = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * The archive record of one queue message: the envelope's own fields (it is the body)
 * and the attributes' metadata. The line is written with `JSON.stringify`, so it is one
 * line whatever whitespace the body holds; a body that is not an envelope v1 is refused.
 */
function parse(message: ArchiveQueueMessage): Parsed | undefined {
  let envelope: Record<string, unknown>;
  try {
    envelope = JSON.parse(message.body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (
    envelope === null ||
    typeof envelope !== 'object' ||
    envelope.version !== 1 ||
    typeof envelope.id !== 'string' ||
    typeof envelope.provider !== 'string' ||
    !/^[a-z0-9-]{1,64}$/.test(envelope.provider) ||
    typeof envelope.type !== 'string' ||
    typeof envelope.idempotencyKey !== 'string' ||
    typeof envelope.receivedAt !== 'string' ||
    !ISO_INSTANT.test(envelope.receivedAt)
  ) {
    return undefined;
  }
  const attribute = (name: ArchiveAttributeName) =>
    message.messageAttributes?.[name]?.stringValue || undefined;
  const record: ArchiveRecord = {
    archiveVersion: 1,
    provider: envelope.provider,
    type: envelope.type,
    product: stringOrUndefined(envelope.product),
    subject: attribute('subject'),
    idempotencyKey: envelope.idempotencyKey,
    envelopeId: envelope.id,
    receivedAt: envelope.receivedAt,
    sourceIp: attribute('sourceIp'),
    requestId: attribute('requestId'),
    envelope: message.body,
  };
  return {
    messageId: message.messageId,
    line: archiveLine(record),
    partition: partitionOf(record.provider, record.receivedAt),
    receivedAt: record.receivedAt,
  };
}

/** One archive record as a JSON line of the archive (never a raw newline inside). */
export function archiveLine(record: ArchiveRecord): string {
  return JSON.stringify(record);
}

/**
 * S3's answer when the key exists: the same message ids, so the same records, were
 * written by an earlier attempt of this batch.
 */
function alreadyWritten(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (error as { name?: string }).name === 'PreconditionFailed' || status === 412;
}

/** Logs of the archiver; Powertools Logger fits it. */
export interface ArchiverLog {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/**
 * Writes one batch of archive-queue messages: one gzip JSON Lines object per
 * (provider, date) group. A group whose write fails is reported as failed item by
 * item, so only its messages come back; a message that is not an archive record is
 * reported too and, after the queue's receive limit, lands in the dead-letter queue.
 */
export async function archiveBatch(
  s3: S3Client,
  location: ArchiveLocation,
  messages: readonly ArchiveQueueMessage[],
  log: ArchiverLog,
): Promise<BatchResponse> {
  const failures: string[] = [];
  const groups = new Map<string, Parsed[]>();
  for (const message of messages) {
    const parsed = parse(message);
    if (parsed === undefined) {
      log.error('archive message is not an archive record', { messageId: message.messageId });
      failures.push(message.messageId);
      continue;
    }
    const group = groups.get(parsed.partition) ?? [];
    group.push(parsed);
    groups.set(parsed.partition, group);
  }
  await Promise.all(
    [...groups].map(async ([partition, group]) => {
      // In receive order, then message id: a retried batch writes the same bytes again.
      group.sort(
        (a, b) =>
          a.receivedAt.localeCompare(b.receivedAt) || a.messageId.localeCompare(b.messageId),
      );
      const ids = group.map((item) => item.messageId);
      const key = objectKey(location, partition, ids);
      try {
        const body = await gzipAsync(`${group.map((item) => item.line).join('\n')}\n`);
        await s3.send(
          new PutObjectCommand({
            Bucket: location.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/x-ndjson',
            ContentEncoding: 'gzip',
            // Write once (the bucket policy refuses any other upload): a batch Lambda hands
            // over again after a crash finds its object written and leaves it as it is.
            IfNoneMatch: '*',
          }),
        );
      } catch (error) {
        if (alreadyWritten(error)) return;
        log.warn('archive write failed', {
          key,
          records: group.length,
          error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
        });
        failures.push(...ids);
      }
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
