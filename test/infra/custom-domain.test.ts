import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { HttpResult } from '../../functions/core/http.js';
import { handler as notFound } from '../../functions/not-found/handler.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClients } from '../../local/ingress.js';
import { ensureIdempotencyTable, ensureQueuePair } from '../../local/resources.js';
import { httpApiDelivery } from '../fixtures/events.js';
import { signedSigmate } from '../support/sign.js';

/*
 * A custom domain's API mapping (`https://webhooks.example.com/ingress`) leaves its path
 * in rawPath. The stack sets WEBHOOK_PATH_PREFIX=/ingress on each function (options.test.ts);
 * here the real Sigmate Lambda handler, configured from that environment at import as in
 * Lambda, runs against the emulators.
 */
const SECRET = 'custom-domain-test-secret';
const PREFIX = '/ingress';
let handle: (event: unknown, context?: unknown) => Promise<HttpResult>;
let queueUrl: string;
const endpoints = () => inject('emulators');

beforeAll(async () => {
  const clients = localClients(endpoints());
  const name = `cd${randomUUID().slice(0, 8)}`;
  await ensureIdempotencyTable(clients.dynamodb, `${name}-idempotency`);
  queueUrl = (await ensureQueuePair(clients.sqs, `${name}-sigmate`)).queueUrl;
  Object.assign(process.env, {
    WEBHOOK_TABLE_NAME: `${name}-idempotency`,
    WEBHOOK_QUEUE_URL: queueUrl,
    WEBHOOK_PATH_PREFIX: PREFIX,
    SIGMATE_WEBHOOK_SECRET: SECRET,
    AWS_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints().dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints().sqs,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler: handle } = (await import('../../functions/sigmate/handler.js')) as never);
});

const context = { getRemainingTimeInMillis: () => 4_000 };
const delivery = (path: string, id = randomUUID()) => {
  const signed = signedSigmate(JSON.stringify({ id, signal_type: 'consensus_buy' }), SECRET);
  return httpApiDelivery(path, signed.body, signed.headers);
};
const json = (result: HttpResult) => JSON.parse(String(result.body)) as Record<string, unknown>;

describe('custom domain: a request through an API mapping with a path', () => {
  it('routes /ingress/webhooks/sigmate to Sigmate and enqueues the event', async () => {
    const id = randomUUID();
    const result = await handle(delivery(`${PREFIX}/webhooks/sigmate`, id), context);
    expect(result.statusCode).toBe(200);
    expect(json(result).status).toBe('accepted');
    const { sqs } = localClients(endpoints());
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect(Messages?.map((m) => JSON.parse(m.Body ?? '{}').idempotencyKey)).toContain(id);
  });

  it('still routes the execute-api URL, which has no mapping path', async () => {
    const result = await handle(delivery('/webhooks/sigmate'), context);
    expect(json(result).status).toBe('accepted');
  });

  it('answers 404 for an unknown path under the mapping, exactly as the not-found function does', async () => {
    const result = await handle(delivery(`${PREFIX}/webhooks/nope`), context);
    expect(result.statusCode).toBe(404);
    const fallback = await notFound();
    expect(fallback.statusCode).toBe(result.statusCode);
    expect(fallback.body).toBe(result.body);
    expect(fallback.headers['content-type']).toBe(result.headers?.['content-type']);
  });

  it('does not take off a prefix that only starts the same way', async () => {
    const result = await handle(delivery(`${PREFIX}x/webhooks/sigmate`), context);
    expect(result.statusCode).toBe(404);
  });
});
