import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/core/crypto.js';
import { DEMO_SECRETS } from '../../local/ingress.js';
import {
  SIGMA_DEMO_HMAC,
  SIGMA_DEMO_LEGACY_SHA256,
  sigmaBody,
  sigmaSignature,
  signedSigma,
  SIGMA_VECTOR as V,
} from '../fixtures/sigma.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';

const PRODUCTS = ['transaction-monitoring', 'aml', 'cdd'] as const;

/** A POST whose header names go on the wire exactly as spelled (fetch lower-cases them). */
function postWithHeaderCase(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method: 'POST', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          json: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('sigma: end to end on the emulators with the demo secrets', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress();
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('signs the demo secrets as openssl does', () => {
    expect(
      sigmaSignature(
        DEMO_SECRETS.SIGMA_API_KEY,
        DEMO_SECRETS.SIGMA_API_SECRET,
        DEMO_SECRETS.SIGMA_BUSINESS_ID,
      ),
    ).toBe(SIGMA_DEMO_HMAC);
  });

  it('accepts each product route once, onto the Sigma queue with its product', async () => {
    const body = sigmaBody('transaction.decision', { transaction_id: 'e2e-products' });
    const ids: unknown[] = [];
    for (const product of PRODUCTS) {
      const delivery = signedSigma(product, body, SIGMA_DEMO_HMAC);
      const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
      expect(answer.status, product).toBe(200);
      expect(answer.json.status).toBe('accepted');
      ids.push(answer.json.id);
    }
    const messages = await ingress.drain('sigma');
    expect(messages.map((message) => message.body.product).sort()).toEqual([...PRODUCTS].sort());
    for (const message of messages) {
      const product = String(message.body.product);
      expect(message.body).toMatchObject({
        version: 1,
        provider: 'sigma',
        type: 'transaction.decision',
        idempotencyKey: `${product}:${sha256Hex(body)}`,
        payload: JSON.parse(body),
      });
      expect(ids).toContain(message.body.id);
      expect(message.attributes).toEqual({ provider: 'sigma', type: 'transaction.decision' });
    }
  });

  it('answers a redelivery duplicate with the first id and enqueues nothing', async () => {
    const delivery = signedSigma(
      'aml',
      sigmaBody('aml.screening.completed', { screening_id: 'e2e-duplicate' }),
      SIGMA_DEMO_HMAC,
    );
    const first = await ingress.post(delivery.path, delivery.body, delivery.headers);
    const again = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(first.json.status).toBe('accepted');
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ status: 'duplicate', id: first.json.id });
    expect(await ingress.drain('sigma')).toHaveLength(1);
  });

  it('answers 404 not_found for a product Sigma does not have', async () => {
    for (const path of ['/webhooks/sigma/kyc', '/webhooks/sigma', '/webhooks/sigma/aml/x']) {
      const answer = await ingress.post(path, sigmaBody('x', {}), {
        'x-signature': SIGMA_DEMO_HMAC,
      });
      expect(answer.status, path).toBe(404);
      expect(answer.json.status).toBe('not_found');
    }
  });

  it('answers 405 for a GET on a product route', async () => {
    const answer = await ingress.post('/webhooks/sigma/cdd', '', {}, 'GET');
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
  });

  it('refuses the legacy plain SHA-256 by default with the one signature answer', async () => {
    const delivery = signedSigma(
      'cdd',
      sigmaBody('cdd.workflow.completed', { case: 'e2e-legacy-off' }),
      SIGMA_DEMO_LEGACY_SHA256,
    );
    const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ status: 'rejected', reason: 'invalid signature' });
    const missing = await ingress.post(delivery.path, delivery.body, {});
    expect(missing.json).toEqual(answer.json);
  });

  it('reads x-signature whatever the case of its name on the wire', async () => {
    for (const name of ['X-Signature', 'X-SIGNATURE', 'x-SIGNature']) {
      const answer = await postWithHeaderCase(
        `${ingress.endpoints.api}/webhooks/sigma/transaction-monitoring`,
        sigmaBody('transaction.decision', { header: name }),
        { 'Content-Type': 'application/json', [name]: SIGMA_DEMO_HMAC },
      );
      expect(answer.status, name).toBe(200);
    }
    expect(await ingress.drain('sigma')).toHaveLength(3);
  });

  it('answers 400 for a verified body that is not a Sigma event', async () => {
    for (const body of [
      'not json',
      '[]',
      '{"event":"x"}',
      '{"data":{}}',
      '{"event":"x","data":[]}',
    ]) {
      const delivery = signedSigma('aml', body, SIGMA_DEMO_HMAC);
      const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
      expect(answer.status, body).toBe(400);
      expect(answer.json.status).toBe('rejected');
    }
    expect(await ingress.drain('sigma')).toHaveLength(0);
  });

  it('never logs the signature', () => {
    expect(ingress.log.lines.length).toBeGreaterThan(0);
    expect(ingress.log.text()).not.toContain(SIGMA_DEMO_HMAC);
    expect(ingress.log.text()).not.toContain(SIGMA_DEMO_LEGACY_SHA256);
  });
});

