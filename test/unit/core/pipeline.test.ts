import { createHmac } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SourceAllowlist } from '../../../functions/core/cidr.js';
import { sha256Hex } from '../../../functions/core/crypto.js';
import { DependencyError } from '../../../functions/core/errors.js';
import { DynamoDbIdempotencyStore } from '../../../functions/core/idempotency.js';
import { createWebhookHandler } from '../../../functions/core/pipeline.js';
import { SqsPublisher } from '../../../functions/core/publisher.js';
import { SIGNATURE_REJECTION_BODY } from '../../../functions/core/respond.js';
import { StaticSecretSource } from '../../../functions/core/secrets.js';
import { sigmateAdapter } from '../../../functions/sigmate/adapter.js';
import { httpApiDelivery } from '../../fixtures/events.js';
import { MemoryLog } from '../../support/harness.js';

const SECRET = 'unit-secret';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const dynamodb = mockClient(DynamoDBClient);

/** DynamoDB's answer to a claim that lost: the failed condition carries the record that won. */
const conditionFailedWith = (Item: Record<string, { S?: string; N?: string }>) =>
  new ConditionalCheckFailedException({ message: 'failed', $metadata: {}, Item } as never);
const sqs = mockClient(SQSClient);

function sign(body: string | Buffer, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function handler(options: { allowlist?: string[]; maxBodyBytes?: number } = {}) {
  const log = new MemoryLog();
  const handle = createWebhookHandler({
    adapter: sigmateAdapter,
    secrets: new StaticSecretSource({ webhookSecrets: ['old-secret', SECRET] }),
    store: new DynamoDbIdempotencyStore(new DynamoDBClient({}), 'table'),
    publisher: new SqsPublisher(new SQSClient({}), 'https://sqs.example/queue'),
    log,
    maxBodyBytes: options.maxBodyBytes ?? 1024,
    retentionDays: 7,
    leaseSeconds: 10,
    sourceAllowlist: options.allowlist ? new SourceAllowlist(options.allowlist) : undefined,
    now: () => NOW,
    newId: () => 'envelope-1',
  });
  return { handle, log };
}

const body = '{"id":"evt-1","signal_type":"consensus_buy"}';
const delivery = (
  overrides: {
    body?: string;
    headers?: Record<string, string>;
    method?: string;
    path?: string;
  } = {},
) =>
  httpApiDelivery(
    overrides.path ?? '/webhooks/sigmate',
    overrides.body ?? body,
    overrides.headers ?? {
      'x-sigmate-signature': sign(overrides.body ?? body),
      'x-sigmate-event': 'signal.fired',
    },
    { method: overrides.method ?? 'POST' },
  );

/** DynamoDB and SQS accept every call; a test then overrides the one it is about. */
function answerEveryCallWithSuccess(): void {
  dynamodb.reset();
  sqs.reset();
  dynamodb.on(PutItemCommand).resolves({});
  dynamodb.on(UpdateItemCommand).resolves({});
  dynamodb.on(DeleteItemCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
}

describe('core: pipeline answers every contract status', () => {
  beforeEach(answerEveryCallWithSuccess);

  it('200 accepted: claims, enqueues the envelope with attributes, then completes', async () => {
    const result = await handler().handle(delivery());
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ status: 'accepted', id: 'envelope-1' });
    const send = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(JSON.parse(send?.MessageBody ?? '')).toEqual({
      version: 1,
      id: 'envelope-1',
      provider: 'sigmate',
      type: 'signal.fired',
      idempotencyKey: 'evt-1',
      receivedAt: new Date(NOW).toISOString(),
      payload: JSON.parse(body),
    });
    expect(send?.MessageAttributes).toEqual({
      provider: { DataType: 'String', StringValue: 'sigmate' },
      type: { DataType: 'String', StringValue: 'signal.fired' },
    });
    expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(1);
    expect(dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('200 duplicate with the first id: nothing is sent again', async () => {
    // The stored hash must equal this body's hash for a duplicate.
    dynamodb.on(PutItemCommand).rejects(
      conditionFailedWith({
        status: { S: 'COMPLETED' },
        bodyHash: { S: sha256Hex(body) },
        envelopeId: { S: 'first' },
      }),
    );
    const result = await handler().handle(delivery());
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ status: 'duplicate', id: 'first' });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('409 in_progress with Retry-After while another delivery holds the lease', async () => {
    dynamodb.on(PutItemCommand).rejects(
      conditionFailedWith({
        status: { S: 'INPROGRESS' },
        bodyHash: { S: sha256Hex(body) },
        leaseExpiresAt: { N: String(NOW + 3200) },
      }),
    );
    const result = await handler().handle(delivery());
    expect(result.statusCode).toBe(409);
    expect(JSON.parse(result.body).status).toBe('in_progress');
    expect(result.headers['retry-after']).toBe('4');
  });

  it('409 conflict for the same id with another body; not enqueued', async () => {
    dynamodb.on(PutItemCommand).rejects(
      conditionFailedWith({
        status: { S: 'COMPLETED' },
        bodyHash: { S: 'another' },
        envelopeId: { S: 'first' },
      }),
    );
    const result = await handler().handle(delivery());
    expect(result.statusCode).toBe(409);
    expect(JSON.parse(result.body).status).toBe('conflict');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('503 retry when SQS fails, after releasing the claim', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('connect ECONNREFUSED'));
    const { handle, log } = handler();
    const result = await handle(delivery());
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).status).toBe('retry');
    expect(dynamodb.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    expect(log.lines.at(-1)?.level).toBe('error');
  });

  it('503 retry when DynamoDB fails; nothing is enqueued', async () => {
    dynamodb.on(PutItemCommand).rejects(new Error('connect ECONNREFUSED'));
    const result = await handler().handle(delivery());
    expect(result.statusCode).toBe(503);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('200 accepted when only the completion write fails: the event is on the queue', async () => {
    dynamodb.on(UpdateItemCommand).rejects(new Error('throttled'));
    const { handle, log } = handler();
    const result = await handle(delivery());
    expect(result.statusCode).toBe(200);
    expect(log.lines.some((line) => line.message.startsWith('completion write failed'))).toBe(true);
  });

  it('401 with one indistinguishable body for a missing, malformed or wrong signature', async () => {
    const { handle } = handler();
    const cases: Record<string, string>[] = [
      {},
      { 'x-sigmate-signature': 'sha256=' },
      { 'x-sigmate-signature': sign(body).slice(7) },
      { 'x-sigmate-signature': sign(body, 'wrong') },
      { 'x-sigmate-signature': `sha256=${sign(body)}` },
      { 'x-sigmate-signature': sign(`${body} `) },
    ];
    for (const headers of cases) {
      const result = await handle(delivery({ headers }));
      expect(result.statusCode).toBe(401);
      expect(result.body).toBe(SIGNATURE_REJECTION_BODY);
    }
    expect(dynamodb.calls()).toHaveLength(0);
  });

  it('accepts any live secret of a rotation', async () => {
    const result = await handler().handle(
      delivery({ headers: { 'x-sigmate-signature': sign(body, 'old-secret') } }),
    );
    expect(result.statusCode).toBe(200);
  });

  it.each([
    ['not JSON', '{"id":', 'body is not valid JSON'],
    ['JSON but not an object', '["evt-1"]', 'body is not a JSON object'],
    ['missing id', '{"signal_type":"x"}', 'field "id" must be a non-empty string'],
    ['numeric id', '{"id":42}', 'field "id" must be a non-empty string'],
  ])('400 rejected for a verified body that is %s', async (_name, text, reason) => {
    const result = await handler().handle(delivery({ body: text }));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ status: 'rejected', reason });
  });

  it('400 rejected for invalid UTF-8, checked after the signature', async () => {
    const bytes = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]);
    const event = httpApiDelivery('/webhooks/sigmate', bytes, {
      'x-sigmate-signature': sign(bytes),
    });
    const result = await handler().handle(event);
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).reason).toBe('body is not valid UTF-8');
  });

  it('404, 405 and 413 come before the signature, in that order', async () => {
    const { handle } = handler({ maxBodyBytes: 10 });
    const notFound = await handle(delivery({ path: '/webhooks/other', method: 'GET' }));
    expect(notFound.statusCode).toBe(404);
    expect(JSON.parse(notFound.body).status).toBe('not_found');
    const wrongMethod = await handle(delivery({ method: 'GET', headers: {} }));
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(JSON.parse(wrongMethod.body).status).toBe('method_not_allowed');
    const tooLarge = await handle(delivery({ headers: {} }));
    expect(tooLarge.statusCode).toBe(413);
    expect(JSON.parse(tooLarge.body).status).toBe('too_large');
  });

  it('403 forbidden outside a configured allowlist, before the signature', async () => {
    const { handle } = handler({ allowlist: ['10.0.0.0/8'] });
    const result = await handle(delivery({ headers: {} }));
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body).status).toBe('forbidden');
  });

  it('503 retry before the function times out when SQS hangs, releasing the claim in time', async () => {
    const released: string[] = [];
    const handle = createWebhookHandler({
      adapter: sigmateAdapter,
      secrets: new StaticSecretSource({ webhookSecrets: [SECRET] }),
      store: {
        claim: async () => ({ kind: 'claimed' }),
        complete: async () => {},
        release: async (recordKey) => {
          released.push(recordKey);
        },
      },
      publisher: {
        // Never answers; only the invocation budget's signal ends the call.
        publish: (_body, _attributes, options) =>
          new Promise((_resolve, reject) => {
            options?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
          }),
      },
      log: new MemoryLog(),
      maxBodyBytes: 1024,
      retentionDays: 7,
      leaseSeconds: 10,
    });
    const started = performance.now();
    const result = await handle(delivery(), { getRemainingTimeInMillis: () => 1000 });
    const elapsed = performance.now() - started;
    expect(result.statusCode).toBe(503);
    expect(released).toEqual(['sigmate#evt-1']);
    // Aborted 750 ms before the 1 s budget ran out, not at it.
    expect(elapsed).toBeLessThan(900);
  });

  it('never logs the signature or the secret', async () => {
    const { handle, log } = handler();
    await handle(delivery());
    await handle(delivery({ headers: { 'x-sigmate-signature': sign(body, 'wrong') } }));
    const text = log.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(sign(body).slice(7));
    expect(text).not.toContain(sign(body, 'wrong').slice(7));
    expect(text).not.toContain('consensus_buy');
  });
});

