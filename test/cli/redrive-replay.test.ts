import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryIo } from '../../scripts/cli/io.js';
import { redrive } from '../../scripts/cli/redrive.js';
import { replay } from '../../scripts/cli/replay.js';
import { send } from '../../scripts/cli/send.js';
import { localTarget, type StoreTarget } from '../../scripts/cli/target.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';
import { cli, writeEndpoints } from './cli-support.js';

describe('cli: redrive and replay against a local ingress', () => {
  let ingress: TestIngress;
  let endpoints: Awaited<ReturnType<typeof writeEndpoints>>;
  let target: StoreTarget;

  beforeAll(async () => {
    ingress = await startTestIngress({ env: { WEBHOOK_STORE_ENVELOPES: 'true' } });
    endpoints = await writeEndpoints(ingress.endpoints);
    target = await localTarget(endpoints.file, {});
  });
  afterAll(async () => {
    target?.close();
    await ingress?.stop();
    await endpoints?.remove();
  });

  async function deadLetter(count: number): Promise<void> {
    for (let index = 0; index < count; index += 1) {
      await ingress.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: ingress.endpoints.deadLetterQueues.sigmate,
          MessageBody: JSON.stringify({ version: 1, id: `dead-${index}`, payload: {} }),
          MessageAttributes: {
            provider: { DataType: 'String', StringValue: 'sigmate' },
            type: { DataType: 'String', StringValue: 'signal.fired' },
          },
        }),
      );
    }
  }

  it('redrive --dry-run counts the dead letters and moves nothing', async () => {
    await deadLetter(4);
    const run = await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toHaveLength(4);
    expect(run.stderr.join('\n')).toMatch(/would move 4 message/);
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('redrive --max moves exactly that many, and redrive moves the rest, attributes kept', async () => {
    const some = await cli([
      'redrive',
      'sigmate',
      '--endpoints',
      endpoints.file,
      '--max',
      '1',
      '--yes',
    ]);
    expect(some.stdout.join('\n')).toMatch(/moved 1 message/);
    const rest = await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--yes']);
    expect(rest.code).toBe(0);
    expect(rest.stdout.join('\n')).toMatch(/moved 3 message/);
    const moved = await ingress.drain('sigmate');
    expect(moved.map((message) => message.body.id).sort()).toEqual([
      'dead-0',
      'dead-1',
      'dead-2',
      'dead-3',
    ]);
    expect(moved[0]?.attributes).toEqual({ provider: 'sigmate', type: 'signal.fired' });
    const empty = await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--yes']);
    expect(empty.stdout.join('\n')).toMatch(/moved 0 message/);
  });

  it('replay re-enqueues exactly the events of the window, marked replay, keys kept', async () => {
    const sent = await send(
      target,
      { provider: 'sigmate', count: 6, duplicates: 0.5, concurrency: 3 },
      new MemoryIo(),
    );
    expect(sent.unique).toBe(3);
    const originals = await ingress.drain('sigmate');
    expect(originals).toHaveLength(3);

    const dry = await cli([
      'replay',
      'sigmate',
      '--endpoints',
      endpoints.file,
      '--since',
      '10m',
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stderr.join('\n')).toMatch(/would replay 3 sigmate event/);
    // Listed like redrive --dry-run: one line per event, marked as the replay would be.
    expect(dry.stdout).toHaveLength(3);
    for (const line of dry.stdout)
      expect(line).toMatch(/ sigmate signal\.fired key=\S+ id=\S+ \[replay\]/);
    expect(await ingress.drain('sigmate')).toHaveLength(0);

    const run = await cli(['replay', 'sigmate', '--endpoints', endpoints.file, '--since', '10m']);
    expect(run.code).toBe(0);
    const replayed = await ingress.drain('sigmate');
    expect(replayed).toHaveLength(3);
    const view = (messages: typeof replayed) =>
      messages
        .map(({ body }) => ({ id: body.id, key: body.idempotencyKey, payload: body.payload }))
        .sort((left, right) => String(left.id).localeCompare(String(right.id)));
    expect(view(replayed)).toEqual(view(originals));
    expect(replayed.every((message) => message.body.replay === true)).toBe(true);
    expect(replayed[0]?.attributes).toMatchObject({ provider: 'sigmate', replay: 'true' });
  });

  it('replay --key re-enqueues one event; a window that matched nothing exits 1', async () => {
    const key = String((await ingress.records()).find((record) => record.envelope)?.id).replace(
      /^sigmate#/,
      '',
    );
    const one = await cli(['replay', 'sigmate', '--endpoints', endpoints.file, '--key', key]);
    expect(one.stdout.join('\n')).toMatch(/replayed 1 sigmate event/);
    const [message] = await ingress.drain('sigmate');
    expect(message?.body).toMatchObject({ idempotencyKey: key, replay: true });

    const none = await cli([
      'replay',
      'sigmate',
      '--endpoints',
      endpoints.file,
      '--since',
      '2020-01-01T00:00:00Z',
      '--until',
      '2020-01-02T00:00:00Z',
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr.join('\n')).toMatch(/nothing matched: no completed sigmate event recorded/);
    expect(await ingress.drain('sigmate')).toHaveLength(0);
    const unknownKey = await cli([
      'replay',
      'sigmate',
      '--endpoints',
      endpoints.file,
      '--key',
      'nope',
    ]);
    expect(unknownKey.code).toBe(1);
  });

  it('says how many events of the window were recorded without their envelope', async () => {
    const now = new Date();
    await ingress.clients.dynamodb.send(
      new PutItemCommand({
        TableName: ingress.endpoints.table,
        Item: {
          id: { S: 'sigmate#no-envelope' },
          status: { S: 'COMPLETED' },
          provider: { S: 'sigmate' },
          type: { S: 'signal.fired' },
          receivedAt: { S: now.toISOString() },
          expiration: { N: String(Math.floor(now.getTime() / 1000) + 3600) },
        },
      }),
    );
    const io = new MemoryIo();
    const report = await replay(target, { provider: 'sigmate', since: '10m', dryRun: true }, io);
    expect(report).toMatchObject({ matched: 4, withoutEnvelope: 1 });
    expect(io.stderr.join('\n')).toMatch(/1 event\(s\) were recorded without their envelope/);
  });

  /** Runs `body` while the Sigmate queue refuses messages over 1 KiB (its smallest setting). */
  async function withSmallQueue(body: () => Promise<void>): Promise<void> {
    const resize = (bytes: number) =>
      ingress.clients.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: ingress.endpoints.queues.sigmate,
          Attributes: { MaximumMessageSize: String(bytes) },
        }),
      );
    await resize(1024);
    try {
      await body();
    } finally {
      await resize(262_144);
    }
  }

  it('replay exits 1 and names the event when SQS refuses an entry of the batch', async () => {
    const now = new Date();
    await ingress.clients.dynamodb.send(
      new PutItemCommand({
        TableName: ingress.endpoints.table,
        Item: {
          id: { S: 'sigmate#big' },
          status: { S: 'COMPLETED' },
          provider: { S: 'sigmate' },
          type: { S: 'signal.fired' },
          envelopeId: { S: 'env-big' },
          receivedAt: { S: now.toISOString() },
          expiration: { N: String(Math.floor(now.getTime() / 1000) + 3600) },
          envelope: {
            S: `{"version":1,"id":"env-big","provider":"sigmate","type":"signal.fired","idempotencyKey":"big","receivedAt":"${now.toISOString()}","payload":{"note":"${'x'.repeat(2000)}"}}`,
          },
        },
      }),
    );
    await withSmallQueue(async () => {
      const run = await cli(['replay', 'sigmate', '--endpoints', endpoints.file, '--since', '10m']);
      expect(run.code).toBe(1);
      expect(run.stderr.join('\n')).toMatch(/refused: .* key=big id=env-big/);
      expect(run.stderr.join('\n')).toMatch(/the queue 1 refused \(InvalidParameterValue/);
      expect(run.stdout.join('\n')).toMatch(/replayed 3 sigmate event/);
    });
    expect(await ingress.drain('sigmate')).toHaveLength(3);
  });

  it('redrive exits 1 and leaves on the DLQ what the queue refused', async () => {
    await deadLetter(1);
    await ingress.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: ingress.endpoints.deadLetterQueues.sigmate,
        MessageBody: JSON.stringify({ version: 1, id: 'too-big', payload: 'x'.repeat(2000) }),
      }),
    );
    await withSmallQueue(async () => {
      const run = await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--yes']);
      expect(run.code).toBe(1);
      expect(run.stdout.join('\n')).toMatch(
        /moved 1 message\(s\).*; 1 refused and left on the DLQ \(1 refused \(InvalidParameterValue/,
      );
      expect(run.stderr.join('\n')).toMatch(/refused by the queue \(InvalidParameterValue\)/);
    });
    expect((await ingress.drain('sigmate')).map((message) => message.body.id)).toEqual(['dead-0']);
    const left = await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--dry-run']);
    expect(left.stdout).toHaveLength(1);
  });

  it('an interrupted redrive moves nothing more and gives the dead letters back at once', async () => {
    await deadLetter(3);
    const io = new MemoryIo();
    const report = await redrive(target, { provider: 'sigmate', signal: AbortSignal.abort() }, io);
    // The 3 new dead letters and the one the previous test left there.
    expect(report).toMatchObject({ found: 4, moved: 0 });
    expect(io.stderr.join('\n')).toMatch(/interrupted: 4 message\(s\) left on the sigmate DLQ/);
    const left = await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--dry-run']);
    expect(left.stdout).toHaveLength(4);
    await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--yes']);
    expect(await ingress.drain('sigmate')).toHaveLength(4);
  });

  it('refuses replay without --since or --key', async () => {
    const run = await cli(['replay', 'sigmate', '--endpoints', endpoints.file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual(['webhook-ingress: replay needs --since (or --key for one event)']);
  });
});
