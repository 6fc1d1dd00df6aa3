import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ProviderName } from '../../functions/registry.js';
import { Rig } from '../support/faults.js';
import {
  apiEvent,
  normalisedHeaders,
  type ProviderFixture,
  registeredFixtures,
} from '../support/providers.js';
import {
  bodies,
  CONTRACT_CODES,
  CONTRACT_STATUSES,
  type Encoding,
  effectiveBody,
  type FuzzRequest,
  RUNS,
  toEvent,
} from './requests.js';

/** A request for `fixture`, with a correct, near-miss, random or missing signature. */
function requests(fixture: ProviderFixture): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      // Weighted so that a run of RUNS draws reaches both a verified delivery (about one
      // draw in thirteen: a correct signature, the provider's body, no duplicated header,
      // an honest encoding) and an oversized body (one in five) many times over, not by
      // luck: unweighted, one run in forty saw no verified delivery.
      body: fc.oneof(
        { weight: 1, arbitrary: bodies },
        {
          weight: 3,
          arbitrary: fc.string({ maxLength: 12 }).map((seed) => fixture.event(seed).body),
        },
        { weight: 1, arbitrary: fc.constant(Buffer.alloc(300 * 1024, 0xff)) },
      ),
      pathIndex: fc.nat(5),
      signature: fc.oneof(
        { weight: 3, arbitrary: fc.constant('correct' as const) },
        { weight: 1, arbitrary: fc.nat(40).map((index) => ({ nearMiss: index })) },
        { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map((text) => ({ random: text })) },
        { weight: 1, arbitrary: fc.constant('absent' as const) },
      ),
      duplicateSignature: fc.boolean(),
      caseSeed: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
      hugeHeader: fc.oneof(fc.constant(0), fc.constant(64 * 1024)),
      encoding: fc.constantFrom<Encoding>('text', 'base64', 'claims-base64', 'hides-base64'),
      topicTest: fc.boolean(),
    })
    .map((draw) => {
      const signed = fixture.sign(draw.body, draw.pathIndex);
      const caseOf = (name: string) =>
        [...name].map((char, index) => (draw.caseSeed[index] ? char.toUpperCase() : char)).join('');
      const misses = fixture.nearMisses(draw.body);
      const headers: [string, string][] = [];
      for (const [name, value] of signed.headers) {
        const isSignature = fixture.signatureHeaders.includes(name);
        if (!isSignature) {
          const topic = name.endsWith('topic') && draw.topicTest ? 'cases/test' : value;
          headers.push([caseOf(name), topic]);
          continue;
        }
        const { signature } = draw;
        if (signature === 'absent') continue;
        const chosen =
          signature === 'correct'
            ? value
            : 'nearMiss' in signature
              ? (misses[signature.nearMiss % misses.length] ?? '')
              : signature.random;
        headers.push([caseOf(name), chosen]);
        if (draw.duplicateSignature) headers.push([name, chosen]);
      }
      if (draw.hugeHeader > 0) headers.push(['x-filler', 'f'.repeat(draw.hugeHeader)]);
      return { path: signed.path, headers, body: draw.body, encoding: draw.encoding };
    });
}

const fixtures = registeredFixtures();

