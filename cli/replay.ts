import { buildEnvelope, type EnvelopeHeader, sqsSafeText } from '../functions/core/envelope.js';
import {
  type ArchivedEvent,
  type ArchiveReadStats,
  checkRange,
  describeRead,
  readArchives,
  requireArchive,
} from './archive.js';
import { ArchivedAttempts, settleUnsettled } from './attempts.js';
import { ExitCode, fromAwsError, InterruptedError, UsageError } from './errors.js';
import { parseInstant } from './flags.js';
import { oneLine, printable } from './format.js';
import { type Io, showLine } from './io.js';
import {
  describeFailure,
  describeRefusals,
  type RefusedEntry,
  sendBatch,
  sendBatches,
} from './queue.js';
import { readRecord } from './records.js';
import { queuesOf, type StoreTarget } from './target.js';

export interface ReplayOptions {
  readonly provider: string;
  /** ISO-8601 time, or a duration ago: `90s`, `15m`, `2h`, `3d`. */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  /** One event by its idempotency key; alone, its idempotency record gives the day to read. */
  readonly key?: string | undefined;
  /** The provider's own identifier, as the archive record's `subject` holds it (needs `since`). */
  readonly subject?: string | undefined;
  readonly dryRun?: boolean | undefined;
  /**
   * Also recover keys no attempt of which was acknowledged (answered 503 until the
   * provider gave up, or unknown): their latest verified attempt, marked
   * `"acknowledged": false` (or `null` when unknown).
   */
  readonly includeUnacknowledged?: boolean | undefined;
  readonly now?: () => Date;
  /** Asked with the number of events before anything is sent; throws to stop. */
  readonly confirm?: ((count: number) => Promise<void>) | undefined;
  /** Ctrl-C, SIGTERM or a closed stdout: stop reading, or stop after the batch in hand. */
  readonly signal?: AbortSignal | undefined;
}

export interface ReplayReport {
  /** Events selected: one per idempotency key, after dropping copies and other attempts. */
  readonly matched: number;
  readonly replayed: number;
  /** Lines dropped as exact copies of an archived record (same envelope id). */
  readonly copies: number;
  /** Other attempts of a selected key (answered 503 before the acknowledged one): not replayed. */
  readonly earlierAttempts: number;
  /** Keys none of whose attempts was acknowledged: left out unless `includeUnacknowledged`. */
  readonly unacknowledged: number;
  /** Of those, recovered (sent marked `acknowledged: false` or `null`). */
  readonly recovered: number;
  /** Keys with two different records for one envelope id: never replayed. */
  readonly conflicting: number;
  /** Matched, but the archived envelope is not an envelope v1: not replayed. */
  readonly unreplayable: number;
  /** What was read from the archive. */
  readonly read: ArchiveReadStats;
  /** Entries SQS refused (`Failed` in its answer). */
  readonly refused: number;
  /** Entries of a call whose answer was lost: on the queue or not, unknown; never resent. */
  readonly unknown?: number;
  /** 0 when every matched event was replayed (or listed); 1 when none matched, or some were not. */
  readonly exitCode: ExitCode;
}

const PAYLOAD_SPLIT = ',"payload":';

/**
 * The archived envelope, marked `replay: true` (and, recovering an attempt that was never
 * acknowledged, `acknowledged: false` or `null`); everything else — id, idempotencyKey,
 * receivedAt and the payload's exact bytes — kept. The header is JSON without the
 * payload, so the first `,"payload":` (which cannot occur inside a JSON string) ends it.
 */
export function markReplay(
  envelope: string,
  record?: { provider: string; envelopeId: string; idempotencyKey: string },
  acknowledged?: false | null,
): string {
  const split = envelope.indexOf(PAYLOAD_SPLIT);
  if (split < 0 || !envelope.endsWith('}')) throw new Error('not an envelope v1');
  const header = JSON.parse(`${envelope.slice(0, split)}}`) as EnvelopeHeader & { version: number };
  if (header.version !== 1) throw new Error(`unknown envelope version ${header.version}`);
  // The archive line's fields select what is replayed; the envelope is what is sent. A
  // line whose envelope names another event (written by other hands) is not replayed.
  if (
    record !== undefined &&
    (header.provider !== record.provider ||
      header.id !== record.envelopeId ||
      header.idempotencyKey !== record.idempotencyKey)
  ) {
    throw new Error('its envelope names another event than its archive record');
  }
  const payload = envelope.slice(split + PAYLOAD_SPLIT.length, -1);
  return buildEnvelope(
    { ...header, replay: true, ...(acknowledged === undefined ? {} : { acknowledged }) },
    payload,
  );
}

