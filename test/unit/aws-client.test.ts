import { createHash } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AwsClientError,
  AwsJsonClient,
  type AwsJsonClientOptions,
  AwsServiceError,
  AwsTransportError,
  errorCode,
  Protocols,
} from '../../functions/core/aws/client.js';
import { LeanSqsPublisher } from '../../functions/core/aws/sqs-publisher.js';
import { DependencyError } from '../../functions/core/errors.js';

interface Seen {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

type Responder = (seen: Seen, response: ServerResponse) => void;

/** A tiny AWS-shaped server whose answers each test scripts, one responder per request. */
let server: Server;
let endpoint: string;
let script: Responder[] = [];
let seen: Seen[] = [];
let agents: Agent[] = [];

function json(status: number, body: unknown, headers: Record<string, string> = {}): Responder {
  return (_seen, response) => {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': 'req-1',
      ...headers,
    });
    response.end(text);
  };
}

const hang: Responder = () => {};

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(entry);
      const responder = script.shift() ?? json(500, { __type: 'NoScript', message: 'no script' });
      responder(entry, response);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  script = [];
  seen = [];
  for (const agent of agents) agent.destroy();
  agents = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
});

/** A client on the test server whose clock advances only by the backoff it sleeps. */
function client(options: Partial<AwsJsonClientOptions> = {}) {
  const delays: number[] = [];
  let clock = 1_000_000;
  // A fresh keep-alive agent per test, so no test meets a socket another one left behind.
  const agent = new Agent({ keepAlive: true });
  agents.push(agent);
  const instance = new AwsJsonClient({
    protocol: Protocols.dynamodb,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'token' },
    endpoint,
    agent,
    random: () => 0.5,
    now: () => clock,
    sleep: async (ms) => {
      delays.push(ms);
      clock += ms;
    },
    ...options,
  });
  return { instance, delays };
}

