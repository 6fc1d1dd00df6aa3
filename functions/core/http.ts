import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  LambdaFunctionURLEvent,
} from 'aws-lambda';
import { InvalidPayloadError } from './errors.js';

/** The events the ingress accepts: HTTP API (payload 2.0), REST API (1.0) and function URLs. */
export type IncomingEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent | LambdaFunctionURLEvent;

/** A request reduced to what verification needs, whatever front door it came through. */
export interface WebhookRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path without an API Gateway stage prefix, e.g. `/webhooks/sigmate`. */
  readonly path: string;
  /** Header values by lower-case name; repeated headers are joined with `,`. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body bytes, base64-decoded when the event says so. */
  readonly body: Buffer;
  readonly sourceIp: string | undefined;
  readonly requestId: string;
}

/** The structured result API Gateway (both versions) and function URLs understand. */
export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

type HeaderBag = Record<string, string | undefined> | null | undefined;
type MultiHeaderBag = Record<string, string[] | undefined> | null | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function lowerCaseHeaders(single: HeaderBag, multi: MultiHeaderBag): Record<string, string> {
  const values = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    const list = values.get(key);
    if (list) list.push(value);
    else values.set(key, [value]);
  };
  if (multi) {
    for (const [name, list] of Object.entries(multi)) {
      for (const value of list ?? []) add(name, value);
    }
  }
  if (single) {
    for (const [name, value] of Object.entries(single)) {
      if (value === undefined) continue;
      // REST API events repeat the last value of a multi-value header in `headers`.
      if (multi && Object.hasOwn(multi, name) && multi[name]?.includes(value)) continue;
      add(name, value);
    }
  }
  const headers: Record<string, string> = Object.create(null);
  for (const [name, list] of values) headers[name] = list.join(',');
  return headers;
}

function decodeBody(body: string | null | undefined, isBase64Encoded: boolean | undefined): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  return isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
}

function stripPrefix(path: string, prefix: string): string {
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
}

function stripStage(path: string, stage: string | undefined): string {
  if (!stage || stage === '$default') return path;
  return stripPrefix(path, `/${stage}`);
}

/** Options of {@link normaliseEvent}. */
export interface NormaliseOptions {
  /**
   * A custom domain's API mapping path (e.g. `/ingress`): HTTP APIs keep it in
   * `rawPath`, so it is taken off before routing.
   */
  readonly pathPrefix?: string | undefined;
}

/**
 * Turns an API Gateway HTTP API (2.0), REST API (1.0) or function URL event into a
 * {@link WebhookRequest}. Throws {@link InvalidPayloadError} for any other shape.
 */
export function normaliseEvent(event: unknown, options: NormaliseOptions = {}): WebhookRequest {
  const request = normaliseShape(event);
  const prefix = options.pathPrefix;
  return prefix ? { ...request, path: stripPrefix(request.path, prefix) } : request;
}

function normaliseShape(event: unknown): WebhookRequest {
  if (!isRecord(event)) throw new InvalidPayloadError('unsupported event');
  if (event.version === '2.0' && isRecord(event.requestContext)) {
    const v2 = event as unknown as APIGatewayProxyEventV2;
    const headers = lowerCaseHeaders(v2.headers, undefined);
    // Payload 2.0 moves cookies out of the headers; put them back for completeness.
    if (v2.cookies?.length && headers.cookie === undefined) headers.cookie = v2.cookies.join('; ');
    return {
      method: (v2.requestContext.http?.method ?? '').toUpperCase(),
      path: stripStage(v2.rawPath ?? v2.requestContext.http?.path ?? '/', v2.requestContext.stage),
      headers,
      body: decodeBody(v2.body, v2.isBase64Encoded),
      sourceIp: v2.requestContext.http?.sourceIp || undefined,
      requestId: v2.requestContext.requestId ?? '',
    };
  }
  if (typeof event.httpMethod === 'string' && isRecord(event.requestContext)) {
    const v1 = event as unknown as APIGatewayProxyEvent;
    return {
      method: v1.httpMethod.toUpperCase(),
      path: v1.path ?? '/',
      headers: lowerCaseHeaders(v1.headers, v1.multiValueHeaders),
      body: decodeBody(v1.body, v1.isBase64Encoded),
      sourceIp: v1.requestContext.identity?.sourceIp || undefined,
      requestId: v1.requestContext.requestId ?? '',
    };
  }
  throw new InvalidPayloadError('unsupported event');
}
