import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/emulators.js';

const root = resolve(import.meta.dirname, '../..');

/** Processes whose command line names `dir` (the emulators' data folders live there). */
function processesUsing(dir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(`${dir}/state`));
}

async function gone(dir: string, withinMs: number): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = processesUsing(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** `npm start` as a user runs it, on its own folder and free ports. */
async function npmStart(dir: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  return spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: {
      ...process.env,
      WEBHOOK_LOCAL_DIR: dir,
      PORT: '0',
      DYNAMODB_PORT: String(await freePort()),
      SQS_PORT: String(await freePort()),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function output(child: ChildProcess): {
  text: () => string;
  until: (marker: string) => Promise<void>;
} {
  let text = '';
  const waiters: { marker: string; done: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of waiters.filter((w) => text.includes(w.marker))) waiter.done();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    text: () => text,
    until: (marker) =>
      new Promise((done) => {
        if (text.includes(marker)) done();
        else waiters.push({ marker, done });
      }),
  };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null) done(child.exitCode);
    else child.once('exit', (code) => done(code));
  });
}

describe('npm start: nothing survives a failed start or a signal', () => {
  let dir: string;
  let busy: Server;
  let busyPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'npm-start-'));
    busy = createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', () => done()));
    const address = busy.address();
    busyPort = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(async () => {
    await new Promise((done) => busy.close(done));
    await rm(dir, { recursive: true, force: true });
  });

  it('a busy API port fails the start in one line, before any emulator starts', async () => {
    const child = await npmStart(dir, { PORT: String(busyPort) });
    const out = output(child);
    expect(await exited(child)).toBe(1);
    expect(out.text().trim()).toBe(
      `npm start failed: port ${busyPort} is busy (another npm start?): set PORT to use another`,
    );
    expect(processesUsing(dir)).toEqual([]);
  });

  it('a busy emulator port fails the start in one line and stops the other emulator', async () => {
    const child = await npmStart(dir, { SQS_PORT: String(busyPort) });
    const out = output(child);
    expect(await exited(child)).toBe(1);
    const errors = out
      .text()
      .split('\n')
      .filter((line) => line.startsWith('npm start failed'));
    expect(errors).toEqual([
      expect.stringMatching(/^npm start failed: fauxqs exited before it was ready .*EADDRINUSE/),
    ]);
    expect(await gone(dir, 5_000)).toEqual([]);
  });

  it('a providers list it cannot serve fails the start in one line naming the entry', async () => {
    const providers = [{ name: 'pay', scheme: 'strpe' }];
    const child = await npmStart(dir, { CDK_CONTEXT_JSON: JSON.stringify({ providers }) });
    const out = output(child);
    expect(await exited(child)).toBe(1);
    expect(out.text().trim()).toMatch(
      /^npm start failed: configuration: providers\[0\] "pay": unknown scheme "strpe" \(one of [^\n]*\)$/,
    );
    expect(processesUsing(dir)).toEqual([]);
  });

  it('serves the providers the context declares, printing their routes and demo secrets', async () => {
    const providers = [
      { name: 'sigmate', scheme: 'sigmate' },
      { name: 'stripe-eu', scheme: 'stripe' },
    ];
    const child = await npmStart(dir, { CDK_CONTEXT_JSON: JSON.stringify({ providers }) });
    const out = output(child);
    await out.until('Press Ctrl-C');
    expect(out.text()).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/webhooks\/stripe-eu {3}\(stripe\)/);
    expect(out.text()).toMatch(/STRIPE_EU_WEBHOOK_SECRET=whsec_/);
    expect(out.text()).not.toMatch(/SIGMA_API_KEY/);
    const endpoints = JSON.parse(await readFile(join(dir, 'endpoints.json'), 'utf8'));
    expect(Object.keys(endpoints.queues)).toEqual(['sigmate', 'stripe-eu']);
    expect(endpoints.providers['stripe-eu']).toEqual({ name: 'stripe-eu', scheme: 'stripe' });
    child.kill('SIGTERM');
    await exited(child);
    expect(await gone(dir, 8_000)).toEqual([]);
  });

  it.each([
    ['SIGTERM', 'what an IDE or timeout sends'],
    ['SIGKILL', 'npm gone without a word: its script notices'],
  ] as const)(
    'is ready when GET /health answers 200, and %s to npm (%s) stops everything',
    async (signal, _why) => {
      const child = await npmStart(dir);
      const out = output(child);
      await out.until('Press Ctrl-C');
      const endpoints = JSON.parse(await readFile(join(dir, 'endpoints.json'), 'utf8'));
      const health = await fetch(`${endpoints.api}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', answers: {} });
      expect(processesUsing(dir)).toHaveLength(2);
      child.kill(signal);
      await exited(child);
      expect(await gone(dir, 8_000)).toEqual([]);
    },
  );

  it('SIGTERM while the emulators are still starting stops them too', async () => {
    const child = await npmStart(dir);
    const out = output(child);
    await out.until('starting DynamoDB Local');
    child.kill('SIGTERM');
    await exited(child);
    expect(await gone(dir, 8_000)).toEqual([]);
  });
});
