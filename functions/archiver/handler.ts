import { type ArchiveQueueMessage, archiveBatch, type BatchResponse } from '../core/archive.js';
import { loadArchiverConfig } from '../core/config.js';
import { createLogger } from '../core/observability.js';
import { createS3Client } from '../core/s3.js';

const config = loadArchiverConfig(process.env);
const s3 = createS3Client(process.env);
const log = createLogger('archiver');

/**
 * The archive queue's consumer: an SQS event source with `ReportBatchItemFailures`
 * hands it batches, written as one gzip JSON Lines object per (provider, date).
 */
export async function handler(event: {
  Records: readonly ArchiveQueueMessage[];
}): Promise<BatchResponse> {
  return archiveBatch(s3, config, event.Records, log);
}
