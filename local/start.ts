/**
 * `npm start`: the whole ingress on this machine — DynamoDB Local and the SQS
 * emulator on 127.0.0.1, the table and queues, and every provider handler
 * behind http://127.0.0.1:3000 (PORT overrides). State persists in .local/.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { readInteger } from '../functions/core/config.js';
import { ConfigurationError } from '../functions/core/errors.js';
import { parseProviders, providerRoutes, providerSecretEnvNames } from '../functions/providers.js';
import { SigmaProducts } from '../functions/sigma/names.js';
import { freePort, stopAllEmulators } from './emulators.js';
import { type LocalIngress, startLocalIngress } from './ingress.js';
import { HEALTH_PATH } from './server.js';

const root = resolve(import.meta.dirname, '..');
// WEBHOOK_LOCAL_DIR moves the whole local folder (state and endpoints.json), e.g. for tests.
const localDir = process.env.WEBHOOK_LOCAL_DIR?.trim() || resolve(root, '.local');
const stateDir = resolve(localDir, 'state');
const endpointsFile = resolve(localDir, 'endpoints.json');

function line(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** The port set in `name`, else `preferred` when it is free, else any free port. */
async function emulatorPort(name: string, preferred: number): Promise<number> {
  if (process.env[name]?.trim()) return readInteger(process.env, name, preferred, 1, 65_535);
  if (await portIsFree(preferred)) return preferred;
  const port = await freePort();
  line(`… port ${preferred} is busy; ${name} defaults to ${port} this time`);
  return port;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const probe = createServer();
    probe.once('error', () => resolveFree(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolveFree(true)));
  });
}

// A closed terminal or pipe must not turn the stop into a crash.
process.stdout.on('error', () => {});

let ingress: LocalIngress | undefined;
let stopping = false;

/** Stops whatever is running — the server and the emulators, ready or still starting — then exits. */
async function stop(signal: NodeJS.Signals, why: string = signal): Promise<void> {
  if (stopping) return;
  stopping = true;
  line(`\n${why}: stopping the server and the emulators…`);
  await (ingress ? ingress.stop() : stopAllEmulators());
  line('stopped.');
  process.exit(0);
}

async function main(): Promise<void> {
  // First thing: a signal while the emulators start must stop them too. (SIGHUP keeps its
  // default, so `nohup npm start` works; the emulators still end with us: see emulators.ts.)
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // npm does not pass SIGTERM or a lone SIGINT on to its script: it ends (or not) and
  // leaves its `sh -c` and us behind. Notice when npm or the shell between us is gone.
  const watched = ancestors();
  setInterval(() => {
    if (watched.some((pid) => !alive(pid))) void stop('SIGTERM', 'npm start’s parent ended');
  }, 250).unref();
  const started = Date.now();
  // The same list `cdk synth` serves: cdk.json's `providers` context (the seeds without it),
  // or CDK_CONTEXT_JSON's, which the CDK CLI sets for its app and which wins as it does there.
  const providers = parseProviders({ ...cdkContext(root), ...contextFromEnvironment() }.providers);
  const port = readInteger(process.env, 'PORT', 3000, 0, 65_535);
  if (port !== 0 && !(await portIsFree(port))) {
    throw new StartError(`port ${port} is busy (another npm start?): set PORT to use another`);
  }
  ingress = await startLocalIngress({
    port,
    // The usual ports when free, so endpoints stay put across restarts; any free one otherwise.
    dynamodbPort: await emulatorPort('DYNAMODB_PORT', 8000),
    sqsPort: await emulatorPort('SQS_PORT', 9324),
    dataDir: stateDir,
    env: process.env,
    providers,
    endpointsFile,
    onProgress: (message) => line(`… ${message}`),
  });
  if (stopping) return;
  const { endpoints } = ingress;
  line();
  line(`webhook ingress ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  line();
  line('Routes:');
  for (const provider of providers) {
    for (const route of providerRoutes(provider)) {
      const paths = route.includes('{product}')
        ? SigmaProducts.map((product) => route.replace('{product}', product))
        : [route];
      for (const path of paths) line(`  POST ${endpoints.api}${path}   (${provider.scheme})`);
    }
  }
  line(`  GET  ${endpoints.api}${HEALTH_PATH}   (readiness, and the answers given so far)`);
  line();
  line('Secrets (comma-separate several values to test a rotation):');
  for (const name of providers.flatMap(providerSecretEnvNames)) {
    const fromEnv = process.env[name]?.trim();
    line(`  ${name}=${fromEnv ? '(set in the environment)' : ingress.env[name]}`);
  }
  if (endpoints.archive) {
    const { bucket, prefix } = endpoints.archive;
    line();
    line(
      `Audit archive: each verified attempt, saying whether it was the acknowledged one, is written to s3://${bucket}/${prefix}/ (fauxqs S3 on ${endpoints.sqs}, path-style) within a second;`,
    );
    line(
      '  npx webhook-ingress replay <provider> --since 1h --dry-run   lists the acknowledged events it holds',
    );
  }
  line();
  line(`Endpoints (also in ${endpointsFile}):`);
  line(JSON.stringify(endpoints, null, 2));
  line();
  line(`State persists in ${stateDir}. Press Ctrl-C to stop everything.`);
}

/**
 * cdk.json's `context` (where `providers` is declared), or none. A cdk.json that is not
 * JSON fails the start, as it fails `cdk synth`.
 */
function cdkContext(directory: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(resolve(directory, 'cdk.json'), 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as { context?: Record<string, unknown> };
    return parsed.context ?? {};
  } catch (error) {
    throw new StartError(`cdk.json is not JSON: ${(error as Error).message}`);
  }
}

/** CDK_CONTEXT_JSON's keys, when set (as `cdk synth -c …` passes them to the app). */
function contextFromEnvironment(): Record<string, unknown> {
  const text = process.env.CDK_CONTEXT_JSON?.trim();
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new StartError(`CDK_CONTEXT_JSON is not JSON: ${(error as Error).message}`);
  }
}

/** Our parent and, where /proc tells (Linux), its parent: under npm, `sh -c` and npm. */
function ancestors(): number[] {
  const parent = process.ppid;
  try {
    const stat = readFileSync(`/proc/${parent}/stat`, 'utf8');
    // "pid (comm) state ppid …": the command name may hold spaces and parentheses.
    const grandparent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return grandparent > 1 ? [parent, grandparent] : [parent];
  } catch {
    return [parent];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A start-up failure with a message that says what to do. */
class StartError extends Error {
  override name = 'StartError';
}

main().catch(async (error: unknown) => {
  const code = (error as { code?: string }).code;
  const message =
    code === 'EADDRINUSE'
      ? `a port is busy (${(error as Error).message}): set PORT, DYNAMODB_PORT or SQS_PORT`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(
    `npm start failed: ${error instanceof ConfigurationError ? 'configuration: ' : ''}${message}\n`,
  );
  // startLocalIngress stops what it started; this catches anything still starting.
  await stopAllEmulators();
  process.exit(1);
});
