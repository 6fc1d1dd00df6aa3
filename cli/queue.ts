import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { isAmbiguousFailure } from '../functions/core/aws.js';

/** A message received from a queue, still held (invisible) by us until released or deleted. */
export interface HeldMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  /** How many times SQS has handed it out, this time included. */
  readonly receiveCount: number;
  /** When SQS accepted it, epoch ms. */
  readonly sentAt?: number | undefined;
}

export interface CollectOptions {
  /** Stop after this many messages. */
  readonly max?: number | undefined;
  /** Long-poll time per receive; 0 is exact on the local emulator, AWS wants 1 or more. */
  readonly waitSeconds?: number | undefined;
  /** How long received messages stay invisible while we read the rest. */
  readonly holdSeconds?: number | undefined;
}

function held(message: Message): HeldMessage | undefined {
  if (!message.MessageId || !message.ReceiptHandle) return undefined;
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body ?? '',
    attributes: message.MessageAttributes ?? {},
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    sentAt: message.Attributes?.SentTimestamp
      ? Number(message.Attributes.SentTimestamp)
      : undefined,
  };
}

/** One receive of up to 10 messages, held for `holdSeconds`. */
export async function receiveBatch(
  sqs: SQSClient,
  queueUrl: string,
  options: { waitSeconds: number; holdSeconds: number; max?: number },
): Promise<HeldMessage[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.max(1, Math.min(10, options.max ?? 10)),
      WaitTimeSeconds: options.waitSeconds,
      VisibilityTimeout: options.holdSeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    }),
  );
  return (Messages ?? []).flatMap((message) => held(message) ?? []);
}

/** A queue's depth, from its attributes (no receive). */
export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** Every message a queue holds, visible, in flight or delayed. */
export async function queueTotal(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { visible, inFlight, delayed } = await queueDepth(sqs, queueUrl);
  return visible + inFlight + delayed;
}

/** A queue's redrive limit and retention, read before any receive. */
export interface QueueLimits {
  /** Receives after which SQS moves a message to the dead-letter queue; undefined: none. */
  readonly maxReceiveCount: number | undefined;
  readonly retentionSeconds: number;
}

export async function queueLimits(sqs: SQSClient, queueUrl: string): Promise<QueueLimits> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['RedrivePolicy', 'MessageRetentionPeriod'],
    }),
  );
  let maxReceiveCount: number | undefined;
  try {
    const policy = JSON.parse(Attributes.RedrivePolicy ?? '{}') as { maxReceiveCount?: unknown };
    const value = Number(policy.maxReceiveCount);
    if (Number.isSafeInteger(value) && value > 0) maxReceiveCount = value;
  } catch {
    // No readable policy: no redrive limit.
  }
  const retention = Number(Attributes.MessageRetentionPeriod);
  return {
    maxReceiveCount,
    retentionSeconds: Number.isFinite(retention) && retention > 0 ? retention : 14 * 86_400,
  };
}

export interface CollectOptions {
  /** Stop after this many messages. */
  readonly max?: number | undefined;
  /** Long-poll time per receive; 0 is exact on the local emulator, AWS wants 1 or more. */
  readonly waitSeconds?: number | undefined;
  /** How long received messages stay invisible while we read the rest. */
  readonly holdSeconds?: number | undefined;
  /** Stop receiving once this much time has passed, so no hold runs out mid-walk. */
  readonly withinMs?: number | undefined;
  /** Stop receiving after a batch holding a message received this many times or more. */
  readonly stopAtReceiveCount?: number | undefined;
  readonly clock?: () => number;
}

export interface Collected {
  readonly messages: HeldMessage[];
  /** Why the walk ended before the queue looked empty, if it did. */
  readonly stopped?: 'max' | 'time' | 'receive-count' | undefined;
}

/**
 * The messages now visible on a queue (up to `max`), received and held invisible
 * for `holdSeconds`. SQS has no peek: each receive adds one to a message's receive
 * count, which the queue's redrive policy counts too. Release or delete what this returns.
 */
