import { describe, expect, it } from 'vitest';
import { InvalidPayloadError } from '../../../functions/core/errors.js';
import { createGithubAdapter } from '../../../functions/github/adapter.js';
import { GITHUB_DOCS_VECTOR } from '../../fixtures/scheme-vectors.js';
import type { SignedRequest } from '../../fixtures/schemes.js';
import { described, received, verdict, withHeader } from './support.js';

// ESM only: its `exports` has an `import` condition alone.
const octokit = await import('@octokit/webhooks-methods');

const NAME = 'gh-org';
const SECRET = 'gh-webhook-secret-for-tests';
const BODY = '{"zen":"Keep it logically awesome.","hook_id":12345678,"repository":{"id":1}}';
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
const adapter = createGithubAdapter(NAME);
const secrets = adapter.secretsFromJson({ secrets: [SECRET] });

/** A request signed by Octokit's own `sign`. */
async function octokitSigned(body = BODY, secret = SECRET): Promise<SignedRequest> {
  return {
    path: `/webhooks/${NAME}`,
    body: Buffer.from(body),
    headers: {
      'x-hub-signature-256': await octokit.sign(secret, body),
      'x-github-delivery': DELIVERY,
      'x-github-event': 'ping',
    },
  };
}

describe('github: verify', () => {
  it("accepts GitHub's documented test vector", () => {
    const request = received({
      path: `/webhooks/${NAME}`,
      body: Buffer.from(GITHUB_DOCS_VECTOR.payload),
      headers: { 'x-hub-signature-256': GITHUB_DOCS_VECTOR.signature },
    });
    const docsSecrets = adapter.secretsFromJson({ secrets: [GITHUB_DOCS_VECTOR.secret] });
    expect(verdict(adapter, docsSecrets, request)).toBeUndefined();
  });

  it('accepts a delivery signed by @octokit/webhooks-methods, raw or base64-encoded', async () => {
    for (const base64 of [true, false]) {
      expect(
        verdict(adapter, secrets, received(await octokitSigned(), { base64 })),
      ).toBeUndefined();
    }
  });

  it('matches the header name in any case', async () => {
    const signed = await octokitSigned();
    const headers = { 'X-Hub-Signature-256': signed.headers['x-hub-signature-256'] ?? '' };
    expect(verdict(adapter, secrets, received(signed, { headers }))).toBeUndefined();
  });

  it('rejects a tampered body', async () => {
    const request = received(await octokitSigned(), { body: BODY.replace('1}', '2}') });
    expect(verdict(adapter, secrets, request)).toBe('mismatch');
  });

  it('rejects a signature made with another secret', async () => {
    expect(verdict(adapter, secrets, received(await octokitSigned(BODY, 'other')))).toBe(
      'mismatch',
    );
  });

  it('accepts any live secret of a rotation', async () => {
    const rotation = adapter.secretsFromJson({ secrets: ['next-secret', SECRET] });
    expect(verdict(adapter, rotation, received(await octokitSigned()))).toBeUndefined();
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['the legacy SHA-1 form', `sha1=${'a'.repeat(40)}`, 'malformed'],
    ['without sha256=', GITHUB_DOCS_VECTOR.signature.slice(7), 'malformed'],
    ['in base64', `sha256=${Buffer.alloc(32).toString('base64')}`, 'malformed'],
  ])('refuses an X-Hub-Signature-256 %s', async (_name, value, expected) => {
    const signed = await octokitSigned();
    const request = received(signed, {
      headers: withHeader(signed.headers, 'x-hub-signature-256', value),
    });
    expect(verdict(adapter, secrets, request)).toBe(expected);
  });
});

describe('github: describe', () => {
  it('keys on X-GitHub-Delivery, which a redelivery keeps, and types from X-GitHub-Event', async () => {
    expect(described(adapter, received(await octokitSigned()))).toEqual({
      kind: 'event',
      type: 'ping',
      idempotencyKey: DELIVERY,
      subject: undefined,
    });
  });

  it('refuses a delivery without X-GitHub-Delivery or X-GitHub-Event with 400', async () => {
    const signed = await octokitSigned();
    for (const name of ['x-github-delivery', 'x-github-event']) {
      const request = received(signed, { headers: withHeader(signed.headers, name, undefined) });
      expect(() => described(adapter, request)).toThrow(InvalidPayloadError);
    }
  });

  it('refuses an event header outside the safe character set with 400', async () => {
    const signed = await octokitSigned();
    const request = received(signed, {
      headers: withHeader(signed.headers, 'x-github-event', 'push;drop'),
    });
    expect(() => described(adapter, request)).toThrow(InvalidPayloadError);
  });

  it('keeps no key past its redelivery window for nothing: four days', () => {
    expect(adapter.minRetentionDays).toBe(4);
  });
});
