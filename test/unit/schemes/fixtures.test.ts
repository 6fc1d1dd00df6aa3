import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { parseHmacOptions } from '../../../functions/hmac/options.js';
import type { ProviderDeclaration } from '../../../functions/providers.js';
import { SLACK_VECTOR } from '../../fixtures/scheme-vectors.js';
import { hmacHeaders, signedRequest } from '../../fixtures/schemes.js';
import { SIGMA_VECTOR } from '../../fixtures/sigma.js';
import {
  SIGMATE_COMPACT_BODY,
  SIGMATE_COMPACT_SIGNATURE,
  SIGMATE_KNOWN_SECRET,
} from '../../fixtures/sigmate-vectors.js';
import { SignifydVectors } from '../../fixtures/signifyd.js';

const octokit = await import('@octokit/webhooks-methods');

/** The fixture builder is only trusted once the senders' own libraries accept what it signs. */
const BODY = '{"id":"evt_1","type":"invoice.paid","data":{"id":"inv_1"}}';
const now = () => Math.floor(Date.now() / 1000);
const declared = (name: string, scheme: ProviderDeclaration['scheme'], options = {}) =>
  ({ name, scheme, options }) as ProviderDeclaration;

describe('fixtures: the scheme signer agrees with the senders', () => {
  it('standard-webhooks: the standardwebhooks library verifies it', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const signed = signedRequest(declared('b', 'standard-webhooks'), secret, BODY, {
      timestamp: now(),
      id: 'msg_1',
    });
    expect(() => new StandardWebhook(secret).verify(BODY, signed.headers)).not.toThrow();
  });

  it('standard-webhooks: the svix library verifies it under svix-* names', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const signed = signedRequest(declared('b', 'standard-webhooks'), secret, BODY, {
      timestamp: now(),
      svixHeaders: true,
    });
    expect(Object.keys(signed.headers)).toContain('svix-signature');
    expect(() => new SvixWebhook(secret).verify(BODY, signed.headers)).not.toThrow();
  });

  it("stripe: Stripe's constructEvent verifies it", () => {
    const secret = 'whsec_kX3p9Qm2Vb7Lr4Tz8Nw1Hd6Yc5Fj0Ga';
    const signed = signedRequest(declared('s', 'stripe'), secret, BODY, { timestamp: now() });
    const event = new Stripe('sk_test_unused').webhooks.constructEvent(
      BODY,
      signed.headers['stripe-signature'] ?? '',
      secret,
    );
    expect(event.id).toBe('evt_1');
  });

  it("github: Octokit's verify accepts it", async () => {
    const signed = signedRequest(declared('g', 'github'), 'gh-secret', BODY);
    expect(
      await octokit.verify('gh-secret', BODY, signed.headers['x-hub-signature-256'] ?? ''),
    ).toBe(true);
  });

  it("hmac: a Slack-shaped template reproduces Slack's documented signature", () => {
    const options = parseHmacOptions(SLACK_VECTOR.options, 'test');
    const headers = hmacHeaders(options, SLACK_VECTOR.secret, SLACK_VECTOR.body, {
      timestamp: SLACK_VECTOR.timestamp,
    });
    expect(headers['x-slack-signature']).toBe(SLACK_VECTOR.signature);
  });

  it("the seed schemes: the seeds' OpenSSL vectors", () => {
    expect(
      signedRequest(declared('sigmate', 'sigmate'), SIGMATE_KNOWN_SECRET, SIGMATE_COMPACT_BODY)
        .headers['x-sigmate-signature'],
    ).toBe(SIGMATE_COMPACT_SIGNATURE);
    const { v2 } = SignifydVectors;
    expect(
      signedRequest(declared('signifyd', 'signifyd'), v2.key, v2.body).headers[
        'signifyd-sec-hmac-sha256'
      ],
    ).toBe(v2.signature);
    const sigmaSecret = JSON.stringify({
      credentials: [SIGMA_VECTOR.current],
      businessId: SIGMA_VECTOR.businessId,
    });
    const sigma = signedRequest(declared('sigma-eu', 'sigma'), sigmaSecret, '{}', {
      product: 'aml',
    });
    expect(sigma.path).toBe('/webhooks/sigma-eu/aml');
    expect(sigma.headers['x-signature']).toBe(SIGMA_VECTOR.currentHmac);
  });
});
