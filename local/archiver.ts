import { gunzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  ANY_PROVIDER,
  type ArchiveLocation,
  type ArchiveQueueMessage,
  type ArchiveRecord,
  type ArchiverDependencies,
  type ArchiverLog,
  archiveBatch,
} from '../functions/core/archive.js';
import { DynamoDbClaimLedger } from '../functions/core/idempotency.js';
import { ensureQueuePair, type QueuePair } from './resources.js';

/** An SQS message as Lambda's SQS event source hands it to the archiver, from the queue `source`. */
export function asLambdaRecord(message: Message, source?: string): ArchiveQueueMessage {
  return {
    messageId: message.MessageId ?? '',
    body: message.Body ?? '',
    ...(source === undefined ? {} : { eventSourceARN: source }),
    attributes: { ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { stringValue: value.StringValue },
      ]),
    ),
  };
}

/**
 * Where the local archive lives; written to `.local/endpoints.json` as `archive`. Each
 * provider's function sends to its own queue (`queues`); `queue` is the shared queue of
 * earlier versions, which no function sends to and the archiver still drains.
 */
export interface LocalArchiveEndpoints {
  readonly queue: string;
  readonly queues: Readonly<Record<string, string>>;
  readonly deadLetterQueue: string;
  readonly bucket: string;
  readonly prefix: string;
}

/** An S3 client for fauxqs, which serves S3 on its SQS endpoint (path-style addressing). */
export function localS3Client(
  endpoint: string,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): S3Client {
  return new S3Client({ region, endpoint, credentials, forcePathStyle: true });
}

/** One queue the archiver drains, and the provider whose function alone sends to it (`*`: shared). */
export interface ArchiveSource {
  readonly provider: string;
  readonly queue: QueuePair;
}

/**
 * Creates the archive's queues — one per provider and the shared one of earlier versions,
 * with one dead-letter queue — and the bucket; idempotent.
 */
export async function ensureLocalArchive(
  sqs: SQSClient,
  s3: S3Client,
  names: { queue: string; bucket: string; providers: readonly string[] },
): Promise<{ shared: QueuePair; sources: ArchiveSource[] }> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) {
      const name = error instanceof Error ? error.name : '';
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }
  // The archiver's Lambda timeout is 60 s in the stack; visibility must outlast a batch.
  const shared = await ensureQueuePair(sqs, names.queue, { visibilityTimeoutSeconds: 120 });
  const deadLetterQueue = { url: shared.dlqUrl, arn: shared.dlqArn };
  const sources: ArchiveSource[] = [{ provider: ANY_PROVIDER, queue: shared }];
  for (const provider of names.providers) {
    const queue = await ensureQueuePair(sqs, `${names.queue}-${provider}`, {
      visibilityTimeoutSeconds: 120,
      deadLetterQueue,
    });
    sources.push({ provider, queue });
  }
  return { shared, sources };
}

/** How long an attempt still in progress waits before the local archiver looks again. */
const PENDING_RETRY_SECONDS = 1;

/**
 * The stack's archiver, locally: the real `archiveBatch` on batches received from each
 * archive queue (named by its ARN, as Lambda's event source names it), deleting only the
 * messages it reports as written — what Lambda's SQS event source does with
 * `ReportBatchItemFailures`. An attempt whose delivery is still running comes back after a
 * second, where the stack's delivery delay lets the delivery finish before it is read.
 */
