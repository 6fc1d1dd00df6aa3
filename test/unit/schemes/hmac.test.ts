import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../functions/core/crypto.js';
import { InvalidPayloadError, ProviderDeclarationError } from '../../../functions/core/errors.js';
import { createHmacAdapter } from '../../../functions/hmac/adapter.js';
import { type HmacOptions, parseHmacOptions } from '../../../functions/hmac/options.js';
import { sigmateAdapter } from '../../../functions/sigmate/adapter.js';
import { SLACK_VECTOR } from '../../fixtures/scheme-vectors.js';
import { hmacHeaders, type SignedRequest } from '../../fixtures/schemes.js';
import {
  SIGMATE_COMPACT_BODY,
  SIGMATE_COMPACT_SIGNATURE,
  SIGMATE_KNOWN_SECRET,
} from '../../fixtures/sigmate-vectors.js';
import { described, received, toleranceEdges, verdict, withHeader } from './support.js';

const ENTRY = 'providers[0] "acme"';
const parse = (raw: Record<string, unknown>) => parseHmacOptions(raw, ENTRY);

/** Sigmate's own scheme, as `hmac` options: its adapter stays, this proves the scheme covers it. */
const SIGMATE_AS_HMAC = {
  signatureHeader: 'X-Sigmate-Signature',
  prefix: 'sha256=',
  encoding: 'hex',
  key: { field: 'id' },
  type: { header: 'x-sigmate-event', default: 'signal.fired' },
  minRetentionDays: 1,
};

const T = 1_790_000_000;
const SECRET = 'acme-webhook-secret';
const BODY = '{"event_id":"ev_9","kind":"order.paid","total":42}';
const TIMESTAMPED = parse({
  signatureHeader: 'x-acme-signature',
  encoding: 'base64',
  signedPayload: '{timestamp}.{body}',
  timestampHeader: 'x-acme-timestamp',
  key: { field: 'event_id' },
  type: { field: 'kind' },
});
const adapterOf = (options: HmacOptions, seconds = T) =>
  createHmacAdapter('acme', options, () => seconds * 1000 + 999);
const secretsOf = (...secrets: string[]) => ({ secrets });
const signedWith = (
  options: HmacOptions,
  body = BODY,
  signing: { timestamp?: number; id?: string; type?: string } = {},
  secret = SECRET,
): SignedRequest => ({
  path: '/webhooks/acme',
  body: Buffer.from(body),
  headers: hmacHeaders(options, secret, body, { timestamp: T, ...signing }),
});

describe('hmac: Sigmate expressed as options', () => {
  const options = parse(SIGMATE_AS_HMAC);
  const adapter = adapterOf(options);
  const request = received({
    path: '/webhooks/acme',
    body: Buffer.from(SIGMATE_COMPACT_BODY),
    headers: {
      'x-sigmate-signature': SIGMATE_COMPACT_SIGNATURE,
      'x-sigmate-event': 'signal.fired',
    },
  });

  it("accepts Sigmate's OpenSSL known-answer vector", () => {
    expect(verdict(adapter, secretsOf(SIGMATE_KNOWN_SECRET), request)).toBeUndefined();
  });

  it('names and keys the event exactly as the Sigmate adapter does', () => {
    const sigmate = sigmateAdapter.describe({
      request,
      route: {},
      verification: {},
      body: JSON.parse(SIGMATE_COMPACT_BODY),
      bodySha256: sha256Hex(SIGMATE_COMPACT_BODY),
    });
    expect(described(adapter, request)).toEqual(sigmate);
    const untyped = received(
      { path: '/webhooks/acme', body: Buffer.from(SIGMATE_COMPACT_BODY), headers: {} },
      { headers: { 'x-sigmate-signature': SIGMATE_COMPACT_SIGNATURE } },
    );
    expect(described(adapter, untyped)).toMatchObject({ type: 'signal.fired' });
  });

  it('keeps the retry horizon it is given', () => {
    expect(adapter.minRetentionDays).toBe(1);
    expect(
      adapterOf(parse({ ...SIGMATE_AS_HMAC, minRetentionDays: undefined })).minRetentionDays,
    ).toBe(7);
  });
});

