import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DependencyError } from '../../../functions/core/errors.js';
import {
  type ClaimRequest,
  DynamoDbIdempotencyStore,
  decideOnExisting,
} from '../../../functions/core/idempotency.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const request: ClaimRequest = {
  recordKey: 'sigmate#evt-1',
  bodyHash: 'hash-a',
  envelopeId: 'envelope-1',
  provider: 'sigmate',
  type: 'signal.fired',
  receivedAt: new Date(NOW).toISOString(),
  now: NOW,
  leaseMs: 5000,
  retentionSeconds: 7 * 86_400,
};

const conditionFailed = (Item?: Record<string, { S?: string; N?: string }>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item,
  } as never);

describe('core: idempotency decision table', () => {
  it.each([
    [
      'a completed record with the same body',
      { status: { S: 'COMPLETED' }, bodyHash: { S: 'hash-a' }, envelopeId: { S: 'first' } },
      { kind: 'duplicate', envelopeId: 'first' },
    ],
    [
      'a completed record with another body',
      { status: { S: 'COMPLETED' }, bodyHash: { S: 'hash-b' }, envelopeId: { S: 'first' } },
      { kind: 'conflict' },
    ],
    [
      'a live claim with the same body',
      {
        status: { S: 'INPROGRESS' },
        bodyHash: { S: 'hash-a' },
        leaseExpiresAt: { N: String(NOW + 2500) },
      },
      { kind: 'in_progress', retryAfterSeconds: 3 },
    ],
    [
      'a live claim with another body',
      {
        status: { S: 'INPROGRESS' },
        bodyHash: { S: 'hash-b' },
        leaseExpiresAt: { N: String(NOW + 2500) },
      },
      { kind: 'conflict' },
    ],
    [
      'a claim about to expire',
      {
        status: { S: 'INPROGRESS' },
        bodyHash: { S: 'hash-a' },
        leaseExpiresAt: { N: String(NOW + 10) },
      },
      { kind: 'in_progress', retryAfterSeconds: 1 },
    ],
  ])('answers %s', (_name, item, expected) => {
    expect(decideOnExisting(item, 'hash-a', NOW)).toEqual(expected);
  });
});

describe('core: DynamoDbIdempotencyStore', () => {
  const dynamodb = mockClient(DynamoDBClient);
  const store = new DynamoDbIdempotencyStore(new DynamoDBClient({}), 'table');
  beforeEach(() => dynamodb.reset());

  it('claims with one conditional put holding the lease, TTL and body hash', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    await expect(store.claim(request)).resolves.toEqual({ kind: 'claimed' });
    const input = dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(input?.Item?.id?.S).toBe('sigmate#evt-1');
    expect(input?.Item?.status?.S).toBe('INPROGRESS');
    expect(Number(input?.Item?.expiration?.N)).toBe(NOW / 1000 + 7 * 86_400);
    expect(Number(input?.Item?.leaseExpiresAt?.N)).toBe(NOW + 5000);
    expect(input?.Item?.bodyHash?.S).toBe('hash-a');
    expect(input?.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(input?.ConditionExpression).toContain('attribute_not_exists');
    expect(input?.Item?.envelope).toBeUndefined();
  });

  it('reads the old record from a failed condition to tell duplicate from in-flight', async () => {
    dynamodb.on(PutItemCommand).rejects(
      conditionFailed({
        status: { S: 'COMPLETED' },
        bodyHash: { S: 'hash-a' },
        envelopeId: { S: 'first' },
      }),
    );
    await expect(store.claim(request)).resolves.toEqual({ kind: 'duplicate', envelopeId: 'first' });
    expect(dynamodb.calls()).toHaveLength(1);
  });

  it('turns any other DynamoDB failure into a DependencyError', async () => {
    dynamodb.on(PutItemCommand).rejects(new Error('connect ECONNREFUSED'));
    await expect(store.claim(request)).rejects.toBeInstanceOf(DependencyError);
    dynamodb.on(UpdateItemCommand).rejects(new Error('throttled'));
    await expect(store.complete('k', 'e', undefined)).rejects.toBeInstanceOf(DependencyError);
    dynamodb.on(DeleteItemCommand).rejects(new Error('throttled'));
    await expect(store.release('k', 'e')).rejects.toBeInstanceOf(DependencyError);
  });

  it('completes and releases only its own claim, ignoring a claim taken over since', async () => {
    dynamodb.on(UpdateItemCommand).rejects(conditionFailed());
    dynamodb.on(DeleteItemCommand).rejects(conditionFailed());
    await expect(store.complete('k', 'mine', undefined)).resolves.toBeUndefined();
    await expect(store.release('k', 'mine')).resolves.toBeUndefined();
    const update = dynamodb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.ConditionExpression).toBe('#envelopeId = :envelopeId');
    expect(update?.ExpressionAttributeValues?.[':envelopeId']?.S).toBe('mine');
  });
});
