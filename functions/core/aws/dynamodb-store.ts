import { DependencyError } from '../errors.js';
import {
  type ClaimRequest,
  type ClaimResult,
  decideOnExisting,
  type IdempotencyStore,
  RecordAttributes,
  RecordStatus,
} from '../idempotency.js';
import { AwsServiceError, type JsonCaller, type JsonCallOptions } from './client.js';

type StoredItem = Parameters<typeof decideOnExisting>[0];

const CONDITION_FAILED = 'ConditionalCheckFailedException';

function conditionFailed(error: unknown): error is AwsServiceError {
  return error instanceof AwsServiceError && error.code === CONDITION_FAILED;
}

/**
 * {@link IdempotencyStore} on the lean JSON client: the same items, expressions and
 * decisions as `DynamoDbIdempotencyStore`, without the SDK.
 */
export class LeanDynamoDbIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: JsonCaller,
    private readonly tableName: string,
  ) {}

  async claim(request: ClaimRequest, options: JsonCallOptions = {}): Promise<ClaimResult> {
    const a = RecordAttributes;
    try {
      await this.client.call(
        'PutItem',
        {
          TableName: this.tableName,
          Item: {
            [a.key]: { S: request.recordKey },
            [a.status]: { S: RecordStatus.InProgress },
            [a.expiration]: {
              N: String(Math.floor(request.now / 1000) + request.retentionSeconds),
            },
            [a.leaseExpiresAt]: { N: String(request.now + request.leaseMs) },
            [a.bodyHash]: { S: request.bodyHash },
            [a.envelopeId]: { S: request.envelopeId },
            [a.provider]: { S: request.provider },
            [a.type]: { S: request.type },
            [a.receivedAt]: { S: request.receivedAt },
            ...(request.envelope === undefined ? {} : { [a.envelope]: { S: request.envelope } }),
          },
          // New key, a record TTL has not swept yet, or a claim whose holder died.
          ConditionExpression:
            'attribute_not_exists(#key) OR #expiration < :nowSeconds OR (#status = :inProgress AND #lease < :nowMs)',
          ExpressionAttributeNames: {
            '#key': a.key,
            '#expiration': a.expiration,
            '#status': a.status,
            '#lease': a.leaseExpiresAt,
          },
          ExpressionAttributeValues: {
            ':nowSeconds': { N: String(Math.floor(request.now / 1000)) },
            ':nowMs': { N: String(request.now) },
            ':inProgress': { S: RecordStatus.InProgress },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
        options,
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (conditionFailed(error)) {
        // With ALL_OLD, DynamoDB's JSON error body carries the record that won as `Item`.
        const item = error.body.Item as StoredItem;
        return decideOnExisting(item, request.bodyHash, request.now, request.envelopeId);
      }
      throw new DependencyError('dynamodb', 'the idempotency claim failed', { cause: error });
    }
  }

  async complete(
    recordKey: string,
    envelopeId: string,
    options: JsonCallOptions = {},
  ): Promise<void> {
    const a = RecordAttributes;
    try {
      await this.client.call(
        'UpdateItem',
        {
          TableName: this.tableName,
          Key: { [a.key]: { S: recordKey } },
          UpdateExpression: 'SET #status = :completed REMOVE #lease',
          // Only our own claim: if the lease ran out and another delivery took over, leave it be.
          ConditionExpression: '#envelopeId = :envelopeId',
          ExpressionAttributeNames: {
            '#status': a.status,
            '#lease': a.leaseExpiresAt,
            '#envelopeId': a.envelopeId,
          },
          ExpressionAttributeValues: {
            ':completed': { S: RecordStatus.Completed },
            ':envelopeId': { S: envelopeId },
          },
        },
        options,
      );
    } catch (error) {
      if (conditionFailed(error)) return;
      throw new DependencyError('dynamodb', 'the idempotency completion failed', { cause: error });
    }
  }

  async release(
    recordKey: string,
    envelopeId: string,
    options: JsonCallOptions = {},
  ): Promise<void> {
    const a = RecordAttributes;
    try {
      await this.client.call(
        'DeleteItem',
        {
          TableName: this.tableName,
          Key: { [a.key]: { S: recordKey } },
          ConditionExpression: '#envelopeId = :envelopeId AND #status = :inProgress',
          ExpressionAttributeNames: { '#envelopeId': a.envelopeId, '#status': a.status },
          ExpressionAttributeValues: {
            ':envelopeId': { S: envelopeId },
            ':inProgress': { S: RecordStatus.InProgress },
          },
        },
        options,
      );
    } catch (error) {
      if (conditionFailed(error)) return;
      throw new DependencyError('dynamodb', 'the idempotency release failed', { cause: error });
    }
  }
}
