import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryIo } from '../../cli/io.js';
import { redrive } from '../../cli/redrive.js';
import type { StoreTarget } from '../../cli/target.js';
import { queueUrlOf } from '../../local/endpoints.js';
import type { TestIngress } from '../support/harness.js';
import { cli, type LocalCli, startLocalCli, stopLocalCli, withSmallQueue } from './cli-support.js';

describe('cli: redrive against a local ingress', () => {
  let ingress: TestIngress;
  let endpoints: LocalCli['endpoints'];
  let target: StoreTarget;

  beforeAll(async () => {
    ({ ingress, endpoints, target } = await startLocalCli());
  });
  afterAll(() => stopLocalCli({ ingress, endpoints, target }));

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

  it('redrive exits 1 and leaves on the DLQ what the queue refused', async () => {
    await deadLetter(1);
    await ingress.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: ingress.endpoints.deadLetterQueues.sigmate,
        MessageBody: JSON.stringify({ version: 1, id: 'too-big', payload: 'x'.repeat(2000) }),
      }),
    );
    await withSmallQueue(
      ingress.clients.sqs,
      queueUrlOf(ingress.endpoints, 'sigmate'),
      async () => {
        const run = await cli(['redrive', 'sigmate', '--endpoints', endpoints.file, '--yes']);
        expect(run.code).toBe(1);
        expect(run.stdout.join('\n')).toMatch(
          /moved 1 message\(s\).*; 1 refused and left on the DLQ \(1 refused \(InvalidParameterValue/,
        );
        expect(run.stderr.join('\n')).toMatch(/refused by the queue \(InvalidParameterValue\)/);
      },
    );
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
});