describe('fuzz: signatures and the normaliser, per registered provider', () => {
  const emulators = inject('emulators');
  let rig: Rig;
  beforeAll(async () => {
    rig = await Rig.create(emulators);
  });
  afterAll(() => rig?.close());

  it.each(fixtures.map((fixture) => [fixture.provider, fixture] as const))(
    '%s: never 2xx without a valid signature, always a contract answer, one 401 body',
    async (_name, fixture) => {
      const rejections = new Set<string>();
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(requests(fixture), async (request) => {
          const answer = await rig.call(fixture.provider, toEvent(request));
          seen.add(answer.statusCode);
          expect(CONTRACT_CODES.has(answer.statusCode)).toBe(true);
          expect(answer.statusCode).toBeLessThan(500);
          expect(answer.headers['content-type']).toMatch(/^application\/json/);
          const body = JSON.parse(answer.body) as { status?: unknown };
          expect(CONTRACT_STATUSES.has(String(body.status))).toBe(true);
          const verdict = fixture.verdict(
            normalisedHeaders(request.headers),
            effectiveBody(request),
          );
          if (answer.statusCode === 200) {
            if (body.status === 'ignored') expect(verdict).not.toBe('invalid');
            else expect(verdict).toBe('valid');
          }
          if (answer.statusCode === 401) {
            rejections.add(JSON.stringify([answer.body, answer.headers]));
          }
          // A correct signature over a small body is never refused as a signature failure.
          if (verdict === 'valid') expect(answer.statusCode).not.toBe(401);
        }),
        { numRuns: RUNS },
      );
      expect(rejections.size).toBe(1);
      // The generators reach both sides of the line: some deliveries verify, some do not.
      expect([...seen]).toEqual(expect.arrayContaining([200, 401, 413]));
    },
  );

  it.each(fixtures.map((fixture) => [fixture.provider, fixture] as const))(
    '%s: refuses every near-miss signature with the one 401 answer',
    async (_name, fixture) => {
      const delivery = fixture.event(`near-${Date.now()}`);
      const answers = new Set<string>();
      for (const miss of fixture.nearMisses(delivery.body)) {
        const headers = delivery.headers.map(([name, value]): [string, string] => [
          name,
          fixture.signatureHeaders.includes(name) ? miss : value,
        ]);
        if (fixture.verdict(normalisedHeaders(headers), delivery.body) !== 'invalid') continue;
        const answer = await rig.call(fixture.provider, apiEvent({ ...delivery, headers }));
        expect(answer.statusCode, `near miss ${JSON.stringify(miss)}`).toBe(401);
        answers.add(JSON.stringify([answer.body, answer.headers]));
      }
      expect(answers.size).toBe(1);
    },
  );

  it.each(fixtures.map((fixture) => [fixture.provider, fixture] as const))(
    '%s: accepts its correctly signed event whatever the case of the header names',
    async (_name, fixture) => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ minLength: 1, maxLength: 16 }),
          fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
          async (seed, upper) => {
            const delivery = fixture.event(`case-${Date.now()}-${seed}`);
            const headers = delivery.headers.map(([name, value]): [string, string] => [
              [...name].map((char, index) => (upper[index] ? char.toUpperCase() : char)).join(''),
              value,
            ]);
            const answer = await rig.call(fixture.provider, apiEvent({ ...delivery, headers }));
            expect(answer.statusCode).toBe(200);
            expect(JSON.parse(answer.body).status).toMatch(/^(accepted|duplicate)$/);
          },
        ),
        { numRuns: 20 },
      );
    },
  );

  it('answers any well-formed API Gateway event with a contract status and never a 5xx', async () => {
    const providers = fixtures.map((fixture) => fixture.provider);
    const headerBag = fc.dictionary(
      fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('X-Signature', 'x-sigmate-signature')),
      fc.string({ maxLength: 80 }),
      { maxKeys: 6 },
    );
    const events = fc.oneof(
      fc.record({
        version: fc.constant('2.0'),
        rawPath: fc.oneof(
          fc.constantFrom('/webhooks/sigmate', '/webhooks/sigma/aml', '/webhooks/signifyd', '/'),
          fc.string({ maxLength: 40 }).map((path) => `/${path}`),
        ),
        headers: headerBag,
        cookies: fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
        requestContext: fc.record({
          http: fc.record({
            method: fc.constantFrom('POST', 'GET', 'post', 'PUT', 'DELETE', ''),
            sourceIp: fc.constantFrom('127.0.0.1', '::1', ''),
          }),
          requestId: fc.string({ maxLength: 10 }),
          stage: fc.constantFrom('$default', 'prod', ''),
        }),
        body: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
        isBase64Encoded: fc.boolean(),
      }),
      fc.record({
        httpMethod: fc.constantFrom('POST', 'GET', 'OPTIONS'),
        path: fc.constantFrom(
          '/webhooks/sigmate',
          '/webhooks/sigma/cdd',
          '/webhooks/signifyd',
          '/x',
        ),
        headers: headerBag,
        multiValueHeaders: fc.dictionary(
          fc.string({ maxLength: 20 }),
          fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }),
          { maxKeys: 4 },
        ),
        requestContext: fc.record({
          requestId: fc.string({ maxLength: 10 }),
          identity: fc.record({ sourceIp: fc.constantFrom('127.0.0.1', '10.0.0.1') }),
        }),
        body: fc.option(fc.string({ maxLength: 200 }), { nil: null }),
        isBase64Encoded: fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(events, fc.constantFrom(...providers), async (event, provider) => {
        const answer = await rig.call(provider as ProviderName, event);
        expect(CONTRACT_CODES.has(answer.statusCode)).toBe(true);
        expect(answer.statusCode).toBeLessThan(500);
        expect(answer.statusCode).not.toBe(200);
        expect(CONTRACT_STATUSES.has(JSON.parse(answer.body).status)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers anything at all without throwing, and never with a 2xx', async () => {
    const provider = fixtures[0]?.provider ?? 'sigmate';
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (event) => {
        const answer = await rig.call(provider, event);
        expect(CONTRACT_CODES.has(answer.statusCode)).toBe(true);
        expect(answer.statusCode).not.toBe(200);
        expect(CONTRACT_STATUSES.has(JSON.parse(answer.body).status)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
