import { type MessageAttributeValue, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { ProviderName } from '../functions/registry.js';
import { fromAwsError } from './errors.js';
import { oneLine } from './format.js';
import type { Io } from './io.js';
import {
  collect,
  describeRefusals,
  type HeldMessage,
  type RefusedEntry,
  refusedEntries,
  release,
  remove,
  sendBatches,
} from './queue.js';
import type { StoreTarget } from './target.js';

export interface RedriveOptions {
  readonly provider: ProviderName;
  readonly dryRun?: boolean | undefined;
  /** Move at most this many. */
  readonly max?: number | undefined;
  readonly waitSeconds?: number | undefined;
  /** Ctrl-C / SIGTERM: stop after the batch in hand and give back the rest. */
  readonly signal?: AbortSignal | undefined;
}

export interface RedriveReport {
  /** On the dead-letter queue when we looked (up to `max`). */
  readonly found: number;
  readonly moved: number;
  readonly failed: number;
}

function stringAttributes(
  attributes: Record<string, MessageAttributeValue>,
): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        DataType: value.DataType ?? 'String',
        ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
        ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
      },
    ]),
  );
}

/**
 * `redrive`: moves messages from a provider's dead-letter queue back to its queue,
 * body and attributes unchanged. Each message is deleted from the DLQ only after
 * the queue accepted it, so a failure leaves it where it was, never lost.
 */
export async function redrive(
  target: StoreTarget,
  options: RedriveOptions,
  io: Io,
): Promise<RedriveReport> {
  const { sqs } = target.clients();
  const { queue, deadLetterQueue } = target.queues[options.provider];
  const waitSeconds = options.waitSeconds ?? (target.kind === 'local' ? 0 : 1);
  let messages: HeldMessage[];
  try {
    ({ messages } = await collect(sqs, deadLetterQueue, { max: options.max, waitSeconds }));
  } catch (error) {
    throw fromAwsError(error, `reading the ${options.provider} dead-letter queue`);
  }
  if (options.dryRun) {
    for (const message of messages) io.out(oneLine(message));
    await release(sqs, deadLetterQueue, messages);
    io.err(`dry run: would move ${messages.length} message(s) from the ${options.provider} DLQ`);
    return { found: messages.length, moved: 0, failed: 0 };
  }
  let moved = 0;
  const failures: HeldMessage[] = [];
  const refused: RefusedEntry[] = [];
  const batches = sendBatches(messages, (message) => message.body);
  for (const [index, batch] of batches.entries()) {
    if (options.signal?.aborted) {
      // Interrupted: what was not moved is visible on the DLQ again at once, untouched.
      const rest = batches.slice(index).flat();
      await release(sqs, deadLetterQueue, rest).catch(() => undefined);
      io.err(`interrupted: ${rest.length} message(s) left on the ${options.provider} DLQ`);
      break;
    }
    let sent: HeldMessage[];
    try {
      const { Successful, Failed } = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            MessageBody: message.body,
            MessageAttributes: stringAttributes(message.attributes),
          })),
        }),
      );
      const ok = new Set((Successful ?? []).map((entry) => entry.Id));
      sent = batch.filter((_, index) => ok.has(String(index)));
      failures.push(...batch.filter((_, index) => !ok.has(String(index))));
      for (const [index, entry] of refusedEntries(Failed)) {
        refused.push(entry);
        const message = batch[index];
        if (message) io.err(`refused by the queue (${entry.code}): ${oneLine(message)}`);
      }
    } catch (error) {
      await release(sqs, deadLetterQueue, [...batch, ...failures]).catch(() => undefined);
      throw fromAwsError(error, `sending to the ${options.provider} queue (moved ${moved} so far)`);
    }
    // Sent but not deleted: the message is on both queues; the consumer drops the repeat by key.
    const removed = await remove(sqs, deadLetterQueue, sent);
    moved += removed.deleted;
    if (removed.refused.length > 0) {
      io.err(
        `${removed.refused.length} message(s) reached the queue but the DLQ refused to delete them (${describeRefusals(removed.refused)}): they are on both; consumers drop the repeat by idempotencyKey`,
      );
    }
  }
  if (failures.length > 0) await release(sqs, deadLetterQueue, failures);
  io.out(
    `moved ${moved} message(s) from the ${options.provider} DLQ to its queue` +
      (failures.length > 0
        ? `; ${failures.length} refused and left on the DLQ (${describeRefusals(refused)})`
        : ''),
  );
  return { found: messages.length, moved, failed: failures.length };
}
