import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsClientError, AwsJsonClient, Protocols } from '../../functions/core/aws/client.js';
import { LeanDynamoDbIdempotencyStore } from '../../functions/core/aws/dynamodb-store.js';
import { LeanSqsPublisher } from '../../functions/core/aws/sqs-publisher.js';
import { loadConfig } from '../../functions/core/config.js';
import { DependencyError } from '../../functions/core/errors.js';
import { type ClaimRequest, DynamoDbIdempotencyStore } from '../../functions/core/idempotency.js';
import { createHandlerFromConfig } from '../../functions/core/lambda.js';
import { sigmateAdapter } from '../../functions/sigmate/adapter.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClients } from '../../scripts/local/ingress.js';
import { ensureIdempotencyTable, ensureQueuePair } from '../../scripts/local/resources.js';
import { MemoryLog } from '../support/harness.js';
import { signedSigmate } from '../support/sign.js';

const endpoints = inject('emulators');
const prefix = `lean${randomUUID().slice(0, 8)}`;
const table = `${prefix}-idempotency`;
const sdk = localClients(endpoints);
let queueUrl: string;

function lean(protocol: (typeof Protocols)[keyof typeof Protocols], endpoint: string) {
  return new AwsJsonClient({
    protocol,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint,
  });
}
const dynamodb = lean(Protocols.dynamodb, endpoints.dynamodb);
const sqs = lean(Protocols.sqs, endpoints.sqs);
const store = new LeanDynamoDbIdempotencyStore(dynamodb, table);

function claimRequest(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    recordKey: `sigmate#${randomUUID()}`,
    bodyHash: 'a'.repeat(64),
    envelopeId: randomUUID(),
    provider: 'sigmate',
    type: 'signal.fired',
    receivedAt: '2026-11-23T00:00:00.000Z',
    now: Date.now(),
    leaseMs: 10_000,
    retentionSeconds: 7 * 86_400,
    ...overrides,
  };
}

async function record(key: string) {
  const { Item } = await sdk.dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { id: { S: key } }, ConsistentRead: true }),
  );
  return Item;
}

beforeAll(async () => {
  await ensureIdempotencyTable(sdk.dynamodb, table);
  queueUrl = (await ensureQueuePair(sdk.sqs, `${prefix}-sigmate`)).queueUrl;
});

afterAll(() => {
  sdk.dynamodb.destroy();
  sdk.sqs.destroy();
});

