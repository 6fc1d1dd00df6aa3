import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HttpResult } from '../../functions/core/http.js';
import { handler as notFound } from '../../functions/not-found/handler.js';
import { restApiDelivery } from '../fixtures/events.js';
import { type ImportedSigmateHandler, importSigmateHandler } from '../support/lambda-handler.js';
import { signedSigmate } from '../support/sign.js';

/*
 * Behind edge protection the functions get REST API (payload 1.0) events from a stage
 * with binary media types `*\/*` (infra/edge.ts): every body base64-encoded, headers in
 * `headers` and `multiValueHeaders`, the stage outside `path`, and on a custom domain its
 * mapping path possibly inside it. The real Sigmate Lambda handler, configured from its
 * environment at import as in Lambda, runs against the emulators.
 */
const SECRET = 'edge-event-test-secret';
const PREFIX = '/ingress';
let sigmate: ImportedSigmateHandler;
const handle = (event: unknown, context?: unknown) => sigmate.handle(event, context);

beforeAll(async () => {
  sigmate = await importSigmateHandler({ secret: SECRET, pathPrefix: PREFIX, namePrefix: 'edge' });
});

const context = { getRemainingTimeInMillis: () => 4_000 };
const json = (result: HttpResult) => JSON.parse(String(result.body)) as Record<string, unknown>;
const delivery = (path: string, id = randomUUID(), extra: Record<string, unknown> = {}) => {
  const signed = signedSigmate(
    JSON.stringify({ id, signal_type: 'consensus_buy', ...extra }),
    SECRET,
  );
  // Header names as the sender wrote them: the REST API passes them through unchanged.
  const headers = Object.fromEntries(
    Object.entries(signed.headers).map(([name, value]) => [
      name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => `${dash}${c.toUpperCase()}`),
      value,
    ]),
  );
  return restApiDelivery(path, signed.body, headers, { resource: '/webhooks/sigmate' });
};
describe('edge protection: the REST API event the functions receive', () => {
  it('verifies the base64 body over its bytes, enqueues once and answers the redelivery duplicate', async () => {
    const id = randomUUID();
    // Non-ASCII text: the signature must be checked over the decoded UTF-8 bytes.
    const event = delivery('/webhooks/sigmate', id, { note: 'Zoë Ångström' });
    expect(event.isBase64Encoded).toBe(true);
    const first = await handle(event, context);
    expect(first.statusCode).toBe(200);
    expect(json(first).status).toBe('accepted');
    const again = await handle(
      delivery('/webhooks/sigmate', id, { note: 'Zoë Ångström' }),
      context,
    );
    expect(json(again)).toEqual({ status: 'duplicate', id: json(first).id });
    const messages = await sigmate.onQueue();
    expect(messages.filter((m) => m.idempotencyKey === id)).toHaveLength(1);
    expect(messages.find((m) => m.idempotencyKey === id)?.payload).toMatchObject({
      note: 'Zoë Ångström',
    });
  });

  it('routes the custom domain path (with its mapping path) to the same provider', async () => {
    const result = await handle(delivery(`${PREFIX}/webhooks/sigmate`), context);
    expect(json(result).status).toBe('accepted');
  });

  it('answers a tampered body 401 and another method 405, as behind the HTTP API', async () => {
    const event = delivery('/webhooks/sigmate');
    event.body = Buffer.from(
      Buffer.from(String(event.body), 'base64').toString('utf8').replace('consensus_buy', 'x'),
    ).toString('base64');
    expect((await handle(event, context)).statusCode).toBe(401);
    const get = delivery('/webhooks/sigmate');
    get.httpMethod = 'GET';
    const answer = await handle(get, context);
    expect(answer.statusCode).toBe(405);
    expect(answer.headers?.allow ?? answer.headers?.Allow).toBe('POST');
  });

  it('answers an unknown path with the not-found function, exactly as its catch-all does', async () => {
    const result = await handle(delivery('/webhooks/sigmate/extra'), context);
    expect(result.statusCode).toBe(404);
    expect(result.body).toBe((await notFound()).body);
  });
});
