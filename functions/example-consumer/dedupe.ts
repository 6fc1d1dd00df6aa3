import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ConsumerEnvNames } from '../core/names.js';

export { ConsumerEnvNames };

/** The part of the contract's envelope a consumer needs to deduplicate. */
export interface EnvelopeKey {
  readonly provider: string;
  readonly idempotencyKey: string;
}

/** Reads the envelope's identity from a queue message body; throws on anything else. */
export function envelopeKey(body: string): EnvelopeKey & Record<string, unknown> {
  const value: unknown = JSON.parse(body);
  if (typeof value !== 'object' || value === null) throw new Error('message is not an envelope');
  const envelope = value as Record<string, unknown>;
  if (typeof envelope.provider !== 'string' || typeof envelope.idempotencyKey !== 'string') {
    throw new Error('message has no provider or idempotencyKey');
  }
  return envelope as EnvelopeKey & Record<string, unknown>;
}

export type Claim = 'process' | 'done' | 'busy';

/** The queue message being claimed: its SQS id, and whether the envelope is a replay. */
export interface ClaimMessage {
  readonly messageId?: string;
  readonly replay?: boolean;
}

/**
 * Processed-event ledger on the consumer's own table (key `id`, TTL `expiration`).
 * The ingress enqueues an event once, but a rare crash can enqueue it twice and SQS
 * delivers at least once: claim `provider#idempotencyKey` before the side effect.
 */
export class ProcessedEvents {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly retentionSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `process`: ours to do; `done`: already done, drop it; `busy`: another consumer has it.
   * An operator's replay (`replay: true`, docs/cli.md) is processed again even when the
   * event is done — once per replay message: SQS redelivering that same message (same
   * `messageId`) after it was done is still dropped.
   */
  async claim(key: EnvelopeKey, leaseMs: number, message: ClaimMessage = {}): Promise<Claim> {
    const now = this.now();
    const replay = message.replay === true && message.messageId !== undefined;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            id: { S: recordId(key) },
            status: { S: 'PROCESSING' },
            leaseExpiresAt: { N: String(now + leaseMs) },
            expiration: { N: String(Math.floor(now / 1000) + this.retentionSeconds) },
            ...(message.messageId ? { messageId: { S: message.messageId } } : {}),
          },
          ConditionExpression: [
            'attribute_not_exists(id)',
            '(#status = :processing AND leaseExpiresAt < :now)',
            ...(replay
              ? [
                  '(#status = :done AND (attribute_not_exists(messageId) OR messageId <> :messageId))',
                ]
              : []),
          ].join(' OR '),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':processing': { S: 'PROCESSING' },
            ':now': { N: String(now) },
            ...(replay
              ? { ':done': { S: 'DONE' }, ':messageId': { S: message.messageId ?? '' } }
              : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'process';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return error.Item?.status?.S === 'DONE' ? 'done' : 'busy';
    }
  }

  /** Marks the event done once its side effect has happened. */
  async complete(key: EnvelopeKey): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { id: { S: recordId(key) } },
        UpdateExpression: 'SET #status = :done REMOVE leaseExpiresAt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':done': { S: 'DONE' } },
      }),
    );
  }

  /** Gives the claim back after a failure, so the redelivery is processed. */
  async release(key: EnvelopeKey): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { id: { S: recordId(key) } } }),
    );
  }
}

function recordId(key: EnvelopeKey): string {
  return `${key.provider}#${key.idempotencyKey}`;
}
