import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ProviderName } from '../../functions/registry.js';
import { fromAwsError } from './errors.js';
import { oneLine, pretty } from './format.js';
import type { Io } from './io.js';
import { collect, type HeldMessage, receiveBatch, release, remove } from './queue.js';
import type { StoreTarget } from './target.js';

export type TailFormat = 'pretty' | 'oneline' | 'json';

export interface TailOptions {
  readonly providers: readonly ProviderName[];
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
}

export interface TailReport {
  readonly shown: number;
  readonly perProvider: Record<string, number>;
  readonly consumed: number;
}

function show(io: Io, format: TailFormat, message: HeldMessage): void {
  if (format === 'json') io.out(message.body);
  else if (format === 'oneline') io.out(oneLine(message));
  else io.out(pretty(message));
}

/**
 * `tail`: shows the envelopes on the provider queues. By default nothing is
 * consumed — messages are received, shown and made visible again — but SQS has no
 * peek, so each look adds one to their receive count (the redrive policy's counter).
 */
export async function tail(target: StoreTarget, options: TailOptions, io: Io): Promise<TailReport> {
  const { sqs } = target.clients();
  const format = options.format ?? 'pretty';
  const queueOf = (provider: ProviderName) =>
    options.deadLetter ? target.queues[provider].deadLetterQueue : target.queues[provider].queue;
  const waitSeconds = options.waitSeconds ?? (target.kind === 'local' ? 0 : 1);
  const perProvider: Record<string, number> = {};
  let shown = 0;
  let consumed = 0;
  const max = options.max ?? Number.POSITIVE_INFINITY;

  if (!options.follow) {
    for (const provider of options.providers) {
      const queueUrl = queueOf(provider);
      let messages: HeldMessage[];
      try {
        messages = await collect(sqs, queueUrl, { max: max - shown, waitSeconds });
      } catch (error) {
        throw fromAwsError(error, `reading the ${provider} queue`);
      }
      for (const message of messages) show(io, format, message);
      await warnNearDeadLetter(sqs, queueUrl, provider, messages, io);
      perProvider[provider] = messages.length;
      shown += messages.length;
      if (options.consume) consumed += await remove(sqs, queueUrl, messages);
      else await release(sqs, queueUrl, messages);
    }
    const where = options.deadLetter ? 'dead-letter queue' : 'queue';
    const summary = options.providers.map((p) => `${p} ${perProvider[p] ?? 0}`).join(', ');
    const fate = options.consume
      ? `${consumed} deleted`
      : 'left on the queue (each look adds 1 to their receive count)';
    io.err(`${shown} message(s) on the ${where}: ${summary}; ${fate}`);
    return { shown, perProvider, consumed };
  }

  return follow(sqs, options, queueOf, format, io, { waitSeconds, max, perProvider });
}

/** Peeking counts as a receive: say when it brings messages to the redrive policy's limit. */
async function warnNearDeadLetter(
  sqs: SQSClient,
  queueUrl: string,
  provider: ProviderName,
  messages: readonly HeldMessage[],
  io: Io,
): Promise<void> {
  if (messages.length === 0) return;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const limit = Number(
    (JSON.parse(Attributes?.RedrivePolicy ?? '{}') as { maxReceiveCount?: unknown })
      .maxReceiveCount ?? Number.NaN,
  );
  if (!Number.isFinite(limit)) return;
  const near = messages.filter((message) => message.receiveCount >= limit - 1).length;
  if (near > 0) {
    io.err(
      `warning: ${near} ${provider} message(s) have now been received ${limit - 1}+ times; the queue moves a message to its DLQ after ${limit} (redrive brings it back)`,
    );
  }
}

async function follow(
  sqs: SQSClient,
  options: TailOptions,
  queueOf: (provider: ProviderName) => string,
  format: TailFormat,
  io: Io,
  state: { waitSeconds: number; max: number; perProvider: Record<string, number> },
): Promise<TailReport> {
  const holdSeconds = 60;
  // Held messages stay invisible while we follow, so each is shown once; renewed before expiry.
  const holding = new Map<ProviderName, { message: HeldMessage; renewAt: number }[]>();
  const deadline =
    options.durationMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.durationMs;
  const stopped = () => options.signal?.aborted === true || Date.now() >= deadline;
  let shown = 0;
  let consumed = 0;
  io.err(`following ${options.providers.join(', ')} (Ctrl-C to stop)`);
  try {
    while (!stopped() && shown < state.max) {
      const rounds = await Promise.all(
        options.providers.map(async (provider) => {
          const batch = await receiveBatch(sqs, queueOf(provider), {
            waitSeconds: Math.max(1, state.waitSeconds),
            holdSeconds,
          });
          return { provider, batch };
        }),
      );
      for (const { provider, batch } of rounds) {
        for (const message of batch) {
          if (shown >= state.max) break;
          show(io, format, message);
          shown += 1;
          state.perProvider[provider] = (state.perProvider[provider] ?? 0) + 1;
        }
        if (options.consume) {
          consumed += await remove(sqs, queueOf(provider), batch);
        } else {
          const list = holding.get(provider) ?? [];
          const renewAt = Date.now() + (holdSeconds / 2) * 1000;
          list.push(...batch.map((message) => ({ message, renewAt })));
          holding.set(provider, list);
        }
      }
      for (const [provider, list] of holding) {
        const due = list.filter((entry) => entry.renewAt <= Date.now());
        if (due.length === 0) continue;
        await release(
          sqs,
          queueOf(provider),
          due.map((entry) => entry.message),
          holdSeconds,
        );
        for (const entry of due) entry.renewAt = Date.now() + (holdSeconds / 2) * 1000;
      }
    }
  } catch (error) {
    throw fromAwsError(error, 'following the queues');
  } finally {
    for (const [provider, list] of holding) {
      await release(
        sqs,
        queueOf(provider),
        list.map((entry) => entry.message),
      ).catch(() => undefined);
    }
  }
  io.err(`${shown} message(s) shown; ${options.consume ? `${consumed} deleted` : 'none consumed'}`);
  return { shown, perProvider: state.perProvider, consumed };
}
