import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ExitCode } from '../../cli/errors.js';
import { FaultProxy } from '../support/faults.js';
import {
  archiveLine,
  cli,
  type LocalCli,
  startLocalCli,
  stopLocalCli,
  writeArchive,
  writeEndpoints,
} from './cli-support.js';

/**
 * The CLI's writes after an ambiguous outcome: SQS (or the ingress) acted, and the
 * answer was lost. Nothing is sent again; what may or may not have landed is named,
 * and the exit code says so.
 */
describe('cli writes: no resend after a lost answer', () => {
  let local: LocalCli;
  let sqs: FaultProxy;
  let api: FaultProxy;
  /** An endpoints file whose SQS (and S3) and API go through the fault proxies. */
  let faulty: Awaited<ReturnType<typeof writeEndpoints>>;

  beforeAll(async () => {
    local = await startLocalCli();
    sqs = await FaultProxy.start(inject('emulators').sqs);
    api = await FaultProxy.start(local.ingress.endpoints.api);
    faulty = await writeEndpoints({
      ...local.ingress.endpoints,
      sqs: sqs.endpoint,
      api: api.endpoint,
    });
  });
  afterEach(() => {
    for (const proxy of [sqs, api]) {
      proxy.clear();
      proxy.seen.clear();
      proxy.injected.clear();
    }
  });
  afterAll(async () => {
    await faulty?.remove();
    await sqs?.close();
    await api?.close();
    await stopLocalCli(local ?? {});
  });

  it('replay: one SendMessageBatch answer lost — each event sent once, the three named, exit 6', async () => {
    const day = '2026-06-01';
    const events = ['w-1', 'w-2', 'w-3'].map((key, index) =>
      archiveLine({ key, envelopeId: `env-${key}`, receivedAt: `${day}T10:0${index}:00.000Z` }),
    );
    const archive = local.ingress.archive;
    if (!archive) throw new Error('no archive');
    await writeArchive(archive.s3, archive.location, events);
    sqs.inject({ operation: 'SendMessageBatch', action: 'lose-response', times: 1 });

    const run = await cli([
      'replay',
      'sigmate',
      '--endpoints',
      faulty.file,
      '--since',
      day,
      '--until',
      `${day}T23:59:59Z`,
    ]);
    expect(sqs.count('lose-response')).toBe(1);
    expect(sqs.seen.get('SendMessageBatch'), 'sent once, never again').toBe(1);
    const onQueue = await local.ingress.drain('sigmate');
    expect(onQueue.map((message) => message.body.id).sort()).toEqual([
      'env-w-1',
      'env-w-2',
      'env-w-3',
    ]);
    expect(run.code).toBe(ExitCode.Ambiguous);
    const stderr = run.stderr.join('\n');
    for (const key of ['w-1', 'w-2', 'w-3']) {
      expect(stderr).toMatch(new RegExp(`unknown: .*key=${key} id=env-${key}`));
    }
    expect(stderr).toMatch(/3 event\(s\) may or may not be on the sigmate queue: not sent again/);
  });

  it('redrive: a lost SendMessageBatch answer leaves the messages on the DLQ, named, exit 6', async () => {
    for (const id of ['d-1', 'd-2']) {
      await local.ingress.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: local.ingress.endpoints.deadLetterQueues.sigmate,
          MessageBody: JSON.stringify({ version: 1, id, idempotencyKey: `k-${id}`, payload: {} }),
        }),
      );
    }
    sqs.inject({ operation: 'SendMessageBatch', action: 'lose-response', times: 1 });
    const run = await cli(['redrive', 'sigmate', '--endpoints', faulty.file, '--yes']);
    expect(sqs.seen.get('SendMessageBatch'), 'sent once, never again').toBe(1);
    expect(run.code).toBe(ExitCode.Ambiguous);
    expect(run.stderr.join('\n')).toMatch(/unknown: .*key=k-d-1 id=d-1/);
    expect(run.stderr.join('\n')).toMatch(
      /2 message\(s\) may be on the sigmate queue and are still on its dead-letter queue/,
    );
    // Never lost: on the queue once (SQS took the batch), and still on the DLQ.
    expect((await local.ingress.drain('sigmate')).map((message) => message.body.id).sort()).toEqual(
      ['d-1', 'd-2'],
    );
    const left = await cli([
      'redrive',
      'sigmate',
      '--endpoints',
      local.endpoints.file,
      '--dry-run',
    ]);
    expect(left.stdout).toHaveLength(2);
    await cli(['redrive', 'sigmate', '--endpoints', local.endpoints.file, '--yes']);
    await local.ingress.drain('sigmate');
  });

  it('redrive: a lost DeleteMessageBatch answer is named: moved, and maybe still on the DLQ', async () => {
    await local.ingress.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: local.ingress.endpoints.deadLetterQueues.sigmate,
        MessageBody: JSON.stringify({
          version: 1,
          id: 'd-3',
          idempotencyKey: 'k-d-3',
          payload: {},
        }),
      }),
    );
    sqs.inject({ operation: 'DeleteMessageBatch', action: 'lose-response', times: 1 });
    const run = await cli(['redrive', 'sigmate', '--endpoints', faulty.file, '--yes']);
    expect(run.code).toBe(ExitCode.Ambiguous);
    expect(run.stderr.join('\n')).toMatch(/unknown: .*key=k-d-3 id=d-3/);
    expect(run.stderr.join('\n')).toMatch(
      /1 message\(s\) reached the sigmate queue; whether the dead-letter queue deleted them is unknown/,
    );
    expect((await local.ingress.drain('sigmate')).map((message) => message.body.id)).toEqual([
      'd-3',
    ]);
  });

  it('send: a lost answer is not sent again; the delivery is named, exit 6', async () => {
    api.inject({ action: 'lose-response', times: 1 });
    const run = await cli(['send', 'sigmate', '-n', '3', '-c', '1', '--endpoints', faulty.file]);
    expect(api.seen.get('unknown'), 'three deliveries, none sent twice').toBe(3);
    expect(run.code).toBe(ExitCode.Ambiguous);
    expect(run.stderr.join('\n')).toMatch(
      /#1 POST \/webhooks\/sigmate: no answer \(.*\): the ingress may have accepted it; not sent again \(body sha256 [0-9a-f]{64}\)/,
    );
    // The ingress did take it: three events on the queue, none twice.
    expect(await local.ingress.drain('sigmate')).toHaveLength(3);
  });
});
