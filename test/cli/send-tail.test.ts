import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableProviders } from '../../functions/registry.js';
import { MemoryIo } from '../../scripts/cli/io.js';
import { send } from '../../scripts/cli/send.js';
import { tail } from '../../scripts/cli/tail.js';
import { localTarget, type StoreTarget } from '../../scripts/cli/target.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';
import { cli, writeEndpoints } from './cli-support.js';

const served = availableProviders();

describe('cli: send and tail against a local ingress', () => {
  let ingress: TestIngress;
  let endpoints: Awaited<ReturnType<typeof writeEndpoints>>;
  let target: StoreTarget;

  beforeAll(async () => {
    ingress = await startTestIngress();
    endpoints = await writeEndpoints(ingress.endpoints);
    target = await localTarget(endpoints.file, {});
  });
  afterAll(async () => {
    target?.close();
    await ingress?.stop();
    await endpoints?.remove();
  });

  it('sends 500 with 20% redeliveries and tail shows exactly the 400 unique events', async () => {
    const io = new MemoryIo();
    const report = await send(
      target,
      { provider: 'sigmate', count: 500, duplicates: 0.2, concurrency: 16 },
      io,
    );
    expect(report).toMatchObject({ sent: 500, unique: 400, redeliveries: 100, unexpected: 0 });
    expect(report.counts).toEqual({ '200 accepted': 400, '200 duplicate': 100 });
    expect(report.exitCode).toBe(0);

    const tailed = await cli(['tail', '--endpoints', endpoints.file, '-p', 'sigmate', '--oneline']);
    expect(tailed.code).toBe(0);
    expect(tailed.stdout).toHaveLength(400);
    const ids = tailed.stdout.map((line) => /id=(\S+)/.exec(line)?.[1]);
    expect(new Set(ids)).toEqual(new Set(report.acceptedIds));
    expect(tailed.stderr.join('\n')).toMatch(/400 message\(s\) on the queue: sigmate 400; left/);
  });

  it('leaves the messages on the queue unless told to consume them', async () => {
    const again = await tail(target, { providers: ['sigmate'], format: 'json' }, new MemoryIo());
    expect(again.shown).toBe(400);
    const consumed = await tail(
      target,
      { providers: ['sigmate'], format: 'json', consume: true },
      new MemoryIo(),
    );
    expect(consumed).toMatchObject({ shown: 400, consumed: 400 });
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('predicts 401 for --bad-signature and enqueues nothing', async () => {
    const run = await cli([
      'send',
      'sigmate',
      '--endpoints',
      endpoints.file,
      '--bad-signature',
      '-n',
      '5',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout.join('\n')).toMatch(/401 rejected\s+5/);
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('sends a file’s exact bytes: one event, the copies answered duplicate', async () => {
    const file = join(endpoints.file, '..', 'payload.json');
    await writeFile(file, '{"id":"cli-file-1","rank":"A"}');
    const first = await cli([
      'send',
      'sigmate',
      '--endpoints',
      endpoints.file,
      '--file',
      file,
      '-n',
      '3',
    ]);
    expect(first.code).toBe(0);
    expect(first.stdout.join('\n')).toMatch(/200 accepted\s+1[\s\S]*200 duplicate\s+2/);
    const messages = await ingress.drain('sigmate');
    expect(messages.map((message) => message.body.payload)).toEqual([
      { id: 'cli-file-1', rank: 'A' },
    ]);
  });

  it('exits 1 with the surprises listed when an answer differs from the prediction', async () => {
    const file = join(endpoints.file, '..', 'conflict.json');
    await writeFile(file, '{"id":"cli-file-1","rank":"B"}');
    const run = await cli(['send', 'sigmate', '--endpoints', endpoints.file, '--file', file]);
    expect(run.code).toBe(1);
    expect(run.stderr.join('\n')).toMatch(/1 of 1 answers differed[\s\S]*got .*"conflict"/);
  });

  it('follows the queue until --max messages have arrived, then leaves them there', async () => {
    await send(
      target,
      { provider: 'sigmate', count: 3, duplicates: 0, concurrency: 3 },
      new MemoryIo(),
    );
    const io = new MemoryIo();
    const followed = await tail(
      target,
      { providers: ['sigmate'], follow: true, max: 3, format: 'oneline' },
      io,
    );
    expect(followed.shown).toBe(3);
    expect(io.stdout).toHaveLength(3);
    expect(await ingress.drain('sigmate')).toHaveLength(3);
  });

  it('shows the status: routes, queue depths and the table’s item count', async () => {
    await send(
      target,
      { provider: 'sigmate', count: 2, duplicates: 0, concurrency: 2 },
      new MemoryIo(),
    );
    const run = await cli(['status', '--endpoints', endpoints.file, '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout.join('\n'));
    expect(report.routes['/webhooks/sigmate']).toBe(`${ingress.endpoints.api}/webhooks/sigmate`);
    expect(report.queues.sigmate.queue).toEqual({ visible: 2, inFlight: 0, delayed: 0 });
    expect(report.queues.sigmate.deadLetterQueue.visible).toBe(0);
    // 400 + 1 file event + 3 + 2 sigmate events were recorded.
    expect(report.table).toMatchObject({ items: 406, exact: true });
    await ingress.drain('sigmate');
  });

  it.runIf(served.includes('sigma'))('sends signed Sigma deliveries to each product', async () => {
    for (const product of ['transaction-monitoring', 'aml', 'cdd']) {
      const run = await cli([
        'send',
        'sigma',
        '--endpoints',
        endpoints.file,
        '--product',
        product,
        '-n',
        '4',
        '--duplicates',
        '0.25',
      ]);
      expect(run.code, run.stderr.join('\n')).toBe(0);
    }
    const messages = await ingress.drain('sigma');
    expect(messages).toHaveLength(9);
  });

  it.runIf(served.includes('signifyd'))('sends Signifyd v2, v3 and the test ping', async () => {
    const v2 = await cli(['send', 'signifyd', '--endpoints', endpoints.file, '-n', '3']);
    const v3 = await cli([
      'send',
      'signifyd',
      '--endpoints',
      endpoints.file,
      '--api-version',
      '3',
      '-n',
      '2',
    ]);
    const ping = await cli(['send', 'signifyd', '--endpoints', endpoints.file, '--test-ping']);
    expect([v2.code, v3.code, ping.code]).toEqual([0, 0, 0]);
    expect(ping.stdout.join('\n')).toMatch(/200 ignored\s+1/);
    expect(await ingress.drain('signifyd')).toHaveLength(5);
  });
});