/** The dry run's mark of a recovered attempt (the envelope says it too). */
function recoveredMark(recovered: false | null | undefined): string {
  if (recovered === undefined) return '';
  return recovered === false ? ' [never acknowledged]' : ' [acknowledgement unknown]';
}

/** Within this long of now, "nothing matched" may only mean the archiver has not written yet. */
const ARCHIVE_LAG_MS = 5 * 60_000;

/** What was asked for, in the words of the report lines. */
function describeSelection(
  options: ReplayOptions,
  range: { since: Date | undefined; until: Date },
  keyRecord: { receivedAt: string } | undefined,
): string {
  const parts = keyRecord
    ? [
        `key ${options.key} (received ${keyRecord.receivedAt}: partition date=${keyRecord.receivedAt.slice(0, 10)})`,
      ]
    : [
        `${range.since?.toISOString()} … ${range.until.toISOString()}`,
        ...(options.key !== undefined ? [`key ${options.key}`] : []),
      ];
  if (options.subject !== undefined) parts.push(`subject ${options.subject}`);
  return parts.join(', ');
}

/**
 * `replay`: re-enqueues archived events — for a consumer that acknowledged messages and
 * then lost them. Reads the audit archive (S3): only the day partitions the selection
 * needs, each object streamed, only matches held. One replay per idempotency key: its
 * acknowledged attempt ({@link ArchivedAttempts}), marked `replay: true`, id and
 * idempotencyKey kept. Keys never acknowledged are recovered only when asked, marked so.
 */
