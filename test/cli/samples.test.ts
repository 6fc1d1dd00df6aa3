import { describe, expect, it } from 'vitest';
import { byName, providerNameArgument, servedProvider } from '../../cli/providers.js';
import { samplers } from '../../cli/samples/index.js';
import { SEED_PROVIDERS } from '../../functions/providers.js';
import { localEnv } from '../../local/ingress.js';

// Known answers, computed outside the project with OpenSSL:
//   printf '%s' '{"id":"kat-1"}' | openssl dgst -sha256 -hmac 'demo-sigmate-webhook-secret'
//   printf '%s' 'demo-sigma-business-id' | openssl dgst -sha256 -hmac 'demo-sigma-api-keydemo-sigma-api-secret'
//   printf '%s' '{"caseId":1}' | openssl dgst -sha256 -hmac 'demo-signifyd-api-key' -binary | openssl base64
//   printf '%s' '{"caseId":1}' | openssl dgst -sha256 -hmac 'ABCDE' -binary | openssl base64
const KNOWN = {
  sigmate: 'd3eb09d606007dae435103bfd5004b442810107d2cc5d750dc23f0b6a93916e8',
  sigma: 'ff1affa89b39b645106342fe4a2b35b61f8be89e4cc59638dbfadc7f060b8efa',
  signifyd: '8P/yb87wmxmKciY0+DHODtQwtC/7TTXYPXuh34EKXeI=',
  signifydTestPing: 'ZPRwrx+9ugM+9ZpN+IMIurxLoBLMPYC//XNR2VHuUsA=',
} as const;

const env = localEnv({});
let counter = 0;
const sample = (extra: Record<string, unknown> = {}) => ({
  sequence: 7,
  now: new Date('2026-11-23T10:00:00.000Z'),
  uuid: () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
  ...extra,
});

describe('cli samples: signing', () => {
  it('signs a Sigmate body as sha256=<hex HMAC> with the event header', () => {
    const body = Buffer.from('{"id":"kat-1"}');
    const delivery = samplers.sigmate.sign(
      body,
      samplers.sigmate.secretsFromEnv(env),
      sample(),
      {},
    );
    expect(delivery.path).toBe('/webhooks/sigmate');
    expect(delivery.headers['x-sigmate-signature']).toBe(`sha256=${KNOWN.sigmate}`);
    expect(delivery.headers['x-sigmate-event']).toBe('signal.fired');
  });

  it('signs Sigma over the business id, whatever the body, on the product route', () => {
    const secrets = samplers.sigma.secretsFromEnv(env);
    const one = samplers.sigma.sign(
      Buffer.from('{"a":1}'),
      secrets,
      sample({ product: 'cdd' }),
      {},
    );
    const two = samplers.sigma.sign(
      Buffer.from('{"b":2}'),
      secrets,
      sample({ product: 'cdd' }),
      {},
    );
    expect(one.path).toBe('/webhooks/sigma/cdd');
    expect(one.headers['x-signature']).toBe(KNOWN.sigma);
    expect(two.headers['x-signature']).toBe(KNOWN.sigma);
  });

  it('signs Signifyd v2 with X-SIGNIFYD headers and v3 with SIGNIFYD headers', () => {
    const body = Buffer.from('{"caseId":1}');
    const secrets = samplers.signifyd.secretsFromEnv(env);
    const v2 = samplers.signifyd.sign(body, secrets, sample(), {});
    const v3 = samplers.signifyd.sign(body, secrets, sample({ apiVersion: 3 }), {});
    expect(v2.headers['x-signifyd-sec-hmac-sha256']).toBe(KNOWN.signifyd);
    expect(v2.headers['x-signifyd-topic']).toBe('cases/creation');
    expect(v3.headers['signifyd-sec-hmac-sha256']).toBe(KNOWN.signifyd);
    expect(v3.headers['signifyd-checkpoint']).toBe('CHECKOUT');
    expect(v3.headers['x-signifyd-sec-hmac-sha256']).toBeUndefined();
  });

  it('signs the Signifyd test ping with the public key ABCDE and topic cases/test', () => {
    const body = Buffer.from('{"caseId":1}');
    const secrets = samplers.signifyd.secretsFromEnv(env);
    const ping = samplers.signifyd.sign(body, secrets, sample(), { testPing: true });
    expect(ping.headers['x-signifyd-sec-hmac-sha256']).toBe(KNOWN.signifydTestPing);
    expect(ping.headers['x-signifyd-topic']).toBe('cases/test');
  });

  it('signs with a different value when asked for a bad signature', () => {
    const body = Buffer.from('{"id":"kat-1"}');
    const bad = samplers.sigmate.sign(body, samplers.sigmate.secretsFromEnv(env), sample(), {
      badSignature: true,
    });
    expect(bad.headers['x-sigmate-signature']).not.toBe(`sha256=${KNOWN.sigmate}`);
  });
});

describe('cli samples: bodies', () => {
  it('builds a Sigmate signal frame with a fresh id each time', () => {
    const first = JSON.parse(samplers.sigmate.sampleBody(sample()));
    const second = JSON.parse(samplers.sigmate.sampleBody(sample()));
    expect(first.id).not.toBe(second.id);
    expect(first).toMatchObject({ signal_type: expect.any(String), token: { dex: 'Raydium' } });
  });

  it('builds a Sigma body with the product’s event, or the topic given', () => {
    const aml = JSON.parse(samplers.sigma.sampleBody(sample({ product: 'aml' })));
    const tm = JSON.parse(samplers.sigma.sampleBody(sample({ topic: 'transaction.review' })));
    expect(aml.event).toBe('aml.screening.completed');
    expect(tm).toMatchObject({ event: 'transaction.review', data: { action: expect.any(String) } });
  });

  it('builds distinct Signifyd bodies, so each is its own event', () => {
    expect(samplers.signifyd.sampleBody(sample())).not.toBe(samplers.signifyd.sampleBody(sample()));
  });

  it('refuses a provider the target does not serve, and an unknown Sigma product', () => {
    const seeds = byName(SEED_PROVIDERS);
    expect(() => servedProvider(seeds, 'stripe')).toThrow(
      'unknown provider "stripe" (this ingress serves sigma, sigmate, signifyd)',
    );
    expect(servedProvider(seeds, providerNameArgument('Sigmate'))).toBe(SEED_PROVIDERS[1]);
    expect(() => providerNameArgument('pay_eu')).toThrow(/"pay_eu" is not a provider name/);
    expect(() => samplers.sigma.validate({ product: 'kyc' }, {})).toThrow(/unknown Sigma product/);
  });

  it('offers the test ping for Signifyd only', () => {
    expect(() => samplers.sigmate.validate({}, { testPing: true })).toThrow(/signifyd only/);
    expect(() => samplers.signifyd.validate({}, { testPing: true })).not.toThrow();
  });
});
