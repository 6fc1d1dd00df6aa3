import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.js';
import { sha256Hex } from '../../functions/core/crypto.js';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../../functions/core/errors.js';
import { normaliseEvent, type WebhookRequest } from '../../functions/core/http.js';
import type { Verification } from '../../functions/core/provider.js';
import { providerAdapters } from '../../functions/registry.js';
import {
  createSignifydAdapter,
  SIGNIFYD_FORWARD_TEST_EVENTS_ENV,
  type SignifydSecrets,
} from '../../functions/signifyd/adapter.js';
import { SignifydVectors, signedSignifyd } from '../fixtures/signifyd.js';

const { v2, v3, publicTest, base64Body } = SignifydVectors;
const adapter = createSignifydAdapter();
const secrets: SignifydSecrets = { apiKeys: [v2.key, v3.key] };

/** The API Gateway HTTP API event for a delivery, through the core's normaliser. */
function request(
  body: string,
  headers: Record<string, string>,
  options: { isBase64Encoded?: boolean } = {},
): WebhookRequest {
  return normaliseEvent({
    version: '2.0',
    rawPath: '/webhooks/signifyd',
    headers,
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      requestId: 'r-1',
      stage: '$default',
      http: { method: 'POST', path: '/webhooks/signifyd', sourceIp: '192.0.2.1' },
    },
  });
}

function failure(action: () => unknown): SignatureFailure | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof SignatureVerificationError) return error.detail;
    throw error;
  }
  return undefined;
}

function describeRequest(req: WebhookRequest, verification: Verification = {}, chosen = adapter) {
  const text = req.body.toString('utf8');
  return chosen.describe({
    request: req,
    route: {},
    verification,
    body: JSON.parse(text),
    bodySha256: sha256Hex(req.body),
  });
}

describe('signifyd: known-answer vectors', () => {
  it('verifies the API v2 vector computed with openssl', () => {
    const req = request(v2.body, {
      'X-SIGNIFYD-SEC-HMAC-SHA256': v2.signature,
      'X-SIGNIFYD-TOPIC': v2.topic,
    });
    expect(adapter.verify(req, secrets, {})).toEqual({});
    expect(describeRequest(req)).toEqual({
      kind: 'event',
      type: 'cases/creation',
      idempotencyKey: v2.bodySha256,
      subject: '1',
    });
  });

  it('verifies the API v3 vector and takes the checkpoint as the type when there is no topic', () => {
    const req = request(v3.body, {
      'SIGNIFYD-SEC-HMAC-SHA256': v3.signature,
      'SIGNIFYD-CHECKPOINT': v3.checkpoint,
    });
    expect(adapter.verify(req, secrets, {})).toEqual({});
    expect(describeRequest(req)).toEqual({
      kind: 'event',
      type: 'SALE',
      idempotencyKey: v3.bodySha256,
      subject: '4711',
    });
  });

  it('matches header names in any case', () => {
    for (const [signatureName, topicName] of [
      ['x-signifyd-sec-hmac-sha256', 'x-signifyd-topic'],
      ['X-Signifyd-Sec-Hmac-Sha256', 'X-Signifyd-Topic'],
      ['Signifyd-Sec-Hmac-Sha256', 'sIgNiFyD-tOpIc'],
    ] as const) {
      const req = request(v2.body, { [signatureName]: v2.signature, [topicName]: v2.topic });
      expect(adapter.verify(req, secrets, {})).toEqual({});
      expect(describeRequest(req).type).toBe('cases/creation');
    }
  });

  it('verifies an isBase64Encoded body over the decoded bytes', () => {
    const req = request(
      base64Body.bodyBase64,
      { 'X-SIGNIFYD-SEC-HMAC-SHA256': base64Body.signature, 'X-SIGNIFYD-TOPIC': base64Body.topic },
      { isBase64Encoded: true },
    );
    expect(req.body.toString('utf8')).toBe(base64Body.body);
    expect(adapter.verify(req, secrets, {})).toEqual({});
    expect(describeRequest(req)).toMatchObject({
      idempotencyKey: base64Body.bodySha256,
    });
  });

  it('verifies the dashboard test ping signed with the public key ABCDE', () => {
    const req = request(publicTest.body, {
      'X-SIGNIFYD-SEC-HMAC-SHA256': publicTest.signature,
      'X-SIGNIFYD-TOPIC': publicTest.topic,
    });
    expect(adapter.verify(req, secrets, {})).toEqual({ publicTestKey: true });
    expect(describeRequest(req, { publicTestKey: true })).toEqual({
      kind: 'ignored',
      type: 'cases/test',
      reason: 'signifyd test webhook',
    });
  });
});

