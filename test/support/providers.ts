/**
 * Per-provider fixtures for the reliability and fuzz suites: secrets, a signer
 * written from the contract (not from the adapters), near-miss signatures, and
 * an oracle that says whether a request carries a valid signature.
 */
import { createHash, createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ProviderName } from '../../functions/registry.js';
import { providerAdapters } from '../../functions/registry.js';

/** A request as the handler will see it: path, header list (names as sent) and raw body. */
export interface Delivery {
  readonly provider: ProviderName;
  readonly path: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** The event's identity for counting: provider plus what the contract keys on. */
  readonly eventKey: string;
}

/** What a signature oracle says about a request. */
export type SignatureVerdict = 'valid' | 'public-test' | 'invalid';

export interface ProviderFixture {
  readonly provider: ProviderName;
  /** The contract's local secret variables for this provider. */
  readonly env: Readonly<Record<string, string>>;
  /** Every configured secret and every HMAC key derived from them: none may be logged. */
  readonly secretValues: readonly string[];
  /** Lower-case names of the headers that carry a signature. */
  readonly signatureHeaders: readonly string[];
  /** A correctly signed delivery of a new event; `seed` makes it unique. */
  event(seed: string): Delivery;
  /** A correctly signed delivery of an arbitrary body. */
  sign(body: Buffer, pathIndex?: number): Delivery;
  /** Signature header values that look right but are not (wrong key, encoding, prefix, length…). */
  nearMisses(body: Buffer): string[];
  /** The contract's verdict on a request's signature (headers by lower-case name, joined by `,`). */
  verdict(headers: Readonly<Record<string, string>>, body: Buffer): SignatureVerdict;
}

const hmac = (key: string, data: string | Buffer) => createHmac('sha256', key).update(data);
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const trimmed = (value: string | undefined) => value?.trim() ?? '';

/** Secrets used by these suites: distinctive, so a leak is found by a plain substring search. */
export const FixtureSecrets = {
  sigmaApiKey: 'fx-sigma-key-5d1e3c',
  sigmaApiSecret: 'fx-sigma-secret-9a7b21',
  sigmaBusinessId: 'fx-sigma-business-77c0',
  sigmateSecret: 'fx-sigmate-secret-4e8f62',
  signifydApiKey: 'fx-signifyd-key-b3a915',
} as const;

function sigmateFixture(): ProviderFixture {
  const secret = FixtureSecrets.sigmateSecret;
  const signature = (body: Buffer) => `sha256=${hmac(secret, body).digest('hex')}`;
  const sign = (body: Buffer, event = 'signal.fired'): Delivery => {
    let key: string;
    try {
      key = String(JSON.parse(body.toString('utf8')).id);
    } catch {
      key = sha256(body);
    }
    return {
      provider: 'sigmate',
      path: '/webhooks/sigmate',
      headers: [
        ['content-type', 'application/json'],
        ['x-sigmate-signature', signature(body)],
        ['x-sigmate-event', event],
      ],
      body,
      eventKey: `sigmate#${key}`,
    };
  };
  return {
    provider: 'sigmate',
    env: { SIGMATE_WEBHOOK_SECRET: secret },
    secretValues: [secret],
    signatureHeaders: ['x-sigmate-signature'],
    event: (seed) =>
      sign(Buffer.from(JSON.stringify({ id: `evt-${seed}`, signal: { score: 0.5, seed } }))),
    sign: (body) => sign(body),
    nearMisses(body) {
      const good = hmac(secret, body).digest();
      const hex = good.toString('hex');
      return [
        hex,
        `sha256=${hex.slice(0, 63)}`,
        `sha256=${hex.slice(0, 32)}`,
        `sha256=sha256=${hex}`,
        `sha1=${hex}`,
        `SHA256=${hex}`,
        `sha256=${good.toString('base64')}`,
        `sha256=${good.toString('base64url')}`,
        `sha256=${hex}0`,
        `sha256=${hex} `.repeat(2).trim(),
        `sha256=${hex},sha256=${hex}`,
        `sha256=${hmac(`${secret}x`, body).digest('hex')}`,
        `sha256=${sha256(body)}`,
        `sha256=${hmac(secret, Buffer.concat([body, Buffer.from('\n')])).digest('hex')}`,
        `sha256=${'0'.repeat(64)}`,
        'sha256=',
        '',
      ];
    },
    verdict(headers, body) {
      const match = /^sha256=([0-9a-fA-F]{64})$/.exec(trimmed(headers['x-sigmate-signature']));
      if (!match?.[1]) return 'invalid';
      return Buffer.from(match[1], 'hex').equals(hmac(secret, body).digest()) ? 'valid' : 'invalid';
    },
  };
}

