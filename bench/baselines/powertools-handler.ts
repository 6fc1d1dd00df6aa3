/**
 * Baseline: the Sigmate handler users write today, from the AWS and Powertools docs —
 * AWS SDK v3 DynamoDB and SQS clients, Powertools Idempotency with its DynamoDB
 * persistence layer, Powertools Logger, and a hand HMAC check. Built with the same
 * esbuild settings as ours. Only the benchmark uses it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';

const logger = new Logger({ serviceName: 'sigmate-webhook' });
const sqs = new SQSClient({});
const queueUrl = process.env.WEBHOOK_QUEUE_URL ?? '';
const secret = process.env.SIGMATE_WEBHOOK_SECRET ?? '';

const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: process.env.WEBHOOK_TABLE_NAME ?? '',
});
const config = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 86_400 });

const enqueue = makeIdempotent(
  async (payload: Record<string, unknown>, rawBody: string): Promise<{ messageId: string }> => {
    const result = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: rawBody,
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: 'sigmate' },
          type: { DataType: 'String', StringValue: String(payload.type ?? 'signal.fired') },
        },
      }),
    );
    return { messageId: result.MessageId ?? '' };
  },
  { persistenceStore, config, dataIndexArgument: 0 },
);

function json(statusCode: number, body: Record<string, unknown>): APIGatewayProxyResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

function verified(rawBody: Buffer, header: string | undefined): boolean {
  const match = /^sha256=([a-f0-9]{64})$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[1], 'hex'));
}

export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyResultV2> => {
  logger.addContext(context);
  config.registerLambdaContext(context);
  const rawBody = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (!verified(rawBody, event.headers['x-sigmate-signature'])) {
    logger.warn('invalid signature');
    return json(401, { status: 'rejected' });
  }
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return json(400, { status: 'rejected', reason: 'invalid json' });
  }
  try {
    const { messageId } = await enqueue(payload, rawBody.toString('utf8'));
    logger.info('webhook enqueued', { id: payload.id, messageId });
    return json(200, { status: 'accepted', id: messageId });
  } catch (error) {
    if (error instanceof IdempotencyAlreadyInProgressError) {
      return json(409, { status: 'in_progress' });
    }
    logger.error('webhook failed', error as Error);
    return json(503, { status: 'retry' });
  }
};
