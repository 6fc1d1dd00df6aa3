import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SECRETS } from '../../scripts/local/ingress.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';
import { signedSigmate } from '../support/sign.js';

describe('sigmate: smoke on the emulators', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress();
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('accepts once and answers duplicate after', async () => {
    const delivery = signedSigmate('{"id":"smoke-1"}', DEMO_SECRETS.SIGMATE_WEBHOOK_SECRET);
    const first = await ingress.post(delivery.path, delivery.body, delivery.headers);
    const second = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(first.json.status).toBe('accepted');
    expect(second.json).toEqual({ status: 'duplicate', id: first.json.id });
    const messages = await ingress.drain('sigmate');
    expect(messages).toHaveLength(1);
  });
});
