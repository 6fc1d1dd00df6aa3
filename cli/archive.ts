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
} from '../functions/core/archive.js';
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
