/**
 * `npx tsx bench/settings.ts [--batches 30] [--events 100]`: warm CPU per accepted event of
 * ours and of each `clientsWithout` variant (bench/variants/tuning.ts), all in one process
 * against the loopback endpoint, interleaved in small batches so that other work on the
 * machine falls on every variant alike. The SDK runs from node_modules (unbundled) and the
 * pipeline's own log line is off, so it weighs the clients' work only: read
 * the differences from `none`, not the absolute figures. Never part of `npm run bench`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { loadConfig } from '../functions/core/config.js';
import { createHandlerFromConfig } from '../functions/core/lambda.js';
import { sigmateAdapter } from '../functions/sigmate/adapter.js';
import { startLoopbackAws } from './loopback-aws.js';
import { BENCH_SECRET, lambdaEnv, summary } from './measure.js';
import { clientsWithout, type Removed } from './variants/tuning.js';

const program = new Command()
  .option('--batches <n>', 'batches per variant', '30')
  .option('--events <n>', 'accepted events per batch', '100');

const quiet = { info() {}, warn() {}, error() {} };

/** A signed Sigmate delivery as API Gateway (payload 2.0) hands it over. */
function event(id: string) {
  const body = JSON.stringify({ id, signal_type: 'consensus_buy', rank: 'A', rank_score: 82 });
  const signature = createHmac('sha256', BENCH_SECRET).update(body).digest('hex');
  return {
    version: '2.0',
    rawPath: '/webhooks/sigmate',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      'x-sigmate-event': 'signal.fired',
      'x-sigmate-signature': `sha256=${signature}`,
    },
    requestContext: {
      http: { method: 'POST', path: '/webhooks/sigmate', sourceIp: '203.0.113.10' },
      requestId: randomUUID(),
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}

async function main() {
  program.parse();
  const flags = program.opts<Record<string, string>>();
  const loopback = await startLoopbackAws();
  const env = lambdaEnv(loopback.endpoint);
  // `fromEnv()` and the default chain read process.env.
  Object.assign(process.env, env);
  const removed: Removed[] = [
    'none',
    'credentials',
    'signer',
    'sha256',
    'logger',
    'settings',
    'all',
  ];
  const config = loadConfig('sigmate', env, { minRetentionDays: sigmateAdapter.minRetentionDays });
  const handlers = removed.map((name) => ({
    name,
    handler: createHandlerFromConfig(sigmateAdapter, config, env, {
      clients: clientsWithout(env, name),
      log: quiet,
    }),
    samples: [] as number[],
  }));
  const context = () => ({ getRemainingTimeInMillis: () => 4000 });
  const batch = async (handler: (typeof handlers)[number]['handler'], events: number) => {
    const before = process.cpuUsage();
    for (let i = 0; i < events; i += 1) {
      const result = await handler(event(randomUUID()), context());
      if (result.statusCode !== 200) throw new Error(`answered ${result.statusCode}`);
    }
    const cpu = process.cpuUsage(before);
    return (cpu.user + cpu.system) / events;
  };
  for (const { handler } of handlers) await batch(handler, 300);
  const batches = Number(flags.batches);
  for (let round = 0; round < batches; round += 1) {
    const order = round % 2 === 0 ? handlers : [...handlers].reverse();
    for (const item of order) item.samples.push(await batch(item.handler, Number(flags.events)));
  }
  await loopback.close();
  const base = summary(handlers[0]?.samples ?? []).median;
  process.stdout.write(
    `| left out | CPU µs / accepted event, median of ${batches} batches | vs none | p10–p90 of batches |\n| --- | --- | --- | --- |\n`,
  );
  for (const { name, samples } of handlers) {
    const stats = summary(samples);
    const sorted = [...samples].sort((a, b) => a - b);
    const p10 = sorted[Math.floor(sorted.length * 0.1)] ?? 0;
    const delta = stats.median - base;
    process.stdout.write(
      `| ${name} | ${stats.median.toFixed(0)} | ${name === 'none' ? '—' : `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(0)} µs`} | ${p10.toFixed(0)}–${stats.p90.toFixed(0)} |\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `settings failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
