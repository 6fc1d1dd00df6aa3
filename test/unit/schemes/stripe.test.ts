import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidPayloadError } from '../../../functions/core/errors.js';
import { createStripeAdapter } from '../../../functions/stripe/adapter.js';
import type { SignedRequest } from '../../fixtures/schemes.js';
import { described, received, toleranceEdges, verdict, withHeader } from './support.js';

const NAME = 'stripe-eu';
const T = 1_790_000_000;
const SECRET = 'whsec_kX3p9Qm2Vb7Lr4Tz8Nw1Hd6Yc5Fj0Ga';
const NEXT = 'whsec_Zr8Lm3Qp7Vx2Nb6Tc1Hd9Yk4Fj5Gw0Sa';
const BODY =
  '{"id":"evt_1QxYzA2eZvKYlo2C","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3QxYzA2eZvKYlo2C","object":"payment_intent"}}}';
/** `printf %s "1790000000.$BODY" | openssl dgst -sha256 -hmac "$SECRET"` (OpenSSL 3.0). */
const OPENSSL_V1 = '351f6943c585f038eae7db0f44460fe1415c4c00739a3fc7eb3e09cfe6e8d36e';

const stripe = new Stripe('sk_test_unused');
const adapterAt = (seconds: number, toleranceSeconds?: number) =>
  createStripeAdapter(NAME, { toleranceSeconds }, () => seconds * 1000 + 999);
const adapter = adapterAt(T);
const secrets = adapter.secretsFromJson({ secrets: [SECRET] });

/** A request signed by Stripe's own library (`webhooks.generateTestHeaderString`). */
function stripeSigned(timestamp: number, body = BODY, secret = SECRET): SignedRequest {
  return {
    path: `/webhooks/${NAME}`,
    body: Buffer.from(body),
    headers: {
      'stripe-signature': stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret,
        timestamp,
      }),
    },
  };
}

describe('stripe: verify', () => {
  it('accepts the OpenSSL known-answer vector', () => {
    const request = received({
      path: `/webhooks/${NAME}`,
      body: Buffer.from(BODY),
      headers: { 'stripe-signature': `t=${T},v1=${OPENSSL_V1}` },
    });
    expect(verdict(adapter, secrets, request)).toBeUndefined();
  });

  it("accepts a header made by Stripe's library, raw or base64-encoded", () => {
    expect(stripeSigned(T).headers['stripe-signature']).toBe(`t=${T},v1=${OPENSSL_V1}`);
    for (const base64 of [true, false]) {
      expect(verdict(adapter, secrets, received(stripeSigned(T), { base64 }))).toBeUndefined();
    }
  });

  it('matches the header name in any case', () => {
    const signed = stripeSigned(T);
    const headers = { 'Stripe-Signature': signed.headers['stripe-signature'] ?? '' };
    expect(verdict(adapter, secrets, received(signed, { headers }))).toBeUndefined();
  });

  it('rejects a tampered body', () => {
    const tampered = BODY.replace('succeeded', 'failed');
    expect(verdict(adapter, secrets, received(stripeSigned(T), { body: tampered }))).toBe(
      'mismatch',
    );
  });

  it('rejects a signature made with another secret', () => {
    expect(verdict(adapter, secrets, received(stripeSigned(T, BODY, NEXT)))).toBe('mismatch');
  });

  it('rejects a t changed after signing: it is signed', () => {
    const signed = stripeSigned(T);
    const header = signed.headers['stripe-signature']?.replace(`t=${T}`, `t=${T - 1}`);
    const request = received(signed, { headers: { 'stripe-signature': header ?? '' } });
    expect(verdict(adapter, secrets, request)).toBe('mismatch');
  });

  it.each(toleranceEdges(T))(
    'with the default tolerance, a t %s is %s',
    (_name, timestamp, expected) => {
      expect(verdict(adapter, secrets, received(stripeSigned(timestamp)))).toBe(expected);
    },
  );

  it('takes its tolerance from the options', () => {
    const lenient = adapterAt(T, 600);
    expect(verdict(lenient, secrets, received(stripeSigned(T - 600)))).toBeUndefined();
    expect(verdict(lenient, secrets, received(stripeSigned(T - 601)))).toBe('stale_timestamp');
  });

  it('accepts either secret while one rolls: several v1 in the header, several secrets here', () => {
    const both = received(stripeSigned(T), {
      headers: {
        'stripe-signature': `t=${T},v1=${'0'.repeat(64)},v1=${OPENSSL_V1},v0=ignored`,
      },
    });
    expect(verdict(adapter, secrets, both)).toBeUndefined();
    const rolling = adapter.secretsFromJson({ secrets: [NEXT, SECRET] });
    expect(verdict(adapter, rolling, received(stripeSigned(T, BODY, NEXT)))).toBeUndefined();
    expect(verdict(adapter, rolling, received(stripeSigned(T)))).toBeUndefined();
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['without t', `v1=${OPENSSL_V1}`, 'malformed'],
    ['with two t', `t=${T},t=${T},v1=${OPENSSL_V1}`, 'malformed'],
    ['without v1', `t=${T},v0=${OPENSSL_V1}`, 'malformed'],
    ['with a t that is not a number', `t=soon,v1=${OPENSSL_V1}`, 'malformed'],
    ['with a truncated v1', `t=${T},v1=${OPENSSL_V1.slice(2)}`, 'malformed'],
    ['with seventeen v1', `t=${T}${`,v1=${OPENSSL_V1}`.repeat(17)}`, 'malformed'],
  ])('refuses a Stripe-Signature %s', (_name, value, expected) => {
    const signed = stripeSigned(T);
    const request = received(signed, {
      headers: withHeader(signed.headers, 'stripe-signature', value),
    });
    expect(verdict(adapter, secrets, request)).toBe(expected);
  });
});

describe('stripe: describe', () => {
  it("keys on the event's id and types from its type; the subject is data.object.id", () => {
    expect(described(adapter, received(stripeSigned(T)))).toEqual({
      kind: 'event',
      type: 'payment_intent.succeeded',
      idempotencyKey: 'evt_1QxYzA2eZvKYlo2C',
      subject: 'pi_3QxYzA2eZvKYlo2C',
    });
  });

  it.each([
    ['no id', '{"type":"charge.succeeded"}'],
    ['no type', '{"id":"evt_1"}'],
    ['a numeric type', '{"id":"evt_1","type":5}'],
  ])('refuses an event with %s with 400', (_name, body) => {
    expect(() => described(adapter, received(stripeSigned(T, body)))).toThrow(InvalidPayloadError);
  });
});

describe('stripe: secrets', () => {
  it('reads {"secrets":["whsec_…"]} and <NAME>_WEBHOOK_SECRET, comma-separated', () => {
    expect(adapter.secretsFromJson({ secrets: [SECRET, NEXT] }).secrets).toEqual([SECRET, NEXT]);
    expect(
      adapter.secretsFromEnv({ STRIPE_EU_WEBHOOK_SECRET: `${SECRET},${NEXT}` }).secrets,
    ).toEqual([SECRET, NEXT]);
  });

  it('refuses a value that is not an endpoint secret, naming its position only', () => {
    for (const run of [
      () => adapter.secretsFromJson({ secrets: ['sk_live_abc'] }),
      () => adapter.secretsFromEnv({ STRIPE_EU_WEBHOOK_SECRET: 'sk_live_abc' }),
    ]) {
      expect(run).toThrow(ConfigurationError);
      expect(run).toThrow(/\[0\] must be a Stripe endpoint secret/);
      expect(run).not.toThrow(/sk_live_abc/);
    }
  });
});
