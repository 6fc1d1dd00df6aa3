import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { readInteger, readRequired } from '../core/config.js';
import { ConsumerEnvNames, envelopeKey, ProcessedEvents } from './dedupe.js';

/*
 * Example consumer of the provider queues: Powertools Batch reports only the failed
 * messages back to SQS (partial batch failure), and each event is processed once by
 * its envelope's `provider` + `idempotencyKey`. Replace `handleEvent` with real work.
 */
const logger = new Logger({ serviceName: 'webhook-consumer' });
const processed = new ProcessedEvents(
  new DynamoDBClient({}),
  readRequired(process.env, ConsumerEnvNames.tableName),
  readInteger(process.env, ConsumerEnvNames.retentionDays, 7, 1, 365) * 86_400,
);
const processor = new BatchProcessor(EventType.SQS);
let lambdaContext: Context | undefined;

async function handleEvent(envelope: Record<string, unknown>): Promise<void> {
  logger.info('event', { provider: envelope.provider, type: envelope.type, id: envelope.id });
}

async function recordHandler(record: SQSRecord): Promise<void> {
  const envelope = envelopeKey(record.body);
  // The claim outlives this invocation, so a slow run is never processed twice at once.
  const leaseMs = (lambdaContext?.getRemainingTimeInMillis() ?? 30_000) + 1000;
  // A replay is keyed by its event too; SQS's send time tells one replay from the next.
  const sentAt = Number(record.attributes.SentTimestamp);
  const claim = await processed.claim(envelope, leaseMs, {
    replay: envelope.replay === true,
    ...(Number.isFinite(sentAt) ? { sentAt } : {}),
  });
  if (claim === 'done') {
    logger.info('duplicate dropped', { idempotencyKey: envelope.idempotencyKey });
    return;
  }
  if (claim === 'busy') throw new Error('another consumer is processing this event');
  try {
    await handleEvent(envelope);
  } catch (error) {
    await processed.release(envelope);
    throw error;
  }
  await processed.complete(envelope);
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  lambdaContext = context;
  return processPartialResponse(event, recordHandler, processor, { context });
};
