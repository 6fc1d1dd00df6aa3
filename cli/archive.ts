import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  type ArchiveLocation,
  type ArchiveRecord,
  acknowledgedBy,
  partitionOf,
  Settlement,
  settle,
} from '../functions/core/archive.js';
import { Defaults } from '../functions/core/config.js';
import { sha256Hex } from '../functions/core/crypto.js';
import { DynamoDbClaimLedger } from '../functions/core/idempotency.js';
import { fromAwsError, InterruptedError, TargetNotFoundError, UsageError } from './errors.js';
import { type Io, progressBar } from './io.js';
import type { StoreTarget } from './target.js';

/** An archive record as read back, with the object that holds it. */
export interface ArchivedEvent extends ArchiveRecord {
  /** The bucket and S3 key of the object the line was read from. */
  readonly bucket: string;
  readonly objectKey: string;
}

/** What a read of the archive cost: the figures every command reports. */
export interface ArchiveReadStats {
  /** Day partitions listed (one ListObjectsV2 each, more for over 1,000 objects). */
  readonly partitions: number;
  /** Objects read (one GetObject each). */
  readonly objects: number;
  readonly lines: number;
  /** Bytes transferred from S3 (gzip). */
  readonly bytes: number;
  /** Lines that are not archive records of the provider: counted, never used. */
  readonly skippedLines: number;
  /** Objects that are not gzip JSON Lines, or that expired between the listing and the read. */
  readonly unreadableObjects: number;
}

/** The widest range one read lists, in days (one ListObjectsV2 per day): ten years. */
export const MAX_RANGE_DAYS = 3_660;
/** GetObject calls in flight at once: S3's latency, not its bandwidth, bounds a read. */
const READ_CONCURRENCY = 8;
/** Skipped lines and unreadable objects named one by one on stderr before only counting. */
const NAMED_SKIPS = 3;

/**
 * The archive of a target — its bucket, then the buckets it replaced (a stack's
 * `ArchivePreviousBucketNames`) — or a one-line error naming the `archive` setting.
 */
export function requireArchive(
  target: StoreTarget,
  command: string,
): { locations: ArchiveLocation[]; s3: S3Client } {
  if (target.archive === undefined) {
    throw new TargetNotFoundError(
      target.kind === 'stack'
        ? `${command} reads the audit archive, and ${target.description} has none: no ArchiveBucketName output (its archive setting is off: deploy with archive=true)`
        : `${command} reads the audit archive, and ${target.description} has no "archive" key (this ingress runs with its archive off: restart npm start, which turns it on)`,
    );
  }
  return {
    locations: [target.archive, ...(target.previousArchives ?? [])],
    s3: target.clients().s3,
  };
}

/** The UTC dates from `since` to `until`, inclusive: the `date=` partitions a range needs. */
export function datesOf(since: Date, until: Date): string[] {
  const dates: string[] = [];
  const day = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()));
  while (day.getTime() <= until.getTime()) {
    dates.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return dates;
}

/** Checks a range before anything is listed: ordered, and at most {@link MAX_RANGE_DAYS}. */
export function checkRange(since: Date, until: Date): void {
  if (since > until) throw new UsageError('--since is after --until');
  const days = Math.ceil((until.getTime() - since.getTime()) / 86_400_000);
  if (days > MAX_RANGE_DAYS) {
    throw new UsageError(
      `a range of ${days} days lists ${days} archive partitions: at most ${MAX_RANGE_DAYS} (ten years) at once; split it`,
    );
  }
}

const optionalString = (value: unknown) => value === undefined || typeof value === 'string';
const SETTLEMENTS: readonly unknown[] = Object.values(Settlement);

/** A version 2 line's settlement fields, consistent with each other; version 1 has none. */
function settledFields(record: Partial<Record<keyof ArchiveRecord, unknown>>): boolean {
  if (record.archiveVersion === 1) return true;
  return (
    record.archiveVersion === 2 &&
    SETTLEMENTS.includes(record.settlement) &&
    record.acknowledged === acknowledgedBy(record.settlement as Settlement) &&
    typeof record.settledAt === 'string'
  );
}

