import { createServer, type Socket } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { SecretMisconfiguredError } from '../../functions/core/errors.js';
import { SecretsManagerSource } from '../../functions/core/secrets.js';
import { providerAdapters } from '../../functions/registry.js';
import { misconfiguredSecret } from '../support/faults.js';

describe('reliability: a misconfigured provider secret', () => {
  const emulators = inject('emulators');

  it('answers 503 without quoting the secret, asks Secrets Manager once, and recovers once fixed', async () => {
    const result = await misconfiguredSecret(emulators);
    const summary = JSON.stringify(result);
    expect(result.leakedLines, summary).toBe(0);
    expect(result.statuses['503 retry'], summary).toBe(result.unique);
    // One GetSecretValue per provider for the whole burst: the failure is cached.
    expect(result.secretCalls, summary).toBe(Object.keys(providerAdapters).length);
    expect(result.statuses['redelivery 200 accepted'], summary).toBe(result.unique);
    expect(result.lost, summary).toBe(0);
    expect(result.duplicates, summary).toBe(0);
  });
});

describe('core: SecretsManagerSource names the problem, never the value', () => {
  // Made per test: another suite's stub, restored, would take this one's place.
  let stub = mockClient(SecretsManagerClient);
  beforeEach(() => {
    stub = mockClient(SecretsManagerClient);
  });
  afterEach(() => stub.restore());

  const cases: Array<[string, string, RegExp]> = [
    ['a raw secret', 'raw-secret-value-1234', /not JSON/],
    ['a JSON string', '"raw-secret-value-1234"', /must be a JSON object/],
    ['an empty value', '   ', /has no value/],
  ];
  for (const [provider, factory] of Object.entries(providerAdapters)) {
    const adapter = factory({});
    for (const [what, stored, problem] of cases) {
      it(`${provider}: ${what} is reported by secret id, problem and expected shape`, async () => {
        stub.on(GetSecretValueCommand).resolves({ SecretString: stored });
        const source = new SecretsManagerSource({
          client: new SecretsManagerClient({ region: 'us-east-1' }),
          secretId: `arn:aws:secretsmanager:us-east-1:1:secret:${provider}`,
          parse: (value) => adapter.secretsFromJson(value),
          expectedShape: adapter.secretShape,
        });
        const error = await source.get().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(SecretMisconfiguredError);
        const message = (error as Error).message;
        expect(message).toContain(`secret arn:aws:secretsmanager:us-east-1:1:secret:${provider}`);
        expect(message).toMatch(problem);
        expect(message).toContain(adapter.secretShape);
        expect(message).not.toContain('raw-secret-value-1234');
        expect((error as Error).cause).toBeUndefined();
      });
    }
    it(`${provider}: a JSON object without the fields names the field`, async () => {
      stub
        .on(GetSecretValueCommand)
        .resolves({ SecretString: '{"unrelated":"raw-secret-value-1234"}' });
      const source = new SecretsManagerSource({
        client: new SecretsManagerClient({ region: 'us-east-1' }),
        secretId: 's',
        parse: (value) => adapter.secretsFromJson(value),
        expectedShape: adapter.secretShape,
      });
      const message = await source.get().then(
        () => '',
        (caught: Error) => caught.message,
      );
      expect(message).toMatch(/credentials|webhookSecrets|apiKeys|businessId/);
      expect(message).not.toContain('raw-secret-value-1234');
    });
  }

  it('keeps a failure for a few seconds, then asks again', async () => {
    stub.on(GetSecretValueCommand).resolves({ SecretString: 'raw' });
    let now = 1_000;
    const source = new SecretsManagerSource({
      client: new SecretsManagerClient({ region: 'us-east-1' }),
      secretId: 's',
      parse: (value) => value,
      expectedShape: '{}',
      now: () => now,
    });
    for (let i = 0; i < 10; i += 1) await expect(source.get()).rejects.toThrow(/not JSON/);
    expect(stub.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 5_001;
    stub.on(GetSecretValueCommand).resolves({ SecretString: '{"ok":true}' });
    await expect(source.get()).resolves.toEqual({ ok: true });
    expect(stub.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('aborts the fetch when the caller’s budget runs out', async () => {
    stub.restore();
    // A listener that takes the request and never answers: a hung Secrets Manager.
    const sockets: Socket[] = [];
    const blackHole = createServer((socket) => sockets.push(socket));
    await new Promise<void>((done) => blackHole.listen(0, '127.0.0.1', done));
    const address = blackHole.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const source = new SecretsManagerSource({
        client: new SecretsManagerClient({
          region: 'us-east-1',
          endpoint: `http://127.0.0.1:${port}`,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
        secretId: 's',
        parse: (value) => value,
        expectedShape: '{}',
      });
      const controller = new AbortController();
      const pending = source.get({ signal: controller.signal });
      setTimeout(() => controller.abort(new Error('the invocation budget ran out')), 50);
      await expect(pending).rejects.toThrow(/could not be read/);
      // The abort was this caller's budget, not an answer: the next caller asks again.
      const again = new AbortController();
      const second = source.get({ signal: again.signal });
      setTimeout(() => again.abort(new Error('the invocation budget ran out')), 50);
      await expect(second).rejects.toThrow(/could not be read/);
      expect(sockets.length).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => blackHole.close(done));
    }
  });
});
