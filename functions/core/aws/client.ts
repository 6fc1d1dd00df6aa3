/**
 * A small client for AWS's JSON protocols (DynamoDB, SQS, Secrets Manager): one signed
 * POST per call over a keep-alive agent, typed errors, bounded retries with jittered
 * backoff inside a deadline, and a timeout per attempt. What the SDK's middleware stack
 * does for these three services, without the stack.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { crc32 } from 'node:zlib';
import { WebhookIngressError } from '../errors.js';
import type { AwsCredentials } from './credentials.js';
import { SigV4Signer } from './signer.js';

/** A call failed: the service answered with an error, or no answer came. */
export class AwsClientError extends WebhookIngressError {
  constructor(
    readonly service: string,
    readonly action: string,
    /** The AWS error code (`__type` after `#`), or a transport code such as `TimeoutError`. */
    readonly code: string,
    message: string,
    /** Whether another attempt could succeed (throttling, 5xx, network, timeout). */
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(`${service}.${action}: ${code}: ${message}`, options);
    this.name = 'AwsClientError';
  }
}

/** The service answered with an error status and body. */
export class AwsServiceError extends AwsClientError {
  constructor(
    service: string,
    action: string,
    code: string,
    /** The service's own message, e.g. "The conditional request failed". */
    readonly serviceMessage: string,
    readonly statusCode: number,
    readonly requestId: string | undefined,
    /** The parsed error body: DynamoDB puts `Item` here for ALL_OLD condition failures. */
    readonly body: Readonly<Record<string, unknown>>,
    retryable: boolean,
  ) {
    super(service, action, code, serviceMessage, retryable);
    this.name = 'AwsServiceError';
  }
}

/** No usable answer: connection error, attempt timeout, corrupt response. */
export class AwsTransportError extends AwsClientError {
  constructor(service: string, action: string, code: string, message: string, cause?: unknown) {
    super(service, action, code, message, true, cause === undefined ? undefined : { cause });
    this.name = 'AwsTransportError';
  }
}

/** Error codes AWS uses for throttling; retried like 5xx (the SDK's list, trimmed). */
const THROTTLING_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'LimitExceededException',
  'TransactionInProgressException',
  'SlowDown',
  'PriorRequestNotComplete',
  'RequestThrottledException',
]);

