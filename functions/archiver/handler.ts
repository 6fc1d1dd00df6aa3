import { type ArchiveQueueMessage, archiveBatch, type BatchResponse } from '../core/archive.js';
import { createAwsClients } from '../core/aws.js';
import { loadArchiverConfig } from '../core/config.js';
import { DynamoDbClaimLedger } from '../core/idempotency.js';
import { createLogger } from '../core/observability.js';
import { createS3Client } from '../core/s3.js';

const config = loadArchiverConfig(process.env);
const s3 = createS3Client(process.env);
const ledger = new DynamoDbClaimLedger(createAwsClients(process.env).dynamodb, config.tableName);
const log = createLogger('archiver');

/**
 * The archive queues' consumer: an SQS event source per queue, with
 * `ReportBatchItemFailures`, hands it batches; each attempt is settled against its
 * idempotency record and written as one gzip JSON Lines object per (provider, date).
 */
export async function handler(event: {
  Records: readonly ArchiveQueueMessage[];
}): Promise<BatchResponse> {
  const { batchItemFailures } = await archiveBatch(
    { s3, location: config, ledger, sources: config.sources, retentionDays: config.retentionDays },
    event.Records,
    log,
  );
  return { batchItemFailures };
}
