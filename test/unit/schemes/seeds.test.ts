import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/core/errors.js';
import { createProviderAdapter } from '../../../functions/declared/adapter.js';
import type { ProviderDeclaration } from '../../../functions/providers.js';
import { sigmateAdapter } from '../../../functions/sigmate/adapter.js';
import { SIGMA_VECTOR } from '../../fixtures/sigma.js';
import {
  SIGMATE_COMPACT_BODY,
  SIGMATE_COMPACT_SIGNATURE,
  SIGMATE_KNOWN_SECRET,
} from '../../fixtures/sigmate-vectors.js';
import { described, received, verdict } from './support.js';

const declared = (name: string, scheme: 'sigma' | 'sigmate' | 'signifyd', options = {}) =>
  ({ name, scheme, options }) as ProviderDeclaration;

describe('seed schemes under their own names', () => {
  it('serve the seed adapters as they are', () => {
    expect(createProviderAdapter(declared('sigmate', 'sigmate'))).toBe(sigmateAdapter);
    for (const name of ['sigma', 'signifyd'] as const) {
      const adapter = createProviderAdapter(declared(name, name));
      expect(adapter.provider).toBe(name);
      expect(
        adapter.matchRoute(name === 'sigma' ? '/webhooks/sigma/aml' : '/webhooks/signifyd'),
      ).toBeDefined();
    }
  });

  it("keep the contract's variables", () => {
    const sigma = createProviderAdapter(declared('sigma', 'sigma'));
    expect(() => sigma.secretsFromEnv({ SIGMA_WEBHOOK_SECRET: '{}' })).toThrow('SIGMA_API_KEY');
    const signifyd = createProviderAdapter(declared('signifyd', 'signifyd'));
    expect(signifyd.secretsFromEnv({ SIGNIFYD_API_KEY: 'k1,k2' })).toEqual({
      apiKeys: ['k1', 'k2'],
    });
  });

  it('read their flags from the environment when the entry leaves the option unset', () => {
    const env = { SIGMA_ALLOW_LEGACY_SHA256: 'true', SIGNIFYD_FORWARD_TEST_EVENTS: 'true' };
    const sigma = createProviderAdapter(declared('sigma', 'sigma'), { env });
    const secrets = { credentials: [SIGMA_VECTOR.current], businessIds: [SIGMA_VECTOR.businessId] };
    const legacy = received({
      path: '/webhooks/sigma/aml',
      body: Buffer.from('{}'),
      headers: { 'x-signature': SIGMA_VECTOR.currentLegacySha256 },
    });
    expect(verdict(sigma, secrets, legacy)).toBeUndefined();
    const off = createProviderAdapter(declared('sigma', 'sigma', { allowLegacySha256: false }), {
      env,
    });
    expect(verdict(off, secrets, legacy)).toBe('mismatch');
  });
});

describe('sigmate under a declared name', () => {
  const adapter = createProviderAdapter(declared('acme-signals', 'sigmate'));
  const request = received({
    path: '/webhooks/acme-signals',
    body: Buffer.from(SIGMATE_COMPACT_BODY),
    headers: { 'x-sigmate-signature': SIGMATE_COMPACT_SIGNATURE },
  });

  it('serves /webhooks/<name> as the provider <name>, and not /webhooks/sigmate', () => {
    expect(adapter.provider).toBe('acme-signals');
    expect(adapter.matchRoute('/webhooks/acme-signals')).toEqual({});
    expect(adapter.matchRoute('/webhooks/sigmate')).toBeUndefined();
  });

  it('verifies and keys as Sigmate does', () => {
    const secrets = adapter.secretsFromEnv({
      ACME_SIGNALS_WEBHOOK_SECRET: `other,${SIGMATE_KNOWN_SECRET}`,
    });
    expect(verdict(adapter, secrets, request)).toBeUndefined();
    expect(described(adapter, request)).toMatchObject({
      type: 'signal.fired',
      idempotencyKey: 'f3c7a1d2-8b4e-4d5f-9f2a-6e1c0d7a8b9f',
    });
  });

  it("reads <NAME>_WEBHOOK_SECRET, as a list or as Sigmate's secret JSON, not SIGMATE_WEBHOOK_SECRET", () => {
    const json = JSON.stringify({ webhookSecrets: [SIGMATE_KNOWN_SECRET] });
    expect(adapter.secretsFromEnv({ ACME_SIGNALS_WEBHOOK_SECRET: json })).toEqual({
      webhookSecrets: [SIGMATE_KNOWN_SECRET],
    });
    expect(() => adapter.secretsFromEnv({ SIGMATE_WEBHOOK_SECRET: 'x' })).toThrow(
      'ACME_SIGNALS_WEBHOOK_SECRET is not set',
    );
  });
});

