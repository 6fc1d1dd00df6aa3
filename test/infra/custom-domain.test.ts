import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HttpResult } from '../../functions/core/http.js';
import { handler as notFound } from '../../functions/not-found/handler.js';
import { httpApiDelivery } from '../fixtures/events.js';
import { type ImportedSigmateHandler, importSigmateHandler } from '../support/lambda-handler.js';
import { signedSigmate } from '../support/sign.js';

/*
 * A custom domain's API mapping (`https://webhooks.example.com/ingress`) leaves its path
 * in rawPath. The stack sets WEBHOOK_PATH_PREFIX=/ingress on each function (options.test.ts);
 * here the real Sigmate Lambda handler, configured from that environment at import as in
 * Lambda, runs against the emulators.
 */
const SECRET = 'custom-domain-test-secret';
const PREFIX = '/ingress';
let sigmate: ImportedSigmateHandler;
const handle = (event: unknown, context?: unknown) => sigmate.handle(event, context);

beforeAll(async () => {
  sigmate = await importSigmateHandler({ secret: SECRET, pathPrefix: PREFIX, namePrefix: 'cd' });
});

const context = { getRemainingTimeInMillis: () => 4_000 };
const delivery = (path: string, id = randomUUID()) => {
  const signed = signedSigmate(JSON.stringify({ id, signal_type: 'consensus_buy' }), SECRET);
  return httpApiDelivery(path, signed.body, signed.headers);
};
const json = (result: HttpResult) => JSON.parse(String(result.body)) as Record<string, unknown>;

describe('custom domain: a request through an API mapping with a path', () => {
  it('routes /ingress/webhooks/sigmate to Sigmate and enqueues the event', async () => {
    const id = randomUUID();
    const result = await handle(delivery(`${PREFIX}/webhooks/sigmate`, id), context);
    expect(result.statusCode).toBe(200);
    expect(json(result).status).toBe('accepted');
    expect((await sigmate.onQueue()).map((m) => m.idempotencyKey)).toContain(id);
  });

  it('still routes the execute-api URL, which has no mapping path', async () => {
    const result = await handle(delivery('/webhooks/sigmate'), context);
    expect(json(result).status).toBe('accepted');
  });

  it('answers 404 for an unknown path under the mapping, exactly as the not-found function does', async () => {
    const result = await handle(delivery(`${PREFIX}/webhooks/nope`), context);
    expect(result.statusCode).toBe(404);
    const fallback = await notFound();
    expect(fallback.statusCode).toBe(result.statusCode);
    expect(fallback.body).toBe(result.body);
    expect(fallback.headers['content-type']).toBe(result.headers?.['content-type']);
  });

  it('does not take off a prefix that only starts the same way', async () => {
    const result = await handle(delivery(`${PREFIX}x/webhooks/sigmate`), context);
    expect(result.statusCode).toBe(404);
  });
});