/** One JSON line as an archive record of `provider`, or undefined for anything else. */
export function parseArchiveLine(line: string, provider: string): ArchiveRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Partial<Record<keyof ArchiveRecord, unknown>>;
  if (
    !settledFields(record) ||
    record.provider !== provider ||
    typeof record.type !== 'string' ||
    typeof record.idempotencyKey !== 'string' ||
    record.idempotencyKey === '' ||
    typeof record.envelopeId !== 'string' ||
    record.envelopeId === '' ||
    typeof record.receivedAt !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T/.test(record.receivedAt) ||
    Number.isNaN(Date.parse(record.receivedAt)) ||
    typeof record.envelope !== 'string' ||
    !optionalString(record.subject) ||
    !optionalString(record.product) ||
    !optionalString(record.sourceIp) ||
    !optionalString(record.requestId)
  ) {
    return undefined;
  }
  return value as ArchiveRecord;
}

/** Which archived events a read keeps: by provider, receive time and anything else. */
export interface ArchiveQuery {
  readonly provider: string;
  /** Receive times kept, inclusive. */
  readonly since: Date;
  readonly until: Date;
  /** The day partitions to list; every day from `since` to `until` by default. */
  readonly dates?: readonly string[] | undefined;
  readonly matches: (record: ArchiveRecord) => boolean;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Reads the archive's objects for a provider and range, one object at a time per
 * worker, streaming: each object is gunzipped and split into lines as it arrives, and
 * only the records `matches` keeps are handed to `onMatch` — nothing else is held.
 * Lists only the range's day partitions. Lines that are not archive records, and objects
 * that are not gzip, are counted and named on stderr, never fatal.
 */
export async function readArchiveRange(
  s3: S3Client,
  location: ArchiveLocation,
  query: ArchiveQuery,
  io: Io,
  onMatch: (event: ArchivedEvent) => void,
): Promise<ArchiveReadStats> {
  const dates = query.dates ?? datesOf(query.since, query.until);
  const base = location.prefix ? `${location.prefix}/` : '';
  const sinceMs = query.since.getTime();
  const untilMs = query.until.getTime();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (query.signal?.aborted) stop.abort();
  else query.signal?.addEventListener('abort', onAbort);
  const stats = {
    partitions: dates.length,
    objects: 0,
    lines: 0,
    bytes: 0,
    skippedLines: 0,
    unreadableObjects: 0,
  };
  let matched = 0;
  const skip = (what: string) => {
    const skips = stats.skippedLines + stats.unreadableObjects;
    if (skips <= NAMED_SKIPS) io.err(`skipped ${what}`);
  };
  try {
    const listing = progressBar(io, dates.length, `listing the ${query.provider} archive`);
    const keysByDate: string[][] = dates.map(() => []);
    let listed = 0;
    let found = 0;
    await eachLimit(dates, READ_CONCURRENCY, stop.signal, async (date, index) => {
      const prefix = `${base}${partitionOf(query.provider, `${date}T`)}/`;
      const keys = await listKeys(s3, location.bucket, prefix, stop.signal);
      keysByDate[index] = keys;
      listed += 1;
      found += keys.length;
      listing(listed, 0, `${found} object(s)`);
    });
    const keys = keysByDate.flat();
    const reading = progressBar(io, keys.length, `reading the ${query.provider} archive`);
    await eachLimit(keys, READ_CONCURRENCY, stop.signal, async (key) => {
      const where = `s3://${location.bucket}/${key}`;
      let lineNumber = 0;
      const read = await readLines(s3, location.bucket, key, stop.signal, (line) => {
        lineNumber += 1;
        if (line.trim() === '') return;
        stats.lines += 1;
        const record = parseArchiveLine(line, query.provider);
        if (record === undefined) {
          stats.skippedLines += 1;
          skip(`line ${lineNumber} of ${where}: not a ${query.provider} archive record`);
          return;
        }
        const at = Date.parse(record.receivedAt);
        if (at < sinceMs || at > untilMs || !query.matches(record)) return;
        matched += 1;
        onMatch({ ...record, bucket: location.bucket, objectKey: key });
      });
      stats.bytes += read.bytes;
      if (read.unreadable !== undefined) {
        stats.unreadableObjects += 1;
        skip(`${where}: ${read.unreadable}`);
      }
      stats.objects += 1;
      const skipped = stats.skippedLines + stats.unreadableObjects;
      reading(stats.objects, 0, `${matched} matched · ${skipped} skipped`);
    });
  } catch (error) {
    if (query.signal?.aborted) {
      throw new InterruptedError('interrupted while reading the archive: nothing was changed', {
        cause: error,
      });
    }
    throw fromAwsError(error, `reading the archive (s3://${location.bucket}/${base})`);
  } finally {
    query.signal?.removeEventListener('abort', onAbort);
  }
  const skipped = stats.skippedLines + stats.unreadableObjects;
  if (skipped > NAMED_SKIPS) {
    io.err(`… ${skipped - NAMED_SKIPS} more skipped (${describeSkips(stats)})`);
  }
  return stats;
}

/** {@link readArchiveRange} over several archives (a bucket and those it replaced), the figures summed. */
export async function readArchives(
  s3: S3Client,
  locations: readonly ArchiveLocation[],
  query: ArchiveQuery,
  io: Io,
  onMatch: (event: ArchivedEvent) => void,
): Promise<ArchiveReadStats> {
  const total = {
    partitions: 0,
    objects: 0,
    lines: 0,
    bytes: 0,
    skippedLines: 0,
    unreadableObjects: 0,
  };
  for (const location of locations) {
    const stats = await readArchiveRange(s3, location, query, io, onMatch);
    for (const name of Object.keys(total) as (keyof ArchiveReadStats)[]) {
      total[name] += stats[name];
    }
  }
  return total;
}

/** `2 line(s) that are not archive records, 1 unreadable object` — or '' when none. */
export function describeSkips(stats: ArchiveReadStats): string {
  return [
    stats.skippedLines > 0 ? `${stats.skippedLines} line(s) that are not archive records` : '',
    stats.unreadableObjects > 0 ? `${stats.unreadableObjects} unreadable object(s)` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `read 3 object(s) in 2 day partition(s), 41 line(s), 5.2 KB` (+ what was skipped). */
export function describeRead(stats: ArchiveReadStats): string {
  const skips = describeSkips(stats);
  return `read ${stats.objects} object(s) in ${stats.partitions} day partition(s), ${stats.lines} line(s), ${formatBytes(stats.bytes)} from the archive${skips ? `; skipped ${skips}` : ''}`;
}

/** One idempotency key's attempts, as read from the archive. */
export interface KeyAttempts {
  readonly idempotencyKey: string;
  /** Every distinct attempt read (exact copies dropped), oldest first. */
  readonly attempts: readonly ArchivedEvent[];
  /**
   * The acknowledged attempt: the one whose envelope (id and digest) the completed
   * idempotency record named. Several (the key came again after its record expired and
   * was acknowledged again): the latest.
   */
  readonly acknowledged: ArchivedEvent | undefined;
  /**
   * None acknowledged: the latest verified attempt that nothing ties to another one —
   * what `replay --include-unacknowledged` recovers.
   */
  readonly recoverable: ArchivedEvent | undefined;
  /** A line says another attempt of the key was acknowledged, and it was not read (outside the range). */
  readonly acknowledgedElsewhere: boolean;
  /** Two different records claim one envelope id: none of them can be tied to the acknowledged attempt. */
  readonly conflicting: boolean;
}

/** The fields that make an archived attempt: two lines equal in these are copies of one. */
const ATTEMPT_FIELDS = [
  'provider',
  'type',
  'product',
  'subject',
  'idempotencyKey',
  'receivedAt',
  'sourceIp',
  'requestId',
  'envelope',
] as const;

const sameAttempt = (left: ArchivedEvent, right: ArchivedEvent) =>
  ATTEMPT_FIELDS.every((field) => left[field] === right[field]);

/** Latest receive time first, then the greater envelope id: never the order objects were read in. */
const later = (left: ArchivedEvent, right: ArchivedEvent) =>
  Date.parse(left.receivedAt) - Date.parse(right.receivedAt) ||
  (left.envelopeId > right.envelopeId ? 1 : left.envelopeId < right.envelopeId ? -1 : 0);

/**
 * Groups archived attempts by idempotency key. Exact copies (one `envelopeId`, the same
 * attempt: an archiver retry) are dropped, keeping the strongest settlement read. Two
 * lines that claim one envelope id with different content cannot both be the attempt
 * they name: their keys are marked conflicting and never replayed.
 */
export class ArchivedAttempts {
  private readonly byEnvelope = new Map<string, ArchivedEvent>();
  private readonly conflicts = new Set<string>();
  /** Lines dropped as exact copies of one already read. */
  copies = 0;
  /** Lines dropped because the record's digest showed another line is the attempt they claim to be. */
  contradicting = 0;

  add(event: ArchivedEvent): void {
    const held = this.byEnvelope.get(event.envelopeId);
    if (held === undefined) {
      this.byEnvelope.set(event.envelopeId, event);
      return;
    }
    if (!sameAttempt(held, event)) {
      // The archiver compared each with the record's digest: the one it matched is the
      // attempt; the other contradicts the record. Otherwise neither can be told apart.
      const verified = [held, event].filter((item) => item.settlement === Settlement.Completed);
      const refuted = [held, event].filter((item) => item.settlement === Settlement.DigestMismatch);
      if (verified.length === 1 && refuted.length === 1) {
        this.contradicting += 1;
        this.byEnvelope.set(event.envelopeId, verified[0] as ArchivedEvent);
        return;
      }
      this.conflicts.add(held.idempotencyKey);
      this.conflicts.add(event.idempotencyKey);
      return;
    }
    this.copies += 1;
    // A copy settled later may know more (a claim completed since): true wins, then unknown.
    const rank = (item: ArchivedEvent) =>
      item.acknowledged === true ? 2 : item.acknowledged === false ? 0 : 1;
    if (rank(event) > rank(held)) this.byEnvelope.set(event.envelopeId, event);
  }

  /** Lines whose settlement is still missing: written before the archiver settled attempts. */
  unsettled(): ArchivedEvent[] {
    return [...this.byEnvelope.values()].filter((event) => event.settlement === undefined);
  }

  /** Replaces unsettled lines by their settlement (see {@link settleUnsettled}). */
  settled(events: readonly ArchivedEvent[]): void {
    for (const event of events) this.byEnvelope.set(event.envelopeId, event);
  }

  /** Every key read, oldest first by its latest attempt. */
  keys(): KeyAttempts[] {
    const grouped = new Map<string, ArchivedEvent[]>();
    for (const event of this.byEnvelope.values()) {
      const list = grouped.get(event.idempotencyKey) ?? [];
      list.push(event);
      grouped.set(event.idempotencyKey, list);
    }
    const keys = [...grouped].map(([idempotencyKey, list]): KeyAttempts => {
      const attempts = list.sort(later);
      const latest = (items: ArchivedEvent[]) => items.at(-1);
      const conflicting = this.conflicts.has(idempotencyKey);
      const acknowledged = conflicting
        ? undefined
        : latest(attempts.filter((item) => item.acknowledged === true));
      const acknowledgedElsewhere = attempts.some(
        (item) => item.settlement === Settlement.OtherCompleted,
      );
      const recoverable =
        conflicting || acknowledged !== undefined || acknowledgedElsewhere
          ? undefined
          : latest(attempts.filter((item) => item.settlement !== Settlement.DigestMismatch));
      return {
        idempotencyKey,
        attempts,
        acknowledged,
        recoverable,
        acknowledgedElsewhere,
        conflicting,
      };
    });
    const shown = (key: KeyAttempts) =>
      key.acknowledged ?? key.recoverable ?? (key.attempts.at(-1) as ArchivedEvent);
    return keys.sort((left, right) => later(shown(left), shown(right)));
  }
}

/**
 * Settles lines written before the archiver settled attempts (version 1) against the
 * idempotency table now, as the archiver would have: one consistent read per record,
 * while the records last (the deduplication window, 7 days by default); past it their
 * acknowledgement is unknown. The table has no digest for them: the envelope id ties.
 */
export async function settleUnsettled(
  target: StoreTarget,
  attempts: ArchivedAttempts,
  now: Date,
): Promise<number> {
  const unsettled = attempts.unsettled();
  if (unsettled.length === 0) return 0;
  const ledger = new DynamoDbClaimLedger(target.clients().dynamodb, target.table);
  let records: Awaited<ReturnType<DynamoDbClaimLedger['read']>>;
  try {
    records = await ledger.read(
      unsettled.map((event) => `${event.provider}#${event.idempotencyKey}`),
    );
  } catch (error) {
    throw fromAwsError(error, 'reading the idempotency table');
  }
  attempts.settled(
    unsettled.map((event) => {
      const found = settle(
        records.get(`${event.provider}#${event.idempotencyKey}`),
        {
          envelopeId: event.envelopeId,
          digest: sha256Hex(event.envelope),
          receivedAt: event.receivedAt,
        },
        now.getTime(),
        Defaults.retentionDays * 86_400_000,
      );
      const settlement = found === 'pending' ? Settlement.NotCompleted : found;
      return { ...event, settlement, acknowledged: acknowledgedBy(settlement) };
    }),
  );
  return unsettled.length;
}

/** How an archived attempt's acknowledgement reads in `find` and `replay`'s reports. */
export function describeAcknowledgement(settlement: Settlement | undefined): string {
  switch (settlement) {
    case Settlement.Completed:
      return 'acknowledged (the idempotency record names this attempt)';
    case Settlement.OtherCompleted:
      return 'not acknowledged: another attempt of this key was';
    case Settlement.OtherInProgress:
    case Settlement.NoRecord:
      return 'never acknowledged: answered 503 (nothing was acknowledged), or the provider gave up';
    case Settlement.DigestMismatch:
      return 'not acknowledged: its content differs from the attempt the idempotency record names';
    case Settlement.NotCompleted:
      return 'acknowledgement unknown: its completion was never written (a completion write that failed after the enqueue was answered 200; a function that died was not)';
    case Settlement.RecordExpired:
      return 'acknowledgement unknown: settled after its idempotency record expired';
    default:
      return 'acknowledgement not recorded (archived before attempts were settled)';
  }
}

/** Runs `work` on every item, `limit` at a time; stops taking items on the first failure. */
async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      if (signal.aborted) throw signal.reason;
      const index = next;
      next += 1;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}

/** The archive objects under a partition prefix, every page of the listing. */
async function listKeys(
  s3: S3Client,
  bucket: string,
  prefix: string,
  signal: AbortSignal,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
      { abortSignal: signal },
    );
    for (const item of page.Contents ?? []) {
      if (item.Key?.endsWith('.jsonl.gz')) keys.push(item.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

function readableOf(body: unknown): Readable | undefined {
  if (body instanceof Readable) return body;
  if (body instanceof Uint8Array || typeof body === 'string') return Readable.from([body]);
  if (body instanceof ReadableStream) return Readable.fromWeb(body);
  return undefined;
}

/**
 * Streams one object through gunzip and hands over its lines as they come. An object
 * that is not gzip, or that expired after the listing, is reported as `unreadable`;
 * any other failure (the network, permissions) is thrown.
 */
/**
 * No archive line is longer than this: an SQS message (1 MiB) escaped into a JSON string
 * at most doubles, plus the metadata. A longer one is not an archive record.
 */
const MAX_LINE_CHARS = 4 * 1024 * 1024;
/** What a line past {@link MAX_LINE_CHARS} is reported as: never parsed as a record. */
const OVERLONG_LINE = '(a line longer than 4 MiB)';

async function readLines(
  s3: S3Client,
  bucket: string,
  key: string,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<{ bytes: number; unreadable?: string }> {
  let bytes = 0;
  let body: Readable | undefined;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal: signal,
    });
    body = readableOf(object.Body);
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey')
      return { bytes, unreadable: 'gone since the listing' };
    throw error;
  }
  if (body === undefined) return { bytes, unreadable: 'no body' };
  const decoder = new StringDecoder('utf8');
  // The unfinished line, in pieces: each chunk is searched for newlines once (linear),
  // and a line past MAX_LINE_BYTES is dropped whole instead of growing without bound.
  let pieces: string[] = [];
  let pending = 0;
  let overlong = false;
  const finishLine = (tail: string) => {
    const line = overlong ? undefined : pieces.join('') + tail;
    pieces = [];
    pending = 0;
    overlong = false;
    onLine(line ?? OVERLONG_LINE);
  };
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const split = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        const text = decoder.write(chunk);
        let start = 0;
        for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
          finishLine(text.slice(start, end));
          start = end + 1;
        }
        if (start < text.length && !overlong) {
          pending += text.length - start;
          if (pending > MAX_LINE_CHARS) {
            overlong = true;
            pieces = [];
          } else {
            pieces.push(text.slice(start));
          }
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    final(done) {
      try {
        const tail = decoder.end();
        if (tail !== '' || pieces.length > 0 || overlong) finishLine(tail);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
  try {
    await pipeline(body, counting, createGunzip(), split, { signal });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('Z_')) {
      return { bytes, unreadable: `not gzip JSON Lines (${(error as Error).message})` };
    }
    throw error;
  }
  return { bytes };
}
