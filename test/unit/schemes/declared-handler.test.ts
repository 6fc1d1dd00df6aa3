import { afterEach, describe, expect, it, vi } from 'vitest';
import { SIGNATURE_REJECTION_BODY } from '../../../functions/core/respond.js';
import { httpApiDelivery } from '../../fixtures/events.js';
import { signedRequest } from '../../fixtures/schemes.js';

/** functions/declared/handler.ts builds its adapter at import: each test imports it afresh. */
async function importHandler(env: Record<string, string>) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return (await import('../../../functions/declared/handler.js')).handler;
}

const BASE_ENV = {
  WEBHOOK_TABLE_NAME: 'table',
  WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/pay',
};

describe('the declared provider function', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('serves the provider its WEBHOOK_PROVIDER names, on its own route', async () => {
    const handler = await importHandler({
      ...BASE_ENV,
      WEBHOOK_PROVIDER: '{"name":"pay","scheme":"stripe"}',
      PAY_WEBHOOK_SECRET: 'whsec_local',
    });
    const declaration = { name: 'pay', scheme: 'stripe', options: {} } as const;
    const wrong = signedRequest(declaration, 'whsec_other', '{"id":"evt_1","type":"x"}');
    const answer = await handler(httpApiDelivery(wrong.path, wrong.body, wrong.headers));
    expect(answer).toMatchObject({ statusCode: 401, body: SIGNATURE_REJECTION_BODY });
    const elsewhere = await handler(httpApiDelivery('/webhooks/stripe', wrong.body, wrong.headers));
    expect(elsewhere.statusCode).toBe(404);
  });

  it('fails at cold start, naming the entry, when the declaration is bad', async () => {
    await expect(
      importHandler({ ...BASE_ENV, WEBHOOK_PROVIDER: '{"name":"pay","scheme":"paypal"}' }),
    ).rejects.toThrow('WEBHOOK_PROVIDER "pay": unknown scheme "paypal"');
  });
});
