import { RecordStatus } from '../functions/core/idempotency.js';
import { CliError, fromAwsError, UsageError } from './errors.js';
import { cloudWatchLogsFilter, type FilterLogEvents, followLogs } from './follow-logs.js';
import { oneLine, pretty, type ShownMessage } from './format.js';
import { type Io, showLine } from './io.js';
import { ReceiveLedger } from './ledger.js';
import {
  collect,
  describeRefusals,
  type HeldMessage,
  queueDepth,
  queueLimits,
  receiveBatch,
  release,
  remove,
} from './queue.js';
import { Attr, type EventRecord, scanRecords } from './records.js';
import { queuesOf, type StoreTarget } from './target.js';

export type TailFormat = 'pretty' | 'oneline' | 'json';

/** The longest a plain `tail` hides a message from consumers. */
export const TAIL_HOLD_SECONDS = 5;
/** Receives a look always leaves to the consumer: one to process, one to retry. */
export const CONSUMER_RESERVE = 2;
/** A plain `tail` shows at most this many messages unless `--max` says otherwise. */
export const DEFAULT_TAIL_MAX = 10;
/** `--max` beyond this cannot be walked inside one short hold. */
export const TAIL_MAX_LIMIT = 100;

export interface TailOptions {
  readonly providers: readonly string[];
  /** Read the dead-letter queues instead. */
  readonly deadLetter?: boolean | undefined;
  /** Delete what is shown; by default every message is left on its queue. */
  readonly consume?: boolean | undefined;
  readonly follow?: boolean | undefined;
  readonly format?: TailFormat | undefined;
  /** Stop after this many messages in all. */
  readonly max?: number | undefined;
  readonly waitSeconds?: number | undefined;
  /** `--follow`: stop after this long; until interrupted when unset. */
  readonly durationMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly clock?: () => number;
  /** `--follow`: waits between polls of the records (injected in tests). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly pollMs?: number;
  /** `--follow` on a stack: CloudWatch Logs FilterLogEvents (injected in tests). */
  readonly filterLogEvents?: FilterLogEvents | undefined;
}

export interface TailReport {
  readonly shown: number;
  readonly perProvider: Record<string, number>;
  readonly consumed: number;
  /**
   * Queues `tail` did not receive from, to keep the consumer's receives: their newest
   * events were shown from the idempotency records instead.
   */
  readonly fromRecords: readonly string[];
  /** The reader closed the output (`| head -1`). */
  readonly outputClosed: boolean;
}

function render(format: TailFormat, message: ShownMessage): string {
  if (format === 'json') return message.body;
  if (format === 'oneline') return oneLine(message);
  return pretty(message);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        done();
      },
      { once: true },
    );
  });
}

/**
 * `tail`: shows the envelopes on the provider queues. SQS has no peek, so a look
 * is a receive, and receives are what the redrive policy counts. A look therefore
 * holds messages a few seconds at most, shows a bounded number, and never takes a
 * message's last {@link CONSUMER_RESERVE} receives: it stops at a message that
 * close to the limit and, remembering it, refuses to look at that queue again.
 * `--follow` never receives: it shows events as the ingress records them.
 */
export async function tail(target: StoreTarget, options: TailOptions, io: Io): Promise<TailReport> {
  if (options.follow && options.deadLetter && !options.consume) {
    throw new UsageError(
      '--follow shows events as they are accepted; dead letters come from consumers: run tail --dlq again',
    );
  }
  if (options.follow && !options.consume) {
    return target.kind === 'local'
      ? followRecords(target, options, io)
      : followStack(target, options, io);
  }
  if (options.follow) return followConsume(target, options, io);
  return look(target, options, io);
}

/** A delete whose answer was lost: the message may come back once its hold ends. */
function unknownDeletes(provider: string, count: number): string {
  return `${provider}: ${count} delete(s) got no answer: those messages may still be on the queue (shown here, they reappear when their hold ends)`;
}