const TRANSIENT_CODES = new Set([
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException` → the part after `#`. */
export function errorCode(raw: string): string {
  const noUri = raw.split(':')[0] ?? raw;
  return noUri.slice(noUri.lastIndexOf('#') + 1).trim();
}

export interface JsonProtocol {
  /** Signing name and endpoint prefix, e.g. `dynamodb`. */
  readonly service: string;
  /** `x-amz-target` prefix, e.g. `DynamoDB_20120810`. */
  readonly targetPrefix: string;
  readonly contentType: 'application/x-amz-json-1.0' | 'application/x-amz-json-1.1';
}

export const Protocols = {
  dynamodb: {
    service: 'dynamodb',
    targetPrefix: 'DynamoDB_20120810',
    contentType: 'application/x-amz-json-1.0',
  },
  sqs: { service: 'sqs', targetPrefix: 'AmazonSQS', contentType: 'application/x-amz-json-1.0' },
  secretsManager: {
    service: 'secretsmanager',
    targetPrefix: 'secretsmanager',
    contentType: 'application/x-amz-json-1.1',
  },
} as const satisfies Record<string, JsonProtocol>;

export interface AwsJsonClientOptions {
  readonly protocol: JsonProtocol;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** Local emulators (http or https); default `https://<service>.<region>.amazonaws.com`. */
  readonly endpoint?: string | undefined;
  /** Retries after the first attempt. Default 2. */
  readonly maxRetries?: number;
  /** Limit of one attempt, from connect to the last byte of the answer. Default 2 s. */
  readonly attemptTimeoutMs?: number;
  /** Limit of one call, every attempt and backoff included. Default 3 s. */
  readonly deadlineMs?: number;
  /** First backoff ceiling; doubled per retry, full jitter. Default 50 ms (throttling: ×4). */
  readonly baseDelayMs?: number;
  readonly agent?: HttpAgent;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sharedAgents: { http?: HttpAgent; https?: HttpsAgent } = {};

/** One keep-alive agent per scheme for the container, so TLS sessions outlive invocations. */
function defaultAgent(secure: boolean): HttpAgent {
  if (secure) {
    sharedAgents.https ??= new HttpsAgent({ keepAlive: true, maxSockets: 50 });
    return sharedAgents.https;
  }
  sharedAgents.http ??= new HttpAgent({ keepAlive: true, maxSockets: 50 });
  return sharedAgents.http;
}

interface RawResponse {
  readonly statusCode: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

const sleepFor = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Per-call options: `signal` aborts the attempt in flight and any retry after it. */
export interface JsonCallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** What the store, publisher and secret source need of a client: one JSON call. */
export interface JsonCaller {
  /** Calls `action` with `input`; resolves to the parsed answer or throws {@link AwsClientError}. */
  call<TOutput>(action: string, input: unknown, options?: JsonCallOptions): Promise<TOutput>;
}

/** Signed JSON calls to one AWS service. */
export class AwsJsonClient implements JsonCaller {
  readonly endpoint: URL;
  private readonly signer: SigV4Signer;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly maxRetries: number;
  private readonly attemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly baseDelayMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AwsJsonClientOptions) {
    const { protocol, region } = options;
    this.endpoint = new URL(
      options.endpoint ?? `https://${protocol.service}.${region}.amazonaws.com`,
    );
    const secure = this.endpoint.protocol === 'https:';
    this.signer = new SigV4Signer(options.credentials, region, protocol.service);
    this.agent = options.agent ?? defaultAgent(secure);
    this.send = secure ? httpsRequest : httpRequest;
    this.maxRetries = options.maxRetries ?? 2;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 2_000;
    this.deadlineMs = options.deadlineMs ?? 3_000;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? sleepFor;
  }

  async call<TOutput>(
    action: string,
    input: unknown,
    options: JsonCallOptions = {},
  ): Promise<TOutput> {
    const { signal } = options;
    const deadline = this.now() + this.deadlineMs;
    const body = JSON.stringify(input);
    for (let attempt = 0; ; attempt += 1) {
      if (signal?.aborted) throw this.aborted(action, signal);
      const timeout = Math.min(this.attemptTimeoutMs, deadline - this.now());
      let error: AwsClientError;
      try {
        return (await this.attempt(action, body, timeout, signal)) as TOutput;
      } catch (caught) {
        if (!(caught instanceof AwsClientError)) throw caught;
        error = caught;
      }
      if (!error.retryable || attempt >= this.maxRetries) throw error;
      const throttled = THROTTLING_CODES.has(error.code);
      const ceiling = this.baseDelayMs * (throttled ? 4 : 1) * 2 ** attempt;
      const delay = Math.floor(this.random() * ceiling);
      // Another attempt needs time to be worth starting; otherwise fail now, inside the budget.
      if (this.now() + delay + Math.min(100, this.attemptTimeoutMs) > deadline) throw error;
      await this.backoff(delay, signal);
    }
  }

  private aborted(action: string, signal: AbortSignal): AwsClientError {
    return new AwsClientError(
      this.options.protocol.service,
      action,
      'AbortError',
      'the call was aborted',
      false,
      { cause: signal.reason },
    );
  }

  /** Sleeps `ms`, or less when the signal aborts first (the next loop turn then throws). */
  private async backoff(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal === undefined) return this.sleep(ms);
    let onAbort = () => {};
    const aborted = new Promise<void>((done) => {
      onAbort = done;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.sleep(ms), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async attempt(
    action: string,
    body: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const service = this.options.protocol.service;
    const response = await this.post(action, body, timeoutMs, signal);
    const requestId = header(response.headers['x-amzn-requestid']);
    const checksum = header(response.headers['x-amz-crc32']);
    if (checksum !== undefined && Number(checksum) !== crc32(response.body)) {
      throw new AwsTransportError(service, action, 'CRC32Mismatch', 'the answer was corrupted');
    }
    let parsed: Record<string, unknown> = {};
    const text = response.body.toString('utf8');
    try {
      if (text.length > 0) parsed = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      if (response.statusCode < 300) {
        throw new AwsTransportError(
          service,
          action,
          'InvalidJson',
          'the answer is not JSON',
          cause,
        );
      }
    }
    if (response.statusCode < 300) return parsed;
    const rawCode =
      header(response.headers['x-amzn-errortype']) ??
      (typeof parsed.__type === 'string' ? parsed.__type : undefined) ??
      (typeof parsed.code === 'string' ? parsed.code : undefined);
    const code = rawCode ? errorCode(rawCode) : `Http${response.statusCode}`;
    const message = parsed.message ?? parsed.Message;
    const retryable =
      response.statusCode >= 500 ||
      response.statusCode === 429 ||
      THROTTLING_CODES.has(code) ||
      TRANSIENT_CODES.has(code);
    throw new AwsServiceError(
      service,
      action,
      code,
      typeof message === 'string' ? message : `HTTP ${response.statusCode}`,
      response.statusCode,
      requestId,
      parsed,
      retryable,
    );
  }

  private post(
    action: string,
    body: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<RawResponse> {
    const { protocol } = this.options;
    const url = this.endpoint;
    const headers = this.signer.sign({
      method: 'POST',
      host: url.host,
      path: '/',
      headers: {
        'content-type': protocol.contentType,
        'x-amz-target': `${protocol.targetPrefix}.${action}`,
      },
      body,
    });
    headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<RawResponse>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (code: string, message: string, cause?: unknown) => {
        settle();
        reject(new AwsTransportError(protocol.service, action, code, message, cause));
      };
      const request = this.send(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port,
          path: '/',
          method: 'POST',
          headers,
          agent: this.agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (cause) => fail(networkCode(cause), 'the answer broke off', cause));
          response.on('end', () => {
            settle();
            resolve({
              statusCode: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
            });
          });
        },
      );
      const timer = setTimeout(
        () => {
          request.destroy(new AttemptTimeout());
        },
        Math.max(1, timeoutMs),
      );
      const onAbort = () => request.destroy(new CallAborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (cause) => {
        if (cause instanceof CallAborted && signal) {
          settle();
          reject(this.aborted(action, signal));
        } else if (cause instanceof AttemptTimeout) {
          fail('TimeoutError', `no answer within ${timeoutMs} ms`, cause);
        } else {
          fail(networkCode(cause), 'the request failed', cause);
        }
      });
      request.end(body);
    });
  }
}

class AttemptTimeout extends Error {
  constructor() {
    super('attempt timed out');
    this.name = 'AttemptTimeout';
  }
}

class CallAborted extends Error {
  constructor() {
    super('call aborted');
    this.name = 'CallAborted';
  }
}

function networkCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'NetworkError';
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