describe('sigma: a key rotation with two live pairs', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress({
      env: {
        SIGMA_API_KEY: `${V.current.apiKey},${V.next.apiKey}`,
        SIGMA_API_SECRET: `${V.current.apiSecret},${V.next.apiSecret}`,
        SIGMA_BUSINESS_ID: V.businessId,
      },
    });
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('accepts the current and the next pair, and no crossed pair', async () => {
    const post = (signature: string, marker: string) => {
      const delivery = signedSigma('aml', sigmaBody('aml.result', { marker }), signature);
      return ingress.post(delivery.path, delivery.body, delivery.headers);
    };
    expect((await post(V.currentHmac, 'rotation-current')).status).toBe(200);
    expect((await post(V.nextHmac, 'rotation-next')).status).toBe(200);
    expect((await post(V.crossedPairHmac, 'rotation-crossed')).status).toBe(401);
    expect((await post(V.currentLegacySha256, 'rotation-legacy')).status).toBe(401);
    expect(await ingress.drain('sigma')).toHaveLength(2);
  });
});

describe('sigma: the legacy flag', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress({ env: { SIGMA_ALLOW_LEGACY_SHA256: 'true' } });
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('accepts the plain SHA-256 variant, and the HMAC still', async () => {
    for (const [signature, marker] of [
      [SIGMA_DEMO_LEGACY_SHA256, 'legacy-on'],
      [SIGMA_DEMO_HMAC, 'hmac-with-legacy-on'],
    ] as const) {
      const delivery = signedSigma(
        'cdd',
        sigmaBody('cdd.workflow.completed', { marker }),
        signature,
      );
      const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
      expect(answer.status, marker).toBe(200);
    }
    expect(await ingress.drain('sigma')).toHaveLength(2);
  });
});

describe('sigma: a source allowlist', () => {
  let outside: TestIngress;
  let inside: TestIngress;
  beforeAll(async () => {
    // The local server hands the handlers 127.0.0.1 as the source address.
    [outside, inside] = await Promise.all([
      startTestIngress({ env: { WEBHOOK_SOURCE_ALLOWLIST: '203.0.113.0/24,2001:db8::/32' } }),
      startTestIngress({ env: { WEBHOOK_SOURCE_ALLOWLIST: '203.0.113.0/24,127.0.0.0/8' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([outside?.stop(), inside?.stop()]);
  });

  it('answers 403 forbidden to a caller outside it, even with a good signature', async () => {
    const delivery = signedSigma(
      'aml',
      sigmaBody('aml.result', { marker: 'outside' }),
      SIGMA_DEMO_HMAC,
    );
    const answer = await outside.post(delivery.path, delivery.body, delivery.headers);
    expect(answer.status).toBe(403);
    expect(answer.json.status).toBe('forbidden');
    const unsigned = await outside.post(delivery.path, delivery.body, {});
    expect(unsigned.status).toBe(403);
    expect(await outside.drain('sigma')).toHaveLength(0);
  });

  it('accepts a caller inside it and still checks the signature', async () => {
    const delivery = signedSigma(
      'aml',
      sigmaBody('aml.result', { marker: 'inside' }),
      SIGMA_DEMO_HMAC,
    );
    expect((await inside.post(delivery.path, delivery.body, delivery.headers)).status).toBe(200);
    expect((await inside.post(delivery.path, delivery.body, {})).status).toBe(401);
    expect(await inside.drain('sigma')).toHaveLength(1);
  });
});
