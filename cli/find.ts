import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Settlement } from '../functions/core/archive.js';
import { RecordStatus } from '../functions/core/idempotency.js';
import {
  type ArchivedEvent,
  type ArchiveReadStats,
  checkRange,
  describeRead,
  readArchives,
  requireArchive,
} from './archive.js';
import { ArchivedAttempts, describeAcknowledgement, settleUnsettled } from './attempts.js';
import { CliError, ExitCode, fromAwsError } from './errors.js';
import { parseInstant } from './flags.js';
import { jsonForTerminal, printable } from './format.js';
import type { Io } from './io.js';
import { ReceiveLedger } from './ledger.js';
import { collect, type HeldMessage, queueLimits, queueTotal, release } from './queue.js';
import { Attr, type EventRecord, readRecord, scanRecords } from './records.js';
import { CONSUMER_RESERVE, TAIL_HOLD_SECONDS } from './tail.js';
import { queuesOf, type StoreTarget } from './target.js';

export interface FindOptions {
  readonly provider: string;
  /** An envelope id, an idempotency key, or the provider's own identifier (the subject). */
  readonly id: string;
  /** Also look through the main queue (each look is a receive). */
  readonly searchQueue?: boolean | undefined;
  /** Messages to look through per queue at most. */
  readonly searchMax?: number | undefined;
  readonly json?: boolean | undefined;
  /**
   * The receive times the archive is searched over when the table has no match (ISO-8601
   * or a duration ago); by default the {@link FIND_ARCHIVE_DAYS} days before `until` (now).
   */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly clock?: () => number;
  /** Ctrl-C: stop reading the archive. */
  readonly signal?: AbortSignal | undefined;
}

/** The archive has no index: without --since, find reads this many days of it. */
export const FIND_ARCHIVE_DAYS = 30;

export type MatchedBy = 'idempotencyKey' | 'envelopeId' | 'subject';

/** Where an event is now, as far as can be told without taking a consumer's receive. */
export type QueuePlace =
  | { readonly where: 'dead-letter queue'; readonly receiveCount: number }
  | { readonly where: 'queue'; readonly receiveCount: number }
  | { readonly where: 'not on the queues'; readonly why: string }
  | { readonly where: 'unknown'; readonly why: string }
  /** Found only in the audit archive: its idempotency record is gone (expired). */
  | { readonly where: 'archive'; readonly object: string };

export interface FoundEvent {
  readonly matchedBy: MatchedBy;
  readonly provider: string;
  readonly idempotencyKey: string;
  readonly envelopeId: string | undefined;
  readonly type: string | undefined;
  readonly subject: string | undefined;
  readonly receivedAt: string | undefined;
  /**
   * `accepted` (on the queue since receivedAt), `in progress` (claim not completed), or
   * `archived` (found only in the audit archive: its idempotency record is gone).
   */
  readonly state: 'accepted' | 'in progress' | 'archived';
  readonly messageId: string | undefined;
  /** When the record (and so deduplication) expires. */
  readonly expiresAt: string | undefined;
  /** Archived events: who sent it, as the API saw it. */
  readonly sourceIp?: string | undefined;
  readonly requestId?: string | undefined;
  /** Archived events: attempts of this key read (a 503 and its retry are two). */
  readonly attempts?: number | undefined;
  /**
   * Archived events: whether the attempt shown is the acknowledged one (true), was never
   * acknowledged (false: answered 503), or cannot be told (null); and the evidence.
   */
  readonly acknowledged?: boolean | null | undefined;
  /** How it was settled (`Settlement`), or `conflicting`: two records claim one envelope id. */
  readonly settlement?: Settlement | 'conflicting' | undefined;
  readonly place: QueuePlace;
}

/** Whether the archive was searched (only when the table had no match), and what it cost. */
export type ArchiveSearch =
  | {
      readonly searched: true;
      readonly since: string;
      readonly until: string;
      readonly read: ArchiveReadStats;
    }
  | { readonly searched: false; readonly why: string };

export interface FindReport {
  readonly found: FoundEvent[];
  /** Records read by the scan (0 when the key matched directly). */
  readonly scanned: number;
  /** Records of this provider written before subjects were recorded, when nothing matched. */
  readonly withoutSubject: number;
  /** Present when the table had no match. */
  readonly archive?: ArchiveSearch | undefined;
  readonly exitCode: ExitCode;
}