describe('hmac: verify', () => {
  it("accepts Slack's documented vector through a timestamp template", () => {
    const adapter = adapterOf(parse(SLACK_VECTOR.options), SLACK_VECTOR.timestamp);
    const request = received({
      path: '/webhooks/acme',
      body: Buffer.from(SLACK_VECTOR.body),
      headers: {
        'X-Slack-Signature': SLACK_VECTOR.signature,
        'X-Slack-Request-Timestamp': String(SLACK_VECTOR.timestamp),
      },
    });
    expect(verdict(adapter, secretsOf(SLACK_VECTOR.secret), request)).toBeUndefined();
  });

  it('accepts base64 and hex as configured, and only as configured', () => {
    const hex = parse({ ...SIGMATE_AS_HMAC, encoding: 'hex' });
    const base64 = parse({ ...SIGMATE_AS_HMAC, encoding: 'base64' });
    const secrets = secretsOf(SECRET);
    expect(verdict(adapterOf(hex), secrets, received(signedWith(hex)))).toBeUndefined();
    expect(verdict(adapterOf(base64), secrets, received(signedWith(base64)))).toBeUndefined();
    expect(verdict(adapterOf(hex), secrets, received(signedWith(base64)))).toBe('malformed');
    expect(verdict(adapterOf(base64), secrets, received(signedWith(hex)))).toBe('malformed');
  });

  it('requires the prefix', () => {
    const options = parse(SIGMATE_AS_HMAC);
    const signed = signedWith(options);
    const bare = signed.headers['x-sigmate-signature']?.slice('sha256='.length);
    const request = received(signed, {
      headers: withHeader(signed.headers, 'x-sigmate-signature', bare),
    });
    expect(verdict(adapterOf(options), secretsOf(SECRET), request)).toBe('malformed');
  });

  it('rejects a tampered body, another secret, and a changed timestamp', () => {
    const adapter = adapterOf(TIMESTAMPED);
    const signed = signedWith(TIMESTAMPED);
    const secrets = secretsOf(SECRET);
    expect(verdict(adapter, secrets, received(signed, { body: BODY.replace('42', '43') }))).toBe(
      'mismatch',
    );
    expect(verdict(adapter, secrets, received(signedWith(TIMESTAMPED, BODY, {}, 'other')))).toBe(
      'mismatch',
    );
    const moved = withHeader(signed.headers, 'x-acme-timestamp', String(T + 1));
    expect(verdict(adapter, secrets, received(signed, { headers: moved }))).toBe('mismatch');
  });

  it('accepts any live secret of a rotation', () => {
    expect(
      verdict(adapterOf(TIMESTAMPED), secretsOf('next', SECRET), received(signedWith(TIMESTAMPED))),
    ).toBeUndefined();
  });

  it.each(toleranceEdges(T))(
    'with the default tolerance, a timestamp %s is %s',
    (_name, timestamp, expected) => {
      const request = received(signedWith(TIMESTAMPED, BODY, { timestamp }));
      expect(verdict(adapterOf(TIMESTAMPED), secretsOf(SECRET), request)).toBe(expected);
    },
  );

  it('takes its tolerance from the options', () => {
    const options = { ...TIMESTAMPED, toleranceSeconds: 30 };
    const secrets = secretsOf(SECRET);
    const at = (timestamp: number) => received(signedWith(options, BODY, { timestamp }));
    expect(verdict(adapterOf(options), secrets, at(T - 30))).toBeUndefined();
    expect(verdict(adapterOf(options), secrets, at(T - 31))).toBe('stale_timestamp');
  });

  it.each([
    ['no signature', 'x-acme-signature', undefined, 'missing'],
    ['no timestamp', 'x-acme-timestamp', undefined, 'missing'],
    ['a timestamp in milliseconds', 'x-acme-timestamp', `${T}000`, 'malformed'],
    ['a timestamp that is a date', 'x-acme-timestamp', '2026-09-21T10:00:00Z', 'malformed'],
  ])('refuses a delivery with %s', (_name, name, value, expected) => {
    const signed = signedWith(TIMESTAMPED);
    const request = received(signed, { headers: withHeader(signed.headers, name, value) });
    expect(verdict(adapterOf(TIMESTAMPED), secretsOf(SECRET), request)).toBe(expected);
  });
});