export const SIGMA_PRODUCTS = ['transaction-monitoring', 'aml', 'cdd'] as const;

function sigmaFixture(): ProviderFixture {
  const { sigmaApiKey: apiKey, sigmaApiSecret: apiSecret, sigmaBusinessId } = FixtureSecrets;
  const key = `${apiKey}${apiSecret}`;
  const signature = hmac(key, sigmaBusinessId).digest('hex');
  const sign = (body: Buffer, pathIndex = 0): Delivery => {
    const product = SIGMA_PRODUCTS[pathIndex % SIGMA_PRODUCTS.length] ?? 'aml';
    return {
      provider: 'sigma',
      path: `/webhooks/sigma/${product}`,
      headers: [
        ['content-type', 'application/json'],
        ['x-signature', signature],
      ],
      body,
      eventKey: `sigma#${product}:${sha256(body)}`,
    };
  };
  return {
    provider: 'sigma',
    env: {
      SIGMA_API_KEY: apiKey,
      SIGMA_API_SECRET: apiSecret,
      SIGMA_BUSINESS_ID: sigmaBusinessId,
    },
    secretValues: [apiKey, apiSecret, key],
    signatureHeaders: ['x-signature'],
    event: (seed) =>
      sign(
        Buffer.from(
          JSON.stringify({
            event: 'transaction.decision',
            timestamp: '2026-01-15T14:30:00.000Z',
            data: { transaction_id: `txn-${seed}`, action: 'REVIEW' },
          }),
        ),
        seed.length,
      ),
    sign,
    nearMisses(body) {
      return [
        sha256(`${key}${sigmaBusinessId}`),
        hmac(key, body).digest('hex'),
        hmac(apiKey, sigmaBusinessId).digest('hex'),
        hmac(`${apiKey}:${apiSecret}`, sigmaBusinessId).digest('hex'),
        hmac(`${apiSecret}${apiKey}`, sigmaBusinessId).digest('hex'),
        signature.slice(0, 63),
        `sha256=${signature}`,
        Buffer.from(signature, 'hex').toString('base64'),
        `${signature},${signature}`,
        `${signature}00`,
        '0'.repeat(64),
        '',
      ];
    },
    verdict(headers) {
      const value = trimmed(headers['x-signature']);
      return /^[0-9a-fA-F]{64}$/.test(value) && value.toLowerCase() === signature
        ? 'valid'
        : 'invalid';
    },
  };
}

const SIGNIFYD_PUBLIC_KEY = 'ABCDE';

