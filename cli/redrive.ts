import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { fromAwsError } from './errors.js';
import { oneLine } from './format.js';
import type { Io } from './io.js';
import {
  collect,
  describeFailure,
  describeRefusals,
  type HeldMessage,
  type RefusedEntry,
  release,
  remove,
  sendBatch,
  sendBatches,
} from './queue.js';
import { queuesOf, type StoreTarget } from './target.js';

export interface RedriveOptions {
  readonly provider: string;
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
  /** Sent, or deleted from the DLQ, with no answer: where they are is unknown. */
  readonly unknown: number;
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
  const { queue, deadLetterQueue } = queuesOf(target, options.provider);
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
    return { found: messages.length, moved: 0, failed: 0, unknown: 0 };
  }
  let moved = 0;
  const failures: HeldMessage[] = [];
  const refused: RefusedEntry[] = [];
  // Sent, no answer: on the queue or not; left on the DLQ, never sent again.
  const unsent: HeldMessage[] = [];
  // On the queue; the DLQ's delete got no answer: maybe still there.
  const undeleted: HeldMessage[] = [];
  let sendCause: unknown;
  let deleteCause: unknown;
  const reportUnknown = () => {
    for (const message of [...unsent, ...undeleted]) io.err(`unknown: ${oneLine(message)}`);
    if (unsent.length > 0) {
      io.err(
        `${unsent.length} message(s) may be on the ${options.provider} queue and are still on its dead-letter queue: not sent again (${describeFailure(sendCause)}); the next redrive moves them again — at most one extra copy each, which consumers drop by idempotencyKey`,
      );
    }
    if (undeleted.length > 0) {
      io.err(
        `${undeleted.length} message(s) reached the ${options.provider} queue; whether the dead-letter queue deleted them is unknown (${describeFailure(deleteCause)}): if not, the next redrive moves them again — at most one extra copy each`,
      );
    }
  };
  const batches = sendBatches(messages, (message) => message.body);
  try {
    for (const [index, batch] of batches.entries()) {
      if (options.signal?.aborted) {
        // Interrupted: what was not moved is visible on the DLQ again at once, untouched.
        const rest = batches.slice(index).flat();
        await release(sqs, deadLetterQueue, rest).catch(() => undefined);
        io.err(`interrupted: ${rest.length} message(s) left on the ${options.provider} DLQ`);
        break;
      }
      let outcome: Awaited<ReturnType<typeof sendBatch<HeldMessage>>>;
      try {
        outcome = await sendBatch(sqs, queue, batch, (message) => ({
          MessageBody: message.body,
          MessageAttributes: stringAttributes(message.attributes),
        }));
      } catch (error) {
        await release(sqs, deadLetterQueue, [...batch, ...failures, ...unsent]).catch(
          () => undefined,
        );
        throw fromAwsError(
          error,
          `sending to the ${options.provider} queue (moved ${moved} so far)`,
        );
      }
      for (const { item, refusal } of outcome.refused) {
        failures.push(item);
        refused.push(refusal);
        io.err(`refused by the queue (${refusal.code}): ${oneLine(item)}`);
      }
      unsent.push(...outcome.unknown);
      sendCause ??= outcome.unknownCause;
      // Sent but not deleted: the message is on both queues; the consumer drops the repeat by key.
      const removed = await remove(sqs, deadLetterQueue, outcome.sent);
      moved += removed.deleted;
      undeleted.push(...removed.unknown);
      deleteCause ??= removed.unknownCause;
      if (removed.refused.length > 0) {
        io.err(
          `${removed.refused.length} message(s) reached the queue but the DLQ refused to delete them (${describeRefusals(removed.refused)}): they are on both; consumers drop the repeat by idempotencyKey`,
        );
      }
    }
  } catch (error) {
    reportUnknown();
    throw fromAwsError(
      error,
      `moving the ${options.provider} dead letters (moved ${moved} so far)`,
    );
  }
  // Refused, or sent with no answer: visible on the DLQ again at once, where they were.
  if (failures.length > 0 || unsent.length > 0) {
    await release(sqs, deadLetterQueue, [...failures, ...unsent]);
  }
  io.out(
    `moved ${moved} message(s) from the ${options.provider} DLQ to its queue` +
      (failures.length > 0
        ? `; ${failures.length} refused and left on the DLQ (${describeRefusals(refused)})`
        : '') +
      (unsent.length + undeleted.length > 0 ? `; ${unsent.length + undeleted.length} unknown` : ''),
  );
  reportUnknown();
  return {
    found: messages.length,
    moved,
    failed: failures.length,
    unknown: unsent.length + undeleted.length,
  };
}
