/**
 * The audit archive's added latency, calls and cost per event (docs/decisions.md §15).
 * Latency is measured on this machine: the same signed deliveries, one at a time,
 * through the local ingress (DynamoDB Local + fauxqs) with the archive off and on,
 * alternated in rounds. Calls are counted from the design; cost is list prices.
 * Run: `npx tsx bench/archive.ts [events per round]`.
 */
import { createHmac } from 'node:crypto';
import { startDynamoDbLocal, startSqsEmulator } from '../local/emulators.js';
import { DEMO_SECRETS, startLocalIngress } from '../local/ingress.js';

/** List prices (us-east-1) of the parts each design adds, per unit. */
export const ARCHIVE_PRICES = {
  sqsPerMillionRequests: 0.4,
  snsPublishPerMillion: 0.5,
  s3PutPerThousand: 0.005,
  firehosePerGb: 0.029,
  firehoseDynamicPartitioningPerGb: 0.02,
  firehoseObjectsPerThousand: 0.005,
  lambdaArm64PerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  s3StandardGbMonth: 0.023,
  s3StandardIaGbMonth: 0.0125,
  s3GlacierIrGbMonth: 0.004,
  /** On-demand, per million read request units (a consistent read of an item under 4 KB is one). */
  dynamodbPerMillionReadUnits: 0.125,
} as const;

/** What one design adds per million events: AWS calls on the request path and dollars. */
export interface ArchiveDesign {
  readonly name: string;
  readonly requestPathCallsPerEvent: number;
  readonly sequentialCallsPerEvent: number;
  readonly addedCostPerMillion: number;
  readonly runsLocally: boolean;
  readonly note: string;
}

/** Events per archiver batch in AWS (batch size 1 000, 60 s window) and per object. */
const BATCH = 1_000;
/**
 * Objects per batch: one per (provider, date) group. Each provider has its own archive
 * queue, so a batch holds one provider's records: one object (two around midnight).
 */
const OBJECTS_PER_BATCH = 1;
/** An archive record, gzip: ~0.5 KB for a 1–2 KB envelope (measured on the fixtures). */
const GZIP_KB_PER_EVENT = 0.5;

/**
 * What draining the archive queues costs per million events, besides the functions' own
 * SendMessage (which the bench measures): the event source's receives and deletes (ten
 * messages each at most), one consistent read of each record's idempotency record to
 * settle it (BatchGetItem, one read unit each), one PutObject per (provider, date) group
 * of a 1 000-record batch, and the archiver's Lambda time (512 MB, ~0.3 s per batch).
 * Not per event, so not here: the event sources' empty long polls, about $0.26 a month
 * per archive queue (one per provider and the shared one of earlier versions).
 */
export function archiveDrainPerMillion(): number {
  const p = ARCHIVE_PRICES;
  const perMillion = 1_000_000;
  const batches = perMillion / BATCH;
  const receives = perMillion / 10;
  const deletes = perMillion / 10;
  const archiverLambda =
    batches * (0.5 * 0.3 * p.lambdaArm64PerGbSecond) +
    (batches / perMillion) * p.lambdaPerMillionRequests;
  return round(
    (p.sqsPerMillionRequests * (receives + deletes)) / perMillion +
      p.dynamodbPerMillionReadUnits +
      (batches * OBJECTS_PER_BATCH * p.s3PutPerThousand) / 1_000 +
      archiverLambda,
  );
}