export async function collect(
  sqs: SQSClient,
  queueUrl: string,
  options: CollectOptions = {},
): Promise<Collected> {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const waitSeconds = options.waitSeconds ?? 0;
  const holdSeconds = options.holdSeconds ?? 300;
  const clock = options.clock ?? Date.now;
  const deadline = clock() + (options.withinMs ?? Number.POSITIVE_INFINITY);
  const seen = new Map<string, HeldMessage>();
  for (;;) {
    if (seen.size >= max) return { messages: [...seen.values()], stopped: 'max' };
    if (clock() >= deadline) return { messages: [...seen.values()], stopped: 'time' };
    const batch = await receiveBatch(sqs, queueUrl, {
      waitSeconds,
      holdSeconds,
      max: Math.min(10, max - seen.size),
    });
    const fresh = batch.filter((message) => !seen.has(message.messageId));
    for (const message of batch) seen.set(message.messageId, message);
    // Empty, or only messages we already hold (their hold ran out): nothing new is left.
    if (fresh.length === 0) return { messages: [...seen.values()] };
    const limit = options.stopAtReceiveCount;
    if (limit !== undefined && batch.some((message) => message.receiveCount >= limit)) {
      return { messages: [...seen.values()], stopped: 'receive-count' };
    }
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) {
    out.push(items.slice(index, index + size));
  }
  return out;
}

/** An entry of a batch call that SQS refused (`Failed` in its answer). */
export interface RefusedEntry {
  readonly code: string;
  readonly message: string;
  /** SQS's `SenderFault`: true when retrying the same entry cannot help. */
  readonly senderFault: boolean;
}

/** The refused entries of a batch answer, by the index of the entry sent. */
export function refusedEntries(
  failed: readonly { Id?: string; Code?: string; Message?: string; SenderFault?: boolean }[] = [],
): Map<number, RefusedEntry> {
  return new Map(
    failed.map((entry) => [
      Number(entry.Id),
      {
        code: entry.Code ?? 'Unknown',
        message: entry.Message ?? '',
        senderFault: entry.SenderFault === true,
      },
    ]),
  );
}

/** One line summing up refused batch entries: `3 refused (InvalidMessageContents: …)`. */
export function describeRefusals(refused: readonly RefusedEntry[]): string {
  const first = refused[0];
  if (!first) return '0 refused';
  return `${refused.length} refused (${first.code}${first.message ? `: ${first.message}` : ''})`;
}

/** Makes held messages visible again at once, untouched; returns the entries SQS refused. */
export async function release(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly HeldMessage[],
  visibilitySeconds = 0,
): Promise<RefusedEntry[]> {
  const refused: RefusedEntry[] = [];
  for (const batch of chunks(messages, 10)) {
    const { Failed } = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: visibilitySeconds,
        })),
      }),
    );
    refused.push(...refusedEntries(Failed).values());
  }
  return refused;
}

/**
 * Deletes held messages; returns how many the queue confirmed, the entries it refused,
 * and the messages of a call whose answer never came (deleted or not: unknown).
 */
export async function remove(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly HeldMessage[],
): Promise<{
  deleted: number;
  refused: RefusedEntry[];
  unknown: HeldMessage[];
  unknownCause?: unknown;
}> {
  let deleted = 0;
  const refused: RefusedEntry[] = [];
  const unknown: HeldMessage[] = [];
  let unknownCause: unknown;
  for (const batch of chunks(messages, 10)) {
    try {
      const { Successful, Failed } = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.receiptHandle,
          })),
        }),
      );
      deleted += Successful?.length ?? 0;
      refused.push(...refusedEntries(Failed).values());
    } catch (error) {
      if (!isAmbiguousFailure(error)) throw error;
      unknown.push(...batch);
      unknownCause ??= error;
    }
  }
  return { deleted, refused, unknown, unknownCause };
}

