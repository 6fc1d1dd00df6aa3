import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureVerificationError,
} from '../../../functions/core/errors.js';
import { normaliseEvent } from '../../../functions/core/http.js';
import { sigmateAdapter } from '../../../functions/sigmate/adapter.js';
import { httpApiDelivery } from '../../fixtures/events.js';
import {
  SIGMATE_COMPACT_BODY,
  SIGMATE_COMPACT_SIGNATURE,
  SIGMATE_DOCS_EXAMPLE_FILE,
  SIGMATE_DOCS_EXAMPLE_SIGNATURE,
  SIGMATE_KNOWN_SECRET,
} from '../../fixtures/sigmate-vectors.js';

const secrets = { webhookSecrets: [SIGMATE_KNOWN_SECRET] };
const request = (body: string | Buffer, headers: Record<string, string>, base64 = false) =>
  normaliseEvent(httpApiDelivery('/webhooks/sigmate', body, headers, { base64 }));

function failure(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof SignatureVerificationError) return error.detail;
    throw error;
  }
  return undefined;
}

describe('sigmate: verify', () => {
  it('accepts the OpenSSL known-answer vector over a compact body', () => {
    expect(
      failure(() =>
        sigmateAdapter.verify(
          request(SIGMATE_COMPACT_BODY, { 'x-sigmate-signature': SIGMATE_COMPACT_SIGNATURE }),
          secrets,
          {},
        ),
      ),
    ).toBeUndefined();
  });

  it("accepts the known-answer vector over the docs' example payload, byte for byte, as base64 too", () => {
    const bytes = readFileSync(SIGMATE_DOCS_EXAMPLE_FILE);
    for (const base64 of [false, true]) {
      expect(
        failure(() =>
          sigmateAdapter.verify(
            request(bytes, { 'X-Sigmate-Signature': SIGMATE_DOCS_EXAMPLE_SIGNATURE }, base64),
            secrets,
            {},
          ),
        ),
      ).toBeUndefined();
    }
  });

  it('rejects a signature over a re-serialised body', () => {
    const bytes = readFileSync(SIGMATE_DOCS_EXAMPLE_FILE, 'utf8');
    const reserialised = JSON.stringify(JSON.parse(bytes));
    expect(
      failure(() =>
        sigmateAdapter.verify(
          request(reserialised, { 'x-sigmate-signature': SIGMATE_DOCS_EXAMPLE_SIGNATURE }),
          secrets,
          {},
        ),
      ),
    ).toBe('mismatch');
  });

  it('accepts upper-case hex, as the Node sample in the docs does', () => {
    const upper = `sha256=${SIGMATE_COMPACT_SIGNATURE.slice(7).toUpperCase()}`;
    expect(
      failure(() =>
        sigmateAdapter.verify(
          request(SIGMATE_COMPACT_BODY, { 'x-sigmate-signature': upper }),
          secrets,
          {},
        ),
      ),
    ).toBeUndefined();
  });

  it.each([
    ['missing', {}, 'missing'],
    ['empty', { 'x-sigmate-signature': '' }, 'missing'],
    [
      'without the sha256= prefix',
      { 'x-sigmate-signature': SIGMATE_COMPACT_SIGNATURE.slice(7) },
      'malformed',
    ],
    [
      'with the prefix doubled',
      { 'x-sigmate-signature': `sha256=${SIGMATE_COMPACT_SIGNATURE}` },
      'malformed',
    ],
    ['truncated', { 'x-sigmate-signature': SIGMATE_COMPACT_SIGNATURE.slice(0, -2) }, 'malformed'],
    [
      'sent twice',
      { 'x-sigmate-signature': `${SIGMATE_COMPACT_SIGNATURE},${SIGMATE_COMPACT_SIGNATURE}` },
      'malformed',
    ],
    ['from another secret', { 'x-sigmate-signature': `sha256=${'0'.repeat(64)}` }, 'mismatch'],
  ])('refuses a signature %s', (_name, headers, detail) => {
    expect(
      failure(() => sigmateAdapter.verify(request(SIGMATE_COMPACT_BODY, headers), secrets, {})),
    ).toBe(detail);
  });

  it('accepts any live secret of a rotation set', () => {
    const rotation = { webhookSecrets: ['new-secret', SIGMATE_KNOWN_SECRET] };
    expect(
      failure(() =>
        sigmateAdapter.verify(
          request(SIGMATE_COMPACT_BODY, { 'x-sigmate-signature': SIGMATE_COMPACT_SIGNATURE }),
          rotation,
          {},
        ),
      ),
    ).toBeUndefined();
  });
});

describe('sigmate: describe', () => {
  const describeBody = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    sigmateAdapter.describe({
      request: request(JSON.stringify(body), headers),
      route: {},
      verification: {},
      body,
      bodySha256: 'x',
    });

  it('keys on the body id and types from x-sigmate-event', () => {
    expect(describeBody({ id: 'abc' }, { 'x-sigmate-event': 'signal.fired' })).toEqual({
      kind: 'event',
      type: 'signal.fired',
      idempotencyKey: 'abc',
      subject: 'abc',
    });
  });

  it('falls back to signal.fired, the only v1 event, when the header is absent', () => {
    expect(describeBody({ id: 'abc' })).toMatchObject({ type: 'signal.fired' });
  });

  it('refuses a missing, empty, non-string or oversized id, and a garbage event type', () => {
    expect(() => describeBody({})).toThrow(InvalidPayloadError);
    expect(() => describeBody({ id: '' })).toThrow(InvalidPayloadError);
    expect(() => describeBody({ id: 7 })).toThrow(InvalidPayloadError);
    expect(() => describeBody({ id: 'x'.repeat(513) })).toThrow(InvalidPayloadError);
    expect(() => describeBody({ id: 'a' }, { 'x-sigmate-event': 'a b\u0000' })).toThrow(
      InvalidPayloadError,
    );
  });
});

describe('sigmate: secrets', () => {
  it('reads comma-separated secrets from the environment', () => {
    expect(sigmateAdapter.secretsFromEnv({ SIGMATE_WEBHOOK_SECRET: ' a , b ,' })).toEqual({
      webhookSecrets: ['a', 'b'],
    });
    expect(() => sigmateAdapter.secretsFromEnv({})).toThrow(ConfigurationError);
    expect(() => sigmateAdapter.secretsFromEnv({ SIGMATE_WEBHOOK_SECRET: ' , ' })).toThrow(
      ConfigurationError,
    );
  });

  it('reads the documented Secrets Manager JSON shape', () => {
    expect(sigmateAdapter.secretsFromJson({ webhookSecrets: ['a', 'b'] })).toEqual({
      webhookSecrets: ['a', 'b'],
    });
    expect(sigmateAdapter.secretsFromJson({ webhookSecrets: 'a,b' })).toEqual({
      webhookSecrets: ['a', 'b'],
    });
    expect(() => sigmateAdapter.secretsFromJson({ webhookSecret: 'a' })).toThrow(
      ConfigurationError,
    );
    expect(() => sigmateAdapter.secretsFromJson('a')).toThrow(ConfigurationError);
  });
});