export function archiveDesigns(): ArchiveDesign[] {
  const p = ARCHIVE_PRICES;
  const perMillion = 1_000_000;
  const batches = perMillion / BATCH;
  const queueDesign = p.sqsPerMillionRequests + archiveDrainPerMillion();
  const perEventPut = p.s3PutPerThousand * 1_000;
  // Firehose bills each record rounded up to 5 KB; dynamic partitioning for provider/date.
  const firehoseGb = (perMillion * 5) / 1024 / 1024;
  const firehose =
    firehoseGb * (p.firehosePerGb + p.firehoseDynamicPartitioningPerGb) +
    (batches * OBJECTS_PER_BATCH * p.firehoseObjectsPerThousand) / 1_000;
  return [
    {
      name: 'archive queue + batching archiver (chosen)',
      requestPathCallsPerEvent: 1,
      sequentialCallsPerEvent: 1,
      addedCostPerMillion: round(queueDesign),
      runsLocally: true,
      note: 'one SendMessage before the enqueue (so an archive failure leaves nothing on the consumer queue); 0.2 receive+delete, 1 read unit to settle the attempt and 0.001 PutObject per event',
    },
    {
      name: 'one S3 PutObject per event',
      requestPathCallsPerEvent: 1,
      sequentialCallsPerEvent: 1,
      addedCostPerMillion: round(perEventPut),
      runsLocally: true,
      note: 'out: $5/M in PUTs alone, more than the ingress',
    },
    {
      name: 'SNS fan-out (topic → consumer queue + archive queue)',
      requestPathCallsPerEvent: 0,
      sequentialCallsPerEvent: 0,
      // Publish replaces SendMessage; SNS→SQS deliveries are free; the archive queue is drained as above.
      addedCostPerMillion: round(
        p.snsPublishPerMillion - p.sqsPerMillionRequests + (queueDesign - p.sqsPerMillionRequests),
      ),
      runsLocally: true,
      note: 'the consumer queue is fed asynchronously by SNS (extra hop for consumers); the archive record can hold only what the envelope and attributes carry',
    },
    {
      name: 'Kinesis Data Firehose (PutRecord, dynamic partitioning)',
      requestPathCallsPerEvent: 1,
      sequentialCallsPerEvent: 1,
      addedCostPerMillion: round(firehose),
      runsLocally: false,
      note: 'not emulated locally (fauxqs has no Firehose): excluded by the issue; 5 KB billing increment',
    },
  ];
}

/**
 * Storage of one million events for the default five years. With the lifecycle (30 days
 * Standard, 60 days Standard-IA, then Glacier Instant Retrieval) when objects reach S3's
 * 128 KB minimum for transitions (about 250 events per object: busy providers); in S3
 * Standard throughout when they do not (a quiet provider's objects of a few events each:
 * S3 leaves objects under 128 KB where they are, and IA would bill them as 128 KB anyway).
 */
export function storagePerMillionFiveYears(): { largeObjects: number; smallObjects: number } {
  const gb = (1_000_000 * GZIP_KB_PER_EVENT) / 1024 / 1024;
  const p = ARCHIVE_PRICES;
  return {
    largeObjects: round(
      gb * (1 * p.s3StandardGbMonth + 2 * p.s3StandardIaGbMonth + 57 * p.s3GlacierIrGbMonth),
    ),
    smallObjects: round(gb * 60 * p.s3StandardGbMonth),
  };
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Median and p99 latency of sequential deliveries, archive off vs on, alternated in rounds. */
export async function measureArchiveLatency(eventsPerRound = 200, rounds = 3) {
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  const secret = DEMO_SECRETS.SIGMATE_WEBHOOK_SECRET;
  const samples: Record<'off' | 'on', number[]> = { off: [], on: [] };
  let serial = 0;
  const quiet = { info() {}, warn() {}, error() {} };
  try {
    const ingresses = {
      off: await startLocalIngress({
        port: 0,
        dynamodb,
        sqs,
        namePrefix: 'benchoff',
        log: quiet,
        archive: false,
      }),
      on: await startLocalIngress({
        port: 0,
        dynamodb,
        sqs,
        namePrefix: 'benchon',
        log: quiet,
        archive: true,
      }),
    };
    try {
      for (let round_ = 0; round_ < rounds; round_++) {
        for (const mode of ['off', 'on'] as const) {
          for (let i = 0; i < eventsPerRound; i++) {
            const body = `{"id":"bench-${mode}-${serial++}","signal_type":"consensus_buy","rank_score":82}`;
            const signature = createHmac('sha256', secret).update(body).digest('hex');
            const started = performance.now();
            const response = await fetch(`${ingresses[mode].endpoints.api}/webhooks/sigmate`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'x-sigmate-signature': `sha256=${signature}`,
                'x-sigmate-event': 'signal.fired',
              },
              body,
            });
            await response.arrayBuffer();
            if (response.status !== 200)
              throw new Error(`bench delivery answered ${response.status}`);
            // The first round warms both up; it is not counted.
            if (round_ > 0) samples[mode].push(performance.now() - started);
          }
        }
      }
    } finally {
      await Promise.all([ingresses.off.stop(), ingresses.on.stop()]);
    }
  } finally {
    await Promise.all([dynamodb.stop(), sqs.stop()]);
  }
  const summary = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)) };
  };
  const off = summary(samples.off);
  const on = summary(samples.on);
  return { events: samples.on.length, off, on, addedP50Ms: round(on.p50Ms - off.p50Ms) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const events = Number(process.argv[2] ?? 200);
  const latency = await measureArchiveLatency(events);
  console.log(
    JSON.stringify(
      {
        latency,
        designs: archiveDesigns(),
        storagePerMillionFiveYears: storagePerMillionFiveYears(),
      },
      null,
      2,
    ),
  );
}
