import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { buildEnvelope, type EnvelopeHeader } from '../../functions/core/envelope.js';
import { RecordStatus } from '../../functions/core/idempotency.js';
import type { ProviderName } from '../../functions/registry.js';
import { ExitCode, fromAwsError, UsageError } from './errors.js';
import { oneLine } from './format.js';
import type { Io } from './io.js';
import { describeRefusals, type RefusedEntry, refusedEntries, sendBatches } from './queue.js';
import { Attr, type EventRecord, scanRecords, toEventRecord } from './records.js';
import type { StoreTarget } from './target.js';

export interface ReplayOptions {
  readonly provider: ProviderName;
  /** ISO-8601 time, or a duration ago: `90s`, `15m`, `2h`, `3d`. */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  /** One event by its idempotency key (a direct read, no scan). */
  readonly key?: string | undefined;
  readonly dryRun?: boolean | undefined;
  readonly now?: () => Date;
  /** Asked with the number of events before anything is sent; throws to stop. */
  readonly confirm?: ((count: number) => Promise<void>) | undefined;
}

export interface ReplayReport {
  /** Completed records of the provider in the window. */
  readonly matched: number;
  readonly replayed: number;
  /** Matched, but recorded without their envelope (storage was off). */
  readonly withoutEnvelope: number;
  /** Items the scan read (its cost driver). */
  readonly scanned: number;
  /** Entries SQS refused (`Failed` in its answer). */
  readonly refused: number;
  /** 0 when every matched event was replayed (or listed); 1 when none matched or SQS refused some. */
  readonly exitCode: ExitCode;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An instant from `--since`/`--until`: ISO-8601, or a duration before `now`. */
export function parseInstant(text: string, flag: string, now: Date): Date {
  const duration = DURATION.exec(text.trim());
  if (duration) {
    const unit = duration[2] as keyof typeof UNIT_MS;
    return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[unit]);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    throw new UsageError(`${flag} must be an ISO-8601 time or a duration like 15m, 2h, 3d`);
  }
  return date;
}

const PAYLOAD_SPLIT = ',"payload":';

/**
 * The stored envelope, marked `replay: true`; everything else — id, idempotencyKey,
 * receivedAt and the payload's exact bytes — kept. The header is JSON without the
 * payload, so the first `,"payload":` (which cannot occur inside a JSON string) ends it.
 */
export function markReplay(envelope: string): string {
  const split = envelope.indexOf(PAYLOAD_SPLIT);
  if (split < 0 || !envelope.endsWith('}')) throw new Error('not an envelope v1');
  const header = JSON.parse(`${envelope.slice(0, split)}}`) as EnvelopeHeader & { version: number };
  if (header.version !== 1) throw new Error(`unknown envelope version ${header.version}`);
  const payload = envelope.slice(split + PAYLOAD_SPLIT.length, -1);
  return buildEnvelope({ ...header, replay: true }, payload);
}

function typeOf(envelope: string): string {
  return (JSON.parse(envelope) as { type?: string }).type ?? '';
}

/** Completed records of `provider` received in [since, until] and not yet expired. */
function scanWindow(
  dynamodb: DynamoDBClient,
  table: string,
  provider: ProviderName,
  since: string,
  until: string,
  nowSeconds: number,
): Promise<{ records: EventRecord[]; scanned: number }> {
  // A filter does not lower the cost: a scan pays for every item it reads.
  return scanRecords(dynamodb, table, {
    expression:
      '#provider = :provider AND #status = :completed AND #receivedAt BETWEEN :since AND :until AND #expiration > :now',
    names: {
      '#provider': Attr.provider,
      '#status': Attr.status,
      '#receivedAt': Attr.receivedAt,
      '#expiration': Attr.expiration,
    },
    values: {
      ':provider': { S: provider },
      ':completed': { S: RecordStatus.Completed },
      ':since': { S: since },
      ':until': { S: until },
      ':now': { N: String(nowSeconds) },
    },
  });
}

/**
 * `replay`: re-enqueues events the ingress recorded (with their envelope) within
 * its retention — for a consumer that acknowledged messages and then lost them.
 * Replays carry `replay: true` and keep their id and idempotencyKey.
 */