export class LocalArchiver {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly sqs: SQSClient,
    private readonly sources: readonly ArchiveSource[],
    private readonly deps: ArchiverDependencies,
    private readonly log: ArchiverLog,
  ) {}

  /** One receive on every queue (up to 10 messages each) and its write; returns how many were archived. */
  async drainOnce(waitSeconds = 0): Promise<number> {
    const received = await Promise.all(
      this.sources.map(async ({ queue }) => {
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: waitSeconds,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: this.abort.signal },
        );
        return Messages.map((message) => ({
          ...asLambdaRecord(message, queue.queueArn),
          queueUrl: queue.queueUrl,
          receiptHandle: message.ReceiptHandle ?? '',
        }));
      }),
    );
    const batch = received.flat();
    if (batch.length === 0) return 0;
    const { batchItemFailures, pending } = await archiveBatch(this.deps, batch, this.log);
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    const waiting = new Set(pending);
    const done = batch.filter((message) => !failed.has(message.messageId));
    for (const { queue } of this.sources) {
      const entries = (keep: (message: (typeof batch)[number]) => boolean) =>
        batch
          .filter((message) => message.queueUrl === queue.queueUrl && keep(message))
          .map((message, index) => ({ Id: String(index), ReceiptHandle: message.receiptHandle }));
      const deleted = entries((message) => !failed.has(message.messageId));
      if (deleted.length > 0) {
        await this.sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: queue.queueUrl, Entries: deleted }),
        );
      }
      const retried = entries((message) => waiting.has(message.messageId));
      if (retried.length > 0) {
        await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queue.queueUrl,
            Entries: retried.map((entry) => ({
              ...entry,
              VisibilityTimeout: PENDING_RETRY_SECONDS,
            })),
          }),
        );
      }
    }
    return done.length;
  }

  /** Drains until the queues are empty (tests and `npm start`'s shutdown). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await this.drainOnce(0);
      if (count === 0) return total;
      total += count;
    }
  }

  /** Polls in the background (long polls of 1 s) until {@link stop}. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.drainOnce(1);
        } catch (error) {
          if (!this.running) return;
          this.log.warn('local archiver poll failed', {
            error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
          });
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }
}

/** Every archived record under a prefix, in key order (tests, replay, find). */
export async function readArchive(
  s3: S3Client,
  location: ArchiveLocation,
  under = '',
): Promise<(ArchiveRecord & { key: string })[]> {
  const records: (ArchiveRecord & { key: string })[] = [];
  let token: string | undefined;
  const base = location.prefix ? `${location.prefix}/` : '';
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: location.bucket,
        Prefix: `${base}${under}`,
        ContinuationToken: token,
      }),
    );
    for (const item of page.Contents ?? []) {
      if (!item.Key?.endsWith('.jsonl.gz')) continue;
      const object = await s3.send(
        new GetObjectCommand({ Bucket: location.bucket, Key: item.Key }),
      );
      const bytes = await object.Body?.transformToByteArray();
      if (bytes === undefined) continue;
      for (const line of gunzipSync(bytes).toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        records.push({ ...(JSON.parse(line) as ArchiveRecord), key: item.Key });
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return records;
}

/** The running local archive: its queues, bucket and the in-process archiver. */
export interface LocalArchive {
  readonly endpoints: LocalArchiveEndpoints;
  readonly s3: S3Client;
  readonly archiver: LocalArchiver;
  readonly location: ArchiveLocation;
  /** Every queue the archiver drains, with the provider it serves (`*`: the shared queue). */
  readonly sources: readonly ArchiveSource[];
  /** What the archiver writes with: tests that play a crashed archiver call `archiveBatch` on it. */
  readonly dependencies: ArchiverDependencies;
  /** Stops the poller (what is still on the queues stays there, for the next start) and the client. */
  stop(): Promise<void>;
}

/**
 * Creates the archive queues and bucket on fauxqs and starts the archiver as a poller,
 * settling each attempt against the idempotency table. `poll: false` leaves draining to
 * the caller (tests drain when they choose).
 */
export async function startLocalArchive(options: {
  readonly sqs: SQSClient;
  /** The idempotency table's client and name: each attempt is settled against its record. */
  readonly dynamodb: DynamoDBClient;
  readonly table: string;
  readonly retentionDays: number;
  readonly providers: readonly string[];
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly namePrefix: string;
  /** fauxqs keeps a queue's creation URL; this points it at the emulator as it runs now. */
  readonly currentUrl: (url: string) => string;
  readonly log: ArchiverLog;
  readonly poll?: boolean;
}): Promise<LocalArchive> {
  const s3 = localS3Client(options.endpoint, options.region, options.credentials);
  const bucket = `${options.namePrefix}-archive`.toLowerCase();
  const created = await ensureLocalArchive(options.sqs, s3, {
    queue: `${options.namePrefix}-archive`,
    bucket,
    providers: options.providers,
  });
  const sources = created.sources.map(({ provider, queue }) => ({
    provider,
    queue: { ...queue, queueUrl: options.currentUrl(queue.queueUrl) },
  }));
  const location = { bucket, prefix: 'events' };
  const dependencies: ArchiverDependencies = {
    s3,
    location,
    ledger: new DynamoDbClaimLedger(options.dynamodb, options.table),
    sources: new Map(sources.map((source) => [source.queue.queueArn, source.provider])),
    retentionDays: options.retentionDays,
  };
  const archiver = new LocalArchiver(options.sqs, sources, dependencies, options.log);
  if (options.poll !== false) archiver.start();
  return {
    endpoints: {
      queue: options.currentUrl(created.shared.queueUrl),
      queues: Object.fromEntries(
        sources
          .filter(({ provider }) => provider !== ANY_PROVIDER)
          .map(({ provider, queue }) => [provider, queue.queueUrl]),
      ),
      deadLetterQueue: options.currentUrl(created.shared.dlqUrl),
      bucket,
      prefix: location.prefix,
    },
    s3,
    archiver,
    location,
    sources,
    dependencies,
    async stop() {
      await archiver.stop();
      s3.destroy();
    },
  };
}