describe('aws: lean idempotency store on DynamoDB Local', () => {
  it('writes the very item the SDK store writes', async () => {
    const request = claimRequest({ envelope: '{"version":1}' });
    expect(await store.claim(request)).toEqual({ kind: 'claimed' });
    const ours = await record(request.recordKey);
    await sdk.dynamodb.send(
      new DeleteItemCommand({ TableName: table, Key: { id: { S: request.recordKey } } }),
    );
    await new DynamoDbIdempotencyStore(sdk.dynamodb, table).claim(request);
    expect(ours).toEqual(await record(request.recordKey));
    expect(ours?.status).toEqual({ S: 'INPROGRESS' });
  });

  it('claims a new key, then answers in_progress to a concurrent delivery', async () => {
    const first = claimRequest();
    expect(await store.claim(first)).toEqual({ kind: 'claimed' });
    const second = await store.claim({
      ...first,
      envelopeId: randomUUID(),
      now: first.now + 2_500,
    });
    expect(second).toEqual({ kind: 'in_progress', retryAfterSeconds: 8 });
  });

  it('recognises its own claim when a retried PutItem meets it', async () => {
    const first = claimRequest();
    await store.claim(first);
    expect(await store.claim(first)).toEqual({ kind: 'claimed' });
  });

  it('answers conflict for the same key with a different body', async () => {
    const first = claimRequest();
    await store.claim(first);
    expect(await store.claim({ ...first, bodyHash: 'b'.repeat(64) })).toEqual({
      kind: 'conflict',
    });
  });

  it('completes its own claim, after which the key is a duplicate of the first envelope', async () => {
    const first = claimRequest();
    await store.claim(first);
    await store.complete(first.recordKey, first.envelopeId);
    const item = await record(first.recordKey);
    expect(item?.status).toEqual({ S: 'COMPLETED' });
    expect(item?.leaseExpiresAt).toBeUndefined();
    expect(await store.claim({ ...first, envelopeId: randomUUID() })).toEqual({
      kind: 'duplicate',
      envelopeId: first.envelopeId,
    });
  });

  it('leaves a claim another delivery holds alone on complete and release', async () => {
    const first = claimRequest();
    await store.claim(first);
    await store.complete(first.recordKey, randomUUID());
    await store.release(first.recordKey, randomUUID());
    expect((await record(first.recordKey))?.status).toEqual({ S: 'INPROGRESS' });
  });

  it('releases its own claim so the retry is processed at once', async () => {
    const first = claimRequest();
    await store.claim(first);
    await store.release(first.recordKey, first.envelopeId);
    expect(await record(first.recordKey)).toBeUndefined();
    expect(await store.claim({ ...first, envelopeId: randomUUID() })).toEqual({ kind: 'claimed' });
  });

  it('takes over a claim whose lease has run out', async () => {
    const first = claimRequest();
    await store.claim(first);
    const later = { ...first, envelopeId: randomUUID(), now: first.now + first.leaseMs + 1 };
    expect(await store.claim(later)).toEqual({ kind: 'claimed' });
    expect((await record(first.recordKey))?.envelopeId).toEqual({ S: later.envelopeId });
  });

  it('turns a table that does not exist into DependencyError carrying the AWS code', async () => {
    const missing = new LeanDynamoDbIdempotencyStore(dynamodb, `${prefix}-missing`);
    const error = await missing.claim(claimRequest()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('dynamodb');
    const cause = (error as DependencyError).cause as AwsClientError;
    expect(cause).toBeInstanceOf(AwsClientError);
    expect(cause.code).toBe('ResourceNotFoundException');
    await expect(missing.complete('k', 'e')).rejects.toBeInstanceOf(DependencyError);
    await expect(missing.release('k', 'e')).rejects.toBeInstanceOf(DependencyError);
  });
});

describe('aws: lean SQS publisher on fauxqs', () => {
  it('sends a message that is received with its body and both String attributes', async () => {
    // fauxqs refuses characters beyond U+FFFF (the SDK meets the same); real SQS takes them.
    const body = JSON.stringify({ version: 1, id: randomUUID(), payload: { text: 'héllo €' } });
    await new LeanSqsPublisher(sqs, queueUrl).publish(body, {
      provider: 'sigmate',
      type: 'signal.fired',
    });
    const { Messages } = await sdk.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages).toHaveLength(1);
    expect(Messages?.[0]?.Body).toBe(body);
    expect(Messages?.[0]?.MessageAttributes).toEqual({
      provider: { DataType: 'String', StringValue: 'sigmate' },
      type: { DataType: 'String', StringValue: 'signal.fired' },
    });
  });

  it('turns a queue that does not exist into DependencyError carrying the AWS code', async () => {
    const missing = queueUrl.replace(/[^/]+$/, `${prefix}-missing`);
    const error = await new LeanSqsPublisher(sqs, missing)
      .publish('{}', { provider: 'sigmate', type: 't' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('sqs');
    expect(((error as DependencyError).cause as AwsClientError).code).toMatch(
      /QueueDoesNotExist|NonExistentQueue/,
    );
  });
});

describe('aws: lean wiring end to end', () => {
  const secret = 'lean-wiring-secret';
  const env = {
    WEBHOOK_TABLE_NAME: table,
    AWS_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    SIGMATE_WEBHOOK_SECRET: secret,
  };

  function event(delivery: ReturnType<typeof signedSigmate>) {
    return {
      version: '2.0',
      rawPath: delivery.path,
      headers: delivery.headers,
      body: String(delivery.body),
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: delivery.path, sourceIp: '203.0.113.1' },
        requestId: randomUUID(),
        stage: '$default',
      },
    };
  }

  it('accepts, enqueues and then answers duplicate through the pipeline', async () => {
    const wiredQueue = (await ensureQueuePair(sdk.sqs, `${prefix}-wired`)).queueUrl;
    const config = loadConfig('sigmate', { ...env, WEBHOOK_QUEUE_URL: wiredQueue });
    const log = new MemoryLog();
    const handler = createHandlerFromConfig(sigmateAdapter, config, env, {
      log,
      metrics: null,
    });
    const delivery = signedSigmate(`{"id":"lean-${randomUUID()}"}`, secret);
    const first = await handler(event(delivery));
    expect(first.statusCode).toBe(200);
    const accepted = JSON.parse(String(first.body));
    expect(accepted.status).toBe('accepted');
    const second = await handler(event(delivery));
    expect(JSON.parse(String(second.body))).toEqual({ status: 'duplicate', id: accepted.id });
    const { Messages } = await sdk.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: wiredQueue,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect(Messages).toHaveLength(1);
    expect(JSON.parse(Messages?.[0]?.Body ?? '{}').id).toBe(accepted.id);
  });

  it('answers 503 retry when DynamoDB is unreachable', async () => {
    const config = loadConfig('sigmate', {
      ...env,
      WEBHOOK_QUEUE_URL: queueUrl,
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
    });
    const handler = createHandlerFromConfig(sigmateAdapter, config, env, {
      log: new MemoryLog(),
      metrics: null,
    });
    const answer = await handler(event(signedSigmate('{"id":"lean-unreachable"}', secret)));
    expect(answer.statusCode).toBe(503);
    expect(JSON.parse(String(answer.body)).status).toBe('retry');
  });
});
