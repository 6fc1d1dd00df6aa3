/**
 * The fuzz suite over declared providers: each served through the real handler of
 * functions/declared/handler.ts (`createLambdaHandler(adapterFromEnv(env), env)`) against
 * the emulators, and signed — or not quite — with the CLI's own signer. Malformed,
 * unsigned, tampered, stale and oversized requests: never a 2xx for anything not
 * correctly signed, only the contract's answers, one 401 for every signature failure.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Delivery, samplerFor } from '../../cli/samples/index.js';
import { markSynthetic } from '../../cli/send.js';
import { DEFAULT_TOLERANCE_SECONDS } from '../../functions/core/declaration.js';
import { createLambdaHandler } from '../../functions/core/lambda.js';
import type { WebhookHandler } from '../../functions/core/pipeline.js';
import { adapterFromEnv } from '../../functions/declared/adapter.js';
import {
  type ProviderDeclaration,
  providerDemoSecrets,
  SEED_PROVIDERS,
  serialiseProvider,
} from '../../functions/providers.js';
import { localEnv } from '../../local/endpoints.js';
import { LOCAL_REGION } from '../../local/ingress.js';
import { ensureIdempotencyTable, ensureQueuePair } from '../../local/resources.js';
import { DECLARED_PROVIDERS } from '../cli/cli-support.js';
import { apiEvent } from '../support/providers.js';
import {
  bodies,
  CONTRACT_CODES,
  CONTRACT_STATUSES,
  type Encoding,
  effectiveBody,
  type FuzzRequest,
  toEvent,
} from './requests.js';

/** The seeds under their own names have the seed suite (signatures.test.ts); the rest here. */
const DECLARED = DECLARED_PROVIDERS.filter(
  (declaration) => !SEED_PROVIDERS.some((seed) => seed.name === declaration.name),
);
const RUNS = 100;
const OVERSIZED = 300 * 1024;
const env = localEnv({}, DECLARED);

/** Where a scheme's signature is, what else it signs, and its replay window. */
interface SchemeFacts {
  /** Lower-case names of the headers a signature may travel in. */
  readonly signatureHeaders: readonly string[];
  /** Other headers the signature covers: removing one breaks it. */
  readonly signedHeaders: readonly string[];
  /** The tolerance of a signed timestamp; undefined without one. */
  readonly toleranceSeconds?: number | undefined;
  /** False for Sigma, whose signature covers the business id, not the body. */
  readonly coversBody: boolean;
}

function factsOf(declaration: ProviderDeclaration): SchemeFacts {
  const plain = (header: string) => ({
    signatureHeaders: [header],
    signedHeaders: [],
    coversBody: true,
  });
  switch (declaration.scheme) {
    case 'sigma':
      return { ...plain('x-signature'), coversBody: false };
    case 'sigmate':
      return plain('x-sigmate-signature');
    case 'signifyd':
      return {
        ...plain('x-signifyd-sec-hmac-sha256'),
        signatureHeaders: ['x-signifyd-sec-hmac-sha256', 'signifyd-sec-hmac-sha256'],
      };
    case 'github':
      return plain('x-hub-signature-256');
    case 'shopify':
      return plain('x-shopify-hmac-sha256');
    case 'stripe':
      return {
        ...plain('stripe-signature'),
        toleranceSeconds: declaration.options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
      };
    case 'standard-webhooks':
      return {
        signatureHeaders: ['webhook-signature', 'svix-signature'],
        signedHeaders: ['webhook-id', 'webhook-timestamp', 'svix-id', 'svix-timestamp'],
        toleranceSeconds: declaration.options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
        coversBody: true,
      };
    case 'hmac': {
      const { timestampHeader, toleranceSeconds, signatureHeader } = declaration.options;
      return {
        signatureHeaders: [signatureHeader],
        signedHeaders: timestampHeader === undefined ? [] : [timestampHeader],
        toleranceSeconds:
          timestampHeader === undefined
            ? undefined
            : (toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS),
        coversBody: true,
      };
    }
  }
}

