/**
 * Measured alternative (not deployed): the floor plus only the two SDK v3 clients and one
 * call each, to weigh the SDK alone against everything else in our bundle.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { handler as floor } from '../baselines/floor-handler.js';

const dynamodb = new DynamoDBClient({});
const sqs = new SQSClient({});

export const handler = async (event: Parameters<typeof floor>[0]) => {
  const answer = await floor(event);
  const id = { S: `sdk-only#${event.requestContext.requestId}` };
  await dynamodb.send(
    new PutItemCommand({ TableName: process.env.WEBHOOK_TABLE_NAME, Item: { id } }),
  );
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: process.env.WEBHOOK_QUEUE_URL,
      MessageBody: event.body ?? '',
    }),
  );
  return answer;
};