function envelopeIdOf(message: HeldMessage): string | undefined {
  try {
    const id = (JSON.parse(message.body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Looks through up to `max` messages of a queue, a few seconds' hold, and releases them at once. */
async function lookFor(
  sqs: SQSClient,
  queueUrl: string,
  envelopeIds: ReadonlySet<string>,
  options: { max: number; ceiling: number | undefined; clock: () => number },
): Promise<{ hits: Map<string, HeldMessage>; looked: HeldMessage[]; complete: boolean }> {
  const collected = await collect(sqs, queueUrl, {
    max: options.max,
    holdSeconds: TAIL_HOLD_SECONDS,
    withinMs: (TAIL_HOLD_SECONDS - 2) * 1000,
    stopAtReceiveCount: options.ceiling,
    clock: options.clock,
  });
  try {
    const hits = new Map<string, HeldMessage>();
    for (const message of collected.messages) {
      const id = envelopeIdOf(message);
      if (id !== undefined && envelopeIds.has(id)) hits.set(id, message);
    }
    return { hits, looked: collected.messages, complete: collected.stopped === undefined };
  } finally {
    await release(sqs, queueUrl, collected.messages);
  }
}

/**
 * `find`: did an event arrive, when, with which envelope id, and where is it now?
 * By idempotency key (one GetItem), else by envelope id or the provider's own
 * identifier (a Scan of the table), else — the record expired — in the audit archive
 * over a bounded range. The dead-letter queue is searched (a receive there wears
 * nothing); the main queue only with `searchQueue`, as `tail` would.
 */
export async function find(target: StoreTarget, options: FindOptions, io: Io): Promise<FindReport> {
  const clock = options.clock ?? Date.now;
  // Flags first: a malformed range is refused before anything is read.
  const range = archiveRange(options, new Date(clock()));
  const { dynamodb, sqs } = target.clients();
  const { queue, deadLetterQueue } = queuesOf(target, options.provider);
  let records: { record: EventRecord; matchedBy: MatchedBy }[] = [];
  let scanned = 0;
  let withoutSubject = 0;
  try {
    const byKey = await readRecord(dynamodb, target.table, options.provider, options.id);
    if (byKey) records = [{ record: byKey, matchedBy: 'idempotencyKey' }];
    else {
      const result = await scanRecords(dynamodb, target.table, {
        expression: '#provider = :provider AND (#envelopeId = :id OR #subject = :id)',
        names: {
          '#provider': Attr.provider,
          '#envelopeId': Attr.envelopeId,
          '#subject': Attr.subject,
        },
        values: { ':provider': { S: options.provider }, ':id': { S: options.id } },
      });
      scanned = result.scanned;
      records = result.records.map((record) => ({
        record,
        matchedBy: record.envelopeId === options.id ? 'envelopeId' : 'subject',
      }));
      if (records.length === 0) {
        const old = await scanRecords(dynamodb, target.table, {
          expression: '#provider = :provider AND attribute_not_exists(#subject)',
          names: { '#provider': Attr.provider, '#subject': Attr.subject },
          values: { ':provider': { S: options.provider } },
        });
        withoutSubject = old.records.length;
      }
    }
  } catch (error) {
    throw fromAwsError(error, 'reading the idempotency table');
  }
  records.sort((left, right) =>
    (left.record.receivedAt ?? '').localeCompare(right.record.receivedAt ?? ''),
  );

  const places = new Map<string, QueuePlace>();
  const accepted = records
    .map(({ record }) => record)
    .filter((record) => record.status === RecordStatus.Completed && record.envelopeId);
  const wanted = new Set(accepted.map((record) => record.envelopeId as string));
  if (wanted.size > 0) {
    try {
      await locate(target, sqs, { queue, deadLetterQueue }, wanted, places, options, clock);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw fromAwsError(error, `looking for the event on the ${options.provider} queues`);
    }
  }

  const found: FoundEvent[] = records.map(({ record, matchedBy }) => {
    const completed = record.status === RecordStatus.Completed;
    return {
      matchedBy,
      provider: record.provider,
      idempotencyKey: record.idempotencyKey,
      envelopeId: record.envelopeId,
      type: record.type,
      subject: record.subject,
      receivedAt: record.receivedAt,
      state: completed ? 'accepted' : 'in progress',
      messageId: record.messageId,
      expiresAt:
        record.expiration === undefined
          ? undefined
          : new Date(record.expiration * 1000).toISOString(),
      place: completed
        ? (places.get(record.envelopeId ?? '') ?? {
            where: 'unknown',
            why: 'no envelope id on the record',
          })
        : {
            where: 'unknown',
            why: 'its claim has not completed (a delivery is in progress, or it crashed and the lease will free the key)',
          },
    };
  });
  let archive: ArchiveSearch | undefined;
  if (found.length === 0) {
    archive = await searchArchive(target, options, range, io, found);
  }
  const exitCode = found.length > 0 ? ExitCode.Ok : ExitCode.Unexpected;
  const report: FindReport = { found, scanned, withoutSubject, archive, exitCode };
  if (options.json) {
    io.out(jsonForTerminal(report, 2));
    return report;
  }
  if (found.length === 0) {
    io.err(
      `no ${options.provider} event with idempotency key, envelope id or subject "${options.id}" (records are kept for the deduplication retention, 7 days by default; ${scanned} record(s) scanned)`,
    );
    if (withoutSubject > 0) {
      io.err(
        `${withoutSubject} ${options.provider} record(s) predate subjects and can be found only by key or envelope id`,
      );
    }
    if (archive?.searched) {
      io.err(
        `nor in the archive from ${archive.since} to ${archive.until} (${describeRead(archive.read)}; --since/--until for another range)`,
      );
    } else if (archive) io.err(archive.why);
    return report;
  }
  for (const event of found) {
    const archived = event.state === 'archived';
    io.out(
      printable(
        `${event.provider} event, matched by ${event.matchedBy}${archived ? ', in the archive only (no idempotency record: expired)' : ''}`,
      ),
    );
    const state =
      archived && event.acknowledged !== true
        ? `archived, ${event.acknowledged === false ? 'never acknowledged' : 'acknowledgement unknown'}`
        : archived
          ? 'archived, acknowledged'
          : event.state;
    io.out(printable(`  arrived       ${event.receivedAt ?? '(unknown)'} (${state})`));
    io.out(printable(`  envelope id   ${event.envelopeId ?? '(none)'}`));
    io.out(printable(`  key           ${event.idempotencyKey}`));
    io.out(printable(`  type          ${event.type ?? '(unknown)'}`));
    io.out(printable(`  subject       ${event.subject ?? '(not recorded: an older record)'}`));
    if (event.messageId) io.out(printable(`  message id    ${event.messageId}`));
    if (archived) {
      io.out(printable(`  source ip     ${event.sourceIp ?? '(not recorded)'}`));
      io.out(printable(`  request id    ${event.requestId ?? '(not recorded)'}`));
      io.out(`  acknowledged  ${describeArchived(event)}`);
      if ((event.attempts ?? 1) > 1) {
        io.out(
          `  attempts      ${event.attempts} archived (${event.acknowledged === true ? 'the acknowledged one shown; the others were answered 503' : 'the latest shown; none acknowledged'})`,
        );
      }
    }
    io.out(printable(`  now           ${describePlace(event.place)}`));
    if (event.expiresAt) io.out(`  deduplicated until ${event.expiresAt}`);
  }
  if (scanned > 0) io.err(`(${scanned} record(s) scanned: a Scan reads the whole table)`);
  if (archive?.searched) {
    io.err(`(archive from ${archive.since} to ${archive.until}: ${describeRead(archive.read)})`);
  }
  return report;
}

/** The archive range of a find: `--since`/`--until`, else the last {@link FIND_ARCHIVE_DAYS} days. */
function archiveRange(
  options: FindOptions,
  now: Date,
): { since: Date; until: Date; defaulted: boolean } {
  const until = options.until === undefined ? now : parseInstant(options.until, '--until', now);
  const since =
    options.since === undefined
      ? new Date(until.getTime() - FIND_ARCHIVE_DAYS * 86_400_000)
      : parseInstant(options.since, '--since', now);
  checkRange(since, until);
  return { since, until, defaulted: options.since === undefined };
}

/**
 * The table has no match: look in the archive over the range, by key, envelope id or
 * subject. One event per idempotency key — the attempt whose envelope id was asked for,
 * else the acknowledged one, else the latest — saying whether it was acknowledged;
 * appended to `found`.
 */
async function searchArchive(
  target: StoreTarget,
  options: FindOptions,
  range: { since: Date; until: Date; defaulted: boolean },
  io: Io,
  found: FoundEvent[],
): Promise<ArchiveSearch> {
  if (target.archive === undefined) {
    return {
      searched: false,
      why: `the archive is off (${target.kind === 'stack' ? 'no ArchiveBucketName output: the stack’s archive setting' : 'no "archive" key in the endpoints file'}): older events cannot be found`,
    };
  }
  const since = range.since.toISOString();
  const until = range.until.toISOString();
  io.err(
    `no idempotency record matches; searching the ${options.provider} archive from ${since} to ${until}${range.defaulted ? ` (the last ${FIND_ARCHIVE_DAYS} days by default; --since/--until for another range)` : ''}`,
  );
  const id = options.id;
  const attempts = new ArchivedAttempts();
  const { locations, s3 } = requireArchive(target, 'find');
  const read = await readArchives(
    s3,
    locations,
    {
      provider: options.provider,
      since: range.since,
      until: range.until,
      matches: (record) =>
        record.idempotencyKey === id || record.envelopeId === id || record.subject === id,
      signal: options.signal,
    },
    io,
    (event) => attempts.add(event),
  );
  await settleUnsettled(target, attempts, range.until);
  for (const key of attempts.keys()) {
    const event: ArchivedEvent =
      key.attempts.find((attempt) => attempt.envelopeId === id) ??
      key.acknowledged ??
      (key.attempts.at(-1) as ArchivedEvent);
    found.push({
      matchedBy:
        event.idempotencyKey === id
          ? 'idempotencyKey'
          : event.envelopeId === id
            ? 'envelopeId'
            : 'subject',
      provider: event.provider,
      idempotencyKey: event.idempotencyKey,
      envelopeId: event.envelopeId,
      type: event.type,
      subject: event.subject,
      receivedAt: event.receivedAt,
      state: 'archived',
      messageId: undefined,
      expiresAt: undefined,
      sourceIp: event.sourceIp,
      requestId: event.requestId,
      attempts: key.attempts.length,
      acknowledged: key.conflicting ? false : (event.acknowledged ?? null),
      settlement: key.conflicting ? 'conflicting' : event.settlement,
      place: { where: 'archive', object: `s3://${event.bucket}/${event.objectKey}` },
    });
  }
  return { searched: true, since, until, read };
}

/** The acknowledgement line of an archived event. */
function describeArchived(event: FoundEvent): string {
  if (event.settlement === 'conflicting') {
    return 'cannot be told: two different archive records claim one envelope id of this key';
  }
  return describeAcknowledgement(event.settlement);
}

function describePlace(place: QueuePlace): string {
  switch (place.where) {
    case 'dead-letter queue':
      return `on the dead-letter queue (received ${place.receiveCount}×): redrive brings it back`;
    case 'queue':
      return `on the queue, waiting for the consumer (received ${place.receiveCount}×)`;
    case 'archive':
      return `archive: ${place.object} (the queues were not searched: its record has expired)`;
    default:
      return `${place.where}: ${place.why}`;
  }
}

async function locate(
  target: StoreTarget,
  sqs: SQSClient,
  urls: { queue: string; deadLetterQueue: string },
  wanted: ReadonlySet<string>,
  places: Map<string, QueuePlace>,
  options: FindOptions,
  clock: () => number,
): Promise<void> {
  const max = options.searchMax ?? 1_000;
  const dead = await lookFor(sqs, urls.deadLetterQueue, wanted, { max, ceiling: undefined, clock });
  for (const [id, message] of dead.hits) {
    places.set(id, { where: 'dead-letter queue', receiveCount: message.receiveCount });
  }
  const rest = new Set([...wanted].filter((id) => !places.has(id)));
  if (rest.size === 0) return;
  const waiting = await queueTotal(sqs, urls.queue);
  if (waiting === 0) {
    const why = `the queue is empty${dead.complete ? ' and the dead-letter queue does not hold it' : ''}: consumed (or expired)`;
    for (const id of rest) places.set(id, { where: 'not on the queues', why });
    return;
  }
  if (!options.searchQueue) {
    for (const id of rest) {
      places.set(id, {
        where: 'unknown',
        why: `the queue holds ${waiting} message(s); --search-queue looks through them (a look counts as a receive, as with tail)`,
      });
    }
    return;
  }
  const limits = await queueLimits(sqs, urls.queue);
  const ceiling =
    limits.maxReceiveCount === undefined ? undefined : limits.maxReceiveCount - CONSUMER_RESERVE;
  const ledger = await new ReceiveLedger(target.ledgerFile).load();
  const worn = ceiling === undefined ? undefined : ledger.atOrAbove(urls.queue, ceiling, clock());
  if (ceiling !== undefined && (ceiling < 1 || (worn?.messages ?? 0) > 0)) {
    for (const id of rest) {
      places.set(id, {
        where: 'unknown',
        why: 'not searching the queue: its messages are near the receive limit (see tail)',
      });
    }
    return;
  }
  const live = await lookFor(sqs, urls.queue, rest, { max, ceiling, clock });
  ledger.record(urls.queue, live.looked, limits.retentionSeconds, clock());
  await ledger.save(clock()).catch(() => undefined);
  for (const id of rest) {
    const message = live.hits.get(id);
    places.set(
      id,
      message
        ? { where: 'queue', receiveCount: message.receiveCount }
        : live.complete && dead.complete
          ? { where: 'not on the queues', why: 'neither queue holds it: consumed (or expired)' }
          : {
              where: 'unknown',
              why: `not among the ${live.looked.length} queue message(s) looked at`,
            },
    );
  }
}
