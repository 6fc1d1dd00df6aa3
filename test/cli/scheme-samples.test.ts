import { randomBytes } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { type SampleOptions, samplerFor } from '../../cli/samples/index.js';
import { ed25519KeyPair } from '../../cli/samples/signing.js';
import { markSynthetic } from '../../cli/send.js';
import type { EventDescription } from '../../functions/core/provider.js';
import { createProviderAdapter } from '../../functions/declared/adapter.js';
import {
  type ProviderDeclaration,
  parseProviders,
  providerDemoSecrets,
} from '../../functions/providers.js';
import { localEnv } from '../../local/endpoints.js';
import { described, received, verdict } from '../unit/schemes/support.js';
import { DECLARED_PROVIDERS } from './cli-support.js';

const octokit = await import('@octokit/webhooks-methods');

const DECLARED = DECLARED_PROVIDERS;
const T = 1_790_000_000;
const env = localEnv({}, DECLARED);
let counter = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
const sampleOf = (extra: Partial<SampleOptions> = {}): SampleOptions => ({
  sequence: 3,
  now: new Date(T * 1000),
  uuid,
  deliveryId: uuid(),
  ...extra,
});

/** The adapter the ingress serves the declaration with, its clock at `seconds`, and its secrets. */
function ingress(declaration: ProviderDeclaration, seconds = T) {
  const adapter = createProviderAdapter(declaration, { now: () => seconds * 1000 });
  return { adapter, secrets: adapter.secretsFromEnv(providerDemoSecrets(declaration)) };
}

/** What `send` does for one event: a sample body, marked, signed at `seconds`. */
function sent(declaration: ProviderDeclaration, sample = sampleOf(), seconds = T) {
  const sampler = samplerFor(declaration);
  const secrets = sampler.secretsFromEnv(env);
  const body = Buffer.from(markSynthetic(sampler.sampleBody(sample)));
  const sign = (at: number, badSignature = false) =>
    sampler.sign(body, secrets, sample, { timestamp: at, badSignature });
  return { sampler, body, delivery: sign(seconds), sign };
}

describe('cli send samples: every scheme, as its ingress adapter reads it', () => {
  it.each(DECLARED.map((declaration) => [declaration.name, declaration.scheme, declaration]))(
    '%s (%s): the signed sample verifies with the demo secret npm start uses, and is one event',
    (_name, _scheme, declaration) => {
      const { adapter, secrets } = ingress(declaration);
      const { delivery } = sent(declaration);
      expect(adapter.matchRoute(delivery.path)).toBeDefined();
      const request = received(delivery);
      expect(verdict(adapter, secrets, request)).toBeUndefined();
      const description = described(adapter, request) as EventDescription;
      expect(description.kind).toBe('event');
      expect(description.idempotencyKey).not.toBe('');
    },
  );

  it.each(DECLARED.map((declaration) => [declaration.name, declaration.scheme, declaration]))(
    '%s (%s): a redelivery signed later is the same event; --bad-signature is refused',
    (_name, _scheme, declaration) => {
      const { sign, body } = sent(declaration);
      const later = T + 240;
      const { adapter, secrets } = ingress(declaration, later);
      const first = received(sign(T));
      const again = sign(later);
      expect(again.body.equals(body)).toBe(true);
      expect(verdict(adapter, secrets, received(again))).toBeUndefined();
      const key = (request: ReturnType<typeof received>) =>
        (described(adapter, request) as EventDescription).idempotencyKey;
      expect(key(received(again))).toBe(key(first));
      expect(verdict(adapter, secrets, received(sign(later, true)))).toBe('mismatch');
    },
  );

  it('two samples of one provider are two events', () => {
    for (const declaration of DECLARED) {
      const { adapter } = ingress(declaration);
      const keys = [sent(declaration), sent(declaration)].map(
        ({ delivery }) =>
          (described(adapter, received(delivery)) as EventDescription).idempotencyKey,
      );
      expect(new Set(keys).size, declaration.name).toBe(2);
    }
  });
});