function signifydFixture(): ProviderFixture {
  const apiKey = FixtureSecrets.signifydApiKey;
  const sign = (body: Buffer, pathIndex = 0, topic = 'cases/creation'): Delivery => {
    const v3 = pathIndex % 2 === 1;
    return {
      provider: 'signifyd',
      path: '/webhooks/signifyd',
      headers: [
        ['content-type', 'application/json'],
        [
          v3 ? 'signifyd-sec-hmac-sha256' : 'x-signifyd-sec-hmac-sha256',
          hmac(apiKey, body).digest('base64'),
        ],
        [v3 ? 'signifyd-topic' : 'x-signifyd-topic', topic],
      ],
      body,
      // The body alone: the topic is not signed, so it does not make another event.
      eventKey: `signifyd#${sha256(body)}`,
    };
  };
  const decode = (value: string | undefined): Buffer | undefined => {
    const text = trimmed(value);
    if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return undefined;
    const bytes = Buffer.from(text, 'base64');
    return bytes.toString('base64') === text ? bytes : undefined;
  };
  return {
    provider: 'signifyd',
    env: { SIGNIFYD_API_KEY: apiKey },
    secretValues: [apiKey],
    signatureHeaders: ['x-signifyd-sec-hmac-sha256', 'signifyd-sec-hmac-sha256'],
    event: (seed) =>
      sign(
        Buffer.from(JSON.stringify({ orderId: `order-${seed}`, caseId: seed, score: 812.5 })),
        seed.length,
      ),
    sign: (body, pathIndex) => sign(body, pathIndex),
    nearMisses(body) {
      const good = hmac(apiKey, body).digest();
      return [
        good.toString('hex'),
        good.toString('base64url'),
        good.toString('base64').replace(/=+$/, ''),
        good.toString('base64').slice(0, 40),
        `sha256=${good.toString('base64')}`,
        `${good.toString('base64')},${good.toString('base64')}`,
        hmac(SIGNIFYD_PUBLIC_KEY, body).digest('base64'),
        hmac(apiKey, Buffer.concat([body, Buffer.from(' ')])).digest('base64'),
        createHash('sha256').update(body).digest('base64'),
        Buffer.alloc(32).toString('base64'),
        '',
      ];
    },
    verdict(headers, body) {
      const digests = [
        headers['x-signifyd-sec-hmac-sha256'],
        headers['signifyd-sec-hmac-sha256'],
      ].map(decode);
      if (digests.some((digest) => digest?.equals(hmac(apiKey, body).digest()))) return 'valid';
      const topic = trimmed(headers['x-signifyd-topic'] ?? headers['signifyd-topic']);
      if (
        topic === 'cases/test' &&
        digests.some((digest) => digest?.equals(hmac(SIGNIFYD_PUBLIC_KEY, body).digest()))
      ) {
        return 'public-test';
      }
      return 'invalid';
    },
  };
}

const builders: Record<ProviderName, () => ProviderFixture> = {
  sigma: sigmaFixture,
  sigmate: sigmateFixture,
  signifyd: signifydFixture,
};

/** Fixtures of every provider registered in functions/registry.ts; unregistered ones are left out. */
export function registeredFixtures(): ProviderFixture[] {
  return (Object.keys(builders) as ProviderName[])
    .filter((provider) => providerAdapters[provider] !== undefined)
    .map((provider) => builders[provider]());
}

/** The fixture of one provider, or undefined when it is not registered yet. */
export function fixtureFor(provider: ProviderName): ProviderFixture | undefined {
  return providerAdapters[provider] ? builders[provider]() : undefined;
}

/** Every fixture's secrets as one environment. */
export function fixtureEnv(): Record<string, string> {
  return Object.assign({}, ...Object.values(builders).map((build) => build().env));
}

/** Headers as the core normalises them: lower-case names, repeats joined with `,`. */
export function normalisedHeaders(
  headers: ReadonlyArray<readonly [string, string]>,
): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
  }
  return out;
}

/** The API Gateway HTTP API (payload 2.0) event for a delivery, as in AWS. */
export function apiEvent(
  delivery: Pick<Delivery, 'path' | 'headers' | 'body'>,
  options: { base64?: boolean; method?: string; sourceIp?: string } = {},
): APIGatewayProxyEventV2 {
  const base64 = options.base64 ?? false;
  const method = options.method ?? 'POST';
  const headers: Record<string, string> = {};
  for (const [name, value] of delivery.headers) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]},${value}`;
  }
  return {
    version: '2.0',
    routeKey: `${method} ${delivery.path}`,
    rawPath: delivery.path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'fuzz',
      domainName: 'fuzz.local',
      domainPrefix: 'fuzz',
      http: {
        method,
        path: delivery.path,
        protocol: 'HTTP/1.1',
        sourceIp: options.sourceIp ?? '127.0.0.1',
        userAgent: 'fuzz',
      },
      requestId: 'fuzz-request',
      routeKey: `${method} ${delivery.path}`,
      stage: '$default',
      time: '15/Jan/2026:14:30:00 +0000',
      timeEpoch: 0,
    },
    body: base64 ? delivery.body.toString('base64') : delivery.body.toString('utf8'),
    isBase64Encoded: base64,
  };
}
