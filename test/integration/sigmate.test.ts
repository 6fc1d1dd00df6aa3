import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { attachEmulator, startDynamoDbLocal, startSqsEmulator } from '../../local/emulators.js';
import { DEMO_SECRETS, startLocalIngress } from '../../local/ingress.js';
import { MemoryLog, startTestIngress, type TestIngress } from '../support/harness.js';
import { signedSigmate } from '../support/sign.js';

const SECRET = DEMO_SECRETS.SIGMATE_WEBHOOK_SECRET;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function post(api: string, delivery: ReturnType<typeof signedSigmate>) {
  const response = await fetch(`${api}${delivery.path}`, {
    method: 'POST',
    headers: delivery.headers,
    body: delivery.body,
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe('sigmate: end to end on DynamoDB Local and fauxqs', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress();
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('puts exactly one envelope with the contract fields and attributes on the Sigmate queue', async () => {
    const body =
      '{"id":"e2e-accepted","signal_type":"consensus_buy","rank_score":82,"price_usd":0.0069}';
    const started = Date.now();
    const answer = await post(ingress.endpoints.api, signedSigmate(body, SECRET));
    expect(answer.status).toBe(200);
    expect(answer.json.status).toBe('accepted');
    expect(answer.json.id).toMatch(UUID);
    const messages = await ingress.drain('sigmate');
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message?.body).toEqual({
      version: 1,
      id: answer.json.id,
      provider: 'sigmate',
      type: 'signal.fired',
      idempotencyKey: 'e2e-accepted',
      receivedAt: expect.any(String),
      payload: JSON.parse(body),
    });
    const receivedAt = Date.parse(String(message?.body.receivedAt));
    expect(receivedAt).toBeGreaterThanOrEqual(started - 1000);
    expect(String(message?.body.receivedAt)).toMatch(/Z$/);
    expect(message?.attributes).toEqual({ provider: 'sigmate', type: 'signal.fired' });
    const records = await ingress.records();
    expect(records).toEqual([
      expect.objectContaining({
        id: 'sigmate#e2e-accepted',
        status: 'COMPLETED',
        envelopeId: answer.json.id,
      }),
    ]);
    const ttl = Number(records[0]?.expiration);
    expect(ttl - Date.now() / 1000).toBeGreaterThan(7 * 86_400 - 60);
  });

  it('answers a redelivery duplicate with the first id and sends nothing again', async () => {
    const delivery = signedSigmate('{"id":"e2e-duplicate"}', SECRET);
    const first = await post(ingress.endpoints.api, delivery);
    const second = await post(ingress.endpoints.api, delivery);
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ status: 'duplicate', id: first.json.id });
    expect(await ingress.drain('sigmate')).toHaveLength(1);
  });

  it('enqueues 20 concurrent identical deliveries once; the rest are duplicate or in_progress', async () => {
    const delivery = signedSigmate('{"id":"e2e-concurrent"}', SECRET);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(ingress.endpoints.api, delivery)),
    );
    const statuses = answers.map((answer) => answer.json.status);
    expect(statuses.filter((status) => status === 'accepted')).toHaveLength(1);
    for (const answer of answers) {
      if (answer.json.status === 'in_progress') {
        expect(answer.status).toBe(409);
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      } else {
        expect(answer.status).toBe(200);
        expect(['accepted', 'duplicate']).toContain(answer.json.status);
      }
    }
    expect(await ingress.drain('sigmate')).toHaveLength(1);
  });

  it('refuses a bad signature with 401 and writes no record', async () => {
    const delivery = signedSigmate('{"id":"e2e-forged"}', 'not-the-secret');
    const answer = await post(ingress.endpoints.api, delivery);
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ status: 'rejected', reason: 'invalid signature' });
    const records = await ingress.records();
    expect(records.some((record) => record.id === 'sigmate#e2e-forged')).toBe(false);
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('answers 409 conflict for a known id with another body, and enqueues nothing', async () => {
    await post(ingress.endpoints.api, signedSigmate('{"id":"e2e-conflict","v":1}', SECRET));
    await ingress.drain('sigmate');
    const answer = await post(
      ingress.endpoints.api,
      signedSigmate('{"id":"e2e-conflict","v":2}', SECRET),
    );
    expect(answer.status).toBe(409);
    expect(answer.json.status).toBe('conflict');
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('answers 404, 405 and 413 over HTTP exactly as the contract says', async () => {
    const notFound = await ingress.post('/webhooks/nope', '{}');
    expect(notFound.status).toBe(404);
    expect(notFound.json.status).toBe('not_found');
    const method = await ingress.post('/webhooks/sigmate', '', {}, 'GET');
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('POST');
    const big = signedSigmate(JSON.stringify({ id: 'big', pad: 'x'.repeat(300 * 1024) }), SECRET);
    const tooLarge = await ingress.post(big.path, big.body, big.headers);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json.status).toBe('too_large');
  });

  it('never logs the secret, the signature or the body', async () => {
    const delivery = signedSigmate('{"id":"e2e-logs","secret_field":"do-not-log"}', SECRET);
    await post(ingress.endpoints.api, delivery);
    const text = ingress.log.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(delivery.headers['x-sigmate-signature']?.slice(7));
    expect(text).not.toContain('do-not-log');
    expect(text).toContain('e2e-logs');
  });
});