describe('signifyd: verify', () => {
  const good = () => signedSignifyd(v2.body, v2.key, { topic: 'cases/rescore' });

  it('accepts any key of a rotation set', () => {
    const delivery = signedSignifyd(v3.body, v3.key, { api: 'v3', topic: 'cases/rescore' });
    expect(adapter.verify(request(v3.body, delivery.headers), secrets, {})).toEqual({});
    expect(
      failure(() => adapter.verify(request(v3.body, delivery.headers), { apiKeys: [v2.key] }, {})),
    ).toBe(SignatureFailure.Mismatch);
  });

  it('refuses a delivery with no signature header', () => {
    const req = request(v2.body, { 'X-SIGNIFYD-TOPIC': 'cases/rescore' });
    expect(failure(() => adapter.verify(req, secrets, {}))).toBe(SignatureFailure.Missing);
  });

  it('refuses an empty signature header as missing', () => {
    const req = request(v2.body, { 'X-SIGNIFYD-SEC-HMAC-SHA256': ' ', 'X-SIGNIFYD-TOPIC': 'x' });
    expect(failure(() => adapter.verify(req, secrets, {}))).toBe(SignatureFailure.Missing);
  });

  it('refuses a hex signature as malformed', () => {
    const { headers } = good();
    const hex = Buffer.from(v2.signature, 'base64').toString('hex');
    const req = request(v2.body, { ...headers, 'X-SIGNIFYD-SEC-HMAC-SHA256': hex });
    expect(failure(() => adapter.verify(req, secrets, {}))).toBe(SignatureFailure.Malformed);
  });

  it('refuses a non-canonical base64 spelling of the right digest', () => {
    // The last character carries two unused bits; flipping them keeps the decoded bytes.
    const last = v2.signature.at(-2) ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const flipped = alphabet[alphabet.indexOf(last) ^ 1] ?? '';
    const spelling = `${v2.signature.slice(0, -2)}${flipped}=`;
    expect(Buffer.from(spelling, 'base64')).toEqual(Buffer.from(v2.signature, 'base64'));
    const req = request(v2.body, {
      'X-SIGNIFYD-SEC-HMAC-SHA256': spelling,
      'X-SIGNIFYD-TOPIC': v2.topic,
    });
    expect(failure(() => adapter.verify(req, secrets, {}))).toBe(SignatureFailure.Malformed);
  });

  it('refuses a signature made with another key', () => {
    const { headers } = signedSignifyd(v2.body, 'not-the-team-key', { topic: 'cases/rescore' });
    expect(failure(() => adapter.verify(request(v2.body, headers), secrets, {}))).toBe(
      SignatureFailure.Mismatch,
    );
  });

  it('refuses a signature over a re-serialised body', () => {
    const { headers } = good();
    const reserialised = JSON.stringify(JSON.parse(v2.body), null, 1);
    expect(failure(() => adapter.verify(request(reserialised, headers), secrets, {}))).toBe(
      SignatureFailure.Mismatch,
    );
  });

  it('accepts either header when both generations are sent, as long as both are well-formed', () => {
    const wrong = signedSignifyd(v2.body, 'not-the-team-key').headers['X-SIGNIFYD-SEC-HMAC-SHA256'];
    const both = {
      'X-SIGNIFYD-SEC-HMAC-SHA256': wrong ?? '',
      'SIGNIFYD-SEC-HMAC-SHA256': v2.signature,
      'SIGNIFYD-TOPIC': v2.topic,
    };
    expect(adapter.verify(request(v2.body, both), secrets, {})).toEqual({});
    const malformed = { ...both, 'X-SIGNIFYD-SEC-HMAC-SHA256': 'not base64' };
    expect(failure(() => adapter.verify(request(v2.body, malformed), secrets, {}))).toBe(
      SignatureFailure.Malformed,
    );
  });

  it('refuses the public key ABCDE on a real topic', () => {
    const { headers } = signedSignifyd(v2.body, 'ABCDE', { topic: 'cases/creation' });
    expect(failure(() => adapter.verify(request(v2.body, headers), secrets, {}))).toBe(
      SignatureFailure.PublicTestKeyOnRealTopic,
    );
  });

  it('refuses the public key ABCDE with a checkpoint only, or with no type at all', () => {
    for (const signing of [{ api: 'v3', checkpoint: 'SALE' }, { api: 'v3' }] as const) {
      const { headers } = signedSignifyd(v3.body, 'ABCDE', signing);
      expect(failure(() => adapter.verify(request(v3.body, headers), secrets, {}))).toBe(
        SignatureFailure.PublicTestKeyOnRealTopic,
      );
    }
  });

  it('refuses the public key ABCDE when the two topic headers disagree', () => {
    const { headers } = signedSignifyd(v2.body, 'ABCDE', { topic: 'cases/test' });
    const req = request(v2.body, { ...headers, 'SIGNIFYD-TOPIC': 'cases/creation' });
    expect(failure(() => adapter.verify(req, secrets, {}))).toBe(
      SignatureFailure.PublicTestKeyOnRealTopic,
    );
  });

  it('accepts the test topic under API v3 headers too', () => {
    const { headers } = signedSignifyd(publicTest.body, 'ABCDE', {
      api: 'v3',
      topic: 'cases/test',
    });
    expect(adapter.verify(request(publicTest.body, headers), secrets, {})).toEqual({
      publicTestKey: true,
    });
  });

  it('prefers a team-key match over the public key', () => {
    const req = request(publicTest.body, {
      'X-SIGNIFYD-SEC-HMAC-SHA256': publicTest.teamSignature,
      'X-SIGNIFYD-TOPIC': 'cases/test',
    });
    expect(adapter.verify(req, secrets, {})).toEqual({});
  });
});

