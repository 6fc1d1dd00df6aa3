import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ArchiveAttributeName, archiveAttributes } from './archive-attributes.js';
import { sha256Hex } from './crypto.js';
import { type ClaimLedger, type ClaimView, RecordStatus } from './idempotency.js';
import { ANY_PROVIDER } from './names.js';

const gzipAsync = promisify(gzip);

/** The version of the lines the archiver writes now: 2 adds the settlement. */
export const ARCHIVE_VERSION = 2;

/**
 * How the archiver settled an archived attempt against its idempotency record, read
 * after the attempt was answered (docs/decisions.md §15, "Which attempt was
 * acknowledged"). Each names the evidence; {@link acknowledgedBy} gives the verdict.
 */
export const Settlement = {
  /** The record is completed and names this attempt (envelope id and digest): acknowledged. */
  Completed: 'completed',
  /** The record is completed and names another attempt of the key: this one was not acknowledged. */
  OtherCompleted: 'other-completed',
  /** Another attempt holds the key's claim: this one was released (answered 503). */
  OtherInProgress: 'other-in-progress',
  /** No record within the deduplication window: the claim was released (503), or never made. */
  NoRecord: 'no-record',
  /** The record names this envelope id with other content: not the attempt the record names. */
  DigestMismatch: 'digest-mismatch',
  /**
   * The record names this attempt and never completed: its completion write failed after
   * the enqueue (answered 200), or the function died after the archive send. Unknown.
   */
  NotCompleted: 'not-completed',
  /** No record, and the attempt is older than the deduplication window: unknown. */
  RecordExpired: 'record-expired',
} as const;
export type Settlement = (typeof Settlement)[keyof typeof Settlement];

/** Whether a settlement means acknowledged (true), not acknowledged (false) or unknown (null). */
export function acknowledgedBy(settlement: Settlement): boolean | null {
  switch (settlement) {
    case Settlement.Completed:
      return true;
    case Settlement.NotCompleted:
    case Settlement.RecordExpired:
      return null;
    default:
      return false;
  }
}

/**
 * One archived delivery attempt: the envelope exactly as sent (a JSON string, so the
 * payload's digits survive any reader), the verified metadata, and (version 2) whether it
 * was the acknowledged attempt. Never a secret or a signature: nothing here comes from a
 * header the provider signs with. Version 1 lines (before the settlement) are still read.
 */
export interface ArchiveRecord {
  readonly archiveVersion: 1 | 2;
  readonly provider: string;
  readonly type: string;
  readonly product: string | undefined;
  readonly subject: string | undefined;
  readonly idempotencyKey: string;
  readonly envelopeId: string;
  readonly receivedAt: string;
  readonly sourceIp: string | undefined;
  readonly requestId: string | undefined;
  /** Version 2: the attempt whose envelope the idempotency record names, once completed. */
  readonly acknowledged?: boolean | null | undefined;
  readonly settlement?: Settlement | undefined;
  /** When the archiver read the record (ISO-8601 UTC). */
  readonly settledAt?: string | undefined;
  /** The queue message body, byte for byte as the consumer receives it. */
  readonly envelope: string;
}

/** The metadata of an archive record, without the settlement the archiver adds. */
export type ArchivedAttempt = Omit<
  ArchiveRecord,
  'archiveVersion' | 'acknowledged' | 'settlement' | 'settledAt'
>;

export {
  type ArchiveAttributeName,
  ArchiveAttributeNames,
  archiveAttributes,
} from './archive-attributes.js';

/**
 * One message of an archive-queue batch, as SQS's Lambda event source delivers it: the
 * body is the envelope exactly as enqueued, the metadata is in message attributes, and
 * `eventSourceARN` names the queue — so the provider whose function sent it.
 */
export interface ArchiveQueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly eventSourceARN?: string | undefined;
  readonly attributes?: { readonly ApproximateReceiveCount?: string | undefined } | undefined;
  readonly messageAttributes?:
    | Readonly<Record<string, { readonly stringValue?: string | undefined } | undefined>>
    | undefined;
}

/**
 * The Lambda-shaped archive queue message the functions send for `record`, as received
 * from the queue `source` (tests and tools that feed {@link archiveBatch} directly).
 */
