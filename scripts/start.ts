/**
 * `npm start`: the whole ingress on this machine — DynamoDB Local and the SQS
 * emulator on 127.0.0.1, the table and queues, and every provider handler
 * behind http://127.0.0.1:3000 (PORT overrides). State persists in .local/.
 */
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { readInteger } from '../functions/core/config.js';
import { ConfigurationError } from '../functions/core/errors.js';
import { freePort } from './local/emulators.js';
import { DEMO_SECRETS, startLocalIngress } from './local/ingress.js';

const root = resolve(import.meta.dirname, '..');
const stateDir = resolve(root, '.local', 'state');
const endpointsFile = resolve(root, '.local', 'endpoints.json');

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

async function main(): Promise<void> {
  const started = Date.now();
  const port = readInteger(process.env, 'PORT', 3000, 0, 65_535);
  const ingress = await startLocalIngress({
    port,
    // The usual ports when free, so endpoints stay put across restarts; any free one otherwise.
    dynamodbPort: await emulatorPort('DYNAMODB_PORT', 8000),
    sqsPort: await emulatorPort('SQS_PORT', 9324),
    dataDir: stateDir,
    // Locally, keep envelopes so `webhook-ingress replay` works out of the box (it costs nothing here).
    env: { WEBHOOK_STORE_ENVELOPES: 'true', ...process.env },
    endpointsFile,
    onProgress: (message) => line(`… ${message}`),
  });
  const { endpoints } = ingress;
  line();
  line(`webhook ingress ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  line();
  line('Routes:');
  for (const provider of ingress.providers) {
    const paths =
      provider === 'sigma'
        ? ['transaction-monitoring', 'aml', 'cdd'].map((product) => `/webhooks/sigma/${product}`)
        : [`/webhooks/${provider}`];
    for (const path of paths) line(`  POST ${endpoints.api}${path}`);
  }
  line();
  line('Secrets (comma-separate several values to test a rotation):');
  for (const name of Object.keys(DEMO_SECRETS)) {
    const fromEnv = process.env[name]?.trim();
    line(`  ${name}=${fromEnv ? '(set in the environment)' : ingress.env[name]}`);
  }
  line();
  line('Endpoints (also in .local/endpoints.json):');
  line(JSON.stringify(endpoints, null, 2));
  line();
  line(`State persists in ${stateDir}. Press Ctrl-C to stop everything.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    line(`\n${signal}: stopping the server and the emulators…`);
    await ingress.stop();
    line('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `npm start failed: ${error instanceof ConfigurationError ? 'configuration: ' : ''}${message}\n`,
  );
  process.exit(1);
});
