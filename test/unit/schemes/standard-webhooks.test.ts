import { randomBytes } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidPayloadError } from '../../../functions/core/errors.js';
import {
  createStandardWebhooksAdapter,
  type StandardWebhooksSecrets,
} from '../../../functions/standard-webhooks/adapter.js';
import { STANDARD_WEBHOOKS_VECTOR } from '../../fixtures/scheme-vectors.js';
import { ed25519KeyPair, type SignedRequest, signedRequest } from '../../fixtures/schemes.js';
import { described, received, toleranceEdges, verdict, withHeader } from './support.js';

const NAME = 'acme-hooks';
const T = 1_790_000_000;
const SECRET = 'whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0';
const OTHER = 'whsec_b3RoZXItc2VjcmV0LWtleS1ub3QtdGhpcy1vbmU=';
const BODY = '{"type":"invoice.paid","timestamp":"2026-09-21T10:00:00Z","data":{"id":"inv_42"}}';
const declaration = { name: NAME, scheme: 'standard-webhooks', options: {} } as const;

/** The adapter with its clock at `seconds` (plus a fraction, which must not matter). */
const adapterAt = (seconds: number, toleranceSeconds?: number) =>
  createStandardWebhooksAdapter(NAME, { toleranceSeconds }, () => seconds * 1000 + 999);
const adapter = adapterAt(T);
const secretsOf = (...values: string[]): StandardWebhooksSecrets =>
  adapter.secretsFromJson({ secrets: values });
const secrets = secretsOf(SECRET);

/** A request signed by the Standard Webhooks library itself. */
function librarySigned(
  timestamp: number,
  body = BODY,
  secret = SECRET,
  id = 'msg_1',
): SignedRequest {
  const signature = new StandardWebhook(secret).sign(id, new Date(timestamp * 1000), body);
  return {
    path: `/webhooks/${NAME}`,
    body: Buffer.from(body),
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    },
  };
}

