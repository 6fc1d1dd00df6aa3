/**
 * End to end on this machine: the `npm start` stack (DynamoDB Local + fauxqs + the
 * local API server, from local/ingress.ts) under N concurrent senders in a
 * separate process, with the CPU of every process read from /proc.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalIngress } from '../local/ingress.js';
import { projectRoot } from './bundles.js';

const LOAD = join(projectRoot, 'bench', 'load.mjs');
/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS = 100;

export interface LoadResult {
  readonly mode: 'open' | 'closed';
  readonly targetRate: number | null;
  readonly senders: number;
  readonly seconds: number;
  readonly sent: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly statuses: Record<string, number>;
  /** CPU share of one core, per process, over the run. */
  readonly cpu: Record<string, number>;
  readonly saturated: string;
}

function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at index 2: utime is 13, stime 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function runLoad(
  url: string,
  secret: string,
  options: { mode: 'open' | 'closed'; rate: number; senders: number; seconds: number },
  pids: { java: number | undefined; fauxqs: number | undefined },
): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      LOAD,
      url,
      options.mode,
      String(options.rate),
      String(options.senders),
      String(options.seconds),
    ],
    {
      env: { PATH: process.env.PATH ?? '', SIGMATE_WEBHOOK_SECRET: secret },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const before = {
    ingress: ownCpuSeconds(),
    java: cpuSecondsOf(pids.java),
    fauxqs: cpuSecondsOf(pids.fauxqs),
  };
  let generatorCpu = 0;
  const sampler = setInterval(() => {
    generatorCpu = Math.max(generatorCpu, cpuSecondsOf(child.pid));
  }, 200);
  const started = performance.now();
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  await new Promise<void>((done, fail) =>
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`load exited ${code}`)))),
  );
  clearInterval(sampler);
  const elapsed = (performance.now() - started) / 1000;
  const report = JSON.parse(text) as Omit<LoadResult, 'cpu' | 'saturated' | 'mode' | 'targetRate'>;
  const cpu = {
    'ingress (node: API server + handlers)': (ownCpuSeconds() - before.ingress) / elapsed,
    'DynamoDB Local (java)': (cpuSecondsOf(pids.java) - before.java) / elapsed,
    'fauxqs (node)': (cpuSecondsOf(pids.fauxqs) - before.fauxqs) / elapsed,
    'load generator (node)': generatorCpu / elapsed,
  };
  const [saturated = 'none'] = Object.entries(cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([name, share]) => `${name} at ${Math.round(share * 100)}% of a core`);
  return {
    mode: options.mode,
    targetRate: options.mode === 'open' ? options.rate : null,
    ...report,
    cpu: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
    saturated,
  };
}

/** Starts the local stack once and runs a fixed-rate (open) and an all-out (closed) load. */
export async function endToEnd(options: {
  rate: number;
  senders: number;
  seconds: number;
}): Promise<LoadResult[]> {
  const secret = 'bench-e2e-secret';
  const ingress = await startLocalIngress({
    port: 0,
    env: { SIGMATE_WEBHOOK_SECRET: secret },
    namePrefix: `bench${Date.now().toString(36)}`,
    // As `npm start` and the stack run by default: the archive's send is on every event.
    archive: true,
    // The structured log of every request goes nowhere, as CloudWatch would take it off-box.
    log: { info() {}, warn() {}, error() {} },
  });
  try {
    const url = `${ingress.endpoints.api}/webhooks/sigmate`;
    const pids = { java: ingress.dynamodb.pid, fauxqs: ingress.sqs.pid };
    // Warm the JITs and the connection pools first, so the measured runs are steady state.
    await runLoad(url, secret, { mode: 'open', rate: 100, senders: 8, seconds: 2 }, pids);
    const open = await runLoad(
      url,
      secret,
      { mode: 'open', rate: options.rate, senders: options.senders, seconds: options.seconds },
      pids,
    );
    const closed = await runLoad(
      url,
      secret,
      { mode: 'closed', rate: 0, senders: options.senders, seconds: options.seconds },
      pids,
    );
    return [open, closed];
  } finally {
    await ingress.stop();
  }
}
