/**
 * `npm run soak -- --duration 300 --rate 200`: a long load run outside
 * `npm test`, on emulators of its own: every registered provider, redeliveries
 * mixed in, then a check that the queues hold exactly the unique events.
 */
import { Command } from 'commander';
import { oneLineErrors, ratio, wholeNumber } from '../cli/flags.js';
import { loadRun, reliabilityTable } from '../test/support/faults.js';
import { startDynamoDbLocal, startSqsEmulator } from './emulators.js';

const program = new Command('soak')
  .description('sustained load on local emulators; fails if an event is lost or enqueued twice')
  .configureOutput(oneLineErrors('soak'))
  .option('--duration <seconds>', 'how long to send for', wholeNumber(1, 86_400), 60)
  .option(
    '--rate <per-second>',
    'deliveries per second at most (0: as fast as possible)',
    wholeNumber(0, 100_000),
    0,
  )
  .option('--concurrency <n>', 'deliveries in flight at once', wholeNumber(1, 1_024), 32)
  .option('--redeliveries <share>', 'share of deliveries that repeat an earlier event', ratio, 0.2)
  .parse();
const options = program.opts<{
  duration: number;
  rate: number;
  concurrency: number;
  redeliveries: number;
}>();

async function main(): Promise<void> {
  const durationMs = options.duration * 1000;
  const rate = options.rate;
  const redeliveryRate = options.redeliveries;
  // Enough deliveries queued to outlast the duration; the run stops at the deadline.
  const deliveries = rate > 0 ? Math.ceil((rate * durationMs) / 1000) : Math.ceil(durationMs);
  process.stdout.write('… starting DynamoDB Local and the SQS emulator\n');
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  try {
    const result = await loadRun(
      { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint },
      {
        deliveries,
        concurrency: options.concurrency,
        redeliveryRate,
        durationMs,
        ...(rate > 0 ? { ratePerSecond: rate } : {}),
      },
    );
    process.stdout.write(`\n${reliabilityTable([result])}\n\n`);
    process.stdout.write(
      `${(result.deliveries / (result.ms / 1000)).toFixed(0)} deliveries/s; answers: ${JSON.stringify(result.statuses)}\n`,
    );
    const ok =
      result.lost === 0 &&
      result.duplicates === 0 &&
      result.unacknowledged === 0 &&
      result.stuckClaims === 0 &&
      result.onQueue === result.unique;
    process.stdout.write(ok ? 'soak passed\n' : 'soak FAILED\n');
    if (!ok) process.exitCode = 1;
  } finally {
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