describe('standard-webhooks: verify', () => {
  it("accepts the spec library's own known-answer vector", () => {
    const request = received({
      path: `/webhooks/${NAME}`,
      body: Buffer.from(STANDARD_WEBHOOKS_VECTOR.payload),
      headers: {
        'webhook-id': STANDARD_WEBHOOKS_VECTOR.id,
        'webhook-timestamp': String(STANDARD_WEBHOOKS_VECTOR.timestamp),
        'webhook-signature': STANDARD_WEBHOOKS_VECTOR.signature,
      },
    });
    const vectorSecrets = adapter.secretsFromJson({ secrets: [STANDARD_WEBHOOKS_VECTOR.secret] });
    expect(
      verdict(adapterAt(STANDARD_WEBHOOKS_VECTOR.timestamp), vectorSecrets, request),
    ).toBeUndefined();
  });

  it('accepts a delivery signed by the standardwebhooks library, raw or base64-encoded', () => {
    for (const base64 of [true, false]) {
      expect(verdict(adapter, secrets, received(librarySigned(T), { base64 }))).toBeUndefined();
    }
  });

  it('accepts a delivery signed by the svix library under svix-* names', () => {
    const signature = new SvixWebhook(SECRET).sign('msg_svix', new Date(T * 1000), BODY);
    const request = received({
      path: `/webhooks/${NAME}`,
      body: Buffer.from(BODY),
      headers: { 'svix-id': 'msg_svix', 'svix-timestamp': String(T), 'svix-signature': signature },
    });
    expect(verdict(adapter, secrets, request)).toBeUndefined();
    expect(described(adapter, request)).toMatchObject({ idempotencyKey: 'msg_svix' });
  });

  it('matches header names in any case', () => {
    const signed = librarySigned(T);
    const shouted = Object.fromEntries(
      Object.entries(signed.headers).map(([name, value]) => [name.toUpperCase(), value]),
    );
    expect(verdict(adapter, secrets, received(signed, { headers: shouted }))).toBeUndefined();
  });

  it('rejects a tampered body', () => {
    const tampered = BODY.replace('inv_42', 'inv_43');
    expect(verdict(adapter, secrets, received(librarySigned(T), { body: tampered }))).toBe(
      'mismatch',
    );
  });

  it('rejects a body re-serialised with other whitespace', () => {
    const spaced = JSON.stringify(JSON.parse(BODY), null, 1);
    expect(verdict(adapter, secrets, received(librarySigned(T), { body: spaced }))).toBe(
      'mismatch',
    );
  });

  it('rejects a signature made with another secret', () => {
    expect(verdict(adapter, secrets, received(librarySigned(T, BODY, OTHER)))).toBe('mismatch');
  });

  it('rejects a changed webhook-id or webhook-timestamp: both are signed', () => {
    const signed = librarySigned(T);
    for (const [name, value] of [
      ['webhook-id', 'msg_2'],
      ['webhook-timestamp', String(T - 1)],
    ] as const) {
      const request = received(signed, { headers: withHeader(signed.headers, name, value) });
      expect(verdict(adapter, secrets, request)).toBe('mismatch');
    }
  });

  it.each(toleranceEdges(T))(
    'with the default tolerance, a timestamp %s is %s',
    (_name, timestamp, expected) => {
      expect(verdict(adapter, secrets, received(librarySigned(timestamp)))).toBe(expected);
    },
  );

  it('takes its tolerance from the options', () => {
    const strict = adapterAt(T, 60);
    expect(verdict(strict, secrets, received(librarySigned(T - 60)))).toBeUndefined();
    expect(verdict(strict, secrets, received(librarySigned(T - 61)))).toBe('stale_timestamp');
    expect(verdict(strict, secrets, received(librarySigned(T + 61)))).toBe('stale_timestamp');
  });

  it('accepts a delivery signed with any live secret of a rotation', () => {
    const rotation = secretsOf(OTHER, SECRET);
    expect(verdict(adapter, rotation, received(librarySigned(T)))).toBeUndefined();
    expect(verdict(adapter, rotation, received(librarySigned(T, BODY, OTHER)))).toBeUndefined();
  });

  it("accepts any one valid signature of the header's list, skipping unknown versions", () => {
    const good = librarySigned(T);
    const stale = librarySigned(T, BODY, OTHER).headers['webhook-signature'];
    const list = [
      stale,
      'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      good.headers['webhook-signature'],
    ].join(' ');
    const request = received(good, {
      headers: withHeader(good.headers, 'webhook-signature', list),
    });
    expect(verdict(adapter, secrets, request)).toBeUndefined();
  });

  it('accepts v1a: an ed25519 signature checked with the whpk_ public key', () => {
    const pair = ed25519KeyPair(randomBytes(32));
    const signed = signedRequest(declaration, pair.secretKey, BODY, { timestamp: T });
    expect(signed.headers['webhook-signature']).toMatch(/^v1a,/);
    expect(verdict(adapter, secretsOf(pair.publicKey), received(signed))).toBeUndefined();
    // Alongside an HMAC secret, and against the wrong public key.
    expect(verdict(adapter, secretsOf(SECRET, pair.publicKey), received(signed))).toBeUndefined();
    const other = ed25519KeyPair(randomBytes(32));
    expect(verdict(adapter, secretsOf(other.publicKey), received(signed))).toBe('mismatch');
  });

  it('accepts a header with a v1 that fails and a v1a that holds', () => {
    const pair = ed25519KeyPair(randomBytes(32));
    const signed = signedRequest(declaration, pair.secretKey, BODY, { timestamp: T });
    const wrongV1 = librarySigned(T, BODY, OTHER).headers['webhook-signature'];
    const headers = withHeader(
      signed.headers,
      'webhook-signature',
      `${wrongV1} ${signed.headers['webhook-signature']}`,
    );
    const request = received(signed, { headers });
    expect(verdict(adapter, secretsOf(SECRET, pair.publicKey), request)).toBeUndefined();
  });

  it('rejects a v1a signature over a tampered body or from a stale timestamp', () => {
    const pair = ed25519KeyPair(randomBytes(32));
    const keys = secretsOf(pair.publicKey);
    const signed = signedRequest(declaration, pair.secretKey, BODY, { timestamp: T });
    expect(verdict(adapter, keys, received(signed, { body: `${BODY} ` }))).toBe('mismatch');
    const old = signedRequest(declaration, pair.secretKey, BODY, { timestamp: T - 301 });
    expect(verdict(adapter, keys, received(old))).toBe('stale_timestamp');
  });

  it.each([
    ['no webhook-id', 'webhook-id', undefined, 'missing'],
    ['no webhook-timestamp', 'webhook-timestamp', undefined, 'missing'],
    ['no webhook-signature', 'webhook-signature', undefined, 'missing'],
    ['a timestamp that is not a number', 'webhook-timestamp', 'hello', 'malformed'],
    ['a fractional timestamp', 'webhook-timestamp', `${T}.5`, 'malformed'],
    ['a timestamp with a leading zero', 'webhook-timestamp', `0${T}`, 'malformed'],
    ['only unknown versions', 'webhook-signature', 'v2,abc v3,def', 'malformed'],
    ['a truncated signature', 'webhook-signature', 'v1,g0hM9SsE', 'malformed'],
    [
      'a signature without its version',
      'webhook-signature',
      'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      'malformed',
    ],
    [
      'seventeen signatures',
      'webhook-signature',
      Array(17).fill('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=').join(' '),
      'malformed',
    ],
  ])('refuses a delivery with %s', (_name, headerName, value, expected) => {
    const signed = librarySigned(T);
    const request = received(signed, { headers: withHeader(signed.headers, headerName, value) });
    expect(verdict(adapter, secrets, request)).toBe(expected);
  });

  it('does not mix the webhook-* and svix-* sets', () => {
    const signed = librarySigned(T);
    const headers = {
      'webhook-id': 'msg_1',
      'svix-timestamp': String(T),
      'svix-signature': signed.headers['webhook-signature'] ?? '',
    };
    expect(verdict(adapter, secrets, received(signed, { headers }))).toBe('missing');
  });
});

