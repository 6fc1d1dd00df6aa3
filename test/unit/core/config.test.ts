import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/core/config.js';
import { buildEnvelope } from '../../../functions/core/envelope.js';
import { ConfigurationError, DependencyError } from '../../../functions/core/errors.js';
import { SecretsManagerSource } from '../../../functions/core/secrets.js';

const base = { WEBHOOK_TABLE_NAME: 'table', WEBHOOK_QUEUE_URL: 'https://sqs/queue' };

describe('core: loadConfig', () => {
  it('applies the contract defaults: 256 KiB bodies and 7 days of retention', () => {
    const config = loadConfig('sigmate', base);
    expect(config.maxBodyBytes).toBe(262_144);
    expect(config.retentionDays).toBe(7);
    expect(config.secretId).toBeUndefined();
    expect(config.sourceAllowlist).toBeUndefined();
  });

  it('fails fast, naming the setting', () => {
    expect(() => loadConfig('sigmate', {})).toThrow(/WEBHOOK_TABLE_NAME is not set/);
    expect(() => loadConfig('sigmate', { ...base, WEBHOOK_MAX_BODY_BYTES: '2MB' })).toThrow(
      ConfigurationError,
    );
    expect(() => loadConfig('sigmate', { ...base, WEBHOOK_MAX_BODY_BYTES: '5000000' })).toThrow(
      /1 to 1000000/,
    );
    expect(() =>
      loadConfig('sigmate', { ...base, WEBHOOK_SOURCE_ALLOWLIST: '10.0.0.0/33' }),
    ).toThrow(/not a CIDR/);
    expect(() => loadConfig('sigmate', { ...base, WEBHOOK_LEASE_SECONDS: '0' })).toThrow(
      /WEBHOOK_LEASE_SECONDS/,
    );
  });

  it("refuses a retention shorter than the provider's retries", () => {
    expect(() =>
      loadConfig('signifyd', { ...base, WEBHOOK_RETENTION_DAYS: '3' }, { minRetentionDays: 5 }),
    ).toThrow(/WEBHOOK_RETENTION_DAYS/);
    expect(loadConfig('signifyd', base, { minRetentionDays: 5 }).retentionDays).toBe(7);
  });

  it('reads an IPv4 and IPv6 allowlist', () => {
    const { sourceAllowlist } = loadConfig('sigma', {
      ...base,
      WEBHOOK_SOURCE_ALLOWLIST: '203.0.113.0/24, 2001:db8::/32',
    });
    expect(sourceAllowlist?.allows('203.0.113.9')).toBe(true);
    expect(sourceAllowlist?.allows('::ffff:203.0.113.9')).toBe(true);
    expect(sourceAllowlist?.allows('2001:db8::1')).toBe(true);
    expect(sourceAllowlist?.allows('198.51.100.1')).toBe(false);
    expect(sourceAllowlist?.allows(undefined)).toBe(false);
    expect(sourceAllowlist?.allows('not-an-ip')).toBe(false);
  });
});

describe('core: SecretsManagerSource', () => {
  const secretsManager = mockClient(SecretsManagerClient);

  it('caches the secret and refetches on refresh at most once per interval', async () => {
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"webhookSecrets":["a"]}' });
    let now = 1_000_000;
    const source = new SecretsManagerSource({
      secretId: 'arn:secret',
      parse: (value) => value,
      client: new SecretsManagerClient({}),
      expectedShape: '{"webhookSecrets":["…"]}',
      now: () => now,
    });
    expect(await source.get()).toEqual({ webhookSecrets: ['a'] });
    await source.get();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"webhookSecrets":["b"]}' });
    expect(await source.refresh()).toEqual({ webhookSecrets: ['b'] });
    expect(await source.refresh()).toBeUndefined();
    now += 30_001;
    expect(await source.refresh()).toEqual({ webhookSecrets: ['b'] });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('turns a store failure or a malformed secret into a DependencyError (503)', async () => {
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand).rejects(new Error('AccessDenied'));
    const failing = new SecretsManagerSource({
      secretId: 's1',
      parse: (v) => v,
      client: new SecretsManagerClient({}),
      expectedShape: '{"webhookSecrets":["…"]}',
    });
    await expect(failing.get()).rejects.toBeInstanceOf(DependencyError);
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"other":1}' });
    const malformed = new SecretsManagerSource({
      secretId: 's2',
      parse: () => {
        throw new ConfigurationError('bad shape');
      },
      client: new SecretsManagerClient({}),
      expectedShape: '{"webhookSecrets":["…"]}',
    });
    await expect(malformed.get()).rejects.toBeInstanceOf(DependencyError);
  });
});

describe('core: buildEnvelope', () => {
  const header = {
    id: 'e1',
    provider: 'sigma' as const,
    type: 'transaction.decision',
    product: 'aml',
    idempotencyKey: 'aml:abc',
    receivedAt: '2026-11-23T12:00:00.000Z',
  };

  it('splices the payload verbatim, keeping exact number digits', () => {
    const payload = '{ "amount": 12345678901234567890.10, "n": 1e400 }';
    const envelope = buildEnvelope(header, payload);
    expect(envelope).toContain('"payload":{ "amount": 12345678901234567890.10, "n": 1e400 }}');
    expect(JSON.parse(envelope)).toMatchObject({ version: 1, ...header });
  });

  it('escapes the two code points SQS refuses, keeping valid JSON', () => {
    const envelope = buildEnvelope(header, '{"a":"x\uFFFEy\uFFFF"}');
    expect(envelope).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(JSON.parse(envelope).payload.a).toBe('x\uFFFEy\uFFFF');
  });

  it('marks test and replayed events, and omits product when there is none', () => {
    const { product: _product, ...noProduct } = header;
    const parsed = JSON.parse(buildEnvelope({ ...noProduct, test: true, replay: true }, '{}'));
    expect(parsed.test).toBe(true);
    expect(parsed.replay).toBe(true);
    expect('product' in parsed).toBe(false);
  });
});