describe('signifyd: describe', () => {
  const headersFor = (extra: Record<string, string>) => ({
    'X-SIGNIFYD-SEC-HMAC-SHA256': v2.signature,
    ...extra,
  });

  it('keys every event by the SHA-256 of the raw body alone, whatever its type', () => {
    const result = describeRequest(
      request(v2.body, headersFor({ 'X-SIGNIFYD-TOPIC': 'claims/paid' })),
    );
    expect(result).toEqual({
      kind: 'event',
      type: 'claims/paid',
      idempotencyKey: v2.bodySha256,
      subject: '1',
    });
  });

  it('prefers the topic over the checkpoint', () => {
    const req = request(v3.body, {
      'SIGNIFYD-TOPIC': 'decisions/made',
      'SIGNIFYD-CHECKPOINT': 'SALE',
    });
    expect(describeRequest(req).type).toBe('decisions/made');
  });

  it('accepts both topic headers when they agree', () => {
    const req = request(v2.body, {
      'X-SIGNIFYD-TOPIC': 'cases/review',
      'SIGNIFYD-TOPIC': 'cases/review',
    });
    expect(describeRequest(req).type).toBe('cases/review');
  });

  it.each([
    ['no topic and no checkpoint', {}],
    ['an empty topic', { 'X-SIGNIFYD-TOPIC': '  ' }],
    ['two topic headers that disagree', { 'X-SIGNIFYD-TOPIC': 'a/b', 'SIGNIFYD-TOPIC': 'c/d' }],
    ['a topic with unsafe characters', { 'X-SIGNIFYD-TOPIC': 'cases/creation;drop' }],
    ['a topic with spaces', { 'X-SIGNIFYD-TOPIC': 'cases creation' }],
    ['a checkpoint over 128 characters', { 'SIGNIFYD-CHECKPOINT': 'A'.repeat(129) }],
  ])('rejects %s as an unusable payload', (_name, headers: Record<string, string>) => {
    expect(() => describeRequest(request(v2.body, headers))).toThrow(InvalidPayloadError);
  });

  it('ignores a team-key-signed test ping unless forwarding is configured', () => {
    const req = request(publicTest.body, { 'X-SIGNIFYD-TOPIC': 'cases/test' });
    expect(describeRequest(req)).toEqual({
      kind: 'ignored',
      type: 'cases/test',
      reason: 'signifyd test webhook',
    });
    const forwarding = createSignifydAdapter({ [SIGNIFYD_FORWARD_TEST_EVENTS_ENV]: 'true' });
    expect(describeRequest(req, {}, forwarding)).toEqual({
      kind: 'event',
      type: 'cases/test',
      idempotencyKey: publicTest.bodySha256,
      subject: '0',
      test: true,
    });
  });

  it('never forwards a test ping signed with the public key', () => {
    const forwarding = createSignifydAdapter({ [SIGNIFYD_FORWARD_TEST_EVENTS_ENV]: 'yes' });
    const req = request(publicTest.body, { 'X-SIGNIFYD-TOPIC': 'cases/test' });
    expect(describeRequest(req, { publicTestKey: true }, forwarding)).toMatchObject({
      kind: 'ignored',
    });
  });

  it('refuses a real topic verified only by the public key, as a signature failure', () => {
    const req = request(v2.body, { 'X-SIGNIFYD-TOPIC': 'cases/creation' });
    expect(failure(() => describeRequest(req, { publicTestKey: true }))).toBe(
      SignatureFailure.PublicTestKeyOnRealTopic,
    );
    const untyped = request(v2.body, {});
    expect(failure(() => describeRequest(untyped, { publicTestKey: true }))).toBe(
      SignatureFailure.PublicTestKeyOnRealTopic,
    );
  });
});

