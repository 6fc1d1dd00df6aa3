/** Cold init and warm CPU of bundled handlers, each in fresh Node processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { LAMBDA_NODE_OPTIONS } from '../infra/lambda-code.js';
import { type BuiltBundle, projectRoot } from './bundles.js';
import { type CallCounts, diffCounts, type LoopbackAws } from './loopback-aws.js';

const PROBE = join(projectRoot, 'bench', 'probe.mjs');
export const BENCH_SECRET = 'bench-sigmate-webhook-secret';

/** The environment Lambda would give the function, pointed at the loopback endpoint. */
export function lambdaEnv(endpoint: string, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? '',
    // The construct's own (infra/lambda-code.ts), for every subject alike.
    NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK000000',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key',
    AWS_SESSION_TOKEN: 'bench-session-token',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_LAMBDA_FUNCTION_NAME: 'bench-sigmate',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    WEBHOOK_TABLE_NAME: 'bench-idempotency',
    WEBHOOK_QUEUE_URL: `${endpoint}/123456789012/bench-sigmate`,
    SIGMATE_WEBHOOK_SECRET: BENCH_SECRET,
    POWERTOOLS_SERVICE_NAME: 'webhook-ingress',
    ...extra,
  };
}

function spawnProbe(bundle: BuiltBundle, mode: 'cold' | 'warm', env: NodeJS.ProcessEnv) {
  return spawn(process.execPath, [PROBE, bundle.file, mode], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
}

function drain(child: ChildProcess): { tail: () => string } {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { tail: () => tail };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null) done(child.exitCode);
    else child.once('exit', (code) => done(code));
  });
}

export interface ColdSample {
  readonly subject: string;
  /** Parent's clock: spawn of a fresh process until the first answer is back over IPC. */
  readonly spawnToAnswerMs: number;
  /** Child's clock: Node's own boot, before the bundle is imported. */
  readonly nodeBootMs: number;
  readonly importMs: number;
  readonly firstInvokeMs: number;
  /** Import plus first invocation: what Lambda's init plus the first request cost. */
  readonly initToAnswerMs: number;
  /** CPU of the whole process, Node's boot included. */
  readonly cpuMs: number;
  /** CPU from the load of the bundle to the first answer (less disturbed by a busy machine). */
  readonly initCpuMs: number;
  readonly importCpuMs: number;
  readonly rssMb: number;
  readonly statusCode: number;
}

/** One cold start: fresh process → import → first invocation answered. */
export async function coldStart(
  bundle: BuiltBundle,
  endpoint: string,
  env: Record<string, string> = {},
): Promise<ColdSample> {
  const started = performance.now();
  const child = spawnProbe(bundle, 'cold', lambdaEnv(endpoint, env));
  const output = drain(child);
  const message = await new Promise<Record<string, number | string>>((done, fail) => {
    child.once('message', (value) => done(value as Record<string, number | string>));
    child.once('exit', (code) =>
      fail(new Error(`${bundle.name} cold probe exited ${code}: ${output.tail()}`)),
    );
  });
  const spawnToAnswerMs = performance.now() - started;
  await exited(child);
  if (message.statusCode !== 200) {
    throw new Error(`${bundle.name} answered ${message.statusCode} ${message.body} cold`);
  }
  return {
    subject: bundle.name,
    spawnToAnswerMs,
    nodeBootMs: Number(message.nodeBootMs),
    importMs: Number(message.importMs),
    firstInvokeMs: Number(message.firstInvokeMs),
    initToAnswerMs: Number(message.initToAnswerMs),
    cpuMs: Number(message.cpuMs),
    initCpuMs: Number(message.initCpuMs),
    importCpuMs: Number(message.importCpuMs),
    rssMb: Number(message.rssMb),
    statusCode: Number(message.statusCode),
  };
}

export interface PhaseResult {
  readonly events: number;
  readonly statuses: Record<string, number>;
  readonly cpuUsPerEvent: number;
  readonly userUsPerEvent: number;
  readonly wallUsPerEvent: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly outputBytesPerEvent: number;
}

export interface WarmResult {
  readonly subject: string;
  readonly accepted: PhaseResult;
  readonly duplicate: PhaseResult;
  /** AWS requests per event, by action, as counted at the loopback server. */
  readonly calls: Record<'accepted' | 'duplicate' | 'inflight', CallCounts>;
  readonly callStatuses: Record<string, Record<string, number>>;
  readonly rssMb: number;
  /** CPU µs per event of each round, when a subject ran more than once. */
  readonly rounds?: { readonly accepted: number[]; readonly duplicate: number[] };
}

function perEvent(counts: CallCounts, events: number): CallCounts {
  return Object.fromEntries(
    Object.entries(counts).map(([name, value]) => [name, Math.round((value / events) * 100) / 100]),
  );
}

/** Total AWS requests of a per-event count map. */
export function totalCalls(counts: CallCounts): number {
  return Object.values(counts).reduce((sum, value) => sum + value, 0);
}