export async function replay(
  target: StoreTarget,
  options: ReplayOptions,
  io: Io,
): Promise<ReplayReport> {
  const now = (options.now ?? (() => new Date()))();
  if (options.since === undefined && options.key === undefined) {
    throw new UsageError('replay needs --since (or --key for one event)');
  }
  const since = options.since ? parseInstant(options.since, '--since', now) : new Date(0);
  const until = options.until ? parseInstant(options.until, '--until', now) : now;
  if (since > until) throw new UsageError('--since is after --until');
  const { dynamodb, sqs } = target.clients();
  const sinceIso = since.toISOString();
  const untilIso = until.toISOString();

  let events: EventRecord[];
  let scanned = 0;
  try {
    if (options.key !== undefined) {
      const { Item } = await dynamodb.send(
        new GetItemCommand({
          TableName: target.table,
          Key: { [Attr.key]: { S: `${options.provider}#${options.key}` } },
          ConsistentRead: true,
        }),
      );
      scanned = Item ? 1 : 0;
      const found = Item ? toEventRecord(Item) : undefined;
      const at = found?.receivedAt ?? '';
      events =
        found?.status === RecordStatus.Completed && at >= sinceIso && at <= untilIso ? [found] : [];
    } else {
      ({ records: events, scanned } = await scanWindow(
        dynamodb,
        target.table,
        options.provider,
        sinceIso,
        untilIso,
        Math.floor(now.getTime() / 1000),
      ));
    }
  } catch (error) {
    throw fromAwsError(error, 'reading the idempotency table');
  }
  events.sort((left, right) => (left.receivedAt ?? '').localeCompare(right.receivedAt ?? ''));
  const replayable = events.filter((event) => event.envelope !== undefined);
  const withoutEnvelope = events.length - replayable.length;
  const window = options.key ? `key ${options.key}` : `${sinceIso} … ${untilIso}`;
  if (withoutEnvelope > 0) {
    io.err(
      `${withoutEnvelope} event(s) were recorded without their envelope (envelope storage was off) and cannot be replayed`,
    );
  }
  if (events.length === 0) {
    io.err(
      `nothing matched: no completed ${options.provider} event recorded for ${window} (${scanned} record(s) read)`,
    );
    return {
      matched: 0,
      replayed: 0,
      withoutEnvelope,
      scanned,
      refused: 0,
      exitCode: ExitCode.Unexpected,
    };
  }
  const bodies = replayable.map((event) => markReplay(event.envelope ?? ''));
  if (options.dryRun) {
    for (const body of bodies) io.out(oneLine({ messageId: '', body, receiveCount: 0 }));
    io.err(`dry run: would replay ${replayable.length} ${options.provider} event(s), ${window}`);
    return {
      matched: events.length,
      replayed: 0,
      withoutEnvelope,
      scanned,
      refused: 0,
      exitCode: replayable.length > 0 ? ExitCode.Ok : ExitCode.Unexpected,
    };
  }
  if (replayable.length > 0) await options.confirm?.(replayable.length);
  let replayed = 0;
  const refused: RefusedEntry[] = [];
  for (const batch of sendBatches(bodies, (body) => body)) {
    try {
      const { Successful, Failed } = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: target.queues[options.provider].queue,
          Entries: batch.map((body, index) => ({
            Id: String(index),
            MessageBody: body,
            MessageAttributes: {
              provider: { DataType: 'String', StringValue: options.provider },
              type: { DataType: 'String', StringValue: typeOf(body) },
              replay: { DataType: 'String', StringValue: 'true' },
            },
          })),
        }),
      );
      replayed += Successful?.length ?? 0;
      const failed = refusedEntries(Failed);
      refused.push(...failed.values());
      for (const index of failed.keys()) {
        const body = batch[index];
        if (body) io.err(`refused: ${oneLine({ messageId: '', body, receiveCount: 0 })}`);
      }
    } catch (error) {
      throw fromAwsError(error, `replaying to the ${options.provider} queue (${replayed} sent)`);
    }
  }
  io.out(
    `replayed ${replayed} ${options.provider} event(s), ${window} (${scanned} record(s) read)`,
  );
  if (refused.length > 0)
    io.err(`the queue ${describeRefusals(refused)}: run the same replay again for them`);
  const complete = refused.length === 0 && replayed > 0;
  return {
    matched: events.length,
    replayed,
    withoutEnvelope,
    scanned,
    refused: refused.length,
    exitCode: complete ? ExitCode.Ok : ExitCode.Unexpected,
  };
}
