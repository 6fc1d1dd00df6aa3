import { describe, expect, it } from 'vitest';
import { Defaults } from '../../functions/core/config.js';
import { ContextKeys, DefaultSettings, readSettings, SettingsError } from '../../infra/config.js';
import { ProviderDeployments } from '../../infra/providers.js';
import { lambdaBundling } from '../../infra/webhook-function.js';

const from = (context: Record<string, unknown>) => readSettings((key) => context[key]);

describe('infra: settings', () => {
  it('defaults to the contract limits, no allowlist, no test forwarding and no consumer', () => {
    const settings = from({});
    expect(settings).toEqual(DefaultSettings);
    expect(settings.maxBodyBytes).toBe(Defaults.maxBodyBytes);
    expect(settings.idempotencyRetentionDays).toBe(7);
    expect(settings.sigmaAllowLegacySha256).toBe(false);
    expect(settings.signifydForwardTestEvents).toBe(false);
    expect(settings.exampleConsumer).toBe(false);
    expect(settings.alarmEmail).toBeUndefined();
  });

  it('reads command-line context, which arrives as strings', () => {
    const settings = from({
      [ContextKeys.stageName]: 'staging',
      [ContextKeys.idempotencyRetentionDays]: '10',
      [ContextKeys.logRetentionDays]: '365',
      [ContextKeys.maxBodyBytes]: '500000',
      [ContextKeys.sigmaAllowLegacySha256]: 'true',
      [ContextKeys.throttleRateLimit]: '20',
      [ContextKeys.throttleBurstLimit]: '40',
      [`${ContextKeys.sourceAllowlistPrefix}signifyd`]: '203.0.113.0/24, 198.51.100.7/32',
      [ContextKeys.alarmEmail]: 'ops@example.com',
    });
    expect(settings).toMatchObject({
      stageName: 'staging',
      idempotencyRetentionDays: 10,
      logRetentionDays: 365,
      maxBodyBytes: 500_000,
      sigmaAllowLegacySha256: true,
      throttle: { rateLimit: 20, burstLimit: 40 },
      sourceAllowlists: { signifyd: ['203.0.113.0/24', '198.51.100.7/32'] },
      alarmEmail: 'ops@example.com',
    });
  });

  it('reads typed values from cdk.json', () => {
    expect(from({ exampleConsumer: true, maxBodyBytes: 1000 })).toMatchObject({
      exampleConsumer: true,
      maxBodyBytes: 1000,
    });
  });

  it.each([
    [ContextKeys.stageName, 'Prod_1'],
    [ContextKeys.maxBodyBytes, '2000000'],
    [ContextKeys.logRetentionDays, '17'],
    [ContextKeys.idempotencyRetentionDays, '0'],
    [ContextKeys.sigmaAllowLegacySha256, 'yes please'],
    [ContextKeys.alarmEmail, 'not-an-address'],
    [`${ContextKeys.sourceAllowlistPrefix}sigma`, '10.0.0.1'],
  ])('refuses %s = %s, naming the key', (key, value) => {
    expect(() => from({ [key]: value })).toThrow(SettingsError);
    expect(() => from({ [key]: value })).toThrow(key);
  });
});

describe('infra: providers', () => {
  it('gives each provider a placeholder whose random key is the one that verifies', () => {
    expect(ProviderDeployments.sigmate.secretPlaceholder.generatedKey).toBe('webhookSecrets');
    expect(ProviderDeployments.signifyd.secretPlaceholder.generatedKey).toBe('apiKeys');
    // Sigma signs HMAC(apiKey + apiSecret, businessId): an unknown businessId is unforgeable.
    expect(ProviderDeployments.sigma.secretPlaceholder.generatedKey).toBe('businessId');
  });

  it('lists the three Sigma product URLs of the contract', () => {
    expect(ProviderDeployments.sigma.urls.map((url) => url.path)).toEqual([
      '/webhooks/sigma/transaction-monitoring',
      '/webhooks/sigma/aml',
      '/webhooks/sigma/cdd',
    ]);
  });
});

describe('infra: lambda bundling', () => {
  it('asks CDK for the bench esbuild options, locally and never in Docker', () => {
    expect(lambdaBundling()).toMatchObject({
      minify: true,
      sourceMap: true,
      target: 'node24',
      format: 'esm',
      mainFields: ['module', 'main'],
      externalModules: [],
      esbuildArgs: { '--legal-comments': 'none' },
      forceDockerBundling: false,
    });
    expect(lambdaBundling().banner).toContain('createRequire');
  });
});
