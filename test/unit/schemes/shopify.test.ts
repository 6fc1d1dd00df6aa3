import { describe, expect, it } from 'vitest';
import { InvalidPayloadError } from '../../../functions/core/errors.js';
import { createShopifyAdapter } from '../../../functions/shopify/adapter.js';
import { signedRequest } from '../../fixtures/schemes.js';
import { described, received, verdict, withHeader } from './support.js';

const NAME = 'shop';
const SECRET = 'shpss_kX3p9Qm2Vb7Lr4Tz8Nw1Hd6Yc5Fj0Ga';
const BODY = '{"id":820982911946154508,"email":"jon@example.com","name":"#9999"}';
/** `printf %s "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64` (OpenSSL 3.0). */
const OPENSSL_HMAC = 'IIPNHJhTezynQkgez2+GHLRVJCPjbZtaovd/GwrXzUE=';
const EVENT_ID = '98880550-7158-44d4-b7cd-2c97c8a091b5';
const declaration = { name: NAME, scheme: 'shopify', options: {} } as const;
const adapter = createShopifyAdapter(NAME);
const secrets = adapter.secretsFromJson({ secrets: [SECRET] });
const signed = signedRequest(declaration, SECRET, BODY, { id: EVENT_ID, type: 'orders/create' });

describe('shopify: verify', () => {
  it('accepts the OpenSSL known-answer vector, raw or base64-encoded', () => {
    expect(signed.headers['x-shopify-hmac-sha256']).toBe(OPENSSL_HMAC);
    for (const base64 of [true, false]) {
      expect(verdict(adapter, secrets, received(signed, { base64 }))).toBeUndefined();
    }
  });

  it('matches the header name in any case', () => {
    const headers = { 'X-Shopify-Hmac-SHA256': OPENSSL_HMAC };
    expect(verdict(adapter, secrets, received(signed, { headers }))).toBeUndefined();
  });

  it('rejects a tampered body', () => {
    expect(verdict(adapter, secrets, received(signed, { body: BODY.replace('jon', 'eve') }))).toBe(
      'mismatch',
    );
  });

  it('rejects a signature made with another secret', () => {
    const other = signedRequest(declaration, 'shpss_other', BODY);
    expect(verdict(adapter, secrets, received(other))).toBe('mismatch');
  });

  it('accepts any live secret of a rotation', () => {
    const rotation = adapter.secretsFromJson({ secrets: ['shpss_next', SECRET] });
    expect(verdict(adapter, rotation, received(signed))).toBeUndefined();
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['in hex', Buffer.from(OPENSSL_HMAC, 'base64').toString('hex'), 'malformed'],
    ['unpadded', OPENSSL_HMAC.replace('=', ''), 'malformed'],
  ])('refuses an X-Shopify-Hmac-Sha256 %s', (_name, value, expected) => {
    const request = received(signed, {
      headers: withHeader(signed.headers, 'x-shopify-hmac-sha256', value),
    });
    expect(verdict(adapter, secrets, request)).toBe(expected);
  });
});

describe('shopify: describe', () => {
  it('keys on the topic and X-Shopify-Event-Id', () => {
    expect(described(adapter, received(signed))).toMatchObject({
      kind: 'event',
      type: 'orders/create',
      idempotencyKey: `orders/create:${EVENT_ID}`,
    });
  });

  it('names the resource by its GraphQL id, never by a REST id JSON has rounded', () => {
    // 820982911946154508 is past 2^53: JSON.parse reads it as 820982911946154500.
    expect(described(adapter, received(signed))).toMatchObject({ subject: undefined });
    const body = '{"id":450789469,"admin_graphql_api_id":"gid://shopify/Order/450789469"}';
    const order = signedRequest(declaration, SECRET, body, { id: EVENT_ID });
    expect(described(adapter, received(order))).toMatchObject({
      subject: 'gid://shopify/Order/450789469',
    });
  });

  it('keeps two topics of one merchant action apart, though they share the event id', () => {
    const paid = signedRequest(declaration, SECRET, BODY, { id: EVENT_ID, type: 'orders/paid' });
    const keys = [signed, paid].map(
      (request) =>
        (described(adapter, received(request)) as { idempotencyKey: string }).idempotencyKey,
    );
    expect(new Set(keys).size).toBe(2);
  });

  it('refuses a delivery without X-Shopify-Event-Id or X-Shopify-Topic with 400', () => {
    for (const name of ['x-shopify-event-id', 'x-shopify-topic']) {
      const request = received(signed, { headers: withHeader(signed.headers, name, undefined) });
      expect(() => described(adapter, request)).toThrow(InvalidPayloadError);
    }
  });
});
