/**
 * Signs a correct request for a declared provider of any scheme, written from the
 * contract and the senders' documents with node:crypto only — not from the adapters:
 * `send` plays the sender with it, and the tests sign with it (test/fixtures/schemes.ts
 * re-exports it). Tests check it against the senders' own libraries
 * (test/unit/schemes/fixtures.test.ts, test/cli/scheme-samples.test.ts) before trusting it.
 */
import { createHmac, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import type { HmacOptions } from '../../functions/hmac/options.js';
import type { ProviderDeclaration } from '../../functions/providers.js';

/** A request as the sender makes it: where to POST, the exact bytes and the headers. */
export interface SignedRequest {
  readonly path: string;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

/** What varies between deliveries: the sender's id, event type, time and so on. */
export interface SigningOptions {
  /** Unix seconds of the signature (Stripe `t`, `webhook-timestamp`, an hmac timestamp header). */
  readonly timestamp?: number;
  /** The delivery or event id the scheme puts in a header. */
  readonly id?: string;
  /** The event type the scheme puts in a header (GitHub event, Shopify topic, Sigmate event…). */
  readonly type?: string;
  /** Standard Webhooks: `svix-*` header names instead of `webhook-*`. */
  readonly svixHeaders?: boolean;
  /** Sigma: the product route. */
  readonly product?: string;
}

const hmacHex = (key: string | Buffer, data: string | Buffer) =>
  createHmac('sha256', key).update(data).digest('hex');
const hmacBase64 = (key: string | Buffer, data: string | Buffer) =>
  createHmac('sha256', key).update(data).digest('base64');
const nowSeconds = () => Math.floor(Date.now() / 1000);
const bytes = (body: string | Buffer) => (typeof body === 'string' ? Buffer.from(body) : body);

/** PKCS#8 DER of an ed25519 private key, before its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A Standard Webhooks ed25519 key pair as senders show it: `whsk_` seed and `whpk_` public key. */
export function ed25519KeyPair(seed: Buffer): { secretKey: string; publicKey: string } {
  const privateKey = ed25519PrivateKey(`whsk_${seed.toString('base64')}`);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const raw = Buffer.from(String(jwk.x), 'base64url');
  return {
    secretKey: `whsk_${seed.toString('base64')}`,
    publicKey: `whpk_${raw.toString('base64')}`,
  };
}

function ed25519PrivateKey(secretKey: string): KeyObject {
  const seed = Buffer.from(secretKey.slice('whsk_'.length), 'base64');
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/**
 * Standard Webhooks: `v1` with a `whsec_` secret (HMAC keyed with its base64-decoded
 * part), `v1a` with a `whsk_` private key (ed25519), over `<id>.<timestamp>.<body>`.
 */
export function standardWebhooksSignature(
  secret: string,
  id: string,
  timestamp: number,
  body: string | Buffer,
): string {
  const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), bytes(body)]);
  if (secret.startsWith('whsk_')) {
    return `v1a,${sign(null, content, ed25519PrivateKey(secret)).toString('base64')}`;
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${hmacBase64(key, content)}`;
}

/** Stripe's `Stripe-Signature` value: `t=<timestamp>,v1=<hex HMAC of "<t>.<body>">`. */
export function stripeSignature(secret: string, timestamp: number, body: string | Buffer): string {
  return `t=${timestamp},v1=${hmacHex(secret, Buffer.concat([Buffer.from(`${timestamp}.`), bytes(body)]))}`;
}

/** An `hmac` scheme's headers for `options`, as its sender would set them. */
export function hmacHeaders(
  options: HmacOptions,
  secret: string,
  body: string | Buffer,
  signing: SigningOptions = {},
): Record<string, string> {
  const timestamp = String(signing.timestamp ?? nowSeconds());
  const template = options.signedPayload ?? '{body}';
  const head = template.slice(0, -'{body}'.length).replace('{timestamp}', timestamp);
  const content = Buffer.concat([Buffer.from(head), bytes(body)]);
  const digest =
    options.encoding === 'hex' ? hmacHex(secret, content) : hmacBase64(secret, content);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [options.signatureHeader]: `${options.prefix ?? ''}${digest}`,
  };
  if (options.timestampHeader !== undefined) headers[options.timestampHeader] = timestamp;
  if ('header' in options.key) headers[options.key.header] = signing.id ?? 'delivery-1';
  if ('header' in options.type) headers[options.type.header] = signing.type ?? 'sample.event';
  return headers;
}

/**
 * A correctly signed request for `declaration` with one of its live secrets, as its
 * variable holds it (Sigma: its JSON; Standard Webhooks: `whsec_…`, or `whsk_…` to sign
 * `v1a`).
 */
export function signedRequest(
  declaration: ProviderDeclaration,
  secret: string,
  body: string | Buffer,
  signing: SigningOptions = {},
): SignedRequest {
  const raw = bytes(body);
  const path = `/webhooks/${declaration.name}`;
  const timestamp = signing.timestamp ?? nowSeconds();
  const json = { 'content-type': 'application/json' };
  switch (declaration.scheme) {
    case 'standard-webhooks': {
      const names = signing.svixHeaders ? 'svix' : 'webhook';
      const id = signing.id ?? 'msg_1';
      return {
        path,
        body: raw,
        headers: {
          ...json,
          [`${names}-id`]: id,
          [`${names}-timestamp`]: String(timestamp),
          [`${names}-signature`]: standardWebhooksSignature(secret, id, timestamp, raw),
        },
      };
    }
    case 'stripe':
      return {
        path,
        body: raw,
        headers: { ...json, 'stripe-signature': stripeSignature(secret, timestamp, raw) },
      };
    case 'github':
      return {
        path,
        body: raw,
        headers: {
          ...json,
          'x-hub-signature-256': `sha256=${hmacHex(secret, raw)}`,
          'x-github-delivery': signing.id ?? '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          'x-github-event': signing.type ?? 'push',
        },
      };
    case 'shopify':
      return {
        path,
        body: raw,
        headers: {
          ...json,
          'x-shopify-hmac-sha256': hmacBase64(secret, raw),
          'x-shopify-event-id': signing.id ?? '98880550-7158-44d4-b7cd-2c97c8a091b5',
          'x-shopify-topic': signing.type ?? 'orders/create',
          'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
          'x-shopify-triggered-at': new Date(timestamp * 1000).toISOString(),
        },
      };
    case 'hmac':
      return { path, body: raw, headers: hmacHeaders(declaration.options, secret, raw, signing) };
    case 'sigmate':
      return {
        path,
        body: raw,
        headers: {
          ...json,
          'x-sigmate-signature': `sha256=${hmacHex(secret, raw)}`,
          'x-sigmate-event': signing.type ?? 'signal.fired',
        },
      };
    case 'signifyd':
      return {
        path,
        body: raw,
        headers: {
          ...json,
          'signifyd-sec-hmac-sha256': hmacBase64(secret, raw),
          'signifyd-topic': signing.type ?? 'DECISION_MADE',
        },
      };
    case 'sigma': {
      const parsed = JSON.parse(secret) as {
        credentials: { apiKey: string; apiSecret: string }[];
        businessId: string;
      };
      const [credential] = parsed.credentials;
      if (credential === undefined) throw new Error('a Sigma secret needs a credential pair');
      return {
        path: `${path}/${signing.product ?? 'transaction-monitoring'}`,
        body: raw,
        headers: {
          ...json,
          'x-signature': hmacHex(`${credential.apiKey}${credential.apiSecret}`, parsed.businessId),
        },
      };
    }
  }
}
