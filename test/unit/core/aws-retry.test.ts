import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsClients, isAmbiguousFailure } from '../../../functions/core/aws.js';

/** A loopback listener that counts requests and answers each as `answer` says. */
async function listener(
  answer: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ server: Server; endpoint: string; count: () => number }> {
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    request.resume();
    request.on('end', () => answer(request, response));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, count: () => requests };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

async function sendThrough(endpoint: string, requestTimeoutMs = 2000): Promise<unknown> {
  const { sqs } = createAwsClients(
    { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SQS: endpoint },
    {
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      tuning: { requestTimeoutMs },
    },
  );
  return sqs
    .send(new SendMessageCommand({ QueueUrl: `${endpoint}/000000000000/q`, MessageBody: 'x' }))
    .then(
      () => undefined,
      (error: unknown) => error,
    );
}

describe('core: SQS retries never resend a message that may have landed', () => {
  it('retries an error SQS answered (the message was not taken)', async () => {
    const server = await listener((_request, response) => {
      response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: 'InternalError', message: 'try again' }));
    });
    servers.push(server.server);
    const error = await sendThrough(server.endpoint);
    expect(isAmbiguousFailure(error)).toBe(false);
    expect(server.count()).toBe(3);
  });

  it('sends once when the connection drops after the request was received', async () => {
    const server = await listener((request) => request.socket.destroy());
    servers.push(server.server);
    const error = await sendThrough(server.endpoint);
    expect(isAmbiguousFailure(error)).toBe(true);
    expect(server.count()).toBe(1);
  });

  it('sends once when a 200 answer is cut off mid-body (SQS may have the message)', async () => {
    const server = await listener((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': '200',
      });
      response.write('{"MessageId":"m-1",');
      response.socket?.destroy();
    });
    servers.push(server.server);
    const error = await sendThrough(server.endpoint);
    expect(isAmbiguousFailure(error)).toBe(true);
    expect(server.count()).toBe(1);
  });

  it('sends once when no answer comes within the request timeout', async () => {
    const server = await listener(() => {});
    servers.push(server.server);
    const error = await sendThrough(server.endpoint, 200);
    expect((error as Error).name).toBe('TimeoutError');
    expect(isAmbiguousFailure(error)).toBe(true);
    expect(server.count()).toBe(1);
  });

  it('retries when the connection is refused (nothing was sent)', async () => {
    const server = await listener(() => {});
    const { endpoint } = server;
    await new Promise((done) => server.server.close(done));
    const error = await sendThrough(endpoint);
    expect(isAmbiguousFailure(error)).toBe(false);
    expect((error as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(3);
  });
});