export function toArchiveQueueMessage(
  messageId: string,
  record: ArchivedAttempt,
  source?: string,
): ArchiveQueueMessage {
  const attributes = archiveAttributes(record);
  return {
    messageId,
    body: record.envelope,
    ...(source === undefined ? {} : { eventSourceARN: source }),
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
  readonly record: ArchivedAttempt;
  /** `<provider>#<idempotencyKey>`: the idempotency record's key. */
  readonly recordKey: string;
  readonly digest: string;
  readonly receiveCount: number;
  readonly partition: string;
}

interface Settled extends Parsed {
  readonly line: string;
  readonly receivedAt: string;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const stringOrUndefined = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * The archived attempt of one queue message: the envelope's own fields (it is the body)
 * and the attributes' metadata. A body that is not an envelope v1, or that names another
 * provider than the one whose function may send to the queue it came from, is refused.
 */
function parse(message: ArchiveQueueMessage, sender: string): Parsed | undefined {
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
    !ISO_INSTANT.test(envelope.receivedAt) ||
    (sender !== ANY_PROVIDER && envelope.provider !== sender)
  ) {
    return undefined;
  }
  const attribute = (name: ArchiveAttributeName) =>
    message.messageAttributes?.[name]?.stringValue || undefined;
  const record: ArchivedAttempt = {
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
  const receiveCount = Number(message.attributes?.ApproximateReceiveCount ?? 1);
  return {
    messageId: message.messageId,
    record,
    recordKey: `${record.provider}#${record.idempotencyKey}`,
    digest: sha256Hex(message.body),
    receiveCount: Number.isFinite(receiveCount) ? receiveCount : 1,
    partition: partitionOf(record.provider, record.receivedAt),
  };
}

/**
 * Receives of a message whose claim is still in progress before it is settled as
 * `not-completed` anyway: the claim's lease (at most the function's timeout plus a
 * second) is long over by then, so only a function that died holds it.
 */
export const MAX_SETTLE_RECEIVES = 3;

/**
 * Settles one attempt against its idempotency record, read after the attempt was
 * answered: `pending` while its own claim is still leased (the delivery may still be
 * running). The record is the only witness of the answer: completed and naming this
 * envelope (id, and digest when the record has one) is the acknowledged attempt.
 */
export function settle(
  record: ClaimView | undefined,
  attempt: { readonly envelopeId: string; readonly digest: string; readonly receivedAt: string },
  now: number,
  retentionMs: number,
): Settlement | 'pending' {
  if (record === undefined) {
    return now - Date.parse(attempt.receivedAt) >= retentionMs
      ? Settlement.RecordExpired
      : Settlement.NoRecord;
  }
  if (record.envelopeId !== attempt.envelopeId) {
    return record.status === RecordStatus.Completed
      ? Settlement.OtherCompleted
      : Settlement.OtherInProgress;
  }
  if (record.envelopeDigest !== undefined && record.envelopeDigest !== attempt.digest) {
    return Settlement.DigestMismatch;
  }
  if (record.status === RecordStatus.Completed) return Settlement.Completed;
  return (record.leaseExpiresAt ?? 0) > now ? 'pending' : Settlement.NotCompleted;
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

export { ANY_PROVIDER };

/** What the archiver needs besides the batch: where to write, and how to settle. */
export interface ArchiverDependencies {
  readonly s3: S3Client;
  readonly location: ArchiveLocation;
  /** The idempotency records, read to settle each attempt. */
  readonly ledger: ClaimLedger;
  /**
   * The provider whose function alone may send to each archive queue, by queue ARN
   * ({@link ANY_PROVIDER} for the shared queue of earlier versions, which no function may
   * send to any more). A message from any other queue is refused.
   */
  readonly sources: ReadonlyMap<string, string>;
  /** The deduplication window: past it, an attempt without a record cannot be settled. */
  readonly retentionDays: number;
  readonly now?: () => number;
}

/** {@link BatchResponse}, plus the messages left for later because their claim is still leased. */
export interface ArchiveBatchResult extends BatchResponse {
  /** Message ids among the failures that only wait for their delivery to finish. */
  readonly pending: string[];
}

/**
 * Writes one batch of archive-queue messages: settles each attempt against its
 * idempotency record (one consistent read per record, 100 a call), then writes one gzip
 * JSON Lines object per (provider, date) group. A group whose write fails is reported as
 * failed item by item, so only its messages come back; so is an attempt still in
 * progress (`pending`) and, when the table cannot be read, the whole batch. A message
 * that is not an archive record of its queue's provider is reported too and, after the
 * queue's receive limit, lands in the dead-letter queue.
 */
export async function archiveBatch(
  deps: ArchiverDependencies,
  messages: readonly ArchiveQueueMessage[],
  log: ArchiverLog,
): Promise<ArchiveBatchResult> {
  const { s3, location } = deps;
  const failures: string[] = [];
  const pending: string[] = [];
  const parsed: Parsed[] = [];
  for (const message of messages) {
    const sender = deps.sources.get(message.eventSourceARN ?? '');
    const attempt = sender === undefined ? undefined : parse(message, sender);
    if (attempt === undefined) {
      log.error('archive message is not an archive record of its queue', {
        messageId: message.messageId,
        queue: message.eventSourceARN,
      });
      failures.push(message.messageId);
      continue;
    }
    parsed.push(attempt);
  }
  let records: Map<string, ClaimView>;
  try {
    records = await deps.ledger.read(parsed.map((attempt) => attempt.recordKey));
  } catch (error) {
    log.warn('archive settlement failed: idempotency records unreadable', {
      records: parsed.length,
      error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
    });
    failures.push(...parsed.map((attempt) => attempt.messageId));
    return { batchItemFailures: toFailures(failures), pending };
  }
  const now = (deps.now ?? Date.now)();
  const settledAt = new Date(now).toISOString();
  const groups = new Map<string, Settled[]>();
  for (const attempt of parsed) {
    let settlement = settle(
      records.get(attempt.recordKey),
      { ...attempt.record, digest: attempt.digest },
      now,
      deps.retentionDays * 86_400_000,
    );
    if (settlement === 'pending') {
      if (attempt.receiveCount < MAX_SETTLE_RECEIVES) {
        pending.push(attempt.messageId);
        failures.push(attempt.messageId);
        continue;
      }
      settlement = Settlement.NotCompleted;
    }
    const { envelope, ...metadata } = attempt.record;
    const record: ArchiveRecord = {
      archiveVersion: ARCHIVE_VERSION,
      ...metadata,
      acknowledged: acknowledgedBy(settlement),
      settlement,
      settledAt,
      // Last, as the largest field: a line reads as its metadata first.
      envelope,
    };
    const group = groups.get(attempt.partition) ?? [];
    group.push({ ...attempt, line: archiveLine(record), receivedAt: record.receivedAt });
    groups.set(attempt.partition, group);
  }
  await Promise.all(
    [...groups].map(async ([partition, group]) => {
      // In receive order, then message id; the key comes from the message ids alone, so a
      // batch Lambda hands over again finds its object written (412) and leaves it be.
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
  return { batchItemFailures: toFailures(failures), pending };
}

const toFailures = (ids: readonly string[]) => ids.map((itemIdentifier) => ({ itemIdentifier }));