export async function replay(
  target: StoreTarget,
  options: ReplayOptions,
  io: Io,
): Promise<ReplayReport> {
  const now = (options.now ?? (() => new Date()))();
  if (options.subject !== undefined && options.since === undefined) {
    throw new UsageError(
      '--subject needs --since: the archive has no index by subject, so a time range bounds what is read',
    );
  }
  if (options.since === undefined && options.key === undefined) {
    throw new UsageError('replay needs --since (or --key for one event)');
  }
  const until = options.until ? parseInstant(options.until, '--until', now) : now;
  const since = options.since ? parseInstant(options.since, '--since', now) : undefined;
  if (since !== undefined) checkRange(since, until);
  const { locations, s3 } = requireArchive(target, 'replay');
  const { sqs, dynamodb } = target.clients();

  // --key alone: its idempotency record (one GetItem) says which day to read.
  let keyRecord: { receivedAt: string } | undefined;
  if (since === undefined && options.key !== undefined) {
    let record: Awaited<ReturnType<typeof readRecord>>;
    try {
      record = await readRecord(dynamodb, target.table, options.provider, options.key);
    } catch (error) {
      throw fromAwsError(error, 'reading the idempotency table');
    }
    if (record?.receivedAt === undefined) {
      throw new UsageError(
        `no idempotency record for ${options.provider} key "${options.key}": it expired after the deduplication window (7 days by default), or never arrived (pass --since, and --until, to search the archive by time)`,
      );
    }
    keyRecord = { receivedAt: record.receivedAt };
  }
  const selection = describeSelection(options, { since, until }, keyRecord);

  const attempts = new ArchivedAttempts();
  const read = await readArchives(
    s3,
    locations,
    {
      provider: options.provider,
      since: since ?? new Date(0),
      until,
      dates: keyRecord ? [keyRecord.receivedAt.slice(0, 10)] : undefined,
      matches: (record) =>
        (options.key === undefined || record.idempotencyKey === options.key) &&
        (options.subject === undefined || record.subject === options.subject),
      signal: options.signal,
    },
    io,
    (event) => attempts.add(event),
  );
  const settledNow = await settleUnsettled(target, attempts, now);
  if (settledNow > 0) {
    io.err(
      `settled ${settledNow} line(s) archived before attempts were settled, against the idempotency table (past the deduplication window their acknowledgement is unknown)`,
    );
  }
  const keys = attempts.keys();
  const acknowledged = keys.filter((key) => key.acknowledged !== undefined);
  const unacknowledged = keys.filter((key) => key.recoverable !== undefined);
  const conflicting = keys.filter((key) => key.conflicting);
  const elsewhere = keys.filter(
    (key) => key.acknowledged === undefined && key.acknowledgedElsewhere,
  );
  const chosen: { event: ArchivedEvent; recovered: false | null | undefined }[] = [
    ...acknowledged.map((key) => ({
      event: key.acknowledged as ArchivedEvent,
      recovered: undefined,
    })),
    ...(options.includeUnacknowledged
      ? unacknowledged.map((key) => {
          const event = key.recoverable as ArchivedEvent;
          return { event, recovered: event.acknowledged === false ? (false as const) : null };
        })
      : []),
  ];
  const selected = new Set(chosen.map(({ event }) => event.idempotencyKey));
  const counts = {
    copies: attempts.copies,
    earlierAttempts: keys
      .filter((key) => selected.has(key.idempotencyKey))
      .reduce((sum, key) => sum + key.attempts.length - 1, 0),
    unacknowledged: unacknowledged.length,
    recovered: options.includeUnacknowledged ? unacknowledged.length : 0,
    conflicting: conflicting.length,
    read,
  };
  if (counts.copies > 0 || counts.earlierAttempts > 0) {
    io.err(
      `one replay per idempotency key: dropped ${counts.copies} exact cop${counts.copies === 1 ? 'y' : 'ies'} (same envelope id) and ${counts.earlierAttempts} other attempt(s) of a replayed key (not the one replayed)`,
    );
  }
  if (unacknowledged.length > 0) {
    const attemptCount = unacknowledged.reduce((sum, key) => sum + key.attempts.length, 0);
    io.err(
      options.includeUnacknowledged
        ? `recovering ${unacknowledged.length} key(s) never acknowledged (${attemptCount} attempt(s) archived): each is sent marked "acknowledged": false (answered 503: the provider was never told it arrived) or null (unknown)`
        : `not replayed: ${unacknowledged.length} key(s) never acknowledged (${attemptCount} attempt(s) archived, none acknowledged: answered 503 until the provider gave up, or unknown); --include-unacknowledged recovers them, marked "acknowledged": false`,
    );
  }
  if (attempts.contradicting > 0) {
    io.err(
      `ignored ${attempts.contradicting} line(s) that claim an acknowledged envelope id with other content than its idempotency record names (not the provider function's attempt)`,
    );
  }
  if (elsewhere.length > 0) {
    io.err(
      `not replayed: ${elsewhere.length} key(s) whose acknowledged attempt was received outside the range (widen --since/--until)`,
    );
  }
  for (const key of conflicting) {
    io.err(
      printable(
        `refused key ${key.idempotencyKey}: two different archive records claim one envelope id, so neither can be tied to the acknowledged attempt (${key.attempts.map((event) => `s3://${event.bucket}/${event.objectKey}`).join(', ')})`,
      ),
    );
  }
  if (chosen.length === 0) {
    const recent = now.getTime() - until.getTime() < ARCHIVE_LAG_MS;
    const what = keys.length === 0 ? 'no' : 'no acknowledged';
    io.err(
      `nothing matched: ${what} ${options.provider} event in the archive for ${selection} (${describeRead(read)})${recent ? '; an event reaches the archive up to ~2 minutes after its acknowledgement on a stack: try again shortly' : ''}`,
    );
    return {
      matched: 0,
      replayed: 0,
      ...counts,
      unreplayable: 0,
      refused: 0,
      exitCode: ExitCode.Unexpected,
    };
  }

  const replays: { body: string; event: ArchivedEvent; recovered: false | null | undefined }[] = [];
  for (const { event, recovered } of chosen) {
    try {
      replays.push({ body: markReplay(event.envelope, event, recovered), event, recovered });
    } catch (error) {
      io.err(
        `cannot replay key ${event.idempotencyKey} (s3://${event.bucket}/${event.objectKey}): ${(error as Error).message}`,
      );
    }
  }
  const unreplayable = chosen.length - replays.length;
  const base = { matched: chosen.length, ...counts, unreplayable };
  // Refused keys are events that were not replayed: the run is not complete.
  const whole = unreplayable === 0 && conflicting.length === 0;

  if (options.dryRun) {
    for (const { body, recovered } of replays) {
      if (!(await showLine(io, `${shownBody(body)}${recoveredMark(recovered)}`))) {
        // The reader has gone (`| head`): it has what it wanted; nothing was sent anyway.
        return { ...base, replayed: 0, refused: 0, exitCode: ExitCode.Ok };
      }
    }
    io.err(
      `dry run: would replay ${replays.length} ${options.provider} event(s), ${selection} (${describeRead(read)})`,
    );
    return {
      ...base,
      replayed: 0,
      refused: 0,
      exitCode: replays.length > 0 && whole ? ExitCode.Ok : ExitCode.Unexpected,
    };
  }
  if (options.signal?.aborted) throw new InterruptedError('interrupted: nothing was sent');
  if (replays.length > 0) await options.confirm?.(replays.length);

  let replayed = 0;
  let interrupted = false;
  const refused: RefusedEntry[] = [];
  const unknown: (typeof replays)[number][] = [];
  let unknownCause: unknown;
  const reportUnknown = () => {
    if (unknown.length === 0) return;
    for (const item of unknown) io.err(`unknown: ${shownBody(item.body)}`);
    io.err(
      `${unknown.length} event(s) may or may not be on the ${options.provider} queue: not sent again (${describeFailure(unknownCause)}: SQS may have taken the batch before its answer was lost). A consumer that drops repeats by idempotencyKey is safe either way; to make sure, replay each with --key — at most one extra copy each`,
    );
  };
  try {
    for (const batch of sendBatches(replays, (item) => item.body)) {
      // A batch is one call: it is sent whole or not at all, never cut in half.
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const outcome = await sendBatch(
        sqs,
        queuesOf(target, options.provider).queue,
        batch,
        ({ body, event, recovered }) => ({
          MessageBody: body,
          MessageAttributes: {
            provider: { DataType: 'String', StringValue: options.provider },
            // As the functions set it: the type made SQS-safe (the record keeps it raw).
            type: { DataType: 'String', StringValue: sqsSafeText(event.type) },
            replay: { DataType: 'String', StringValue: 'true' },
            // A recovered delivery that was never acknowledged says so to filters too.
            ...(recovered === undefined
              ? {}
              : {
                  acknowledged: {
                    DataType: 'String',
                    StringValue: recovered === false ? 'false' : 'unknown',
                  },
                }),
          },
        }),
      );
      replayed += outcome.sent.length;
      for (const { item, refusal } of outcome.refused) {
        refused.push(refusal);
        io.err(`refused: ${shownBody(item.body)}`);
      }
      unknown.push(...outcome.unknown);
      unknownCause ??= outcome.unknownCause;
    }
  } catch (error) {
    reportUnknown();
    throw fromAwsError(error, `replaying to the ${options.provider} queue (${replayed} sent)`);
  }
  const recoveredNote =
    counts.recovered > 0 ? ` (${counts.recovered} never acknowledged, marked)` : '';
  io.out(
    printable(
      `replayed ${replayed} ${options.provider} event(s)${recoveredNote}, ${selection} (${describeRead(read)})${unknown.length > 0 ? `; ${unknown.length} unknown` : ''}`,
    ),
  );
  if (interrupted) {
    io.err(
      `interrupted: ${replays.length - replayed - refused.length - unknown.length} event(s) were not sent`,
    );
  }
  if (refused.length > 0) {
    io.err(
      `the queue ${describeRefusals(refused)}: those were not replayed (replay each with --key; the same selection again would replay the others a second time)`,
    );
  }
  reportUnknown();
  const complete = !interrupted && refused.length === 0 && whole && replayed === replays.length;
  return {
    ...base,
    replayed,
    refused: refused.length,
    unknown: unknown.length,
    exitCode:
      unknown.length > 0 ? ExitCode.Ambiguous : complete ? ExitCode.Ok : ExitCode.Unexpected,
  };
}

/** A replayed body as `tail --oneline` shows it. */
function shownBody(body: string): string {
  return oneLine({ messageId: '', body, receiveCount: 0 });
}
