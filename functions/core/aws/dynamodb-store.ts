import { DependencyError } from '../errors.js';
import {
  type ClaimRequest,
  type ClaimResult,
  claimInput,
  completeInput,
  decideOnExisting,
  type IdempotencyStore,
  releaseInput,
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
    try {
      await this.client.call('PutItem', { ...claimInput(this.tableName, request) }, options);
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
    await this.writeOwnClaim(
      'UpdateItem',
      completeInput(this.tableName, recordKey, envelopeId),
      'the idempotency completion failed',
      options,
    );
  }

  async release(
    recordKey: string,
    envelopeId: string,
    options: JsonCallOptions = {},
  ): Promise<void> {
    await this.writeOwnClaim(
      'DeleteItem',
      releaseInput(this.tableName, recordKey, envelopeId),
      'the idempotency release failed',
      options,
    );
  }

  /** A write conditioned on our own claim: a failed condition means another delivery took it over. */
  private async writeOwnClaim(
    action: 'UpdateItem' | 'DeleteItem',
    input: object,
    failure: string,
    options: JsonCallOptions,
  ): Promise<void> {
    try {
      await this.client.call(action, { ...input }, options);
    } catch (error) {
      if (conditionFailed(error)) return;
      throw new DependencyError('dynamodb', failure, { cause: error });
    }
  }
}