describe('aws: JSON client', () => {
  it('POSTs a signed x-amz-target request and parses the JSON answer', async () => {
    script = [json(200, { Attributes: { id: { S: 'a' } } })];
    const { instance } = client();
    const output = await instance.call('PutItem', { TableName: 't' });
    expect(output).toEqual({ Attributes: { id: { S: 'a' } } });
    const [request] = seen;
    expect(request?.body).toBe('{"TableName":"t"}');
    expect(request?.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers['x-amz-security-token']).toBe('token');
    expect(request?.headers.host).toBe(new URL(endpoint).host);
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
  });

  it('speaks JSON 1.1 with the secretsmanager target for Secrets Manager', async () => {
    script = [json(200, { SecretString: '{}' })];
    const { instance } = client({ protocol: Protocols.secretsManager });
    await instance.call('GetSecretValue', { SecretId: 's' });
    expect(seen[0]?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(seen[0]?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(seen[0]?.headers.authorization).toContain('/secretsmanager/aws4_request');
  });

  it('throws a typed error with the code after # and the message, and does not retry a 400', async () => {
    script = [
      json(400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
        message: 'The conditional request failed',
        Item: { id: { S: 'k' } },
      }),
    ];
    const { instance } = client();
    const error = await instance.call('PutItem', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsServiceError);
    const failure = error as AwsServiceError;
    expect(failure.code).toBe('ConditionalCheckFailedException');
    expect(failure.serviceMessage).toBe('The conditional request failed');
    expect(failure.statusCode).toBe(400);
    expect(failure.requestId).toBe('req-1');
    expect(failure.body.Item).toEqual({ id: { S: 'k' } });
    expect(failure.retryable).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('reads the code from x-amzn-errortype first, as AWS sends it', () => {
    expect(
      errorCode('ResourceNotFoundException:http://internal.amazon.com/coral/com.amazon/'),
    ).toBe('ResourceNotFoundException');
    expect(errorCode('com.amazonaws.sqs#QueueDoesNotExist')).toBe('QueueDoesNotExist');
  });

  it('retries a 5xx at most twice with jittered, doubling backoff, then throws', async () => {
    script = [
      json(500, { __type: 'InternalServerError', message: 'boom' }),
      json(503, { __type: 'ServiceUnavailable', message: 'busy' }),
      json(500, { __type: 'InternalServerError', message: 'boom again' }),
      json(200, {}),
    ];
    const { instance, delays } = client();
    const error = await instance.call('PutItem', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect((error as AwsServiceError).serviceMessage).toBe('boom again');
    expect(seen).toHaveLength(3);
    // Full jitter at random() = 0.5: half of 50 ms, then half of 100 ms.
    expect(delays).toEqual([25, 50]);
  });

  it('retries throttling with a longer backoff and returns the later success', async () => {
    script = [
      json(400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
        message: 'slow',
      }),
      json(200, { ok: true }),
    ];
    const { instance, delays } = client();
    await expect(instance.call('PutItem', {})).resolves.toEqual({ ok: true });
    expect(delays).toEqual([100]);
  });

  it('times out an attempt that gets no answer, retries it, and succeeds on the next', async () => {
    script = [hang, json(200, { ok: 1 })];
    const { instance } = client({ attemptTimeoutMs: 100, now: Date.now, sleep: async () => {} });
    const started = Date.now();
    await expect(instance.call('PutItem', {})).resolves.toEqual({ ok: 1 });
    expect(seen).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('gives up with a TimeoutError once the retries are spent', async () => {
    script = [hang, hang, hang];
    const { instance } = client({ attemptTimeoutMs: 50, now: Date.now, sleep: async () => {} });
    const error = await instance.call('PutItem', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsTransportError);
    expect((error as AwsTransportError).code).toBe('TimeoutError');
    expect(seen).toHaveLength(3);
  });

  it('does not start another attempt that the deadline leaves no room for', async () => {
    script = [hang, hang, hang];
    const { instance } = client({
      attemptTimeoutMs: 150,
      deadlineMs: 200,
      now: Date.now,
      sleep: async () => {},
    });
    const started = Date.now();
    const error = await instance.call('PutItem', {}).catch((caught: unknown) => caught);
    expect((error as AwsClientError).code).toBe('TimeoutError');
    expect(seen).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('caps the last attempt at what remains of the deadline', async () => {
    script = [json(500, { message: 'x' }), hang];
    const { instance } = client({
      attemptTimeoutMs: 2_000,
      deadlineMs: 300,
      now: Date.now,
      sleep: async () => {},
    });
    const started = Date.now();
    const error = await instance.call('PutItem', {}).catch((caught: unknown) => caught);
    expect((error as AwsClientError).code).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('aborts the attempt in flight when the signal of the caller fires, without retrying', async () => {
    script = [hang, json(200, {})];
    const { instance } = client({ now: Date.now, sleep: async () => {} });
    const error = (await instance
      .call('PutItem', {}, { signal: AbortSignal.timeout(50) })
      .catch((caught: unknown) => caught)) as AwsClientError;
    expect(error.code).toBe('AbortError');
    expect(error.retryable).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('stops in the backoff when the signal fires there', async () => {
    script = [json(500, { message: 'x' }), json(200, {})];
    const controller = new AbortController();
    const { instance } = client({
      now: Date.now,
      baseDelayMs: 10_000,
      deadlineMs: 60_000,
      sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
    });
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = (await instance
      .call('PutItem', {}, { signal: controller.signal })
      .catch((caught: unknown) => caught)) as AwsClientError;
    expect(error.code).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(seen).toHaveLength(1);
  });

  it('treats a refused connection as a retryable network error', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const { instance, delays } = client({ endpoint: `http://127.0.0.1:${port}` });
    const error = await instance.call('PutItem', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsTransportError);
    expect((error as AwsTransportError).code).toBe('ECONNREFUSED');
    expect(delays).toHaveLength(2);
  });

  it('retries an answer whose x-amz-crc32 does not match its bytes', async () => {
    const good = JSON.stringify({ ok: 2 });
    script = [
      json(200, { ok: 2 }, { 'x-amz-crc32': String(crc32(good) ^ 1) }),
      json(200, { ok: 2 }, { 'x-amz-crc32': String(crc32(good)) }),
    ];
    const { instance } = client();
    await expect(instance.call('GetItem', {})).resolves.toEqual({ ok: 2 });
    expect(seen).toHaveLength(2);
  });

  it('names an error without a JSON body by its HTTP status', async () => {
    script = [
      (_seen, response) => {
        response.writeHead(403, { 'content-type': 'text/html' });
        response.end('<html>Forbidden</html>');
      },
    ];
    const { instance } = client();
    const error = (await instance.call('PutItem', {}).catch((caught: unknown) => caught)) as
      | AwsServiceError
      | undefined;
    expect(error?.code).toBe('Http403');
    expect(error?.retryable).toBe(false);
  });
});

describe('aws: lean SQS publisher', () => {
  const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

  it('sends the body and both String attributes, and checks MD5OfMessageBody', async () => {
    script = [
      (request, response) => {
        const input = JSON.parse(request.body) as { MessageBody: string };
        json(200, { MessageId: 'm', MD5OfMessageBody: md5(input.MessageBody) })(request, response);
      },
    ];
    const { instance } = client({ protocol: Protocols.sqs });
    await new LeanSqsPublisher(instance, 'https://sqs/q').publish('{"ü":1}', {
      provider: 'sigmate',
      type: 'signal.fired',
    });
    expect(seen[0]?.headers['x-amz-target']).toBe('AmazonSQS.SendMessage');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({
      QueueUrl: 'https://sqs/q',
      MessageBody: '{"ü":1}',
      MessageAttributes: {
        provider: { DataType: 'String', StringValue: 'sigmate' },
        type: { DataType: 'String', StringValue: 'signal.fired' },
      },
    });
  });

  it('refuses an answer whose MD5OfMessageBody is not that of the body sent', async () => {
    script = [json(200, { MessageId: 'm', MD5OfMessageBody: md5('something else') })];
    const { instance } = client({ protocol: Protocols.sqs });
    const error = await new LeanSqsPublisher(instance, 'q')
      .publish('body', { provider: 'p', type: 't' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DependencyError);
    expect(((error as DependencyError).cause as AwsClientError).code).toBe('InvalidChecksumError');
  });
});