describe('standard-webhooks: describe', () => {
  it('keys on webhook-id and types from the body', () => {
    expect(described(adapter, received(librarySigned(T, BODY, SECRET, 'msg_42')))).toEqual({
      kind: 'event',
      type: 'invoice.paid',
      idempotencyKey: 'msg_42',
      subject: 'inv_42',
    });
  });

  it('types an event whose body has no string type as "webhook"', () => {
    for (const body of ['{"data":{}}', '{"type":7}', '{"type":""}']) {
      expect(described(adapter, received(librarySigned(T, body)))).toMatchObject({
        type: 'webhook',
      });
    }
  });

  it('refuses an id longer than 512 characters with 400', () => {
    const signed = librarySigned(T, BODY, SECRET, 'm'.repeat(513));
    expect(() => described(adapter, received(signed))).toThrow(InvalidPayloadError);
  });
});

describe('standard-webhooks: secrets', () => {
  it('reads whsec_ secrets and whpk_ public keys from {"secrets":[…]}', () => {
    const pair = ed25519KeyPair(randomBytes(32));
    const parsed = adapter.secretsFromJson({ secrets: [SECRET, pair.publicKey] });
    expect(parsed.hmacKeys).toHaveLength(1);
    expect(parsed.publicKeys).toHaveLength(1);
  });

  it('reads <NAME>_WEBHOOK_SECRET as a comma list or as the same JSON', () => {
    const variable = 'ACME_HOOKS_WEBHOOK_SECRET';
    const list = adapter.secretsFromEnv({ [variable]: `${SECRET}, ${OTHER}` });
    expect(list.hmacKeys).toHaveLength(2);
    const json = adapter.secretsFromEnv({ [variable]: JSON.stringify({ secrets: [SECRET] }) });
    expect(json.hmacKeys).toHaveLength(1);
    expect(() => adapter.secretsFromEnv({})).toThrow(`${variable} is not set`);
  });

  it.each([
    ['a private key', 'whsk_c2VjcmV0', 'private signing key'],
    ['an unprefixed secret', 'c2VjcmV0', 'must be a whsec_'],
    ['a public key of the wrong length', 'whpk_c2VjcmV0', '32-byte ed25519'],
    ['a secret that is not base64', 'whsec_not base64!', 'not base64'],
  ])('refuses %s, naming its position and never its value', (_name, value, message) => {
    let error: unknown;
    try {
      adapter.secretsFromJson({ secrets: [SECRET, value] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('secrets[1]');
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain(value.slice(5));
  });
});