describe('core: pipeline, round two of the adversarial review', () => {
  beforeEach(answerEveryCallWithSuccess);

  const signed = (text: string, event = 'signal.fired') =>
    delivery({
      body: text,
      headers: { 'x-sigmate-signature': sign(text), 'x-sigmate-event': event },
    });

  it('records the subject and logs the key and the SQS message id of an accepted event', async () => {
    const { handle, log } = handler();
    await handle(delivery());
    const claim = dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(claim?.Item?.subject?.S).toBe('evt-1');
    const completion = dynamodb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(completion?.ExpressionAttributeValues?.[':messageId']?.S).toBe('m-1');
    const line = log.lines.find((entry) => entry.message === 'webhook')?.attributes;
    expect(line).toMatchObject({ key: 'evt-1', id: 'envelope-1', messageId: 'm-1' });
    // Sigmate's key is its id: the line does not repeat it as the subject.
    expect(line).not.toHaveProperty('subject');
  });

  it("logs a duplicate with the first envelope's id", async () => {
    dynamodb.on(PutItemCommand).rejects(
      conditionFailedWith({
        status: { S: 'COMPLETED' },
        envelopeId: { S: 'first-envelope' },
        bodyHash: { S: sha256Hex(body) },
      }),
    );
    const { handle, log } = handler();
    await handle(delivery());
    const line = log.lines.find((entry) => entry.message === 'webhook')?.attributes;
    expect(line).toMatchObject({ outcome: 'duplicate', id: 'first-envelope' });
  });

  it('escapes U+FFFE and U+FFFF in the envelope header and every SQS-refused code point in attributes', async () => {
    const text = JSON.stringify({ id: 'evt-\uFFFE', note: 'x\uFFFFy' });
    const result = await handler({ maxBodyBytes: 4096 }).handle(signed(text));
    expect(result.statusCode).toBe(200);
    const send = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    const messageBody = send?.MessageBody ?? '';
    expect(messageBody).not.toMatch(/[\uFFFE\uFFFF]/);
    const envelope = JSON.parse(messageBody);
    expect(envelope.idempotencyKey).toBe('evt-\uFFFE');
    expect(envelope.payload.note).toBe('x\uFFFFy');
  });

  it('answers 400, never 503, for an event id that is not well-formed Unicode', async () => {
    const text = '{"id":"evt-\\ud800","x":1}';
    const result = await handler().handle(signed(text));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).status).toBe('rejected');
    expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('answers 400 before any claim when the escaped envelope outgrows an SQS message', async () => {
    // 300 000 U+FFFE: 900 000 bytes as sent, 1 800 000 once escaped for SQS.
    const text = JSON.stringify({ id: 'big', blob: '\uFFFE'.repeat(300_000) });
    const result = await handler({ maxBodyBytes: 1_000_000 }).handle(signed(text));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).reason).toMatch(/message limit/);
    expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('releases its own claim after an ambiguous claim failure, and answers 503', async () => {
    dynamodb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    const { handle, log } = handler();
    const result = await handle(delivery());
    expect(result.statusCode).toBe(503);
    const release = dynamodb.commandCalls(DeleteItemCommand)[0]?.args[0].input;
    expect(release?.ExpressionAttributeValues?.[':envelopeId']?.S).toBe('envelope-1');
    const line = log.lines.find((entry) => entry.message === 'webhook')?.attributes;
    expect(line).toMatchObject({ outcome: 'retry', ambiguous: true });
  });

  it('does not release after a definite claim failure (AWS answered with an error)', async () => {
    dynamodb.on(PutItemCommand).rejects(
      Object.assign(new Error('Throughput exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const result = await handler().handle(delivery());
    expect(result.statusCode).toBe(503);
    expect(dynamodb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it('answers 503 inside the budget when the secret store hangs', async () => {
    const log = new MemoryLog();
    const handle = createWebhookHandler({
      adapter: sigmateAdapter,
      secrets: {
        get: (options) =>
          new Promise((_resolve, reject) => {
            options?.signal?.addEventListener('abort', () =>
              reject(new DependencyError('secrets', 'secret s could not be read')),
            );
          }),
        refresh: async () => undefined,
      },
      store: new DynamoDbIdempotencyStore(new DynamoDBClient({}), 'table'),
      publisher: new SqsPublisher(new SQSClient({}), 'https://sqs.example/queue'),
      log,
      maxBodyBytes: 1024,
      retentionDays: 7,
      leaseSeconds: 10,
    });
    const started = Date.now();
    const result = await handle(delivery(), { getRemainingTimeInMillis: () => 1_000 });
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).status).toBe('retry');
    // Aborted RESERVE_FOR_RELEASE_MS before the end: well inside the 1 s budget.
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