describe('sigmate: dependency outages', () => {
  it('answers 503 with SQS down, keeps no claim, and accepts the retry once SQS is back', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fauxqs-'));
    let sqs = await startSqsEmulator({ dataDir });
    const ingress = await startLocalIngress({
      port: 0,
      dynamodb: attachEmulator('DynamoDB Local', inject('emulators').dynamodb),
      sqs,
      namePrefix: `sqsdown${Date.now()}`,
      log: new MemoryLog(),
    });
    try {
      const delivery = signedSigmate('{"id":"outage-sqs"}', SECRET);
      await sqs.stop();
      const down = await post(ingress.endpoints.api, delivery);
      expect(down.status).toBe(503);
      expect(down.json.status).toBe('retry');
      const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
      const { localClients: clientsFor } = await import('../../local/ingress.js');
      const ddb = clientsFor({
        dynamodb: inject('emulators').dynamodb,
        sqs: sqs.endpoint,
      }).dynamodb;
      const { Items } = await ddb.send(new ScanCommand({ TableName: ingress.endpoints.table }));
      expect(Items ?? []).toHaveLength(0);
      ddb.destroy();
      sqs = await startSqsEmulator({ dataDir, port: sqs.port });
      const retry = await post(ingress.endpoints.api, delivery);
      expect(retry.status).toBe(200);
      expect(retry.json.status).toBe('accepted');
      const again = await post(ingress.endpoints.api, delivery);
      expect(again.json).toEqual({ status: 'duplicate', id: retry.json.id });
      const { ReceiveMessageCommand } = await import('@aws-sdk/client-sqs');
      const { localClients } = await import('../../local/ingress.js');
      const clients = localClients({ dynamodb: inject('emulators').dynamodb, sqs: sqs.endpoint });
      const { Messages } = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: ingress.endpoints.queues.sigmate,
          MaxNumberOfMessages: 10,
        }),
      );
      expect(Messages).toHaveLength(1);
      clients.sqs.destroy();
      clients.dynamodb.destroy();
    } finally {
      await ingress.stop();
      await sqs.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('answers 503 with DynamoDB down and enqueues nothing', async () => {
    const dynamodb = await startDynamoDbLocal();
    const ingress = await startLocalIngress({
      port: 0,
      dynamodb,
      sqs: attachEmulator('fauxqs', inject('emulators').sqs),
      namePrefix: `ddbdown${Date.now()}`,
      log: new MemoryLog(),
    });
    try {
      await dynamodb.stop();
      const answer = await post(
        ingress.endpoints.api,
        signedSigmate('{"id":"outage-ddb"}', SECRET),
      );
      expect(answer.status).toBe(503);
      expect(answer.json.status).toBe('retry');
      const { ReceiveMessageCommand, SQSClient } = await import('@aws-sdk/client-sqs');
      const client = new SQSClient({
        region: 'us-east-1',
        endpoint: inject('emulators').sqs,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      const { Messages } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: ingress.endpoints.queues.sigmate,
          MaxNumberOfMessages: 10,
        }),
      );
      expect(Messages ?? []).toHaveLength(0);
      client.destroy();
    } finally {
      await ingress.stop();
      await dynamodb.stop();
    }
  });
});
