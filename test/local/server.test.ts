import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseEvent } from '../../functions/core/http.js';
import { DEMO_SECRETS } from '../../local/ingress.js';
import { createLocalApiServer, listen } from '../../local/server.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';
import { signedSigmate } from '../support/sign.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

describe('local API: the handler sees the bytes that were sent', () => {
  let server: Server;
  let api: string;
  const seen: Buffer[] = [];

  beforeAll(async () => {
    server = createLocalApiServer([
      {
        matches: () => true,
        timeoutMs: 1_000,
        handler: async (event) => {
          // The functions' own decoding of the event (isBase64Encoded, then the body).
          seen.push(normaliseEvent(event).body);
          return { statusCode: 200, headers: {}, body: '{"status":"ok"}' };
        },
      },
    ]);
    await listen(server, 0);
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  const bodies: [string, string, Buffer][] = [
    ['JSON starting with a UTF-8 BOM', 'application/json', Buffer.concat([BOM, Buffer.from('{}')])],
    ['a bare BOM', 'application/json; charset=utf-8', BOM],
    ['text with a BOM', 'text/plain', Buffer.concat([BOM, Buffer.from('hello')])],
    ['two BOMs', 'application/json', Buffer.concat([BOM, BOM, Buffer.from('{}')])],
    ['invalid UTF-8', 'application/json', Buffer.from([0x7b, 0xff, 0x7d])],
    ['a binary type', 'application/octet-stream', Buffer.concat([BOM, Buffer.from([0, 1, 2])])],
    ['plain JSON', 'application/json', Buffer.from('{"a":"é"}')],
  ];
  it.each(bodies)('%s', async (_name, contentType, body) => {
    seen.length = 0;
    await fetch(`${api}/webhooks/x`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.equals(body), seen[0]?.toString('hex')).toBe(true);
  });
});

describe('local ingress: a body that starts with a BOM', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress();
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('accepts a correctly signed body that starts with a UTF-8 BOM, as API Gateway passes it', async () => {
    const body = Buffer.concat([BOM, Buffer.from('{"id":"bom-1","signal_type":"consensus_buy"}')]);
    const delivery = signedSigmate(body, DEMO_SECRETS.SIGMATE_WEBHOOK_SECRET);
    const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.status).toBe('accepted');
    const [message] = await ingress.drain('sigmate');
    expect(message?.body.idempotencyKey).toBe('bom-1');
  });
});
