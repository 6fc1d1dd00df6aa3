import { createHmac } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import { createAwsClients, KeyObjectSha256 } from '../../../functions/core/aws.js';
import { ConfigurationError } from '../../../functions/core/errors.js';
import { createS3Client } from '../../../functions/core/s3.js';

interface SentRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
}

class Captured extends Error {}

/**
 * Sends one command through the client's whole middleware stack (endpoint rules,
 * signing) and stops just before the network, returning the signed request.
 */
/** The part of any SDK v3 client this helper uses; each client checks its own commands. */
interface AnyClient {
  middlewareStack: {
    add(
      middleware: (next: unknown) => (args: { request: unknown }) => Promise<never>,
      options: { step: 'finalizeRequest'; priority: 'low'; name: string },
    ): void;
  };
  send(command: unknown): Promise<unknown>;
}

async function signedRequest(clientOfAnyService: unknown, command: unknown): Promise<SentRequest> {
  const client = clientOfAnyService as AnyClient;
  let sent: SentRequest | undefined;
  client.middlewareStack.add(
    (_next) => async (args) => {
      const request = args.request as {
        protocol: string;
        hostname: string;
        port?: number;
        path: string;
        headers: Record<string, string>;
      };
      const port = request.port ? `:${request.port}` : '';
      sent = {
        url: `${request.protocol}//${request.hostname}${port}${request.path}`,
        headers: request.headers,
      };
      throw new Captured('captured');
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureSignedRequest' },
  );
  await expect(client.send(command)).rejects.toBeInstanceOf(Captured);
  if (sent === undefined) throw new Error('no request was captured');
  return sent;
}

/** Drops the headers that differ on every request (invocation id, attempt) before signing. */
function withoutPerRequestHeaders<T>(client: T): T {
  (
    client as unknown as {
      middlewareStack: {
        addRelativeTo(
          middleware: unknown,
          options: { relation: 'before'; toMiddleware: string; name: string },
        ): void;
      };
    }
  ).middlewareStack.addRelativeTo(
    (next: (args: { request: { headers: Record<string, string> } }) => unknown) =>
      (args: { request: { headers: Record<string, string> } }) => {
        delete args.request.headers['amz-sdk-invocation-id'];
        delete args.request.headers['amz-sdk-request'];
        return next(args);
      },
    { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'dropPerRequestHeaders' },
  );
  return client;
}

const lambdaEnv = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEKEY',
  AWS_SECRET_ACCESS_KEY: 'example-secret',
  AWS_SESSION_TOKEN: 'example-session-token',
};

const put = new PutItemCommand({ TableName: 't', Item: { id: { S: 'k' } } });
/** A SendMessage to a queue of the client's own region, as the stack wires it. */
const sendIn = (region: string) =>
  new SendMessageCommand({
    QueueUrl: `https://sqs.${region}.amazonaws.com/123456789012/q`,
    MessageBody: 'x',
  });
const read = new GetSecretValueCommand({ SecretId: 's' });

function withEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  return run().finally(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });
}

