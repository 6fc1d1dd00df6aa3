import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/core/crypto.js';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../../functions/core/errors.js';
import type { WebhookRequest } from '../../functions/core/http.js';
import type { RouteMatch } from '../../functions/core/provider.js';
import { createSigmaAdapter, type SigmaSecrets } from '../../functions/sigma/adapter.js';
import {
  SIGMA_EXAMPLE_BODY,
  SIGMA_EXAMPLE_BODY_SHA256,
  SIGMA_VECTOR as V,
} from '../fixtures/sigma.js';

const adapter = createSigmaAdapter();
const legacyAdapter = createSigmaAdapter({ SIGMA_ALLOW_LEGACY_SHA256: 'true' });
const route: RouteMatch = { product: 'aml' };

const onePair: SigmaSecrets = { credentials: [V.current], businessIds: [V.businessId] };
const rotation: SigmaSecrets = { credentials: [V.current, V.next], businessIds: [V.businessId] };

function request(headers: Record<string, string>, body = SIGMA_EXAMPLE_BODY): WebhookRequest {
  return {
    method: 'POST',
    path: '/webhooks/sigma/aml',
    headers,
    body: Buffer.from(body),
    sourceIp: '192.0.2.1',
    requestId: 'r',
  };
}

function failure(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof SignatureVerificationError) return error.detail;
    throw error;
  }
  return undefined;
}

function describeBody(body: string, product = 'cdd') {
  const bytes = Buffer.from(body);
  return adapter.describe({
    request: request({}, body),
    route: { product },
    verification: {},
    body: JSON.parse(body),
    bodySha256: sha256Hex(bytes),
  });
}

describe('sigma: routes', () => {
  it('matches each of the three product routes and names the product', () => {
    for (const product of ['transaction-monitoring', 'aml', 'cdd']) {
      expect(adapter.matchRoute(`/webhooks/sigma/${product}`)).toEqual({ product });
    }
  });

  it('does not match any other product, a trailing slash, another case or the bare prefix', () => {
    for (const path of [
      '/webhooks/sigma/kyc',
      '/webhooks/sigma/aml/',
      '/webhooks/sigma/AML',
      '/webhooks/sigma/',
      '/webhooks/sigma',
      '/webhooks/sigma/aml/extra',
      '/webhooks/sigmate',
      '/webhooks/sigma/constructor',
    ]) {
      expect(adapter.matchRoute(path), path).toBeUndefined();
    }
  });
});

describe('sigma: known-answer vectors computed with openssl', () => {
  it('accepts the HMAC keyed with the docs-shaped hash secret over the businessId', () => {
    expect(`${V.current.apiKey}${V.current.apiSecret}`).toBe(V.docsHashSecret);
    expect(
      failure(() => adapter.verify(request({ 'x-signature': V.currentHmac }), onePair, route)),
    ).toBeUndefined();
  });

  it('accepts the signature in upper-case hex too, since it is the same bytes', () => {
    const upper = V.currentHmac.toUpperCase();
    expect(
      failure(() => adapter.verify(request({ 'x-signature': upper }), onePair, route)),
    ).toBeUndefined();
  });

  it('refuses an HMAC keyed with a separator between key and secret', () => {
    expect(
      failure(() => adapter.verify(request({ 'x-signature': V.separatorHmac }), onePair, route)),
    ).toBe(SignatureFailure.Mismatch);
  });

  it('refuses the plain SHA-256 of the Python sample by default', () => {
    expect(
      failure(() =>
        adapter.verify(request({ 'x-signature': V.currentLegacySha256 }), onePair, route),
      ),
    ).toBe(SignatureFailure.Mismatch);
  });

  it('accepts the plain SHA-256 of the Python sample when the flag enables it, and the HMAC still', () => {
    for (const signature of [V.currentLegacySha256, V.currentHmac]) {
      expect(
        failure(() => legacyAdapter.verify(request({ 'x-signature': signature }), onePair, route)),
      ).toBeUndefined();
    }
  });
});

describe('sigma: verify', () => {
  it('accepts either live pair during a rotation', () => {
    for (const signature of [V.currentHmac, V.nextHmac]) {
      expect(
        failure(() => adapter.verify(request({ 'x-signature': signature }), rotation, route)),
      ).toBeUndefined();
    }
  });

  it('pairs keys and secrets by position, never crossed', () => {
    expect(
      failure(() => adapter.verify(request({ 'x-signature': V.crossedPairHmac }), rotation, route)),
    ).toBe(SignatureFailure.Mismatch);
  });

  it('refuses the next pair before it is configured', () => {
    expect(
      failure(() => adapter.verify(request({ 'x-signature': V.nextHmac }), onePair, route)),
    ).toBe(SignatureFailure.Mismatch);
  });

  it('accepts the legacy form of every live pair only with the flag', () => {
    const signed = request({ 'x-signature': V.nextLegacySha256 });
    expect(failure(() => adapter.verify(signed, rotation, route))).toBe(SignatureFailure.Mismatch);
    expect(failure(() => legacyAdapter.verify(signed, rotation, route))).toBeUndefined();
  });

  it('tells a missing header apart from a malformed one, for the logs only', () => {
    expect(failure(() => adapter.verify(request({}), onePair, route))).toBe(
      SignatureFailure.Missing,
    );
    expect(failure(() => adapter.verify(request({ 'x-signature': '' }), onePair, route))).toBe(
      SignatureFailure.Missing,
    );
    for (const bad of [
      V.currentHmac.slice(1),
      `sha256=${V.currentHmac}`,
      `${V.currentHmac}00`,
      `${V.currentHmac.slice(0, 63)}g`,
      Buffer.from(V.currentHmac, 'hex').toString('base64'),
    ]) {
      expect(
        failure(() => adapter.verify(request({ 'x-signature': bad }), onePair, route)),
        bad,
      ).toBe(SignatureFailure.Malformed);
    }
  });

  it('does not look at the body: the same signature verifies any body', () => {
    const other = request({ 'x-signature': V.currentHmac }, '{"event":"x","data":{}}');
    expect(failure(() => adapter.verify(other, onePair, route))).toBeUndefined();
  });

  it('serves a later secrets object with its own values, not the first one cached', () => {
    const signed = request({ 'x-signature': V.nextHmac });
    expect(failure(() => adapter.verify(signed, onePair, route))).toBe(SignatureFailure.Mismatch);
    const rotated: SigmaSecrets = { credentials: [V.next], businessIds: [V.businessId] };
    expect(failure(() => adapter.verify(signed, rotated, route))).toBeUndefined();
  });
});

