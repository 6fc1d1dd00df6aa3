import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Defaults } from '../../functions/core/config.js';
import {
  ContextKeys,
  DefaultSettings,
  SettingsError,
  UnknownSettingError,
} from '../../infra/config.js';
import { checkContextKeys, knownContextKeys, readSettings } from '../../infra/context.js';
import { PACKAGE_ROOT as PROJECT_ROOT } from '../../infra/lambda-code.js';
import { deployedProviders } from '../../infra/providers.js';

const ProviderDeployments = Object.fromEntries(
  deployedProviders().map((d) => [d.provider, d]),
) as Record<'sigma' | 'sigmate' | 'signifyd', ReturnType<typeof deployedProviders>[number]>;

import { lambdaEsbuildOptions } from '../../tools/bundling.js';

const SIGMA = { days: 7, provider: 'Sigma' };
const from = (context: Record<string, unknown>) => readSettings((key) => context[key], SIGMA);

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
    [ContextKeys.maxBodyBytes, '12abc'],
    [ContextKeys.throttleRateLimit, '1e3'],
    [`${ContextKeys.throttleBurstLimitPrefix}default`, '0'],
    [`${ContextKeys.reservedConcurrencyPrefix}sigmate`, '-1'],
    [ContextKeys.alarmTopicArn, 'platform-pager'],
    [ContextKeys.kmsKeyArn, 'alias/webhooks'],
    [ContextKeys.kmsKeyArn, 'arn:aws:kms:eu-west-1:123456789012:alias/webhooks'],
    [ContextKeys.exampleConsumer, '1'],
  ])('refuses %s = %s, naming the key', (key, value) => {
    expect(() => from({ [key]: value })).toThrow(SettingsError);
    expect(() => from({ [key]: value })).toThrow(`context "${key}"`);
  });

  it("keeps Sigma's 7-day minimum retention while Sigma is deployed", () => {
    expect(() => from({ idempotencyRetentionDays: '6' })).toThrow(
      'context "idempotencyRetentionDays" must be at least 7 while Sigma is deployed',
    );
    // The floor follows the providers served: without Sigma, Signifyd's 5 days.
    const withoutSigma = {
      idempotencyRetentionDays: '5',
      providers: [{ name: 'signifyd', scheme: 'signifyd' }],
    } as Record<string, unknown>;
    expect(readSettings((key) => withoutSigma[key]).idempotencyRetentionDays).toBe(5);
    expect(() => readSettings((key) => ({ idempotencyRetentionDays: '5' })[key])).toThrow(
      'at least 7 while Sigma is deployed',
    );
  });

  it('refuses deduplication longer than SQS can keep an event, and queues shorter than it', () => {
    expect(() => from({ idempotencyRetentionDays: '15' })).toThrow(
      /at most 14.*SQS keeps messages 14 days/,
    );
    expect(() => from({ idempotencyRetentionDays: '10', queueRetentionDays: '9' })).toThrow(
      'context "queueRetentionDays" must be at least context "idempotencyRetentionDays" (10)',
    );
    expect(() => from({ queueRetentionDays: '15' })).toThrow('context "queueRetentionDays"');
    expect(from({ idempotencyRetentionDays: '14', queueRetentionDays: '14' })).toMatchObject({
      idempotencyRetentionDays: 14,
      queueRetentionDays: 14,
    });
  });

  it('reads per-route throttles, reserved concurrency, the alarm topic, the key and the domain', () => {
    const settings = from({
      'throttleRateLimit.sigmate': '20',
      'throttleBurstLimit.default': '7',
      'reservedConcurrency.sigma': '15',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:pager',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      domainName: 'hooks.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123',
      domainMappingPath: '/ingress/',
    });
    expect(settings.routeThrottles).toEqual({
      sigmate: { rateLimit: 20, burstLimit: 200 },
      default: { rateLimit: 10, burstLimit: 7 },
    });
    expect(settings.reservedConcurrency).toEqual({ sigma: 15 });
    expect(settings.customDomain).toEqual({
      domainName: 'hooks.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123',
      hostedZone: undefined,
      mappingPath: 'ingress',
    });
  });

  it('refuses half a custom domain, and a hosted zone that does not hold the domain', () => {
    const cert = 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123';
    expect(() => from({ domainName: 'hooks.example.com' })).toThrow('context "certificateArn"');
    expect(() => from({ certificateArn: cert })).toThrow('context "domainName"');
    expect(() =>
      from({ domainName: 'hooks.example.com', certificateArn: cert, hostedZoneId: 'Z123' }),
    ).toThrow('context "hostedZoneName"');
    expect(() =>
      from({
        domainName: 'hooks.example.com',
        certificateArn: cert,
        hostedZoneId: 'Z123',
        hostedZoneName: 'example.org',
      }),
    ).toThrow('context "hostedZoneName" must be the zone of hooks.example.com');
  });
});

describe('infra: unknown context keys', () => {
  it.each([
    ['alarmEmial', 'alarmEmail'],
    ['idempotencyRetentionDay', 'idempotencyRetentionDays'],
    ['sourceAllowlist.signifid', 'sourceAllowlist.signifyd'],
    ['throttleratelimit', 'throttleRateLimit'],
    ['Stage', 'stage'],
  ])('refuses %s, naming %s', (typo, meant) => {
    expect(() => checkContextKeys([typo])).toThrow(UnknownSettingError);
    expect(() => checkContextKeys([typo])).toThrow(
      `unknown context key "${typo}": did you mean "${meant}"?`,
    );
  });

  it('refuses a key like nothing it knows, without a guess', () => {
    expect(() => checkContextKeys(['colour'])).toThrow(/^unknown context key "colour" \(/);
  });

  it("accepts every key it documents and the CDK's own", () => {
    expect(() =>
      checkContextKeys([
        ...knownContextKeys(),
        '@aws-cdk/core:checkSecretUsage',
        'aws:cdk:enable-path-metadata',
        'availability-zones:account=123456789012:region=eu-west-1',
        'acknowledged-issue-numbers',
      ]),
    ).not.toThrow();
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
  it('bundles every dependency as CommonJS, minified, with a lean source map, for the Lambda runtime', () => {
    const options = lambdaEsbuildOptions('entry.ts', 'out/index.js');
    expect(options).toMatchObject({
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      mainFields: ['module', 'main'],
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      external: [],
      legalComments: 'none',
    });
  });
});

describe('infra: the app on a bad setting', () => {
  const run = (context: Record<string, unknown>) =>
    promisify(execFile)(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['infra/app.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: tmpdir() },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );

  it('exits 2 with one line naming the key, and no stack trace', async () => {
    const [typo, bad] = await Promise.all([
      run({ alarmEmial: 'ops@example.com' }),
      run({ queueRetentionDays: '3' }),
    ]);
    expect(typo).toEqual({
      code: 2,
      stderr:
        'webhook-ingress: unknown context key "alarmEmial": did you mean "alarmEmail"? (the settings are listed in the README\'s Deploy section)\n',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^webhook-ingress: context "queueRetentionDays" must be at least/);
  }, 30_000);
});
