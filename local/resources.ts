import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { RecordAttributes } from '../functions/core/idempotency.js';

/** Creates the idempotency table (key `id`, TTL on `expiration`) unless it exists. */
export async function ensureIdempotencyTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: RecordAttributes.key, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: RecordAttributes.key, KeyType: 'HASH' }],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    return;
  }
  await client.send(new DescribeTableCommand({ TableName: tableName }));
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: RecordAttributes.expiration, Enabled: true },
    }),
  );
}

export interface QueuePair {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${queueUrl} has no ARN`);
  return arn;
}

/**
 * Creates a standard queue and its dead-letter queue, as the CDK stack does; idempotent.
 * `deadLetterQueue` shares an existing one instead (the archive queues share theirs).
 */
export async function ensureQueuePair(
  client: SQSClient,
  name: string,
  options: {
    maxReceiveCount?: number;
    visibilityTimeoutSeconds?: number;
    deadLetterQueue?: { readonly url: string; readonly arn: string };
  } = {},
): Promise<QueuePair> {
  let dlqUrl = options.deadLetterQueue?.url;
  if (dlqUrl === undefined) {
    const dlq = await client.send(
      new CreateQueueCommand({
        QueueName: `${name}-dlq`,
        Attributes: { MessageRetentionPeriod: String(14 * 86_400) },
      }),
    );
    if (!dlq.QueueUrl) throw new Error(`no URL for queue ${name}-dlq`);
    dlqUrl = dlq.QueueUrl;
  }
  const dlqArn = options.deadLetterQueue?.arn ?? (await queueArn(client, dlqUrl));
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        MessageRetentionPeriod: String(4 * 86_400),
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 60),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? 5,
        }),
      },
    }),
  );
  if (!queue.QueueUrl) throw new Error(`no URL for queue ${name}`);
  return {
    queueUrl: queue.QueueUrl,
    queueArn: await queueArn(client, queue.QueueUrl),
    dlqUrl,
    dlqArn,
  };
}