describe('signifyd: configuration', () => {
  it('reads several team keys from SIGNIFYD_API_KEY', () => {
    expect(adapter.secretsFromEnv({ SIGNIFYD_API_KEY: ' old-key , new-key ,' })).toEqual({
      apiKeys: ['old-key', 'new-key'],
    });
  });

  it('reads the Secrets Manager shape {"apiKeys": [...]}', () => {
    expect(adapter.secretsFromJson({ apiKeys: ['old-key', 'new-key'] })).toEqual({
      apiKeys: ['old-key', 'new-key'],
    });
  });

  it.each([
    ['a missing variable', () => adapter.secretsFromEnv({})],
    ['an empty variable', () => adapter.secretsFromEnv({ SIGNIFYD_API_KEY: ' , ' })],
    ['the public key as a team key', () => adapter.secretsFromEnv({ SIGNIFYD_API_KEY: 'k,ABCDE' })],
    ['a secret that is not an object', () => adapter.secretsFromJson(['k'])],
    ['a secret without apiKeys', () => adapter.secretsFromJson({ apiKey: 'k' })],
    ['apiKeys that are not strings', () => adapter.secretsFromJson({ apiKeys: [1] })],
    ['the public key in apiKeys', () => adapter.secretsFromJson({ apiKeys: ['ABCDE'] })],
  ])('refuses %s', (_name, read) => {
    expect(read).toThrow(ConfigurationError);
  });

  it('refuses a malformed forwarding flag at cold start', () => {
    expect(() => createSignifydAdapter({ [SIGNIFYD_FORWARD_TEST_EVENTS_ENV]: 'maybe' })).toThrow(
      ConfigurationError,
    );
  });

  it('keeps idempotency records longer than Signifyd retries (about four days)', () => {
    expect(adapter.minRetentionDays).toBeGreaterThanOrEqual(5);
    const base = { WEBHOOK_TABLE_NAME: 't', WEBHOOK_QUEUE_URL: 'q' };
    const options = { minRetentionDays: adapter.minRetentionDays };
    expect(loadConfig('signifyd', base, options).retentionDays).toBe(7);
    expect(() => loadConfig('signifyd', { ...base, WEBHOOK_RETENTION_DAYS: '4' }, options)).toThrow(
      ConfigurationError,
    );
  });

  it('is registered and serves only its own route', () => {
    const registered = providerAdapters.signifyd?.({});
    expect(registered?.provider).toBe('signifyd');
    expect(adapter.matchRoute('/webhooks/signifyd')).toEqual({});
    expect(adapter.matchRoute('/webhooks/signifyd/extra')).toBeUndefined();
  });
});

describe('signifyd: what the signature covers', () => {
  it('keys a body re-sent under another topic as the same event: the topic is not signed', () => {
    const under = (topic: string) =>
      request(v2.body, signedSignifyd(v2.body, v2.key, { topic }).headers);
    const original = under('cases/creation');
    const resent = under('guarantees/completion');
    expect(adapter.verify(original, secrets, {})).toEqual({});
    expect(adapter.verify(resent, secrets, {})).toEqual({});
    const first = describeRequest(original);
    const second = describeRequest(resent);
    expect(first.kind === 'event' && second.kind === 'event').toBe(true);
    if (first.kind !== 'event' || second.kind !== 'event') return;
    expect(second.type).toBe('guarantees/completion');
    // The key is the signed part only: the same body is the same event, whatever the topic.
    expect(second.idempotencyKey).toBe(first.idempotencyKey);
    expect(first.idempotencyKey).toBe(v2.bodySha256);
  });
});
