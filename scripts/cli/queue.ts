import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** A message received from a queue, still held (invisible) by us until released or deleted. */
export interface HeldMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  /** How many times SQS has handed it out, this time included. */
  readonly receiveCount: number;
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

/**
 * Every message now visible on a queue, received and held invisible. SQS has no
 * peek: each receive adds one to a message's receive count, which the queue's
 * redrive policy counts too. Release or delete what this returns.
 */
export async function collect(
  sqs: SQSClient,
  queueUrl: string,
  options: CollectOptions = {},
): Promise<HeldMessage[]> {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const waitSeconds = options.waitSeconds ?? 0;
  const holdSeconds = options.holdSeconds ?? 300;
  const seen = new Map<string, HeldMessage>();
  while (seen.size < max) {
    const batch = await receiveBatch(sqs, queueUrl, {
      waitSeconds,
      holdSeconds,
      max: Math.min(10, max - seen.size),
    });
    const fresh = batch.filter((message) => !seen.has(message.messageId));
    for (const message of batch) seen.set(message.messageId, message);
    // Empty, or only messages we already hold (their hold ran out): nothing new is left.
    if (fresh.length === 0) break;
  }
  return [...seen.values()];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) {
    out.push(items.slice(index, index + size));
  }
  return out;
}

/** Makes held messages visible again at once, untouched. */
export async function release(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly HeldMessage[],
  visibilitySeconds = 0,
): Promise<void> {
  for (const batch of chunks(messages, 10)) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: visibilitySeconds,
        })),
      }),
    );
  }
}

/** Deletes held messages; returns how many the queue confirmed. */
export async function remove(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly HeldMessage[],
): Promise<number> {
  let deleted = 0;
  for (const batch of chunks(messages, 10)) {
    const { Successful } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.receiptHandle,
        })),
      }),
    );
    deleted += Successful?.length ?? 0;
  }
  return deleted;
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