describe('sigma: secrets', () => {
  it('pairs comma-separated keys and secrets by position from the environment', () => {
    const secrets = adapter.secretsFromEnv({
      SIGMA_API_KEY: ` ${V.current.apiKey} , ${V.next.apiKey}`,
      SIGMA_API_SECRET: `${V.current.apiSecret},${V.next.apiSecret} `,
      SIGMA_BUSINESS_ID: V.businessId,
    });
    expect(secrets).toEqual({ credentials: [V.current, V.next], businessIds: [V.businessId] });
  });

  it('refuses mismatched counts, empty entries and missing settings', () => {
    const base = { SIGMA_API_KEY: 'k1,k2', SIGMA_API_SECRET: 's1,s2', SIGMA_BUSINESS_ID: 'b' };
    for (const env of [
      { ...base, SIGMA_API_SECRET: 's1' },
      { ...base, SIGMA_API_KEY: 'k1,,k2', SIGMA_API_SECRET: 's1,s2,s3' },
      { ...base, SIGMA_API_KEY: 'k1,k2,' },
      { ...base, SIGMA_API_KEY: undefined },
      { ...base, SIGMA_API_SECRET: ' ' },
      { ...base, SIGMA_BUSINESS_ID: undefined },
      { ...base, SIGMA_BUSINESS_ID: '' },
    ]) {
      expect(() => adapter.secretsFromEnv(env), JSON.stringify(env)).toThrow(ConfigurationError);
    }
  });

  it('never puts a secret value in a configuration error', () => {
    try {
      adapter.secretsFromEnv({
        SIGMA_API_KEY: 'visible-key-1,visible-key-2',
        SIGMA_API_SECRET: 'hidden-secret',
        SIGMA_BUSINESS_ID: 'b',
      });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toMatch(/visible-key|hidden-secret/);
    }
  });

  it('reads the documented Secrets Manager JSON', () => {
    const secrets = adapter.secretsFromJson({
      credentials: [V.current, V.next],
      businessId: V.businessId,
    });
    expect(secrets).toEqual({ credentials: [V.current, V.next], businessIds: [V.businessId] });
  });

  it('refuses a Secrets Manager value of another shape', () => {
    for (const value of [
      null,
      [],
      'text',
      { businessId: 'b' },
      { credentials: [], businessId: 'b' },
      { credentials: [{ apiKey: 'k' }], businessId: 'b' },
      { credentials: [{ apiKey: '', apiSecret: 's' }], businessId: 'b' },
      { credentials: [{ apiKey: 'k', apiSecret: 's' }] },
      { credentials: [{ apiKey: 'k', apiSecret: 's' }], businessId: 42 },
    ]) {
      expect(() => adapter.secretsFromJson(value), JSON.stringify(value)).toThrow(
        ConfigurationError,
      );
    }
  });

  it('refuses a legacy flag that is not a boolean', () => {
    expect(() => createSigmaAdapter({ SIGMA_ALLOW_LEGACY_SHA256: 'maybe' })).toThrow(
      ConfigurationError,
    );
  });
});

describe('sigma: describe', () => {
  it('types the event from body.event and keys it by product and body hash', () => {
    expect(describeBody(SIGMA_EXAMPLE_BODY, 'transaction-monitoring')).toEqual({
      kind: 'event',
      type: 'transaction.decision',
      product: 'transaction-monitoring',
      idempotencyKey: `transaction-monitoring:${SIGMA_EXAMPLE_BODY_SHA256}`,
      subject: 'txn-001',
    });
  });

  it('gives the same body a different key on another product', () => {
    const aml = describeBody(SIGMA_EXAMPLE_BODY, 'aml');
    expect(aml.kind === 'event' && aml.idempotencyKey).toBe(`aml:${SIGMA_EXAMPLE_BODY_SHA256}`);
  });

  it('refuses a body without a string event or an object data', () => {
    for (const body of [
      '{"data":{}}',
      '{"event":"","data":{}}',
      '{"event":"  ","data":{}}',
      '{"event":7,"data":{}}',
      '{"event":"aml.result"}',
      '{"event":"aml.result","data":null}',
      '{"event":"aml.result","data":[]}',
      '{"event":"aml.result","data":"x"}',
      '{"event":"a\\nb","data":{}}',
      JSON.stringify({ event: 'e'.repeat(257), data: {} }),
    ]) {
      expect(() => describeBody(body), body).toThrow(InvalidPayloadError);
    }
  });
});