/** A plain `tail` (or `tail --consume`): one bounded, short look at each queue. */
async function look(target: StoreTarget, options: TailOptions, io: Io): Promise<TailReport> {
  const { sqs } = target.clients();
  const format = options.format ?? 'pretty';
  const clock = options.clock ?? Date.now;
  const where = options.deadLetter ? 'dead-letter queue' : 'queue';
  const waitSeconds = options.waitSeconds ?? (target.kind === 'local' ? 0 : 1);
  const max = Math.min(options.max ?? DEFAULT_TAIL_MAX, TAIL_MAX_LIMIT);
  const ledger = await new ReceiveLedger(target.ledgerFile).load();
  const perProvider: Record<string, number> = {};
  const fromRecords: string[] = [];
  const notes: string[] = [];
  let shown = 0;
  let consumed = 0;
  let outputClosed = false;
  let more = false;

  try {
    for (const provider of options.providers) {
      if (outputClosed || options.signal?.aborted || shown >= max) break;
      const queueUrl = options.deadLetter
        ? queuesOf(target, provider).deadLetterQueue
        : queuesOf(target, provider).queue;
      const limits = await queueLimits(sqs, queueUrl);
      // The highest receive count a look may leave a message with. --consume receives only
      // what it will delete (MaxNumberOfMessages never exceeds what is left to show).
      const ceiling =
        limits.maxReceiveCount === undefined || options.consume
          ? undefined
          : limits.maxReceiveCount - CONSUMER_RESERVE;
      // Why a receive here could take one the consumer needs; undefined: it cannot.
      let unsafe: string | undefined;
      if (ceiling !== undefined && ceiling < 1) {
        unsafe = `it dead-letters after ${limits.maxReceiveCount} receive(s), and any receive would take one its consumer needs`;
      } else if (ceiling !== undefined) {
        const worn = ledger.atOrAbove(queueUrl, ceiling, clock());
        if (worn.messages > 0) {
          const waiting = await queueDepth(sqs, queueUrl);
          // Nothing waiting: the consumer keeps up, so what was remembered has been taken.
          if (waiting.visible + waiting.delayed === 0) ledger.forget(queueUrl);
          else {
            unsafe = `${worn.messages} message(s) there were last seen received ${worn.highest} times; it dead-letters after ${limits.maxReceiveCount}, and a look leaves the consumer its last ${CONSUMER_RESERVE} receives`;
          }
        }
      }
      if (unsafe !== undefined) {
        // Never a refusal: the newest events, from what the ingress recorded, with no receive.
        const shownHere = await showNewestRecords(target, provider, max - shown, format, io);
        fromRecords.push(provider);
        perProvider[provider] = shownHere.shown;
        shown += shownHere.shown;
        if (shownHere.outputClosed) outputClosed = true;
        notes.push(
          `not receiving from the ${provider} ${where}: ${unsafe}. Shown instead: the ${shownHere.shown} newest event(s) the ingress accepted for ${provider}, from its idempotency records (${shownHere.scanned} record(s) scanned; no receive, so whether the consumer has taken them is not known)`,
        );
        continue;
      }

      const collected = await collect(sqs, queueUrl, {
        max: max - shown,
        waitSeconds,
        holdSeconds: TAIL_HOLD_SECONDS,
        // Stop receiving well inside the hold, so nothing is received twice in one look.
        withinMs: (TAIL_HOLD_SECONDS - 2) * 1000,
        stopAtReceiveCount: ceiling,
        clock,
      });
      const messages = collected.messages;
      const seen: HeldMessage[] = [];
      try {
        for (const message of messages) {
          if (outputClosed || options.signal?.aborted) break;
          if (await showLine(io, render(format, message))) seen.push(message);
          else outputClosed = true;
        }
      } finally {
        const unseen = messages.filter((message) => !seen.includes(message));
        // What stays on the queue, with the receive count this look left it with.
        const kept = options.consume ? unseen : messages;
        ledger.record(queueUrl, kept, limits.retentionSeconds, clock());
        // Only what was shown is deleted; everything else is visible again at once.
        if (options.consume && seen.length > 0) {
          const { deleted, refused, unknown } = await remove(sqs, queueUrl, seen);
          consumed += deleted;
          if (refused.length > 0) {
            notes.push(`${provider}: delete ${describeRefusals(refused)}; those stay on the queue`);
          }
          if (unknown.length > 0) notes.push(unknownDeletes(provider, unknown.length));
        }
        const refused = await release(sqs, queueUrl, kept);
        if (refused.length > 0) {
          notes.push(
            `${provider}: making messages visible again: ${describeRefusals(refused)}; they reappear within ${TAIL_HOLD_SECONDS} s`,
          );
        }
      }
      perProvider[provider] = seen.length;
      shown += seen.length;
      if (collected.stopped === 'max' || collected.stopped === 'time') more = true;
      if (collected.stopped === 'receive-count' && ceiling !== undefined) {
        const worn = messages.filter((message) => message.receiveCount >= ceiling).length;
        notes.push(
          `stopped looking at the ${provider} ${where}: ${worn} message(s) have now been received ${ceiling}+ times; it dead-letters after ${limits.maxReceiveCount}, so tail leaves them to the consumer and will not look again while they may be there`,
        );
      }
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw fromAwsError(error, `reading the ${where}s`);
  } finally {
    await ledger.save(clock()).catch(() => undefined);
  }

  if (outputClosed) {
    // The reader has what it wanted (`| head -1`): no summary, nothing left held.
    return { shown, perProvider, consumed, fromRecords, outputClosed };
  }
  for (const note of notes) io.err(note);
  const summary = options.providers.map((p) => `${p} ${perProvider[p] ?? 0}`).join(', ');
  const fate = options.consume
    ? `${consumed} deleted`
    : `left on the ${where} (each look adds 1 to their receive count)`;
  const bound = more ? `; there may be more (--max, up to ${TAIL_MAX_LIMIT})` : '';
  io.err(`${shown} message(s) shown from the ${where}: ${summary}; ${fate}${bound}`);
  return { shown, perProvider, consumed, fromRecords, outputClosed };
}

/** `tail --follow` on a stack: the accepted events from the functions' logs. */
async function followStack(target: StoreTarget, options: TailOptions, io: Io): Promise<TailReport> {
  const groups: Record<string, string> = {};
  for (const provider of options.providers) {
    const group = target.logGroups?.[provider];
    if (!group)
      throw new UsageError(`stack "${target.stack}" has no log group for the ${provider} function`);
    groups[provider] = group;
  }
  const logs = options.filterLogEvents
    ? { filter: options.filterLogEvents, close: () => {} }
    : await cloudWatchLogsFilter(target.region, target.profile, groups);
  try {
    const result = await followLogs(
      groups,
      logs.filter,
      {
        providers: options.providers,
        format: options.format ?? 'pretty',
        max: options.max,
        durationMs: options.durationMs,
        signal: options.signal,
        sleep: options.sleep ?? defaultSleep,
        render,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      },
      io,
    );
    return { ...result, consumed: 0, fromRecords: [] };
  } finally {
    logs.close();
  }
}

/**
 * What `--follow` shows of a record: its facts. The functions no longer keep the envelope
 * in the record; it is in the audit archive, a minute or two later (`find`, `replay --dry-run`).
 */
function recordMessage(record: EventRecord): ShownMessage {
  return {
    messageId: record.key,
    receiveCount: 0,
    body: JSON.stringify({
      provider: record.provider,
      type: record.type,
      id: record.envelopeId,
      idempotencyKey: record.idempotencyKey,
      receivedAt: record.receivedAt,
      ...(record.subject ? { subject: record.subject } : {}),
      ...(record.messageId ? { messageId: record.messageId } : {}),
      shown: 'the idempotency record (the envelope itself is in the audit archive)',
    }),
  };
}

/**
 * The `count` newest events the ingress accepted for `provider`, oldest of them first,
 * from the idempotency records: a Scan (it reads the whole table), never a receive.
 */
async function showNewestRecords(
  target: StoreTarget,
  provider: string,
  count: number,
  format: TailFormat,
  io: Io,
): Promise<{ shown: number; scanned: number; outputClosed: boolean }> {
  const { records, scanned } = await scanRecords(
    target.clients().dynamodb,
    target.table,
    {
      expression: '#provider = :provider AND #status = :completed',
      names: { '#provider': Attr.provider, '#status': Attr.status },
      values: { ':provider': { S: provider }, ':completed': { S: RecordStatus.Completed } },
    },
    { consistent: true },
  );
  const newest = records
    .sort((left, right) => (left.receivedAt ?? '').localeCompare(right.receivedAt ?? ''))
    .slice(-count);
  let shown = 0;
  for (const record of newest) {
    if (!(await showLine(io, render(format, recordMessage(record))))) {
      return { shown, scanned, outputClosed: true };
    }
    shown += 1;
  }
  return { shown, scanned, outputClosed: false };
}

/** How far back each poll looks again: a record completes shortly after its receivedAt. */
const FOLLOW_OVERLAP_MS = 30_000;

/**
 * `tail --follow`: polls the idempotency records for events completed since it
 * started and shows each once, from the record's facts. It never receives
 * from a queue, so it cannot compete with the consumer or wear a receive count.
 */
async function followRecords(
  target: StoreTarget,
  options: TailOptions,
  io: Io,
): Promise<TailReport> {
  const { dynamodb } = target.clients();
  const format = options.format ?? 'pretty';
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const pollMs = options.pollMs ?? 1_000;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const deadline = clock() + (options.durationMs ?? Number.POSITIVE_INFINITY);
  const started = new Date(clock()).toISOString();
  const shownKeys = new Map<string, string>();
  const perProvider: Record<string, number> = {};
  let newest = started;
  let shown = 0;
  let outputClosed = false;
  const values: Record<string, { S: string }> = Object.fromEntries(
    options.providers.map((provider, index) => [`:p${index}`, { S: provider }]),
  );
  io.err(
    `following ${options.providers.join(', ')}: events as the ingress records them (Ctrl-C to stop)`,
  );
  try {
    while (!options.signal?.aborted && clock() < deadline && shown < max && !outputClosed) {
      const since = new Date(
        Math.max(Date.parse(started), Date.parse(newest) - FOLLOW_OVERLAP_MS),
      ).toISOString();
      const { records } = await scanRecords(
        dynamodb,
        target.table,
        {
          expression: `#provider IN (${Object.keys(values).join(', ')}) AND #status = :completed AND #receivedAt >= :since`,
          names: {
            '#provider': Attr.provider,
            '#status': Attr.status,
            '#receivedAt': Attr.receivedAt,
          },
          values: {
            ...values,
            ':completed': { S: RecordStatus.Completed },
            ':since': { S: since },
          },
        },
        { consistent: true, signal: options.signal },
      );
      const fresh = records
        .filter((record) => !shownKeys.has(record.key) && (record.receivedAt ?? '') >= started)
        .sort((left, right) => (left.receivedAt ?? '').localeCompare(right.receivedAt ?? ''));
      for (const record of fresh) {
        if (shown >= max) break;
        if (!(await showLine(io, render(format, recordMessage(record))))) {
          outputClosed = true;
          break;
        }
        shown += 1;
        shownKeys.set(record.key, record.receivedAt ?? '');
        perProvider[record.provider] = (perProvider[record.provider] ?? 0) + 1;
        if ((record.receivedAt ?? '') > newest) newest = record.receivedAt ?? newest;
      }
      // Forget what the next poll can no longer return.
      for (const [key, at] of shownKeys) if (at < since) shownKeys.delete(key);
      if (shown < max && !outputClosed) await sleep(pollMs, options.signal);
    }
  } catch (error) {
    if (options.signal?.aborted && (error as Error).name === 'AbortError') {
      // Interrupted mid-poll: a normal end.
    } else {
      throw fromAwsError(error, 'following the idempotency records');
    }
  }
  if (!outputClosed) io.err(`${shown} event(s) shown; nothing was received from the queues`);
  return { shown, perProvider, consumed: 0, fromRecords: [], outputClosed };
}

/**
 * `tail --follow --consume`: acts as a consumer — long-polls, shows, and deletes
 * exactly what it showed; anything received but not shown is made visible again.
 */
async function followConsume(
  target: StoreTarget,
  options: TailOptions,
  io: Io,
): Promise<TailReport> {
  const { sqs } = target.clients();
  const format = options.format ?? 'pretty';
  const clock = options.clock ?? Date.now;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const deadline = clock() + (options.durationMs ?? Number.POSITIVE_INFINITY);
  const perProvider: Record<string, number> = {};
  let shown = 0;
  let consumed = 0;
  let outputClosed = false;
  io.err(`consuming ${options.providers.join(', ')} (Ctrl-C to stop)`);
  try {
    while (!options.signal?.aborted && clock() < deadline && shown < max && !outputClosed) {
      for (const provider of options.providers) {
        if (options.signal?.aborted || shown >= max || outputClosed) break;
        const queueUrl = options.deadLetter
          ? queuesOf(target, provider).deadLetterQueue
          : queuesOf(target, provider).queue;
        const batch = await receiveBatch(sqs, queueUrl, {
          waitSeconds: Math.max(1, options.waitSeconds ?? 1),
          holdSeconds: 30,
          max: Math.min(10, max - shown),
        });
        const seen: HeldMessage[] = [];
        try {
          for (const message of batch) {
            if (shown + seen.length >= max || options.signal?.aborted) break;
            if (await showLine(io, render(format, message))) seen.push(message);
            else {
              outputClosed = true;
              break;
            }
          }
        } finally {
          if (seen.length > 0) {
            const { deleted, refused, unknown } = await remove(sqs, queueUrl, seen);
            consumed += deleted;
            if (refused.length > 0) io.err(`${provider}: delete ${describeRefusals(refused)}`);
            if (unknown.length > 0) io.err(unknownDeletes(provider, unknown.length));
          }
          const unseen = batch.filter((message) => !seen.includes(message));
          if (unseen.length > 0) await release(sqs, queueUrl, unseen);
        }
        shown += seen.length;
        perProvider[provider] = (perProvider[provider] ?? 0) + seen.length;
      }
    }
  } catch (error) {
    throw fromAwsError(error, 'consuming the queues');
  }
  if (!outputClosed) io.err(`${shown} message(s) shown; ${consumed} deleted`);
  return { shown, perProvider, consumed, fromRecords: [], outputClosed };
}
