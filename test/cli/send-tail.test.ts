import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryIo } from '../../cli/io.js';
import { run } from '../../cli/program.js';
import { send } from '../../cli/send.js';
import { tail } from '../../cli/tail.js';
import type { StoreTarget } from '../../cli/target.js';
import { availableProviders } from '../../functions/registry.js';
import type { TestIngress } from '../support/harness.js';
import { cli, type LocalCli, runProcess, startLocalCli, stopLocalCli } from './cli-support.js';

const served = availableProviders();

describe('cli: send and tail against a local ingress', () => {
  let ingress: TestIngress;
  let endpoints: LocalCli['endpoints'];
  let target: StoreTarget;

  beforeAll(async () => {
    ({ ingress, endpoints, target } = await startLocalCli());
  });
  afterAll(() => stopLocalCli({ ingress, endpoints, target }));

  it('sends 500 with 20% redeliveries: exactly the 400 unique events reach the queue', async () => {
    const io = new MemoryIo();
    const report = await send(
      target,
      { provider: 'sigmate', count: 500, duplicates: 0.2, concurrency: 16 },
      io,
    );
    expect(report).toMatchObject({ sent: 500, unique: 400, redeliveries: 100, unexpected: 0 });
    expect(report.counts).toEqual({ '200 accepted': 400, '200 duplicate': 100 });
    expect(report.exitCode).toBe(0);

    // A plain tail shows one bounded page and says there may be more.
    const tailed = await cli(['tail', '--endpoints', endpoints.file, '-p', 'sigmate', '--oneline']);
    expect(tailed.code).toBe(0);
    expect(tailed.stdout).toHaveLength(10);
    for (const line of tailed.stdout)
      expect(line).toMatch(/ sigmate signal\.fired .*\[synthetic\]$/);
    expect(tailed.stderr.join('\n')).toMatch(
      /10 message\(s\) shown from the queue: sigmate 10; left on the queue .*there may be more/,
    );
    const all = await ingress.drain('sigmate');
    expect(new Set(all.map((message) => message.body.id))).toEqual(new Set(report.acceptedIds));
    expect(all[0]?.body.payload).toMatchObject({ synthetic: true });
  });

  it('leaves the messages on the queue unless told to consume them', async () => {
    await send(
      target,
      { provider: 'sigmate', count: 5, duplicates: 0, concurrency: 5 },
      new MemoryIo(),
    );
    const again = await tail(target, { providers: ['sigmate'], format: 'json' }, new MemoryIo());
    expect(again.shown).toBe(5);
    const consumed = await cli([
      'tail',
      '--endpoints',
      endpoints.file,
      '-p',
      'sigmate',
      '--json',
      '--consume',
      '--yes',
    ]);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout).toHaveLength(5);
    expect(consumed.stderr.join('\n')).toMatch(/5 deleted/);
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('into a pipe, consumes only with --max, and deletes just the N it wrote', async () => {
    await send(
      target,
      { provider: 'sigmate', count: 3, duplicates: 0, concurrency: 3 },
      new MemoryIo(),
    );
    const args = [
      'tail',
      '--endpoints',
      endpoints.file,
      '-p',
      'sigmate',
      '--json',
      '--consume',
      '--yes',
    ];
    const piped = new MemoryIo({ pipe: true });
    expect(await run(args, { io: piped, env: {} })).toBe(2);
    expect(piped.stderr.join('\n')).toMatch(/--consume into a pipe or a file needs --max N/);
    const bounded = new MemoryIo({ pipe: true });
    expect(await run([...args, '--max', '1'], { io: bounded, env: {} })).toBe(0);
    expect(bounded.stdout).toHaveLength(1);
    expect(await ingress.drain('sigmate')).toHaveLength(2);
  });

  it('send --json prints one JSON report and nothing else on stdout', async () => {
    const run = await cli(['send', 'sigmate', '--endpoints', endpoints.file, '-n', '2', '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toHaveLength(1);
    const report = JSON.parse(run.stdout[0] ?? '');
    expect(report).toMatchObject({
      provider: 'sigmate',
      sent: 2,
      unique: 2,
      counts: { '200 accepted': 2 },
      unexpected: 0,
      exitCode: 0,
    });
    expect(report.acceptedIds).toHaveLength(2);
    expect(await ingress.drain('sigmate')).toHaveLength(2);
  });

  it('works through the npm scripts the README names (npm run send -- …)', async () => {
    const send = await runProcess('npm', [
      'run',
      '--silent',
      'send',
      '--',
      'sigmate',
      '-n',
      '2',
      '--endpoints',
      endpoints.file,
    ]);
    expect(send.stderr).toBe('');
    expect(send.code).toBe(0);
    expect(send.stdout).toMatch(/200 accepted\s+2/);
    const find = await runProcess('npm', [
      'run',
      '--silent',
      'tail',
      '--',
      '-p',
      'sigmate',
      '--oneline',
      '--endpoints',
      endpoints.file,
    ]);
    expect(find.code).toBe(0);
    expect(find.stdout.trim().split('\n')).toHaveLength(2);
    expect(await ingress.drain('sigmate')).toHaveLength(2);
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

  it('follows new events from the records until --max, never receiving from the queue', async () => {
    const io = new MemoryIo();
    const following = tail(
      target,
      { providers: ['sigmate'], follow: true, max: 3, format: 'json', pollMs: 50 },
      io,
    );
    const sent = await send(
      target,
      { provider: 'sigmate', count: 3, duplicates: 0, concurrency: 3 },
      new MemoryIo(),
    );
    const followed = await following;
    expect(followed.shown).toBe(3);
    expect(io.stdout).toHaveLength(3);
    // The record's facts (the envelope is in the archive, not in the record).
    const shown = io.stdout.map((line) => JSON.parse(line));
    expect(shown.map((event) => event.id).sort()).toEqual([...sent.acceptedIds].sort());
    for (const event of shown) {
      expect(event).toMatchObject({
        provider: 'sigmate',
        type: 'signal.fired',
        idempotencyKey: event.subject,
        receivedAt: expect.any(String),
        shown: 'the idempotency record (the envelope itself is in the audit archive)',
      });
    }
    expect(io.stderr.join('\n')).toMatch(/nothing was received from the queues/);
    // Never received: the messages are all there, none in flight.
    const status = await cli(['status', '--endpoints', endpoints.file, '--json']);
    expect(JSON.parse(status.stdout.join('\n')).queues.sigmate.queue).toEqual({
      visible: 3,
      inFlight: 0,
      delayed: 0,
    });
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
    // 400 + 5 + 2 + 2 + 1 file event + 3 + 2 sigmate events were recorded.
    expect(report.table).toMatchObject({ items: 418, exact: true });
    // The local answers since start, the stand-in for the dashboard's metrics.
    expect(report.answers.sigmate).toMatchObject({
      '200 accepted': 418,
      '200 duplicate': 102,
      '401 rejected': 5,
      '409 conflict': 1,
    });
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
