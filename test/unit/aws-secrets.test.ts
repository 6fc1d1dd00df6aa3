import { describe, expect, it } from 'vitest';
import { AwsServiceError, type JsonCaller } from '../../functions/core/aws/client.js';
import { LeanSecretsManagerSource } from '../../functions/core/aws/secrets-source.js';
import { DependencyError } from '../../functions/core/errors.js';

/** Answers GetSecretValue from a list, one answer per call, and counts the calls. */
function secretsManager(answers: (Record<string, unknown> | Error)[]) {
  const calls: unknown[] = [];
  const caller: JsonCaller = {
    async call<T>(action: string, input: unknown): Promise<T> {
      expect(action).toBe('GetSecretValue');
      calls.push(input);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no more answers');
      if (answer instanceof Error) throw answer;
      return answer as T;
    },
  };
  return { caller, calls };
}

function source(caller: JsonCaller, clock: { now: number }, parse = (value: unknown) => value) {
  return new LeanSecretsManagerSource({
    client: caller,
    secretId: 'webhook/sigmate',
    parse: (value) => parse(value) as { secret: string },
    maxAgeSeconds: 300,
    minRefreshIntervalMs: 30_000,
    now: () => clock.now,
  });
}

describe('aws: lean Secrets Manager source', () => {
  it('parses the JSON secret and serves it from memory until maxAge', async () => {
    const { caller, calls } = secretsManager([
      { SecretString: '{"secret":"one"}' },
      { SecretString: '{"secret":"two"}' },
    ]);
    const clock = { now: 0 };
    const secrets = source(caller, clock);
    expect(await secrets.get()).toEqual({ secret: 'one' });
    clock.now = 299_999;
    expect(await secrets.get()).toEqual({ secret: 'one' });
    expect(calls).toEqual([{ SecretId: 'webhook/sigmate' }]);
    clock.now = 300_000;
    expect(await secrets.get()).toEqual({ secret: 'two' });
    expect(calls).toHaveLength(2);
  });

  it('decodes a binary secret before parsing it', async () => {
    const binary = Buffer.from('{"secret":"bin"}').toString('base64');
    const { caller } = secretsManager([{ SecretBinary: binary }]);
    expect(await source(caller, { now: 0 }).get()).toEqual({ secret: 'bin' });
  });

  it('refreshes past the cache, at most once per interval, and keeps the fresh value', async () => {
    const { caller, calls } = secretsManager([
      { SecretString: '{"secret":"old"}' },
      { SecretString: '{"secret":"rotated"}' },
      { SecretString: '{"secret":"later"}' },
    ]);
    const clock = { now: 0 };
    const secrets = source(caller, clock);
    await secrets.get();
    expect(await secrets.refresh()).toEqual({ secret: 'rotated' });
    expect(await secrets.get()).toEqual({ secret: 'rotated' });
    clock.now = 29_999;
    expect(await secrets.refresh()).toBeUndefined();
    clock.now = 30_000;
    expect(await secrets.refresh()).toEqual({ secret: 'later' });
    expect(calls).toHaveLength(3);
  });

  it('throws DependencyError when the store fails, and caches nothing', async () => {
    const failure = new AwsServiceError(
      'secretsmanager',
      'GetSecretValue',
      'ResourceNotFoundException',
      'no such secret',
      400,
      undefined,
      {},
      false,
    );
    const { caller, calls } = secretsManager([failure, { SecretString: '{"secret":"x"}' }]);
    const secrets = source(caller, { now: 0 });
    const error = await secrets.get().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('secrets');
    expect((error as DependencyError).cause).toBe(failure);
    expect(await secrets.get()).toEqual({ secret: 'x' });
    expect(calls).toHaveLength(2);
  });

  it('throws DependencyError for a secret that is not JSON or has no value', async () => {
    const { caller } = secretsManager([{ SecretString: 'not json' }, {}]);
    const secrets = source(caller, { now: 0 });
    await expect(secrets.get()).rejects.toThrow('the secret store could not be read');
    await expect(secrets.get()).rejects.toThrow('the secret has no value');
  });

  it('throws DependencyError for a secret without the documented shape', async () => {
    const { caller } = secretsManager([{ SecretString: '{"other":1}' }]);
    const secrets = source(caller, { now: 0 }, () => {
      throw new Error('secret is missing');
    });
    const error = await secrets.get().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as Error).message).toBe('the secret does not have the documented shape');
  });
});