/** One declared provider as the fuzzer plays it: its sender (the CLI's sampler) and facts. */
interface Sender {
  readonly declaration: ProviderDeclaration;
  readonly facts: SchemeFacts;
  /** A realistic body of a new event. */
  sample(): Buffer;
  /** The delivery of `body`, signed at `timestamp` — with a wrong secret when `wrong`. */
  sign(body: Buffer, timestamp: number, wrong?: boolean): Delivery;
}

function senderOf(declaration: ProviderDeclaration): Sender {
  const sampler = samplerFor(declaration);
  const secrets = sampler.secretsFromEnv(env);
  const sample = { sequence: 1, now: new Date(), uuid: randomUUID, product: 'aml' };
  return {
    declaration,
    facts: factsOf(declaration),
    sample: () => Buffer.from(markSynthetic(sampler.sampleBody(sample))),
    sign: (body, timestamp, wrong = false) =>
      sampler.sign(
        body,
        secrets,
        { ...sample, deliveryId: randomUUID() },
        {
          timestamp,
          badSignature: wrong,
        },
      ),
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A character that is another value in hex and in base64 alike: the bytes it encodes change. */
function flipped(text: string, at: number): string {
  if (text === '') return 'A';
  const index = at % text.length;
  const char = text.charAt(index);
  const hex = '0123456789abcdef';
  const next = hex.includes(char)
    ? hex.charAt((hex.indexOf(char) + 1) % 16)
    : char === 'A'
      ? 'B'
      : 'A';
  return `${text.slice(0, index)}${next}${text.slice(index + 1)}`;
}

type SignatureDraw =
  | 'correct'
  | 'wrong-secret'
  | 'other-body'
  | 'absent'
  | { readonly flip: number }
  | { readonly random: string };
type TimeDraw = 'fresh' | { readonly stale: number } | { readonly ahead: number };

interface DeclaredRequest extends FuzzRequest {
  /** Correctly signed, fresh, on the provider's route, its signed headers and bytes intact. */
  readonly valid: boolean;
  /** Correctly signed over the bytes the handler sees, but outside the tolerance. */
  readonly stale: boolean;
}

/** A request for `sender`: correct, tampered, unsigned, stale, malformed or oversized. */
function requests(sender: Sender): fc.Arbitrary<DeclaredRequest> {
  const { facts } = sender;
  return fc
    .record({
      body: fc.oneof(
        { weight: 1, arbitrary: bodies },
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constant(Buffer.alloc(OVERSIZED, 0xff)) },
      ),
      signature: fc.oneof(
        { weight: 5, arbitrary: fc.constant<SignatureDraw>('correct') },
        { weight: 1, arbitrary: fc.constant<SignatureDraw>('wrong-secret') },
        { weight: 1, arbitrary: fc.constant<SignatureDraw>('other-body') },
        { weight: 1, arbitrary: fc.constant<SignatureDraw>('absent') },
        { weight: 1, arbitrary: fc.nat(200).map((flip): SignatureDraw => ({ flip })) },
        {
          weight: 1,
          arbitrary: fc.string({ maxLength: 80 }).map((random): SignatureDraw => ({ random })),
        },
      ),
      time: fc.oneof(
        { weight: 4, arbitrary: fc.constant<TimeDraw>('fresh') },
        { weight: 1, arbitrary: fc.nat(86_400).map((stale): TimeDraw => ({ stale })) },
        { weight: 1, arbitrary: fc.nat(86_400).map((ahead): TimeDraw => ({ ahead })) },
      ),
      drop: fc.oneof(
        { weight: 5, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.nat(16) },
      ),
      svix: fc.boolean(),
      wrongPath: fc.oneof(
        { weight: 9, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      caseSeed: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
      encoding: fc.constantFrom<Encoding>(
        'text',
        'base64',
        'base64',
        'claims-base64',
        'hides-base64',
      ),
    })
    .map((draw): DeclaredRequest => {
      const body = draw.body ?? sender.sample();
      const tolerance = facts.toleranceSeconds;
      const offset =
        tolerance === undefined || draw.time === 'fresh'
          ? 0
          : 'stale' in draw.time
            ? -(tolerance + 1 + draw.time.stale)
            : tolerance + 1 + draw.time.ahead;
      const signed =
        draw.signature === 'other-body' ? Buffer.concat([body, Buffer.from('\n')]) : body;
      const delivery = sender.sign(
        signed,
        nowSeconds() + offset,
        draw.signature === 'wrong-secret',
      );
      let headers = Object.entries(delivery.headers);
      if (draw.svix && sender.declaration.scheme === 'standard-webhooks') {
        headers = headers.map(([name, value]) => [name.replace(/^webhook-/, 'svix-'), value]);
      }
      const { signature } = draw;
      headers = headers.flatMap(([name, value]): [string, string][] => {
        if (!facts.signatureHeaders.includes(name) || typeof signature === 'string') {
          return signature === 'absent' && facts.signatureHeaders.includes(name)
            ? []
            : [[name, value]];
        }
        return [[name, 'flip' in signature ? flipped(value, signature.flip) : signature.random]];
      });
      const dropped =
        draw.drop === undefined ? undefined : headers[draw.drop % headers.length]?.[0];
      if (dropped !== undefined) headers = headers.filter(([name]) => name !== dropped);
      const caseOf = (name: string) =>
        [...name].map((char, index) => (draw.caseSeed[index] ? char.toUpperCase() : char)).join('');
      const request: FuzzRequest = {
        path: draw.wrongPath ? `${delivery.path}x` : delivery.path,
        headers: headers.map(([name, value]) => [caseOf(name), value]),
        body,
        encoding: draw.encoding,
      };
      const signedRight =
        signature === 'correct' || (signature === 'other-body' && !facts.coversBody);
      const intact =
        !draw.wrongPath &&
        (dropped === undefined ||
          ![...facts.signatureHeaders, ...facts.signedHeaders].includes(dropped)) &&
        (!facts.coversBody || effectiveBody(request).equals(body));
      return {
        ...request,
        valid: signedRight && intact && offset === 0,
        stale: signedRight && intact && offset !== 0,
      };
    });
}

describe('fuzz: declared providers through the declared handler', () => {
  const emulators = inject('emulators');
  const handlers = new Map<string, WebhookHandler>();
  const prefix = `fz${randomUUID().slice(0, 8)}`;
  // The handler signs with the environment's credentials, as in Lambda; DynamoDB Local
  // keeps a database per access key, so the table is made with the same ones.
  const credentials = fromEnv();
  const dynamodb = new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint: emulators.dynamodb,
    credentials,
  });
  const sqs = new SQSClient({ region: LOCAL_REGION, endpoint: emulators.sqs, credentials });

  beforeAll(async () => {
    const table = `${prefix}-idempotency`;
    await ensureIdempotencyTable(dynamodb, table);
    for (const declaration of DECLARED) {
      const queue = await ensureQueuePair(sqs, `${prefix}-${declaration.name}`);
      // The function's environment as the construct sets it, its secret as npm start's.
      const functionEnv = {
        WEBHOOK_PROVIDER: serialiseProvider(declaration),
        WEBHOOK_TABLE_NAME: table,
        WEBHOOK_QUEUE_URL: queue.queueUrl,
        AWS_REGION: LOCAL_REGION,
        AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodb,
        AWS_ENDPOINT_URL_SQS: emulators.sqs,
        ...providerDemoSecrets(declaration),
      };
      handlers.set(declaration.name, createLambdaHandler(adapterFromEnv(functionEnv), functionEnv));
    }
  });
  afterAll(() => {
    dynamodb.destroy();
    sqs.destroy();
  });

  const call = (name: string, event: unknown) => {
    const handler = handlers.get(name);
    if (!handler) throw new Error(`${name} is not served`);
    return handler(event, { getRemainingTimeInMillis: () => 4_000 });
  };
  const senders = DECLARED.map(
    (declaration) => [declaration.name, declaration.scheme, senderOf(declaration)] as const,
  );

  /** The contract's shape, whatever the request: a listed code and status, JSON, no 5xx. */
  function expectContractAnswer(answer: {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
  }) {
    expect(CONTRACT_CODES.has(answer.statusCode)).toBe(true);
    expect(answer.statusCode).toBeLessThan(500);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(answer.body) as { status?: unknown };
    expect(CONTRACT_STATUSES.has(String(body.status))).toBe(true);
    return body;
  }

  it.each(senders)(
    '%s (%s): never 2xx unless correctly signed and fresh, one 401 for every failure',
    async (name, _scheme, sender) => {
      const rejections = new Set<string>();
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(requests(sender), async (request) => {
          const answer = await call(name, toEvent(request));
          seen.add(answer.statusCode);
          const body = expectContractAnswer(answer);
          if (answer.statusCode === 200) {
            expect(request.valid).toBe(true);
            expect(body.status).toMatch(/^(accepted|duplicate)$/);
          }
          if (request.valid) expect(answer.statusCode).not.toBe(401);
          // Correctly signed, too old or too new: refused as a bad signature, unless too large.
          if (request.stale && effectiveBody(request).length <= 256 * 1024) {
            expect(answer.statusCode).toBe(401);
          }
          if (answer.statusCode === 401)
            rejections.add(JSON.stringify([answer.body, answer.headers]));
        }),
        { numRuns: RUNS },
      );
      expect(rejections.size).toBe(1);
      expect([...seen]).toEqual(expect.arrayContaining([200, 401, 413]));
    },
  );

  it.each(senders)(
    '%s (%s): its sample is accepted once, then duplicate; tampered, stale or oversized, refused',
    async (name, _scheme, sender) => {
      const post = (delivery: Delivery, body = delivery.body) =>
        call(
          name,
          apiEvent({ path: delivery.path, headers: Object.entries(delivery.headers), body }),
        );
      const body = sender.sample();
      const delivery = sender.sign(body, nowSeconds());
      const first = await post(delivery);
      expect(JSON.parse(first.body)).toMatchObject({ status: 'accepted' });
      const again = await post(delivery);
      expect(JSON.parse(again.body)).toEqual({
        status: 'duplicate',
        id: JSON.parse(first.body).id,
      });
      const refusals = [
        await post(sender.sign(body, nowSeconds(), true)),
        await post({ ...delivery, headers: { 'content-type': 'application/json' } }),
      ];
      if (sender.facts.coversBody) {
        refusals.push(await post(delivery, Buffer.from(body.toString().replace('"', '"x'))));
      }
      const tolerance = sender.facts.toleranceSeconds;
      if (tolerance !== undefined) {
        refusals.push(await post(sender.sign(sender.sample(), nowSeconds() - tolerance - 1)));
        refusals.push(await post(sender.sign(sender.sample(), nowSeconds() + tolerance + 60)));
      }
      for (const answer of refusals) expectContractAnswer(answer);
      expect(new Set(refusals.map((answer) => `${answer.statusCode} ${answer.body}`))).toEqual(
        new Set([`401 ${refusals[0]?.body}`]),
      );
      const large = Buffer.from(JSON.stringify({ id: 'evt_large', pad: 'x'.repeat(OVERSIZED) }));
      expect((await post(sender.sign(large, nowSeconds()))).statusCode).toBe(413);
    },
  );

  it('answers anything at all through a declared handler without a 2xx or a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.anything(),
        fc.constantFrom(...DECLARED.map((d) => d.name)),
        async (event, name) => {
          const answer = await call(name, event);
          expectContractAnswer(answer);
          expect(answer.statusCode).not.toBe(200);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
