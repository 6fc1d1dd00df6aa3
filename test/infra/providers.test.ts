import { describe, expect, it } from 'vitest';
import { createProviderAdapter } from '../../functions/declared/adapter.js';
import { parseProviders } from '../../functions/providers.js';
import { deployedProviders, providerTitle } from '../../infra/providers.js';

describe('infra: providers', () => {
  it("deploys each provider with its adapter's own minimum retention", () => {
    const declared = parseProviders([
      { name: 'sigma', scheme: 'sigma' },
      { name: 'sigmate', scheme: 'sigmate' },
      { name: 'signifyd', scheme: 'signifyd' },
      { name: 'stripe-eu', scheme: 'stripe' },
      { name: 'gh', scheme: 'github' },
      { name: 'clerk', scheme: 'standard-webhooks' },
      { name: 'shop', scheme: 'shopify' },
      {
        name: 'acme',
        scheme: 'hmac',
        signatureHeader: 'x-acme-signature',
        encoding: 'hex',
        key: { header: 'x-acme-id' },
        type: { field: 'type' },
      },
      { name: 'sigma-b', scheme: 'sigma' },
    ]);
    for (const deployment of deployedProviders(declared)) {
      const adapter = createProviderAdapter(deployment.declaration);
      expect(deployment.minRetentionDays, deployment.provider).toBe(adapter.minRetentionDays);
    }
  });

  it('runs a seed provider under its own name on its own bundle, every other on the declared one', () => {
    const declared = parseProviders([
      { name: 'sigmate', scheme: 'sigmate' },
      { name: 'sigmate-b', scheme: 'sigmate' },
      { name: 'stripe', scheme: 'stripe' },
    ]);
    const [own, renamed, stripe] = deployedProviders(declared);
    expect(own?.bundle).toBe('sigmate');
    expect(own?.flags({} as never)).toEqual({});
    expect(renamed?.bundle).toBe('declared');
    expect(JSON.parse(renamed?.flags({} as never).WEBHOOK_PROVIDER ?? '')).toEqual({
      name: 'sigmate-b',
      scheme: 'sigmate',
    });
    expect(stripe?.bundle).toBe('declared');
    expect(stripe?.urls).toEqual([
      { output: 'StripeWebhookUrl', path: '/webhooks/stripe', pasteInto: expect.any(String) },
    ]);
  });

  it('names resources in PascalCase, and a Sigma-scheme provider gets a URL per product', () => {
    expect(providerTitle('stripe-eu')).toBe('StripeEu');
    const [sigma] = deployedProviders(parseProviders([{ name: 'sigma-b', scheme: 'sigma' }]));
    expect(sigma?.routes).toEqual(['/webhooks/sigma-b/{product}']);
    expect(sigma?.urls.map((url) => [url.output, url.path])).toEqual([
      ['SigmaBTransactionMonitoringWebhookUrl', '/webhooks/sigma-b/transaction-monitoring'],
      ['SigmaBAmlWebhookUrl', '/webhooks/sigma-b/aml'],
      ['SigmaBCddWebhookUrl', '/webhooks/sigma-b/cdd'],
    ]);
  });
});
