import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

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

/**
 * Of what SQS refuses, `JSON.stringify` leaves only U+FFFE and U+FFFF raw (it escapes
 * controls and lone surrogates): a key or subject may hold them, as in the envelope.
 */
const SQS_FORBIDDEN_IN_JSON = /[\uFFFE\uFFFF]/g;

/** The archive queue message for one verified event: JSON that SQS accepts as it is. */
export function archiveMessage(record: Omit<ArchiveRecord, 'archiveVersion'>): string {
  const full: ArchiveRecord = { archiveVersion: 1, ...record };
  // Inside JSON strings a code point and its escape are the same value.
  return JSON.stringify(full).replace(
    SQS_FORBIDDEN_IN_JSON,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
}

/** One message of an archive-queue batch, as SQS's Lambda event source delivers it. */
export interface ArchiveQueueMessage {
  readonly messageId: string;
  readonly body: string;
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

function parse(message: ArchiveQueueMessage): Parsed | undefined {
  try {
    const record = JSON.parse(message.body) as Partial<ArchiveRecord>;
    if (
      record.archiveVersion !== 1 ||
      typeof record.provider !== 'string' ||
      typeof record.receivedAt !== 'string' ||
      !/^\d{4}-\d{2}-\d{2}T/.test(record.receivedAt) ||
      typeof record.envelope !== 'string'
    ) {
      return undefined;
    }
    // The body is kept as sent (one line: JSON.stringify never emits a raw newline).
    return {
      messageId: message.messageId,
      line: message.body,
      partition: partitionOf(record.provider, record.receivedAt),
      receivedAt: record.receivedAt,
    };
  } catch {
    return undefined;
  }
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
          }),
        );
      } catch (error) {
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
