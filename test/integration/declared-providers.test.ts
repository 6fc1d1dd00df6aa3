import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ProviderDeclaration,
  parseProviders,
  providerDemoSecrets,
} from '../../functions/providers.js';
import { localEnv } from '../../local/endpoints.js';
import { signedRequest } from '../fixtures/schemes.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';

/** The list: the seed providers, and a Standard Webhooks, a GitHub and a Stripe provider. */
const PROVIDERS = parseProviders([
  { name: 'sigma', scheme: 'sigma' },
  { name: 'sigmate', scheme: 'sigmate' },
  { name: 'signifyd', scheme: 'signifyd' },
  { name: 'clerk', scheme: 'standard-webhooks' },
  { name: 'github', scheme: 'github' },
  { name: 'stripe-eu', scheme: 'stripe' },
]);
const declared = (name: string) =>
  PROVIDERS.find((provider) => provider.name === name) as ProviderDeclaration;

/** The demo secret `npm start` gives a declared provider (`<NAME>_WEBHOOK_SECRET`). */
const secretOf = (provider: ProviderDeclaration) =>
  Object.values(providerDemoSecrets(provider))[0] ?? '';

const BODIES: Record<string, (id: string) => string> = {
  clerk: (id) => `{"type":"user.created","data":{"id":"${id}"}}`,
  github: (id) => `{"zen":"Keep it logically awesome.","hook_id":${id.length},"ref":"${id}"}`,
  'stripe-eu': (id) =>
    `{"id":"${id}","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`,
};

describe('providers declared in configuration: end to end on DynamoDB Local and fauxqs', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress({ providers: PROVIDERS });
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('serves every provider of the list, each with its own queues and demo secret', () => {
    expect(ingress.providers).toEqual(PROVIDERS.map((p) => p.name));
    expect(Object.keys(ingress.endpoints.queues)).toEqual(PROVIDERS.map((p) => p.name));
    expect(ingress.endpoints.providers?.['stripe-eu']).toEqual({
      name: 'stripe-eu',
      scheme: 'stripe',
    });
    const env = localEnv({}, PROVIDERS);
    expect(env.STRIPE_EU_WEBHOOK_SECRET).toMatch(/^whsec_/);
    expect(env.CLERK_WEBHOOK_SECRET).toMatch(/^whsec_/);
    expect(env.SIGMATE_WEBHOOK_SECRET).toBe('demo-sigmate-webhook-secret');
  });

  it.each(['clerk', 'github', 'stripe-eu'])(
    '%s: accepts a correctly signed delivery once, answers a redelivery duplicate',
    async (name) => {
      const provider = declared(name);
      const id = `evt_${name}_${Date.now()}`;
      const request = signedRequest(provider, secretOf(provider), BODIES[name]?.(id) ?? '{}', {
        id,
      });
      const first = await ingress.post(request.path, request.body, request.headers);
      expect(first.status, JSON.stringify(first.json)).toBe(200);
      expect(first.json.status).toBe('accepted');
      const again = await ingress.post(request.path, request.body, request.headers);
      expect(again.json).toEqual({ status: 'duplicate', id: first.json.id });
      const messages = await ingress.drain(name);
      expect(messages).toHaveLength(1);
      expect(messages[0]?.body).toMatchObject({ version: 1, provider: name, id: first.json.id });
      expect(messages[0]?.attributes.provider).toBe(name);
    },
  );

  it.each(['clerk', 'github', 'stripe-eu'])(
    '%s: refuses a tampered body and a wrong secret with the one 401',
    async (name) => {
      const provider = declared(name);
      const body = BODIES[name]?.(`evt_bad_${name}`) ?? '{}';
      const request = signedRequest(provider, secretOf(provider), body, { id: `bad-${name}` });
      const tampered = await ingress.post(
        request.path,
        Buffer.from(body.replace('evt_bad', 'evt_BAD')),
        request.headers,
      );
      expect(tampered).toMatchObject({ status: 401, json: { status: 'rejected' } });
      const other = signedRequest(provider, 'whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==', body, {
        id: `bad-${name}`,
      });
      const wrong = await ingress.post(other.path, other.body, other.headers);
      expect(wrong.json).toEqual(tampered.json);
      expect(await ingress.drain(name)).toEqual([]);
    },
  );

  it.each(['clerk', 'stripe-eu'])(
    '%s: refuses a delivery signed six minutes ago (a replay) with the same 401',
    async (name) => {
      const provider = declared(name);
      const request = signedRequest(provider, secretOf(provider), BODIES[name]?.('evt_old') ?? '', {
        id: `old-${name}`,
        timestamp: Math.floor(Date.now() / 1000) - 360,
      });
      const answer = await ingress.post(request.path, request.body, request.headers);
      expect(answer).toMatchObject({ status: 401, json: { status: 'rejected' } });
      expect(await ingress.drain(name)).toEqual([]);
    },
  );
});