/** Warm CPU per accepted and duplicate event, and AWS calls per event, in one process. */
export async function warmRun(
  bundle: BuiltBundle,
  loopback: LoopbackAws,
  options: {
    events: number;
    warmup: number;
    callSamples: number;
    /** Reported under this name instead of the bundle's (the same bundle, configured otherwise). */
    name?: string;
    /** More of the function's environment: e.g. the archive queue. */
    env?: Record<string, string>;
  },
): Promise<WarmResult> {
  const child = spawnProbe(
    bundle,
    'warm',
    lambdaEnv(loopback.endpoint, {
      BENCH_WARM_EVENTS: String(options.events),
      BENCH_WARMUP_EVENTS: String(options.warmup),
      BENCH_CALL_SAMPLES: String(options.callSamples),
      ...options.env,
    }),
  );
  const output = drain(child);
  const snapshots = new Map<string, CallCounts>();
  const result = await new Promise<Record<string, unknown>>((done, fail) => {
    child.on('message', (raw) => {
      const message = raw as { type: string; name?: string };
      if (message.type === 'mark' && message.name) {
        snapshots.set(message.name, loopback.counts());
        // Hold SendMessage while the in-flight phase runs, so the second delivery meets the claim.
        if (message.name === 'calls:inflight:start') loopback.sqsDelayMs = 100;
        if (message.name === 'calls:inflight:end') loopback.sqsDelayMs = 0;
        child.send({ ack: message.name });
      } else if (message.type === 'warm') {
        done(raw as Record<string, unknown>);
      }
    });
    child.once('exit', (code) =>
      fail(new Error(`${bundle.name} warm probe exited ${code}: ${output.tail()}`)),
    );
  });
  await exited(child);
  const samples = options.callSamples;
  const phase = (name: string) =>
    diffCounts(
      snapshots.get(`calls:${name}:end`) ?? {},
      snapshots.get(`calls:${name}:start`) ?? {},
    );
  const accepted = phase('accepted');
  // The in-flight phase sends each event twice: the first is accepted, the second meets its claim.
  const inflightBoth = phase('inflight');
  const inflight: CallCounts = {};
  for (const name of new Set([...Object.keys(inflightBoth), ...Object.keys(accepted)])) {
    const value = (inflightBoth[name] ?? 0) - (accepted[name] ?? 0);
    if (value !== 0) inflight[name] = value;
  }
  return {
    subject: options.name ?? bundle.name,
    accepted: result.accepted as PhaseResult,
    duplicate: result.duplicate as PhaseResult,
    calls: {
      accepted: perEvent(accepted, samples),
      duplicate: perEvent(phase('duplicate'), samples),
      inflight: perEvent(inflight, samples),
    },
    callStatuses: result.statuses as Record<string, Record<string, number>>,
    rssMb: Number(result.rssMb),
  };
}

export interface InterleavedSubject {
  readonly name: string;
  readonly bundle: BuiltBundle;
  /** More of the function's environment for this subject (e.g. the archive queue). */
  readonly env?: Record<string, string>;
}

export interface InterleavedResult {
  readonly subject: string;
  /** Median over the batches of CPU µs per accepted event. */
  readonly cpuUsPerEvent: number;
  readonly batches: number;
  readonly statuses: Record<string, number>;
  readonly outputBytesPerEvent: number;
}

/**
 * Warm CPU per accepted event of several subjects in one process, their batches
 * interleaved (bench/probe.mjs `interleaved`): a reading that a busy machine disturbs far
 * less than one process per subject run one after the other.
 */
export async function interleavedRun(
  subjects: readonly InterleavedSubject[],
  loopback: LoopbackAws,
  options: { batches: number; batchEvents: number; warmup: number },
): Promise<InterleavedResult[]> {
  const child = spawn(process.execPath, [PROBE, '-', 'interleaved'], {
    env: lambdaEnv(loopback.endpoint, {
      BENCH_INTERLEAVE: JSON.stringify(
        subjects.map((s) => ({ name: s.name, file: s.bundle.file, env: s.env ?? {} })),
      ),
      BENCH_BATCHES: String(options.batches),
      BENCH_BATCH_EVENTS: String(options.batchEvents),
      BENCH_WARMUP_EVENTS: String(options.warmup),
    }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = drain(child);
  const message = await new Promise<{
    subjects: {
      name: string;
      cpuUsPerEvent: number[];
      statuses: Record<string, number>;
      outputBytesPerEvent: number;
    }[];
  }>((done, fail) => {
    child.on('message', (raw) => {
      const value = raw as { type: string };
      if (value.type === 'interleaved') done(raw as never);
    });
    child.once('exit', (code) =>
      fail(new Error(`interleaved probe exited ${code}: ${output.tail()}`)),
    );
  });
  await exited(child);
  return message.subjects.map((s) => ({
    subject: s.name,
    cpuUsPerEvent: summary(s.cpuUsPerEvent).median,
    batches: s.cpuUsPerEvent.length,
    statuses: s.statuses,
    outputBytesPerEvent: s.outputBytesPerEvent,
  }));
}

/** Median, p90 and friends of a list of numbers. */
export function summary(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { n: sorted.length, median, p90: at(0.9), min: sorted[0] ?? 0, max: at(1) };
}