describe('signifyd under a declared name', () => {
  const testPing = (apiKey: string) => {
    const body = '{"caseId":1}';
    return received({
      path: '/webhooks/signifyd-eu',
      body: Buffer.from(body),
      headers: {
        'signifyd-sec-hmac-sha256': createHmac('sha256', apiKey).update(body).digest('base64'),
        'signifyd-topic': 'cases/test',
      },
    });
  };

  it('reads its team keys from <NAME>_WEBHOOK_SECRET and still refuses the public test key there', () => {
    const adapter = createProviderAdapter(declared('signifyd-eu', 'signifyd'));
    expect(adapter.secretsFromEnv({ SIGNIFYD_EU_WEBHOOK_SECRET: 'team-key' })).toEqual({
      apiKeys: ['team-key'],
    });
    expect(() => adapter.secretsFromEnv({ SIGNIFYD_EU_WEBHOOK_SECRET: 'team-key,ABCDE' })).toThrow(
      /SIGNIFYD_EU_WEBHOOK_SECRET: .*public test key/,
    );
  });

  it('takes forwardTestEvents from the entry, never from the seed variable', () => {
    const env = { SIGNIFYD_FORWARD_TEST_EVENTS: 'true' };
    const secrets = { apiKeys: ['team-key'] };
    const plain = createProviderAdapter(declared('signifyd-eu', 'signifyd'), { env });
    expect(verdict(plain, secrets, testPing('team-key'))).toBeUndefined();
    expect(described(plain, testPing('team-key'))).toMatchObject({ kind: 'ignored' });
    const forwarding = createProviderAdapter(
      declared('signifyd-eu', 'signifyd', { forwardTestEvents: true }),
    );
    expect(described(forwarding, testPing('team-key'))).toMatchObject({
      kind: 'event',
      test: true,
    });
  });
});

describe('sigma under a declared name', () => {
  const adapter = createProviderAdapter(declared('sigma-eu', 'sigma'));
  const secretJson = JSON.stringify({
    credentials: [SIGMA_VECTOR.current],
    businessId: SIGMA_VECTOR.businessId,
  });

  it('serves /webhooks/<name>/<product> for the Sigma products only', () => {
    expect(adapter.provider).toBe('sigma-eu');
    expect(adapter.matchRoute('/webhooks/sigma-eu/aml')).toEqual({ product: 'aml' });
    expect(adapter.matchRoute('/webhooks/sigma-eu/transaction-monitoring')).toEqual({
      product: 'transaction-monitoring',
    });
    for (const path of ['/webhooks/sigma-eu/crypto', '/webhooks/sigma/aml', '/webhooks/sigma-eu']) {
      expect(adapter.matchRoute(path)).toBeUndefined();
    }
  });

  it("reads Sigma's secret JSON from <NAME>_WEBHOOK_SECRET and verifies as Sigma does", () => {
    const secrets = adapter.secretsFromEnv({ SIGMA_EU_WEBHOOK_SECRET: secretJson });
    const request = received({
      path: '/webhooks/sigma-eu/cdd',
      body: Buffer.from('{"event":"case.updated","data":{"case_id":"c-1"}}'),
      headers: { 'x-signature': SIGMA_VECTOR.currentHmac },
    });
    expect(verdict(adapter, secrets, request)).toBeUndefined();
    expect(described(adapter, request)).toMatchObject({ product: 'cdd', type: 'case.updated' });
  });

  it('refuses a comma list there: key, secret and business id do not fit one', () => {
    expect(() => adapter.secretsFromEnv({ SIGMA_EU_WEBHOOK_SECRET: 'a,b' })).toThrow(
      ConfigurationError,
    );
    expect(() => adapter.secretsFromEnv({ SIGMA_EU_WEBHOOK_SECRET: 'a,b' })).toThrow(
      'SIGMA_EU_WEBHOOK_SECRET: must hold the secret as JSON',
    );
  });
});
