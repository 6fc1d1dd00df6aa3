import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../cli/target.js';
import { cli } from './cli-support.js';

const env = { SIGMATE_WEBHOOK_SECRET: 'target-test-secret' };

/** A loopback server that records what reached it and answers with `answer`. */
async function recordingServer(
  answer: (path: string) => { status: number; headers?: Record<string, string>; body?: string },
): Promise<{
  url: string;
  seen: { path: string; headers: IncomingHttpHeaders }[];
  server: Server;
}> {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      seen.push({ path: request.url ?? '', headers: request.headers });
      const { status, headers = {}, body = '' } = answer(request.url ?? '');
      response.writeHead(status, headers);
      response.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('cli send --target: the signature goes to the URL given, and nowhere else', () => {
  let elsewhere: Awaited<ReturnType<typeof recordingServer>>;
  let redirecting: Awaited<ReturnType<typeof recordingServer>>;

  beforeAll(async () => {
    elsewhere = await recordingServer(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"status":"accepted","id":"stolen"}',
    }));
    redirecting = await recordingServer((path) => ({
      status: 307,
      headers: { location: `${elsewhere.url}${path}`, 'content-type': 'application/json' },
      body: '{}',
    }));
  });
  afterAll(async () => {
    for (const { server } of [elsewhere, redirecting]) {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  it('never follows a redirect: the 3xx is reported and the signed request is not sent on', async () => {
    const run = await cli(['send', 'sigmate', '--target', redirecting.url, '--yes'], env);
    expect(redirecting.seen).toHaveLength(1);
    expect(redirecting.seen[0]?.headers['x-sigmate-signature']).toMatch(/^sha256=/);
    expect(elsewhere.seen, 'the redirect target got the signed delivery').toEqual([]);
    expect(run.code).toBe(1);
    expect(run.stderr.join('\n')).toMatch(
      /307 redirect to http:\/\/127\.0\.0\.1:\d+\/webhooks\/sigmate: not followed/,
    );
  });

  it('refuses plain http:// to any host but loopback, before anything is sent', async () => {
    for (const url of [
      'http://example.com',
      'http://10.0.0.8:3000',
      'http://[2001:db8::1]',
      'http://localhost.example.com',
    ]) {
      const run = await cli(['send', 'sigmate', '--target', url, '--yes'], env);
      expect(run.code, url).toBe(2);
      expect(run.stderr.join('\n')).toMatch(
        /plain http:\/\/ only to this machine .*use https:\/\//,
      );
    }
    expect(redirecting.seen).toHaveLength(1);
  });

  it('takes https:// anywhere and http:// to loopback', async () => {
    const local = await cli(['send', 'sigmate', '--target', elsewhere.url, '--yes'], env);
    expect(local.code).toBe(0);
    for (const host of [
      '127.0.0.1',
      '127.8.9.10',
      'localhost',
      'LOCALHOST',
      '[::1]',
      '[::ffff:7f00:1]',
    ]) {
      expect(isLoopbackHost(new URL(`http://${host}:3000`).hostname), host).toBe(true);
    }
    for (const host of ['128.0.0.1', 'example.com', '[::2]', '0.0.0.0', 'localhost.evil.com']) {
      expect(isLoopbackHost(new URL(`http://${host}`).hostname), host).toBe(false);
    }
  });
});