describe('hmac: describe', () => {
  const run = (options: HmacOptions, body = BODY, signing = {}) =>
    described(adapterOf(options), received(signedWith(options, body, signing)));

  it('keys on a body field and types from another', () => {
    expect(run(TIMESTAMPED)).toEqual({
      kind: 'event',
      type: 'order.paid',
      idempotencyKey: 'ev_9',
      subject: 'ev_9',
    });
  });

  it('keys on a header, or on the SHA-256 of the body', () => {
    const byHeader = parse({ ...SIGMATE_AS_HMAC, key: { header: 'X-Delivery' } });
    expect(run(byHeader, BODY, { id: 'd-1' })).toMatchObject({ idempotencyKey: 'd-1' });
    const byBody = parse({ ...SIGMATE_AS_HMAC, key: { body: 'sha256' } });
    expect(run(byBody)).toMatchObject({ idempotencyKey: sha256Hex(BODY), subject: undefined });
  });

  it('types from a fixed value, or falls back to the default', () => {
    expect(
      run(parse({ ...SIGMATE_AS_HMAC, type: { value: 'acme.event' } }), '{"id":"1"}'),
    ).toMatchObject({
      type: 'acme.event',
    });
    const withDefault = parse({ ...SIGMATE_AS_HMAC, type: { field: 'missing', default: 'x.y' } });
    expect(run(withDefault, '{"id":"1"}')).toMatchObject({ type: 'x.y' });
  });

  it('takes a numeric key field as text, and refuses one past 2^53 (JSON has rounded it)', () => {
    const options = parse(SIGMATE_AS_HMAC);
    expect(run(options, '{"id":4711}')).toMatchObject({ idempotencyKey: '4711' });
    expect(() => run(options, '{"id":820982911946154508}')).toThrow(InvalidPayloadError);
  });

  it('refuses a delivery without its key or type with 400', () => {
    expect(() => run(TIMESTAMPED, '{"kind":"order.paid"}')).toThrow(InvalidPayloadError);
    expect(() => run(TIMESTAMPED, '{"event_id":"ev_9"}')).toThrow(InvalidPayloadError);
  });
});

describe('hmac: options', () => {
  const failure = (raw: Record<string, unknown>): string => {
    try {
      parse(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(ProviderDeclarationError);
      expect((error as Error).message).not.toContain('\n');
      return (error as Error).message;
    }
    throw new Error('parsed');
  };
  const base = {
    signatureHeader: 'x-sig',
    encoding: 'hex',
    key: { field: 'id' },
    type: { value: 'event' },
  };

  it('lower-cases header names and keeps what it was given', () => {
    expect(parse({ ...base, signatureHeader: 'X-Sig', prefix: 'sha256=' })).toMatchObject({
      signatureHeader: 'x-sig',
      prefix: 'sha256=',
    });
  });

  it.each([
    [
      'no signatureHeader',
      { ...base, signatureHeader: undefined },
      'option "signatureHeader" is missing',
    ],
    [
      'a header name with a space',
      { ...base, signatureHeader: 'x sig' },
      'option "signatureHeader" must be a header name',
    ],
    ['no encoding', { ...base, encoding: undefined }, 'option "encoding" is missing'],
    [
      'an unknown encoding',
      { ...base, encoding: 'base32' },
      'option "encoding" must be one of hex, base64',
    ],
    ['no key', { ...base, key: undefined }, 'option "key" is missing'],
    ['a key that is a string', { ...base, key: 'id' }, 'option "key" must be an object'],
    ['a key with two sources', { ...base, key: { field: 'id', header: 'x-id' } }, 'exactly one of'],
    [
      'a key with an unknown source',
      { ...base, key: { query: 'id' } },
      'option "key": unknown option "query"',
    ],
    ['no type', { ...base, type: undefined }, 'option "type" is missing'],
    [
      'a fixed type with a default',
      { ...base, type: { value: 'a', default: 'b' } },
      '"default" goes with',
    ],
    [
      'a template without {body} at its end',
      { ...base, signedPayload: '{body}.x' },
      'must end with {body}',
    ],
    ['an unknown placeholder', { ...base, signedPayload: '{id}.{body}' }, 'no other placeholder'],
    [
      '{timestamp} without its header',
      { ...base, signedPayload: '{timestamp}.{body}' },
      'option "timestampHeader" is missing',
    ],
    [
      'a timestamp header that is not signed',
      { ...base, timestampHeader: 'x-ts' },
      'needs {timestamp} in "signedPayload"',
    ],
    [
      'a tolerance without a timestamp',
      { ...base, toleranceSeconds: 60 },
      'needs a signed "timestampHeader"',
    ],
    [
      'a tolerance of zero',
      {
        ...base,
        signedPayload: '{timestamp}.{body}',
        timestampHeader: 'x-ts',
        toleranceSeconds: 0,
      },
      'from 1 to 3600',
    ],
    ['a retention past SQS', { ...base, minRetentionDays: 15 }, 'from 1 to 14'],
    ['a misspelt option', { ...base, sigantureHeader: 'x' }, 'unknown option "sigantureHeader"'],
  ])('refuses %s, naming the entry and the option', (_name, raw, message) => {
    const text = failure(raw);
    expect(text.startsWith(`${ENTRY}`)).toBe(true);
    expect(text).toContain(message);
  });
});
