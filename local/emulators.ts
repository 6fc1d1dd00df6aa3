import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, '..');
const require = createRequire(import.meta.url);
const run = promisify(execFile);

/** Raised when an emulator cannot be found, built or started; `output` is what it printed. */
export class EmulatorError extends Error {
  readonly output: string;
  constructor(message: string, options?: ErrorOptions & { output?: string }) {
    super(message, options);
    this.name = 'EmulatorError';
    this.output = options?.output ?? '';
  }
}

/** The line of an emulator's output that says why it failed, for a one-line error. */
function reason(output: string): string {
  const lines = output.split('\n').map((text) => text.trim());
  const error = lines.find((text) => /^(\w+\.)*\w*(Error|Exception)\b.*:/.test(text));
  const last = lines.filter(Boolean).at(-1);
  const text = error ?? last ?? '(no output)';
  return /EADDRINUSE|Address already in use|Failed to bind/i.test(output)
    ? `${text} (the port is busy)`
    : text;
}

/** A local emulator process bound to 127.0.0.1. */
export interface Emulator {
  readonly name: string;
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** Stops the process (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections hang, as with an unresponsive service. */
  pause(): void;
  /** Resumes a paused process (SIGCONT). */
  resume(): void;
}

/** A free TCP port on 127.0.0.1, as chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Tracks a child from the moment it is spawned, so a failed or interrupted start leaves none. */
function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last line of defence: no emulator outlives the process that started it.
    process.once('exit', () => {
      for (const process_ of liveChildren) process_.kill('SIGKILL');
    });
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Stops every emulator this process spawned, ready or still starting (for signals mid-start). */
export async function stopAllEmulators(): Promise<void> {
  await Promise.all([...liveChildren].map(stopChild));
}

function manage(name: string, child: ChildProcess, port: number): Emulator {
  return {
    name,
    port,
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () => stopChild(child),
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
  };
}

/** Waits until `child` prints `marker`, or fails with its output when it exits or times out. */
function waitForMarker(
  name: string,
  child: ChildProcess,
  marker: string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((done, fail) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(marker)) finish();
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(
        new EmulatorError(
          `${name} exited before it was ready (code ${code}, signal ${signal}): ${reason(output)}`,
          { output },
        ),
      );
    const timer = setTimeout(
      () =>
        finish(
          new EmulatorError(`${name} was not ready after ${timeoutMs} ms: ${reason(output)}`, {
            output,
          }),
        ),
      timeoutMs,
    );
    function finish(error?: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining so a chatty child never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) {
        child.kill('SIGKILL');
        fail(error);
      } else done();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Folder of AWS's DynamoDB Local, shipped inside the `amplify-dynamodb-simulator` package. */
export function dynamoDbLocalHome(): string {
  const packageJson = require.resolve('amplify-dynamodb-simulator/package.json');
  const home = join(dirname(packageJson), 'emulator');
  if (!existsSync(join(home, 'DynamoDBLocal.jar'))) {
    throw new EmulatorError(`DynamoDB Local jar not found in ${home}; run npm install`);
  }
  return home;
}

async function javaTool(tool: 'java' | 'javac'): Promise<string> {
  const javaHome = process.env.JAVA_HOME;
  const candidate = javaHome ? join(javaHome, 'bin', tool) : tool;
  try {
    await run(candidate, ['-version']);
    return candidate;
  } catch (error) {
    throw new EmulatorError(
      `${tool} (JDK 17 or newer) is required for DynamoDB Local; install it (Debian: apt-get install openjdk-17-jdk-headless)`,
      { cause: error },
    );
  }
}

/** Compiles the loopback launcher once per source version, into node_modules/.cache. */
async function launcherClasses(home: string): Promise<string> {
  const sourcePath = join(here, 'java', 'LoopbackDynamoDBLocal.java');
  const source = await readFile(sourcePath);
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const target = join(projectRoot, 'node_modules', '.cache', 'webhook-ingress', `java-${digest}`);
  if (existsSync(join(target, 'LoopbackDynamoDBLocal.class'))) return target;
  const javac = await javaTool('javac');
  const staging = `${target}.${process.pid}.${Date.now()}`;
  await mkdir(staging, { recursive: true });
  const classpath = [join(home, 'DynamoDBLocal.jar'), join(home, 'DynamoDBLocal_lib', '*')].join(
    ':',
  );
  try {
    await run(javac, ['-d', staging, '-cp', classpath, sourcePath]);
    await rename(staging, target).catch(async () => {
      // Another process won the race: its classes are the same.
      await rm(staging, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new EmulatorError('could not compile the DynamoDB Local launcher', { cause: error });
  }
  return target;
}

export interface DynamoDbLocalOptions {
  readonly port?: number;
  /** Folder to persist tables in; in memory when unset. */
  readonly dataDir?: string;
  readonly timeoutMs?: number;
}

/** Starts AWS's DynamoDB Local (Java) on 127.0.0.1. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<Emulator> {
  const home = dynamoDbLocalHome();
  const [java, classes] = await Promise.all([javaTool('java'), launcherClasses(home)]);
  const port = options.port ?? (await freePort());
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const classpath = [
    classes,
    join(home, 'DynamoDBLocal.jar'),
    join(home, 'DynamoDBLocal_lib', '*'),
  ];
  const child = spawn(
    java,
    [
      // Measured on 2 cores: start-up 3.5 s → 2.8 s and 2.5× the conditional writes.
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Xmx256m',
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-cp',
      classpath.join(':'),
      'LoopbackDynamoDBLocal',
      '-port',
      String(port),
      ...(options.dataDir ? ['-dbPath', resolve(options.dataDir)] : ['-inMemory']),
      '-disableTelemetry',
    ],
    // stdin stays open as a lifeline: the emulator stops when this process ends, however.
    // It writes dynamodb-local-metadata.json where it runs: in the cache, not the checkout.
    { stdio: ['pipe', 'pipe', 'pipe'], cwd: classes },
  );
  track(child);
  await waitForMarker(
    'DynamoDB Local',
    child,
    'LOOPBACK_DYNAMODB_LOCAL_READY',
    options.timeoutMs ?? 30_000,
  );
  return manage('DynamoDB Local', child, port);
}

export interface SqsEmulatorOptions {
  readonly port?: number;
  /** Folder to persist queues and messages in; in memory when unset. */
  readonly dataDir?: string;
  readonly timeoutMs?: number;
}

/** Starts the fauxqs SQS emulator in a child process on 127.0.0.1. */
export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<Emulator> {
  const port = options.port ?? (await freePort());
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [join(here, 'fauxqs-child.mjs'), String(port), options.dataDir ?? ''],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  track(child);
  await waitForMarker('fauxqs', child, 'FAUXQS_READY', options.timeoutMs ?? 20_000);
  return manage('fauxqs', child, port);
}

/**
 * An emulator another process started (say, the test run's global setup): usable
 * as an endpoint, but not this process's to stop or pause.
 */
export function attachEmulator(name: string, endpoint: string): Emulator {
  const port = Number(new URL(endpoint).port);
  const notOurs = () => {
    throw new EmulatorError(
      `${name} at ${endpoint} was started elsewhere; start your own to pause it`,
    );
  };
  return {
    name,
    endpoint,
    port,
    pid: undefined,
    stop: async () => {},
    pause: notOurs,
    resume: notOurs,
  };
}

/** Retries `attempt` until it resolves, for services that accept connections before they serve. */
export async function retryUntil<T>(
  attempt: () => Promise<T>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