/** What became of the items of one {@link sendBatch}. */
export interface BatchOutcome<T> {
  /** SQS took them (`Successful`). */
  readonly sent: T[];
  /** SQS refused them (`Failed`): a definite answer; not on the queue. */
  readonly refused: { readonly item: T; readonly refusal: RefusedEntry }[];
  /**
   * The call went out and no answer came back (a lost answer, a timeout, a reset): SQS
   * may hold them or not. Never sent again — the functions' rule (functions/core/aws.ts).
   */
  readonly unknown: T[];
  /** Why `unknown` is not empty. */
  readonly unknownCause?: unknown;
}

/** How many times entries SQS refused through no fault of the sender are sent again. */
const REFUSED_ENTRY_RETRIES = 2;

/**
 * One SendMessageBatch of `items` (at most 10; see {@link sendBatches}). Entries SQS
 * refused through no fault of the sender (`SenderFault` false: a throttle, an internal
 * error) were answered as not taken, so they are sent again, up to twice. A call whose
 * outcome is unknown ({@link isAmbiguousFailure}) is never sent again: its entries are
 * returned as `unknown`. A call that failed definitely (AWS answered an error, or the
 * connection never opened) throws, with nothing of that call on the queue.
 */
export async function sendBatch<T>(
  sqs: SQSClient,
  queueUrl: string,
  items: readonly T[],
  entryOf: (item: T) => Omit<SendMessageBatchRequestEntry, 'Id'>,
): Promise<BatchOutcome<T>> {
  const sent: T[] = [];
  const refused: { item: T; refusal: RefusedEntry }[] = [];
  let pending = [...items];
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    let answer: { Successful?: { Id?: string }[]; Failed?: Parameters<typeof refusedEntries>[0] };
    try {
      answer = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((item, index) => ({ ...entryOf(item), Id: String(index) })),
        }),
      );
    } catch (error) {
      if (isAmbiguousFailure(error))
        return { sent, refused, unknown: pending, unknownCause: error };
      if (attempt === 0) throw error;
      // Sending refused entries again failed definitely: they stay refused, with that error.
      for (const item of pending) refused.push({ item, refusal: failedCall(error) });
      return { sent, refused, unknown: [] };
    }
    const taken = new Set((answer.Successful ?? []).map((entry) => entry.Id));
    const failed = refusedEntries(answer.Failed);
    const again: T[] = [];
    const unanswered: T[] = [];
    for (const [index, item] of pending.entries()) {
      const refusal = failed.get(index);
      if (taken.has(String(index))) sent.push(item);
      else if (refusal === undefined) unanswered.push(item);
      else if (!refusal.senderFault && attempt < REFUSED_ENTRY_RETRIES) again.push(item);
      else refused.push({ item, refusal });
    }
    // An entry the answer does not mention: SQS said nothing of it, so it is not resent.
    if (unanswered.length > 0) return { sent, refused, unknown: unanswered };
    pending = again;
    if (pending.length > 0) await sleep(100 * 2 ** attempt);
  }
  return { sent, refused, unknown: [] };
}

function failedCall(error: unknown): RefusedEntry {
  const name = error instanceof Error ? error.name : 'Error';
  return { code: name, message: firstLine(error), senderFault: false };
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

/** A failed call in a few words: `TimeoutError: …`, `Error (ECONNRESET): socket hang up`. */
export function describeFailure(error: unknown): string {
  if (error === undefined) return 'no answer';
  const name = error instanceof Error ? error.name : 'Error';
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = (error as { code?: unknown }).code ?? cause?.code;
  return `${name}${typeof code === 'string' ? ` (${code})` : ''}: ${firstLine(error)}`;
}

/**
 * Groups items for SendMessageBatch: at most 10 entries and, to stay inside every
 * SQS quota, at most 256 KiB of bodies per batch (a bigger body goes alone).
 */
export function sendBatches<T>(items: readonly T[], bodyOf: (item: T) => string): T[][] {
  const limit = 256 * 1024;
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(bodyOf(item));
    if (current.length > 0 && (current.length === 10 || bytes + size > limit)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
