import { gunzipSync } from 'node:zlib';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type ArchiveLocation,
  type ArchiveQueueMessage,
  type ArchiveRecord,
  type ArchiverLog,
  archiveBatch,
} from '../functions/core/archive.js';
import { ensureQueuePair, type QueuePair } from './resources.js';

/** An SQS message as Lambda's SQS event source hands it to the archiver. */
export function asLambdaRecord(message: Message): ArchiveQueueMessage {
  return {
    messageId: message.MessageId ?? '',
    body: message.Body ?? '',
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { stringValue: value.StringValue },
      ]),
    ),
  };
}

/** Where the local archive lives; written to `.local/endpoints.json` as `archive`. */
export interface LocalArchiveEndpoints {
  readonly queue: string;
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

/** Creates the archive queue (with its dead-letter queue) and the bucket; idempotent. */
export async function ensureLocalArchive(
  sqs: SQSClient,
  s3: S3Client,
  names: { queue: string; bucket: string },
): Promise<QueuePair> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) {
      const name = error instanceof Error ? error.name : '';
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }
  // The archiver's Lambda timeout is 60 s in the stack; visibility must outlast a batch.
  return ensureQueuePair(sqs, names.queue, { visibilityTimeoutSeconds: 120 });
}

/**
 * The stack's archiver, locally: the real `archiveBatch` on batches received from the
 * archive queue, deleting only the messages it reports as written — what Lambda's SQS
 * event source does with `ReportBatchItemFailures`.
 */
export class LocalArchiver {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly sqs: SQSClient,
    private readonly s3: S3Client,
    private readonly queueUrl: string,
    private readonly location: ArchiveLocation,
    private readonly log: ArchiverLog,
  ) {}

  /** One receive (up to `max` messages, in batches of 10) and its write; returns how many were archived. */
  async drainOnce(waitSeconds = 0): Promise<number> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    if (Messages.length === 0) return 0;
    const batch = Messages.map((message) => ({
      ...asLambdaRecord(message),
      receiptHandle: message.ReceiptHandle ?? '',
    }));
    const { batchItemFailures } = await archiveBatch(this.s3, this.location, batch, this.log);
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    const done = batch.filter((message) => !failed.has(message.messageId));
    if (done.length > 0) {
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: done.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.receiptHandle,
          })),
        }),
      );
    }
    return done.length;
  }

  /** Drains until the queue is empty (tests and `npm start`'s shutdown). */
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

/** The running local archive: its queue, bucket and the in-process archiver. */
export interface LocalArchive {
  readonly endpoints: LocalArchiveEndpoints;
  readonly s3: S3Client;
  readonly archiver: LocalArchiver;
  readonly location: ArchiveLocation;
  /** Stops the poller (what is still on the queue stays there, for the next start) and the client. */
  stop(): Promise<void>;
}

/**
 * Creates the archive queue and bucket on fauxqs and starts the archiver as a poller.
 * `poll: false` leaves draining to the caller (tests drain when they choose).
 */
export async function startLocalArchive(options: {
  readonly sqs: SQSClient;
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
  const pair = await ensureLocalArchive(options.sqs, s3, {
    queue: `${options.namePrefix}-archive`,
    bucket,
  });
  const queue = options.currentUrl(pair.queueUrl);
  const location = { bucket, prefix: 'events' };
  const archiver = new LocalArchiver(options.sqs, s3, queue, location, options.log);
  if (options.poll !== false) archiver.start();
  return {
    endpoints: {
      queue,
      deadLetterQueue: options.currentUrl(pair.dlqUrl),
      bucket,
      prefix: location.prefix,
    },
    s3,
    archiver,
    location,
    async stop() {
      await archiver.stop();
      s3.destroy();
    },
  };
}
