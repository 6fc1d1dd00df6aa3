import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryIo } from '../../cli/io.js';
import { send } from '../../cli/send.js';
import { tail } from '../../cli/tail.js';
import { localTarget, type StoreTarget } from '../../cli/target.js';
import { queueUrlOf } from '../../local/endpoints.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';
import { cli, runProcess, writeEndpoints } from './cli-support.js';

describe('cli tail: safe on a live queue', () => {
  let ingress: TestIngress;
  let endpoints: Awaited<ReturnType<typeof writeEndpoints>>;
  let target: StoreTarget;

  beforeAll(async () => {
    ingress = await startTestIngress();
  });
  // Each test its own endpoints folder, so its own memory of receive counts (tail-ledger.json).
  beforeEach(async () => {
    endpoints = await writeEndpoints(ingress.endpoints);
    target = await localTarget(endpoints.file, {});
  });
  afterEach(async () => {
    target.close();
    await endpoints.remove();
    await ingress.drain('sigmate');
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  const sendSigmate = (count: number) =>
    send(target, { provider: 'sigmate', count, duplicates: 0, concurrency: 4 }, new MemoryIo());

  /** What the consumer gets in one receive of everything visible, with receive counts. */
  async function consumerReceive(): Promise<Message[]> {
    const received: Message[] = [];
    for (;;) {
      const { Messages = [] } = await ingress.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: ingress.endpoints.queues.sigmate,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 30,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      if (Messages.length === 0) break;
      received.push(...Messages);
    }
    // The consumer fails them all: visible again at once, as after a crash and its timeout.
    for (const message of received) {
      await ingress.clients.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: ingress.endpoints.queues.sigmate,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    return received;
  }

  async function depths() {
    const run = await cli(['status', '--endpoints', endpoints.file, '--json']);
    const report = JSON.parse(run.stdout.join('\n'));
    return { queue: report.queues.sigmate.queue, dlq: report.queues.sigmate.deadLetterQueue };
  }

  it('six plain tails and a tail --follow leave the DLQ empty and the consumer its retries', async () => {
    const sent = await sendSigmate(12);
    const runs = [];
    for (let look = 0; look < 6; look += 1) {
      runs.push(await cli(['tail', '--endpoints', endpoints.file, '-p', 'sigmate', '--oneline']));
    }
    // Looks 1-3 show a page each; the third sees receive count 3 (= 5 - 2 kept for the
    // consumer) and says it stops; the next ones receive nothing and show the newest
    // events from the idempotency records instead — never a refusal.
    expect(runs.map((run) => run.stdout.length)).toEqual([10, 10, 10, 10, 10, 10]);
    expect(runs[2]?.stderr.join('\n')).toMatch(
      /stopped looking at the sigmate queue: \d+ message\(s\) have now been received 3\+ times; it dead-letters after 5/,
    );
    for (const fromRecords of runs.slice(3)) {
      expect(fromRecords.code).toBe(0);
      expect(fromRecords.stderr.join('\n')).toMatch(
        /not receiving from the sigmate queue: \d+ message\(s\) there were last seen received 3 times.*Shown instead: the 10 newest event\(s\) the ingress accepted for sigmate, from its idempotency records/,
      );
    }

    // --follow shows new events from the records, and never receives.
    const io = new MemoryIo();
    const following = tail(
      target,
      { providers: ['sigmate'], follow: true, max: 2, format: 'oneline', pollMs: 50 },
      io,
    );
    const more = await sendSigmate(2);
    expect((await following).shown).toBe(2);
    expect(io.stdout.map((line) => /id=(\S+)/.exec(line)?.[1]).sort()).toEqual(
      [...more.acceptedIds].sort(),
    );

    expect(await depths()).toEqual({
      queue: { visible: 14, inFlight: 0, delayed: 0 },
      dlq: { visible: 0, inFlight: 0, delayed: 0 },
    });
    // The consumer gets every event, and still has a retry: two receives, none dead-lettered.
    const first = await consumerReceive();
    const second = await consumerReceive();
    expect(first).toHaveLength(14);
    expect(second).toHaveLength(14);
    const counts = second.map((message) => Number(message.Attributes?.ApproximateReceiveCount));
    expect(Math.max(...counts)).toBe(5);
    expect((await depths()).dlq.visible).toBe(0);
    const ids = new Set(second.map((message) => JSON.parse(message.Body ?? '{}').id));
    expect(ids).toEqual(new Set([...sent.acceptedIds, ...more.acceptedIds]));
  });

  /** Runs the installed bin with its stdout piped into `reader`; the CLI's own exit status. */
  function piped(args: string, reader: string) {
    return runProcess('bash', [
      '-c',
      `"${process.execPath}" bin/webhook-ingress.mjs ${args} | ${reader}; exit \${PIPESTATUS[0]}`,
    ]);
  }

  it('never locks a queue: after three looks, and once the consumer took those messages, the newest events still show, without a receive', async () => {
    await sendSigmate(12);
    for (let look = 0; look < 3; look += 1) {
      await cli(['tail', '--endpoints', endpoints.file, '-p', 'sigmate', '--oneline']);
    }
    // The consumer takes and deletes everything; the queue stays live with new events.
    expect(await ingress.drain('sigmate')).toHaveLength(12);
    const fresh = await sendSigmate(3);

    const head = await piped(`tail -p sigmate --json --endpoints "${endpoints.file}"`, 'head -1');
    expect(head.code).toBe(0);
    expect(head.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(head.stdout).provider).toBe('sigmate');
    expect(head.stderr).not.toMatch(/Error|EPIPE|\n\s+at /);

    const run = await cli(['tail', '--endpoints', endpoints.file, '-p', 'sigmate', '--oneline']);
    expect(run.code).toBe(0);
    const shownIds = run.stdout.map((line) => /id=(\S+)/.exec(line)?.[1]);
    // The newest events, oldest of them first: the three just accepted come last.
    expect(shownIds.slice(-3).sort()).toEqual([...fresh.acceptedIds].sort());
    // No receive was taken from them: the consumer's first receive is their first.
    const [first] = await consumerReceive();
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
  });

  it('stops quietly when the reader closes the pipe, and hides nothing afterwards', async () => {
    await sendSigmate(5);
    const args = `tail -p sigmate --json --endpoints "${endpoints.file}"`;
    const head = await piped(args, 'head -1');
    const gone = await piped(args, 'true');
    expect(head.code).toBe(0);
    expect(head.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(head.stdout).provider).toBe('sigmate');
    expect(head.stderr).not.toMatch(/Error|EPIPE|\n\s+at /);
    // A reader gone before the first line: EPIPE for certain. Not a word, exit 0.
    expect(gone).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await depths()).queue).toEqual({ visible: 5, inFlight: 0, delayed: 0 });
  });

  it('--consume --max N deletes exactly the N it showed and releases the rest', async () => {
    await sendSigmate(7);
    const run = await cli([
      'tail',
      '--endpoints',
      endpoints.file,
      '-p',
      'sigmate',
      '--json',
      '--consume',
      '--max',
      '3',
      '--yes',
    ]);
    expect(run.stdout).toHaveLength(3);
    const left = await ingress.drain('sigmate');
    expect(left).toHaveLength(4);
    const shown = new Set(run.stdout.map((line) => JSON.parse(line).id));
    expect(left.some((message) => shown.has(message.body.id))).toBe(false);

    // Following as a consumer: the same rule, batch by batch.
    await sendSigmate(7);
    const io = new MemoryIo({ closeAfter: 2 });
    const followed = await tail(
      target,
      { providers: ['sigmate'], follow: true, consume: true, max: 5, format: 'json' },
      io,
    );
    // The reader went away after 2 lines: 2 deleted, nothing else touched.
    expect(followed).toMatchObject({ shown: 2, consumed: 2, outputClosed: true });
    expect(await depths()).toMatchObject({ queue: { visible: 5, inFlight: 0 } });
  });

  it('asks before deleting, and refuses without a terminal unless --yes', async () => {
    await sendSigmate(1);
    const refused = await cli(['tail', '--endpoints', endpoints.file, '--consume']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toEqual([
      expect.stringMatching(
        /^webhook-ingress: refusing to delete the messages shown from .* without confirmation: stdin is not a terminal \(pass --yes\)$/,
      ),
    ]);
    expect((await depths()).queue.visible).toBe(1);
  });

  it('shows the provider’s digits in every view', async () => {
    const file = join(endpoints.file, '..', 'amount.json');
    const body = '{"id":"digits-1","amount":12345678901234567890,"rate":1.10,"fee":-0.000}';
    await writeFile(file, body);
    await cli(['send', 'sigmate', '--endpoints', endpoints.file, '--file', file]);
    for (const format of [[], ['--json']]) {
      const run = await cli(['tail', '--endpoints', endpoints.file, '-p', 'sigmate', ...format]);
      const text = run.stdout.join('\n');
      expect(text).toContain('12345678901234567890');
      expect(text).toContain('1.10');
      expect(text).toContain('-0.000');
    }
  });

  it('never receives from a queue that dead-letters after 2 receives or fewer', async () => {
    const sent = await sendSigmate(1);
    const queueUrl = ingress.endpoints.queues.sigmate;
    const setLimit = (maxReceiveCount: number) =>
      ingress.clients.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${queueUrlOf(ingress.endpoints, 'sigmate', 'deadLetterQueues').split('/').at(-1)}`,
              maxReceiveCount,
            }),
          },
        }),
      );
    await setLimit(2);
    try {
      const run = await cli(['tail', '--endpoints', endpoints.file, '-p', 'sigmate', '--oneline']);
      expect(run.code).toBe(0);
      // The newest accepted events (this file's earlier ones too), the one just sent last.
      expect(run.stdout.at(-1)).toContain(`id=${sent.acceptedIds[0]}`);
      expect(run.stderr.join('\n')).toMatch(
        /not receiving from the sigmate queue: it dead-letters after 2 receive\(s\), and any receive would take one its consumer needs\. Shown instead: the \d+ newest event/,
      );
    } finally {
      await setLimit(5);
    }
    const [message] = await consumerReceive();
    expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
  });
});
