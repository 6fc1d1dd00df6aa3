import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PayloadTooLargeError, RouteNotFoundError } from '../functions/core/errors.js';
import type { HttpResult } from '../functions/core/http.js';
import type { WebhookHandler } from '../functions/core/pipeline.js';
import { answerForError } from '../functions/core/respond.js';

/** API Gateway HTTP APIs refuse bodies over 10 MB before Lambda sees them. */
export const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;

/** A handler and the paths it serves, as one API Gateway integration. */
export interface LocalRoute {
  /** The provider, for the answer counters. */
  readonly name?: string;
  readonly matches: (path: string) => boolean;
  readonly handler: WebhookHandler;
  /** Function timeout in AWS, so `getRemainingTimeInMillis` behaves as in Lambda. */
  readonly timeoutMs: number;
}

/**
 * Bodies passed as text, as an HTTP API does for text types (others are base64,
 * `isBase64Encoded: true`). Either way the function decodes exactly the bytes sent:
 * text only when it is valid UTF-8 that re-encodes to the same bytes, else base64.
 */
const TEXTUAL = /^(application\/([\w.+-]*\+)?json|text\/)/i;
/** Valid UTF-8 decodes to text that re-encodes to the same bytes, a leading BOM included. */
const UTF8_KEEPING_BOM = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function headerBag(request: IncomingMessage): {
  headers: Record<string, string>;
  cookies?: string[];
} {
  const headers = new Map<string, string>();
  let cookies: string[] | undefined;
  const raw = request.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = (raw[index] ?? '').toLowerCase();
    const value = raw[index + 1] ?? '';
    if (name === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/)];
      continue;
    }
    // HTTP APIs join repeated headers with a comma, lower-casing every name.
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  const bag = Object.fromEntries(headers);
  return cookies ? { headers: bag, cookies } : { headers: bag };
}

/** The API Gateway HTTP API (payload 2.0) event Lambda would receive for this request. */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: Buffer,
  now: Date = new Date(),
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const { headers, cookies } = headerBag(request);
  const method = (request.method ?? 'GET').toUpperCase();
  const contentType = headers['content-type'] ?? '';
  let text: string | undefined;
  if (body.length > 0 && TEXTUAL.test(contentType)) {
    try {
      // `ignoreBOM` keeps a leading U+FEFF in the text (the default drops it): API Gateway
      // passes the bytes, and a signature covers the BOM too.
      text = UTF8_KEEPING_BOM.decode(body);
    } catch {
      text = undefined;
    }
  }
  const isBase64Encoded = body.length > 0 && text === undefined;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: `${method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: `${method} ${url.pathname}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: isBase64Encoded ? body.toString('base64') : (text ?? '') } : {}),
    isBase64Encoded,
  };
}

function send(response: ServerResponse, result: HttpResult): void {
  response.writeHead(result.statusCode, {
    ...result.headers,
    'content-length': Buffer.byteLength(result.body),
  });
  response.end(result.body);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > API_GATEWAY_MAX_BODY) throw new PayloadTooLargeError(size, API_GATEWAY_MAX_BODY);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** The local API's readiness and metrics path (not a provider route; not in AWS). */
export const HEALTH_PATH = '/health';

/**
 * Answers given since start, by provider and `<status code> <body status>` — the
 * local stand-in for the metrics CloudWatch derives from the functions' log lines in AWS.
 */
export class AnswerCounters {
  readonly startedAt = new Date().toISOString();
  private readonly counts: Record<string, Record<string, number>> = {};

  record(provider: string, result: HttpResult): void {
    let status = '(not JSON)';
    try {
      const body = JSON.parse(result.body) as { status?: unknown };
      if (typeof body.status === 'string') status = body.status;
    } catch {
      // Counted as `(not JSON)`.
    }
    const label = `${result.statusCode} ${status}`;
    const byLabel = this.counts[provider] ?? {};
    byLabel[label] = (byLabel[label] ?? 0) + 1;
    this.counts[provider] = byLabel;
  }

  snapshot(): Record<string, Record<string, number>> {
    return structuredClone(this.counts);
  }
}

function health(request: IncomingMessage, counters: AnswerCounters): HttpResult {
  const method = (request.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    return {
      statusCode: 405,
      headers: { 'content-type': 'application/json', allow: 'GET' },
      body: JSON.stringify({ status: 'method_not_allowed' }),
    };
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({
      status: 'ok',
      startedAt: counters.startedAt,
      answers: counters.snapshot(),
    }),
  };
}

/**
 * An HTTP server on 127.0.0.1 that plays API Gateway: each request becomes the
 * payload 2.0 event Lambda would get and goes to the same handler code. It
 * listens only once the ingress is ready, so `GET /health` answering 200 means ready.
 */
export function createLocalApiServer(
  routes: readonly LocalRoute[],
  counters: AnswerCounters = new AnswerCounters(),
): Server {
  return createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      if (path === HEALTH_PATH) {
        request.resume();
        send(response, health(request, counters));
        return;
      }
      const route = routes.find((candidate) => candidate.matches(path));
      if (!route) {
        request.resume();
        send(response, answerForError(new RouteNotFoundError()).result);
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(request);
      } catch (error) {
        send(response, answerForError(error).result);
        request.resume();
        return;
      }
      const deadline = Date.now() + route.timeoutMs;
      const result = await route.handler(toApiGatewayEvent(request, body), {
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      });
      if (route.name) counters.record(route.name, result);
      send(response, result);
    })().catch((error: unknown) => {
      if (!response.headersSent) send(response, answerForError(error).result);
      else response.destroy();
    });
  });
}

/** Listens on 127.0.0.1; port 0 picks a free one. Resolves to the bound port. */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolvePort(typeof address === 'object' && address ? address.port : port);
    });
  });
}