describe('cli send samples: the senders’ own libraries accept them', () => {
  const find = (name: string) => DECLARED.find((declaration) => declaration.name === name);
  const now = () => Math.floor(Date.now() / 1000);

  it('standard-webhooks: the standardwebhooks and svix libraries verify the sample', () => {
    const declaration = find('billing') as ProviderDeclaration;
    const { delivery } = sent(declaration, sampleOf(), now());
    const secret = env.BILLING_WEBHOOK_SECRET ?? '';
    const text = delivery.body.toString();
    expect(delivery.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(new StandardWebhook(secret).verify(text, delivery.headers)).toMatchObject({
      type: 'contact.created',
      data: { id: expect.any(String) },
    });
    // Svix's verify throws on a bad delivery and returns nothing.
    expect(() => new SvixWebhook(secret).verify(text, delivery.headers)).not.toThrow();
  });

  it('stripe: constructEvent verifies the sample, an Event with its object', () => {
    const declaration = find('stripe-us') as ProviderDeclaration;
    const { delivery } = sent(declaration, sampleOf({ topic: 'invoice.paid' }), now());
    const event = new Stripe('sk_test_unused').webhooks.constructEvent(
      delivery.body.toString(),
      delivery.headers['stripe-signature'] ?? '',
      env.STRIPE_US_WEBHOOK_SECRET ?? '',
    );
    expect(event).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      object: 'event',
      type: 'invoice.paid',
      data: { object: { object: 'invoice', id: expect.stringMatching(/^in_/) } },
    });
  });

  it('github: Octokit verifies the sample; push by default, ping on request', async () => {
    const declaration = find('github') as ProviderDeclaration;
    const push = sent(declaration).delivery;
    const ping = sent(declaration, sampleOf({ topic: 'ping' })).delivery;
    for (const delivery of [push, ping]) {
      expect(
        await octokit.verify(
          env.GITHUB_WEBHOOK_SECRET ?? '',
          delivery.body.toString(),
          delivery.headers['x-hub-signature-256'] ?? '',
        ),
      ).toBe(true);
    }
    expect(push.headers).toMatchObject({
      'x-github-event': 'push',
      'x-github-delivery': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'user-agent': expect.stringMatching(/^GitHub-Hookshot\//),
    });
    expect(JSON.parse(push.body.toString())).toMatchObject({
      ref: 'refs/heads/main',
      after: expect.stringMatching(/^[0-9a-f]{40}$/),
      commits: [expect.any(Object)],
    });
    expect(ping.headers['x-github-event']).toBe('ping');
    expect(JSON.parse(ping.body.toString())).toMatchObject({ zen: expect.any(String) });
  });

  it('shopify: the headers Shopify sends, and an order whose REST id passes 2^53', () => {
    const declaration = find('shop') as ProviderDeclaration;
    const sample = sampleOf();
    const { delivery } = sent(declaration, sample);
    expect(delivery.headers).toMatchObject({
      'x-shopify-topic': 'orders/create',
      'x-shopify-event-id': sample.deliveryId,
      'x-shopify-shop-domain': expect.stringMatching(/\.myshopify\.com$/),
      'x-shopify-api-version': expect.any(String),
    });
    expect(delivery.body.toString()).toMatch(/^\{"id":820982911946154511,/);
    const { adapter } = ingress(declaration);
    expect(described(adapter, received(delivery))).toMatchObject({
      idempotencyKey: `orders/create:${sample.deliveryId}`,
      subject: 'gid://shopify/Order/820982911946154511',
    });
  });

  it('hmac: the key and type where the declaration puts them, the timestamp signed now', () => {
    const acme = sent(find('acme') as ProviderDeclaration).delivery;
    expect(acme.headers['x-acme-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(acme.body.toString())).toMatchObject({ event: 'sample.event' });
    const slackish = find('slackish') as ProviderDeclaration;
    const { delivery } = sent(slackish, sampleOf({ topic: 'app_mention' }), T + 7);
    expect(delivery.headers['x-slackish-request-timestamp']).toBe(String(T + 7));
    expect(JSON.parse(delivery.body.toString())).toMatchObject({
      event_id: expect.stringMatching(/^evt_/),
      kind: 'app_mention',
    });
    const { adapter } = ingress(slackish, T + 7);
    expect(described(adapter, received(delivery))).toMatchObject({ type: 'app_mention' });
  });
});

describe('cli send samples: flags and secrets per scheme', () => {
  const declared = (entry: Record<string, unknown>) =>
    parseProviders([entry])[0] as ProviderDeclaration;

  it('refuses what a scheme cannot send: its test ping, a product, a header-borne type it cannot carry, a fixed type', () => {
    const gh = samplerFor(declared({ name: 'gh', scheme: 'github' }));
    expect(() => gh.validate({}, { testPing: true })).toThrow(/--test-ping is for signifyd only/);
    expect(() => gh.validate({ product: 'aml' }, {})).toThrow(/--product is for sigma only/);
    expect(() => gh.validate({ topic: 'pull request' }, {})).toThrow(/travels in a header/);
    expect(() => gh.validate({ topic: 'pull_request' }, {})).not.toThrow();
    const fixed = samplerFor(
      declared({
        name: 'ledger',
        scheme: 'hmac',
        signatureHeader: 'x-sig',
        encoding: 'hex',
        key: { body: 'sha256' },
        type: { value: 'ledger.entry' },
      }),
    );
    expect(() => fixed.validate({ topic: 'other' }, {})).toThrow(
      `--topic: ledger's event type is fixed by its declaration ("ledger.entry")`,
    );
    // Any type at all travels in a Stripe body.
    const stripe = samplerFor(declared({ name: 'pay', scheme: 'stripe' }));
    expect(() => stripe.validate({ topic: 'charge.refunded' }, {})).not.toThrow();
  });

  it('offers the Signifyd test ping and Sigma products under any name', () => {
    const fraud = samplerFor(declared({ name: 'fraud-eu', scheme: 'signifyd' }));
    expect(() => fraud.validate({}, { testPing: true })).not.toThrow();
    const sigma = DECLARED.find((declaration) => declaration.name === 'sigma-eu');
    const { delivery } = sent(sigma as ProviderDeclaration, sampleOf({ product: 'cdd' }));
    expect(delivery.path).toBe('/webhooks/sigma-eu/cdd');
    expect(() => samplerFor(sigma as ProviderDeclaration).validate({ product: 'kyb' }, {})).toThrow(
      /unknown Sigma product/,
    );
  });

  it('reads the variable as the ingress does: a list, or the Secrets Manager JSON', () => {
    const billing = samplerFor(declared({ name: 'billing', scheme: 'standard-webhooks' }));
    const pair = ed25519KeyPair(randomBytes(32));
    expect(
      billing.secretsFromEnv({ BILLING_WEBHOOK_SECRET: `${pair.publicKey},whsec_c2VjcmV0` }),
    ).toBe('whsec_c2VjcmV0');
    expect(
      billing.secretsFromEnv({
        BILLING_WEBHOOK_SECRET: JSON.stringify({ secrets: ['whsec_YQ=='] }),
      }),
    ).toBe('whsec_YQ==');
    expect(() => billing.secretsFromEnv({ BILLING_WEBHOOK_SECRET: pair.publicKey })).toThrow(
      /BILLING_WEBHOOK_SECRET holds no signing secret: .*whpk_… public key verifies; it cannot sign/,
    );
    expect(() => billing.secretsFromEnv({})).toThrow('BILLING_WEBHOOK_SECRET is not set');
    expect(() => billing.secretsFromEnv({ BILLING_WEBHOOK_SECRET: '{"secrets":' })).toThrow(
      'BILLING_WEBHOOK_SECRET starts with "{" but is not JSON',
    );
    const signals = samplerFor(declared({ name: 'signals', scheme: 'sigmate' }));
    expect(
      signals.secretsFromEnv({ SIGNALS_WEBHOOK_SECRET: '{"webhookSecrets":["one","two"]}' }),
    ).toEqual({ webhookSecret: 'one' });
    const kyc = samplerFor(declared({ name: 'kyc', scheme: 'sigma' }));
    expect(() => kyc.secretsFromEnv({ KYC_WEBHOOK_SECRET: 'a,b' })).toThrow(
      /KYC_WEBHOOK_SECRET must hold \{"credentials"/,
    );
  });

  it('signs v1a with the sender’s whsk_ key, which the ingress verifies with its whpk_', () => {
    const declaration = declared({ name: 'billing', scheme: 'standard-webhooks' });
    const pair = ed25519KeyPair(randomBytes(32));
    const sampler = samplerFor(declaration);
    const sample = sampleOf();
    const body = Buffer.from(sampler.sampleBody(sample));
    const secret = sampler.secretsFromEnv({ BILLING_WEBHOOK_SECRET: pair.secretKey });
    const delivery = sampler.sign(body, secret, sample, { timestamp: T });
    expect(delivery.headers['webhook-signature']).toMatch(/^v1a,/);
    const adapter = createProviderAdapter(declaration, { now: () => T * 1000 });
    const secrets = adapter.secretsFromEnv({ BILLING_WEBHOOK_SECRET: pair.publicKey });
    expect(verdict(adapter, secrets, received(delivery))).toBeUndefined();
    const bad = sampler.sign(body, secret, sample, { timestamp: T, badSignature: true });
    expect(bad.headers['webhook-signature']).toMatch(/^v1a,/);
    expect(verdict(adapter, secrets, received(bad))).toBe('mismatch');
  });
});