describe('core: AWS SDK clients', () => {
  it('resolves the China partition to amazonaws.com.cn', async () => {
    const clients = createAwsClients({ ...lambdaEnv, AWS_REGION: 'cn-north-1' });
    expect((await signedRequest(clients.dynamodb, put)).url).toBe(
      'https://dynamodb.cn-north-1.amazonaws.com.cn/',
    );
    expect((await signedRequest(clients.secretsManager, read)).url).toBe(
      'https://secretsmanager.cn-north-1.amazonaws.com.cn/',
    );
  });

  it('honours AWS_USE_FIPS_ENDPOINT', async () => {
    const clients = createAwsClients({ ...lambdaEnv, AWS_USE_FIPS_ENDPOINT: 'true' });
    expect((await signedRequest(clients.dynamodb, put)).url).toBe(
      'https://dynamodb-fips.us-east-1.amazonaws.com/',
    );
    expect((await signedRequest(clients.secretsManager, read)).url).toBe(
      'https://secretsmanager-fips.us-east-1.amazonaws.com/',
    );
    // The queue URL names the plain regional host; the FIPS endpoint must win.
    expect((await signedRequest(clients.sqs, sendIn('us-east-1'))).url).toMatch(
      /^https:\/\/sqs-fips\.us-east-1\.amazonaws\.com\//,
    );
  });

  it('honours AWS_ENDPOINT_URL, and the service-specific variable over it', async () => {
    const clients = createAwsClients({
      ...lambdaEnv,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9324',
    });
    expect((await signedRequest(clients.dynamodb, put)).url).toBe('http://127.0.0.1:4566/');
    expect((await signedRequest(clients.sqs, sendIn('us-east-1'))).url).toMatch(
      /^http:\/\/127\.0\.0\.1:9324\//,
    );
  });

  it('ignores the endpoint variables when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true', async () => {
    const clients = createAwsClients({
      ...lambdaEnv,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
    });
    expect((await signedRequest(clients.dynamodb, put)).url).toBe(
      'https://dynamodb.us-east-1.amazonaws.com/',
    );
  });

  it('signs with the credentials Lambda puts in the environment, session token included', async () => {
    await withEnv(lambdaEnv, async () => {
      const clients = createAwsClients(lambdaEnv);
      for (const [client, command, service] of [
        [clients.dynamodb, put, 'dynamodb'],
        [clients.sqs, sendIn('us-east-1'), 'sqs'],
        [clients.secretsManager, read, 'secretsmanager'],
      ] as const) {
        const { headers } = await signedRequest(client, command);
        expect(headers.authorization).toMatch(
          new RegExp(
            `^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY/\\d{8}/us-east-1/${service}/aws4_request`,
          ),
        );
        expect(headers['x-amz-security-token']).toBe('example-session-token');
      }
    });
  });

  it('signs with explicit credentials when given (local emulators)', async () => {
    const clients = createAwsClients(
      { AWS_REGION: 'eu-west-1' },
      { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
    );
    const { headers } = await signedRequest(clients.sqs, sendIn('eu-west-1'));
    expect(headers.authorization).toMatch(/Credential=local\/\d{8}\/eu-west-1\/sqs\//);
  });

  it('sends the archiver PutObject with a checksum, as a bucket with Object Lock requires', async () => {
    // S3 refuses an upload to a bucket with a default Object Lock retention unless it
    // carries Content-MD5 or a flexible checksum; the SDK's default (WHEN_SUPPORTED) adds one.
    const s3 = createS3Client(lambdaEnv);
    const request = await signedRequest(
      s3,
      new PutObjectCommand({
        Bucket: 'archive-bucket',
        Key: 'events/x.jsonl.gz',
        Body: Buffer.from('{}\n'),
      }),
    );
    expect(request.url).toBe('https://archive-bucket.s3.us-east-1.amazonaws.com/events/x.jsonl.gz');
    const names = Object.keys(request.headers).map((name) => name.toLowerCase());
    expect(names.some((name) => name === 'content-md5' || name.startsWith('x-amz-checksum-'))).toBe(
      true,
    );
    // Signed over the checksum, so it cannot be stripped on the way.
    expect(request.headers.authorization).toContain('x-amz-checksum-crc32');
  });

  it('signs S3 requests exactly as the stock S3 client does (the path escaped once)', async () => {
    // A key with `=` in it, as every archive key has: escaped twice, S3 refuses the signature.
    const command = () =>
      new PutObjectCommand({
        Bucket: 'archive-bucket',
        Key: 'events/provider=sigmate/date=2026-11-23/abc.jsonl.gz',
        Body: Buffer.from('{}\n'),
      });
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const ours = createS3Client(lambdaEnv, { credentials });
    const stock = new S3Client({ region: 'us-east-1', credentials });
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-23T12:00:00Z') });
    try {
      const [a, b] = [
        await signedRequest(withoutPerRequestHeaders(ours), command()),
        await signedRequest(withoutPerRequestHeaders(stock), command()),
      ];
      expect(a.url).toBe(b.url);
      expect(a.headers.authorization).toBe(b.headers.authorization);
    } finally {
      vi.useRealTimers();
    }
  });

  it('fails fast without a region', () => {
    expect(() => createAwsClients({})).toThrow(ConfigurationError);
  });

  it('computes the HMACs and hashes node:crypto computes', async () => {
    const key = new Uint8Array([1, 2, 3, 4]);
    const twice = [new KeyObjectSha256(key), new KeyObjectSha256(key)];
    for (const hmac of twice) hmac.update(new TextEncoder().encode('message'));
    const expected = createHmac('sha256', Buffer.from(key)).update('message').digest();
    for (const hmac of twice) expect(Buffer.from(await hmac.digest())).toEqual(expected);
    const fromString = new KeyObjectSha256('AWS4secret');
    fromString.update(new TextEncoder().encode('20260101'));
    expect(Buffer.from(await fromString.digest())).toEqual(
      createHmac('sha256', 'AWS4secret').update('20260101').digest(),
    );
  });

  it('keeps one key per text secret, and only the latest few', () => {
    expect(KeyObjectSha256.keyForText('secret-a')).toBe(KeyObjectSha256.keyForText('secret-a'));
    const first = KeyObjectSha256.keyForText('rotated-0');
    for (let i = 1; i <= 8; i += 1) KeyObjectSha256.keyForText(`rotated-${i}`);
    // Evicted: a new key object for the same text, the same bytes.
    const again = KeyObjectSha256.keyForText('rotated-0');
    expect(again).not.toBe(first);
    expect(again.equals(first)).toBe(true);
  });
});
