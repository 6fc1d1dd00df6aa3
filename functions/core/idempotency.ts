import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { isAmbiguousFailure } from './aws.js';
import { DependencyError } from './errors.js';
import { RecordAttributes, RecordStatus } from './names.js';

export { RecordAttributes, RecordStatus };

export interface ClaimRequest {
  /** Table key: provider plus the event's idempotency key. */
  readonly recordKey: string;
  readonly bodyHash: string;
  /** Id of the envelope this delivery will enqueue if it wins the claim. */
  readonly envelopeId: string;
  readonly provider: string;
  readonly type: string;
  readonly receivedAt: string;
  /** Epoch milliseconds. */
  readonly now: number;
  /** How long the claim is ours: at least the invocation's remaining time. */
  readonly leaseMs: number;
  /** How long a completed record (and so deduplication) is kept. */
  readonly retentionSeconds: number;
  /** The provider's own identifier of the event, for operators' look-ups. */
  readonly subject?: string | undefined;
}

export type ClaimResult =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'duplicate'; readonly envelopeId: string }
  | { readonly kind: 'in_progress'; readonly retryAfterSeconds: number }
  | { readonly kind: 'conflict' };

/** Per-call options: `signal` aborts a call that would outlive the invocation's budget. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** The idempotency ledger: claim before enqueueing, complete after, release on failure. */
export interface IdempotencyStore {
  /** Claims the key, or says why not. Throws {@link DependencyError}. */
  claim(request: ClaimRequest, options?: CallOptions): Promise<ClaimResult>;
  /** Marks a claim completed once the event is on the queue. Throws {@link DependencyError}. */
  complete(
    recordKey: string,
    envelopeId: string,
    messageId: string | undefined,
    options?: CallOptions,
  ): Promise<void>;
  /** Drops our own claim after a failed enqueue, so the provider's retry goes through. */
  release(recordKey: string, envelopeId: string, options?: CallOptions): Promise<void>;
}

/**
 * Decides what an existing record means for a new delivery with `bodyHash`.
 * Pure, so the decision table is testable without DynamoDB.
 */
export function decideOnExisting(
  existing: Record<string, AttributeValue> | undefined,
  bodyHash: string,
  now: number,
  ownEnvelopeId?: string,
): ClaimResult {
  const stored = existing?.[RecordAttributes.bodyHash]?.S;
  if (stored !== undefined && stored !== bodyHash) return { kind: 'conflict' };
  const status = existing?.[RecordAttributes.status]?.S;
  const envelopeId = existing?.[RecordAttributes.envelopeId]?.S;
  // The SDK retried a PutItem whose answer was lost: the claim found is this delivery's own.
  if (
    status === RecordStatus.InProgress &&
    ownEnvelopeId !== undefined &&
    envelopeId === ownEnvelopeId
  ) {
    return { kind: 'claimed' };
  }
  if (status === RecordStatus.Completed && envelopeId !== undefined) {
    return { kind: 'duplicate', envelopeId };
  }
  const leaseExpiresAt = Number(existing?.[RecordAttributes.leaseExpiresAt]?.N ?? now);
  return {
    kind: 'in_progress',
    retryAfterSeconds: Math.max(1, Math.ceil((leaseExpiresAt - now) / 1000)),
  };
}

