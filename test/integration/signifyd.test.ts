import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_REJECTION_BODY } from '../../functions/core/respond.js';
import { SIGNIFYD_V2_TOPICS, SignifydVectors, signedSignifyd } from '../fixtures/signifyd.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';

const OLD_KEY = 'signifyd-old-team-key';
const NEW_KEY = 'signifyd-new-team-key';
const env = { SIGNIFYD_API_KEY: `${OLD_KEY},${NEW_KEY},${SignifydVectors.v2.key}` };
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

describe('signifyd: end to end on the emulators', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress({ env });
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('enqueues every v2 topic once and answers duplicate to each redelivery', async () => {
    const deliveries = SIGNIFYD_V2_TOPICS.map((topic, index) =>
      signedSignifyd(
        `{"caseId":${100 + index},"topic":"${topic}"}`,
        index % 2 ? NEW_KEY : OLD_KEY,
        {
          topic,
        },
      ),
    );
    const first = await Promise.all(deliveries.map((d) => ingress.post(d.path, d.body, d.headers)));
    const again = await Promise.all(deliveries.map((d) => ingress.post(d.path, d.body, d.headers)));
    for (const [index, answer] of first.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.json.status).toBe('accepted');
      expect(again[index]?.json).toEqual({ status: 'duplicate', id: answer.json.id });
    }

    const messages = await ingress.drain('signifyd');
    expect(messages).toHaveLength(SIGNIFYD_V2_TOPICS.length);
    for (const [index, topic] of SIGNIFYD_V2_TOPICS.entries()) {
      const delivery = deliveries[index];
      const message = messages.find((m) => m.body.type === topic);
      expect(message?.body).toMatchObject({
        version: 1,
        id: first[index]?.json.id,
        provider: 'signifyd',
        type: topic,
        idempotencyKey: sha256(delivery?.body ?? ''),
        payload: JSON.parse(String(delivery?.body)),
      });
      expect(message?.body).not.toHaveProperty('test');
      expect(message?.attributes).toEqual({ provider: 'signifyd', type: topic });
    }
  });

  it('enqueues a v3 checkpoint delivery once, typed by its checkpoint', async () => {
    const body = '{"signifydId":9001,"orderId":"ORD-9001","checkpoint":"CHECKOUT"}';
    const delivery = signedSignifyd(body, NEW_KEY, { api: 'v3', checkpoint: 'CHECKOUT' });
    const first = await ingress.post(delivery.path, delivery.body, delivery.headers);
    const second = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(first.json.status).toBe('accepted');
    expect(second.json).toEqual({ status: 'duplicate', id: first.json.id });
    const messages = await ingress.drain('signifyd');
    expect(messages.map((m) => m.body)).toEqual([
      expect.objectContaining({
        type: 'CHECKOUT',
        idempotencyKey: sha256(body),
        payload: JSON.parse(body),
      }),
    ]);
  });

  it('accepts the known-answer vector with headers in lower case', async () => {
    const { body, signature, topic } = SignifydVectors.v2;
    const answer = await ingress.post('/webhooks/signifyd', body, {
      'x-signifyd-sec-hmac-sha256': signature,
      'x-signifyd-topic': topic,
    });
    expect(answer.json.status).toBe('accepted');
    const [message] = await ingress.drain('signifyd');
    expect(message?.body.idempotencyKey).toBe(SignifydVectors.v2.bodySha256);
  });

  it('answers a body re-sent under another topic duplicate: the topic is not signed', async () => {
    const body = '{"caseId":4242,"orderId":"ORD-4242","guaranteeDisposition":"APPROVED"}';
    const original = signedSignifyd(body, OLD_KEY, { topic: 'guarantees/completion' });
    const resent = signedSignifyd(body, OLD_KEY, { topic: 'cases/rescore' });
    const v3 = signedSignifyd(body, OLD_KEY, { api: 'v3', checkpoint: 'SALE' });
    const first = await ingress.post(original.path, original.body, original.headers);
    expect(first.json.status).toBe('accepted');
    for (const again of [resent, v3]) {
      const answer = await ingress.post(again.path, again.body, again.headers);
      expect(answer.json).toEqual({ status: 'duplicate', id: first.json.id });
    }
    const messages = await ingress.drain('signifyd');
    expect(messages.map((m) => m.body)).toEqual([
      expect.objectContaining({
        id: first.json.id,
        type: 'guarantees/completion',
        idempotencyKey: sha256(body),
      }),
    ]);
  });

  it('answers the dashboard test ping ignored, signed with ABCDE or with a team key', async () => {
    const { body } = SignifydVectors.publicTest;
    for (const key of ['ABCDE', NEW_KEY]) {
      const ping = signedSignifyd(body, key, { topic: 'cases/test' });
      const answer = await ingress.post(ping.path, ping.body, ping.headers);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ status: 'ignored', reason: 'signifyd test webhook' });
    }
    expect(await ingress.drain('signifyd')).toEqual([]);
  });

  it('refuses ABCDE on a real topic with the one signature answer, even for a non-JSON body', async () => {
    for (const body of ['{"caseId":7}', 'not json']) {
      const forged = signedSignifyd(body, 'ABCDE', { topic: 'guarantees/completion' });
      const answer = await ingress.post(forged.path, forged.body, forged.headers);
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual(JSON.parse(SIGNATURE_REJECTION_BODY));
    }
    const checkpointOnly = signedSignifyd('{"signifydId":7}', 'ABCDE', {
      api: 'v3',
      checkpoint: 'SALE',
    });
    const answer = await ingress.post(
      checkpointOnly.path,
      checkpointOnly.body,
      checkpointOnly.headers,
    );
    expect(answer.status).toBe(401);
    expect(await ingress.drain('signifyd')).toEqual([]);
  });

  it('verifies an isBase64Encoded body over the decoded bytes', async () => {
    const vector = SignifydVectors.base64Body;
    const body = Buffer.from(vector.bodyBase64, 'base64');
    const delivery = signedSignifyd(body, NEW_KEY, { topic: vector.topic });
    // A non-textual content type makes the local API Gateway pass the body base64-encoded.
    const headers = { ...delivery.headers, 'content-type': 'application/octet-stream' };
    const answer = await ingress.post(delivery.path, body, headers);
    expect(answer.json.status).toBe('accepted');
    const [message] = await ingress.drain('signifyd');
    expect(message?.body.payload).toEqual({ caseId: 2, headline: 'Zoë Ångström' });
    expect(message?.body.idempotencyKey).toBe(vector.bodySha256);
  });

  it('rejects a signed delivery with neither topic nor checkpoint as unusable', async () => {
    const delivery = signedSignifyd('{"caseId":8}', OLD_KEY, { api: 'v3' });
    const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      status: 'rejected',
      reason: 'a topic or checkpoint header is required',
    });
  });

  it('refuses an unsigned delivery and a signature from an unknown key alike', async () => {
    const unknown = signedSignifyd('{"caseId":9}', 'someone-else', { topic: 'cases/creation' });
    const { 'X-SIGNIFYD-SEC-HMAC-SHA256': _signature, ...unsigned } = unknown.headers;
    const answers = await Promise.all([
      ingress.post(unknown.path, unknown.body, unknown.headers),
      ingress.post(unknown.path, unknown.body, unsigned),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual(JSON.parse(SIGNATURE_REJECTION_BODY));
    }
    expect(ingress.log.text()).not.toContain(OLD_KEY);
    expect(ingress.log.text()).not.toContain(NEW_KEY);
  });
});

describe('signifyd: test pings forwarded by configuration', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress({ env: { ...env, SIGNIFYD_FORWARD_TEST_EVENTS: 'true' } });
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('enqueues a team-key-signed test ping once, marked test, and still ignores ABCDE', async () => {
    const { body } = SignifydVectors.publicTest;
    const team = signedSignifyd(body, OLD_KEY, { topic: 'cases/test' });
    const first = await ingress.post(team.path, team.body, team.headers);
    const second = await ingress.post(team.path, team.body, team.headers);
    expect(first.json.status).toBe('accepted');
    expect(second.json).toEqual({ status: 'duplicate', id: first.json.id });

    const ping = signedSignifyd(body, 'ABCDE', { topic: 'cases/test' });
    const publicAnswer = await ingress.post(ping.path, ping.body, ping.headers);
    expect(publicAnswer.json).toEqual({ status: 'ignored', reason: 'signifyd test webhook' });

    const messages = await ingress.drain('signifyd');
    expect(messages.map((m) => m.body)).toEqual([
      expect.objectContaining({ type: 'cases/test', test: true, id: first.json.id }),
    ]);
  });
});