/** The conditional PutItem that claims a key (one call: the old record comes back on failure). */
export function claimInput(tableName: string, request: ClaimRequest): PutItemCommandInput {
  const a = RecordAttributes;
  return {
    TableName: tableName,
    Item: {
      [a.key]: { S: request.recordKey },
      [a.status]: { S: RecordStatus.InProgress },
      [a.expiration]: { N: String(Math.floor(request.now / 1000) + request.retentionSeconds) },
      [a.leaseExpiresAt]: { N: String(request.now + request.leaseMs) },
      [a.bodyHash]: { S: request.bodyHash },
      [a.envelopeId]: { S: request.envelopeId },
      [a.provider]: { S: request.provider },
      [a.type]: { S: request.type },
      [a.receivedAt]: { S: request.receivedAt },
      ...(request.subject === undefined ? {} : { [a.subject]: { S: request.subject } }),
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
  };
}

/** The UpdateItem that completes our own claim once the event is on the queue. */
export function completeInput(
  tableName: string,
  recordKey: string,
  envelopeId: string,
  messageId?: string,
): UpdateItemCommandInput {
  const a = RecordAttributes;
  return {
    TableName: tableName,
    Key: { [a.key]: { S: recordKey } },
    UpdateExpression: `SET #status = :completed${messageId === undefined ? '' : ', #messageId = :messageId'} REMOVE #lease`,
    // Only our own claim: if the lease ran out and another delivery took over, leave it be.
    ConditionExpression: '#envelopeId = :envelopeId',
    ExpressionAttributeNames: {
      '#status': a.status,
      '#lease': a.leaseExpiresAt,
      '#envelopeId': a.envelopeId,
      ...(messageId === undefined ? {} : { '#messageId': a.messageId }),
    },
    ExpressionAttributeValues: {
      ':completed': { S: RecordStatus.Completed },
      ':envelopeId': { S: envelopeId },
      ...(messageId === undefined ? {} : { ':messageId': { S: messageId } }),
    },
  };
}

/** The DeleteItem that drops our own claim, and only while it is still in progress. */
export function releaseInput(
  tableName: string,
  recordKey: string,
  envelopeId: string,
): DeleteItemCommandInput {
  const a = RecordAttributes;
  return {
    TableName: tableName,
    Key: { [a.key]: { S: recordKey } },
    ConditionExpression: '#envelopeId = :envelopeId AND #status = :inProgress',
    ExpressionAttributeNames: { '#envelopeId': a.envelopeId, '#status': a.status },
    ExpressionAttributeValues: {
      ':envelopeId': { S: envelopeId },
      ':inProgress': { S: RecordStatus.InProgress },
    },
  };
}

/** {@link IdempotencyStore} on a DynamoDB table, through the SDK's `DynamoDBClient`. */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(request: ClaimRequest, options: CallOptions = {}): Promise<ClaimResult> {
    try {
      await this.client.send(new PutItemCommand(claimInput(this.tableName, request)), {
        abortSignal: options.signal,
      });
      return { kind: 'claimed' };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return decideOnExisting(error.Item, request.bodyHash, request.now, request.envelopeId);
      }
      throw dynamoDbFailure('the idempotency claim failed', error);
    }
  }

  async complete(
    recordKey: string,
    envelopeId: string,
    messageId: string | undefined,
    options: CallOptions = {},
  ): Promise<void> {
    await this.writeOwnClaim(
      new UpdateItemCommand(completeInput(this.tableName, recordKey, envelopeId, messageId)),
      'the idempotency completion failed',
      options,
    );
  }

  async release(recordKey: string, envelopeId: string, options: CallOptions = {}): Promise<void> {
    await this.writeOwnClaim(
      new DeleteItemCommand(releaseInput(this.tableName, recordKey, envelopeId)),
      'the idempotency release failed',
      options,
    );
  }

  /** A write conditioned on our own claim: a failed condition means another delivery took it over. */
  private async writeOwnClaim(
    command: UpdateItemCommand | DeleteItemCommand,
    failure: string,
    options: CallOptions,
  ): Promise<void> {
    try {
      // One client, two command types: the SDK's overloads take them one at a time.
      await this.client.send(command as UpdateItemCommand, { abortSignal: options.signal });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw dynamoDbFailure(failure, error);
    }
  }
}

function dynamoDbFailure(message: string, error: unknown): DependencyError {
  return new DependencyError('dynamodb', message, {
    cause: error,
    ambiguous: isAmbiguousFailure(error),
  });
}
