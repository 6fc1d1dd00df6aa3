/**
 * Fault injection for the reliability suite and `npm run reliability`: a
 * loopback HTTP proxy that can take an AWS emulator down, hang, slow or fail
 * single operations (by `x-amz-target`), and a rig that drives the real
 * pipeline in process against the emulators through it, with an injected
 * clock and a way to "kill" an invocation mid-flight.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { MemoryIo } from '../../cli/io.js';
import { seedsByQueue } from '../../cli/providers.js';
import { replay } from '../../cli/replay.js';
import type { StoreTarget } from '../../cli/target.js';
import type { ArchiveLocation } from '../../functions/core/archive.js';
import { createAwsClients } from '../../functions/core/aws.js';
import { Defaults } from '../../functions/core/config.js';
import { buildEnvelope } from '../../functions/core/envelope.js';
import type { HttpResult } from '../../functions/core/http.js';
import {
  type CallOptions,
  type ClaimRequest,
  type ClaimResult,
  DynamoDbClaimLedger,
  DynamoDbIdempotencyStore,
  type IdempotencyStore,
  RecordStatus,
} from '../../functions/core/idempotency.js';
import {
  createWebhookHandler,
  type Log,
  type WebhookHandler,
} from '../../functions/core/pipeline.js';
import {
  type EnvelopeAttributes,
  type EventPublisher,
  type Published,
  SqsPublisher,
} from '../../functions/core/publisher.js';
import {
  type SecretSource,
  SecretsManagerSource,
  StaticSecretSource,
} from '../../functions/core/secrets.js';
import type { ProviderName } from '../../functions/registry.js';
import { type AnyProviderAdapter, providerAdapters } from '../../functions/registry.js';
import { LocalArchiver, localS3Client, readArchive } from '../../local/archiver.js';
import { freePort, startSqsEmulator } from '../../local/emulators.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/ingress.js';
import { ensureIdempotencyTable, ensureQueuePair, type QueuePair } from '../../local/resources.js';
import {
  apiEvent,
  type Delivery,
  fixtureEnv,
  type ProviderFixture,
  registeredFixtures,
} from './providers.js';

// ---------------------------------------------------------------------------
// The proxy

/** What the proxy does to a request it matches. */
export type FaultAction =
  /** The connection is cut before the request reaches the emulator: the service is down. */
  | 'reset'
  /** The emulator is not called; the caller gets a 500 with an AWS-shaped JSON error. */
  | 'error'
  /** The request is held until {@link FaultProxy.releaseHeld}: an unresponsive service. */
  | 'hang'
  /** The emulator processes the request, then the connection is cut before the answer. */
  | 'lose-response';

export interface FaultRule {
  /** The operation, e.g. `SendMessage`, `UpdateItem`; every operation when unset. */
  readonly operation?: string;
  readonly action: FaultAction;
  /** How many requests the rule applies to; unlimited when unset. */
  readonly times?: number;
  /** Only requests whose body contains this text (say, one queue's URL). */
  readonly bodyContains?: string;
}

interface ActiveRule {
  readonly operation: string | undefined;
  readonly bodyContains?: string | undefined;
  readonly action: FaultAction;
  remaining: number;
}

/** The operation name of an AWS JSON-protocol request, from `x-amz-target`. */
function operationOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target'];
  const text = Array.isArray(target) ? target[0] : target;
  return text?.split('.').pop() ?? 'unknown';
}

/** A loopback HTTP proxy in front of one emulator, with switchable faults. */
export class FaultProxy {
  /** Requests seen, by operation. */
  readonly seen = new Map<string, number>();
  /** Requests a rule acted on, by action. */
  readonly injected = new Map<FaultAction, number>();
  private rules: ActiveRule[] = [];
  private held: (() => void)[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts a proxy on 127.0.0.1 (a free port) that forwards to `target`. */
  static async start(target: string): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((request, response) => proxy?.handle(request, response));
    proxy = new FaultProxy(server, new URL(target));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds a rule; rules are tried in order and the first with uses left acts. */
  inject(rule: FaultRule): void {
    this.rules.push({
      operation: rule.operation,
      bodyContains: rule.bodyContains,
      action: rule.action,
      remaining: rule.times ?? Number.POSITIVE_INFINITY,
    });
  }

  /** Takes the emulator "down" (every connection cut) or brings it back. */
  setDown(down: boolean): void {
    this.rules = this.rules.filter(
      (rule) => !(rule.operation === undefined && rule.action === 'reset'),
    );
    if (down) this.rules.unshift({ operation: undefined, action: 'reset', remaining: Infinity });
  }

  /** Removes every rule (held requests stay held). */
  clear(): void {
    this.rules = [];
  }

  /** Forwards every held request to the emulator, as a late arrival would be. */
  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const forward of held) forward();
  }

  /** Resolves once no request is held or in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((done) => this.idleWaiters.push(done));
  }

  count(action: FaultAction): number {
    return this.injected.get(action) ?? 0;
  }

  async close(): Promise<void> {
    this.releaseHeld();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private finished(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const done of waiters) done();
    }
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.inFlight += 1;
    const operation = operationOf(request);
    this.seen.set(operation, (this.seen.get(operation) ?? 0) + 1);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const rule = this.rules.find(
        (candidate) =>
          candidate.remaining > 0 &&
          (candidate.operation === undefined || candidate.operation === operation) &&
          (candidate.bodyContains === undefined ||
            body.includes(Buffer.from(candidate.bodyContains))),
      );
      if (rule) {
        rule.remaining -= 1;
        this.injected.set(rule.action, (this.injected.get(rule.action) ?? 0) + 1);
      }
      switch (rule?.action) {
        case 'reset':
          request.socket.destroy();
          this.finished();
          return;
        case 'error':
          response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(
            JSON.stringify({ __type: 'InternalServerError', message: 'injected fault' }),
          );
          this.finished();
          return;
        case 'hang':
          this.held.push(() => this.forward(request, response, body, false));
          return;
        case 'lose-response':
          this.forward(request, response, body, true);
          return;
        default:
          this.forward(request, response, body, false);
      }
    });
  }

  private forward(
    request: IncomingMessage,
    response: ServerResponse,
    body: Buffer,
    loseResponse: boolean,
  ): void {
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: this.target.host },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          if (loseResponse || response.destroyed) {
            request.socket.destroy();
          } else {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            response.end(Buffer.concat(chunks));
          }
          this.finished();
        });
      },
    );
    upstream.on('error', () => {
      request.socket.destroy();
      this.finished();
    });
    upstream.end(body);
  }
}

// ---------------------------------------------------------------------------
// The rig: the real pipeline, in process, with an injected clock and kills

/** A log that keeps every line; the secrets test reads it. */
export class CapturingLog implements Log {
  readonly lines: string[] = [];
  info(message: string, attributes: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: 'info', message, ...attributes }));
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: 'warn', message, ...attributes }));
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: 'error', message, ...attributes }));
  }
}

/** One invocation's state: a killed invocation never takes another step. */
interface Invocation {
  killed: boolean;
  kill: () => void;
  /** Set by a plan: kill this invocation once its event is on the queue. */
  killAfterEnqueue: boolean;
}

const invocations = new AsyncLocalStorage<Invocation>();
const never = new Promise<never>(() => {});

/** Stops a killed invocation where it stands, as a frozen or killed Lambda would. */
async function step<T>(action: () => Promise<T>): Promise<T> {
  const current = invocations.getStore();
  if (current?.killed) return never;
  const result = await action();
  if (invocations.getStore()?.killed) return never;
  return result;
}

class KillableStore implements IdempotencyStore {
  constructor(private readonly inner: IdempotencyStore) {}
  claim(request: ClaimRequest, options?: CallOptions): Promise<ClaimResult> {
    return step(() => this.inner.claim(request, options));
  }
  complete(
    recordKey: string,
    envelopeId: string,
    messageId: string | undefined,
    options?: CallOptions,
  ): Promise<void> {
    const current = invocations.getStore();
    if (current?.killAfterEnqueue) {
      current.kill();
      return never;
    }
    return step(() => this.inner.complete(recordKey, envelopeId, messageId, options));
  }
  release(recordKey: string, envelopeId: string, options?: CallOptions): Promise<void> {
    return step(() => this.inner.release(recordKey, envelopeId, options));
  }
}

class KillablePublisher implements EventPublisher {
  constructor(private readonly inner: EventPublisher) {}
  publish(body: string, attributes: EnvelopeAttributes, options?: CallOptions): Promise<Published> {
    return step(() => this.inner.publish(body, attributes, options));
  }
}

/** The answer of one delivery, or `killed` when the invocation died before answering. */
export type InvokeResult =
  | {
      readonly killed: false;
      readonly statusCode: number;
      readonly body: Record<string, unknown>;
      readonly raw: HttpResult;
    }
  | { readonly killed: true };

export interface InvokeOptions {
  /** The invocation's time budget (real milliseconds): past it, it is killed. */
  readonly budgetMs?: number;
  /** Kill the invocation between the enqueue and the completion write. */
  readonly killAfterEnqueue?: boolean;
  /** Called when the invocation is killed (say, to let held requests through). */
  readonly onKill?: () => void;
}

export interface RigOptions {
  /** Endpoints the handlers use (a proxy's, for faults). */
  readonly dynamodb: string;
  readonly sqs: string;
  /** Endpoints the rig reads from to verify; the handler endpoints when unset. */
  readonly verifyDynamodb?: string;
  readonly verifySqs?: string;
  readonly log?: Log;
  /** Providers to serve; every registered one when unset. */
  readonly providers?: readonly ProviderName[];
  /** Attempts per AWS call (the client's default is 3: one plus two retries). */
  readonly maxAttempts?: number;
  /**
   * Send every event to its provider's archive queue first, as the stack does by default
   * (its SendMessage goes through the same SQS endpoint, so the same faults hit it).
   */
  readonly archive?: boolean;
  /** Where each provider's handler reads its secrets; the fixtures' static ones when unset. */
  readonly secretSource?: (
    adapter: AnyProviderAdapter,
    fixture: ProviderFixture,
  ) => SecretSource<unknown>;
}

/** What is on a provider's queue, by idempotency key. */
export interface QueueContents {
  readonly total: number;
  readonly byKey: Map<string, number>;
  /** Every message body read, as SQS returned it. */
  readonly bodies: string[];
}

/** Several queues' contents as one. */
function merged(contents: readonly QueueContents[]): QueueContents {
  const byKey = new Map<string, number>();
  for (const { byKey: counts } of contents) {
    for (const [key, count] of counts) byKey.set(key, (byKey.get(key) ?? 0) + count);
  }
  return {
    total: contents.reduce((sum, item) => sum + item.total, 0),
    byKey,
    bodies: contents.flatMap((item) => item.bodies),
  };
}

/** Reads and deletes everything on a queue, counted by `keyOf` each message's JSON body. */
export async function drainQueue(
  sqs: SQSClient,
  queueUrl: string,
  keyOf: (body: Record<string, unknown>) => string,
): Promise<QueueContents> {
  const byKey = new Map<string, number>();
  const bodies: string[] = [];
  let total = 0;
  const worker = async () => {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages.length === 0) return;
      for (const message of Messages) {
        const key = keyOf(JSON.parse(message.Body ?? '{}') as Record<string, unknown>);
        byKey.set(key, (byKey.get(key) ?? 0) + 1);
        bodies.push(message.Body ?? '');
        total += 1;
      }
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        }),
      );
    }
  };
  // Two passes of parallel readers: an empty receive ends a reader, not the queue.
  for (let pass = 0; pass < 2; pass += 1)
    await Promise.all([worker(), worker(), worker(), worker()]);
  return { total, byKey, bodies };
}

/** The real pipeline of each provider on its own table and queues, with an injected clock. */
export class Rig {
  readonly fixtures: ProviderFixture[];
  readonly handlers = new Map<ProviderName, WebhookHandler>();
  readonly queueUrls = new Map<ProviderName, string>();
  /** Each registered provider's archive queue (`<prefix>-<provider>-archive`), when the rig archives. */
  readonly archiveQueues = new Map<ProviderName, QueuePair>();
  /** Milliseconds added to the wall clock: advance it to step past leases without waiting. */
  clockOffsetMs = 0;
  private constructor(
    readonly table: string,
    private readonly clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
    private readonly verify: { dynamodb: DynamoDBClient; sqs: SQSClient },
    fixtures: ProviderFixture[],
    /** The SQS endpoint the rig verifies on (fauxqs serves S3 there too), and its names' prefix. */
    private readonly verifySqs: string,
    private readonly prefix: string,
  ) {
    this.fixtures = fixtures;
  }

  now = (): number => Date.now() + this.clockOffsetMs;

  /** Moves the injected clock past every lease this rig can have granted. */
  passLeases(budgetMs = 4_000): void {
    this.clockOffsetMs += Math.max(budgetMs + 1_000, Defaults.leaseSeconds * 1000) + 1_000;
  }

  static async create(options: RigOptions): Promise<Rig> {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    const client = (endpoint: { dynamodb: string; sqs: string }, maxAttempts?: number) => ({
      dynamodb: new DynamoDBClient({
        region: LOCAL_REGION,
        endpoint: endpoint.dynamodb,
        credentials: LOCAL_CREDENTIALS,
        ...(maxAttempts ? { maxAttempts } : {}),
      }),
      sqs: new SQSClient({
        region: LOCAL_REGION,
        endpoint: endpoint.sqs,
        credentials: LOCAL_CREDENTIALS,
        ...(maxAttempts ? { maxAttempts } : {}),
      }),
    });
    const clients = client(options, options.maxAttempts);
    // The handlers run on the clients Lambda runs (functions/core/aws.ts), with local credentials.
    const handlerClients = createAwsClients(
      {
        AWS_REGION: LOCAL_REGION,
        AWS_ENDPOINT_URL_DYNAMODB: options.dynamodb,
        AWS_ENDPOINT_URL_SQS: options.sqs,
      },
      {
        credentials: LOCAL_CREDENTIALS,
        ...(options.maxAttempts ? { tuning: { maxAttempts: options.maxAttempts } } : {}),
      },
    );
    const verify = client({
      dynamodb: options.verifyDynamodb ?? options.dynamodb,
      sqs: options.verifySqs ?? options.sqs,
    });
    const fixtures = registeredFixtures().filter(
      (fixture) => options.providers === undefined || options.providers.includes(fixture.provider),
    );
    const table = `${prefix}-idempotency`;
    await ensureIdempotencyTable(verify.dynamodb, table);
    const verifySqs = options.verifySqs ?? options.sqs;
    const rig = new Rig(table, clients, verify, fixtures, verifySqs, prefix);
    const env = fixtureEnv();
    const log = options.log ?? new CapturingLog();
    if (options.archive) {
      // Every registered provider has one, as every deployed provider does in the stack.
      for (const fixture of registeredFixtures()) {
        const queue = await ensureQueuePair(verify.sqs, `${prefix}-${fixture.provider}-archive`);
        rig.archiveQueues.set(fixture.provider, queue);
      }
    }
    for (const fixture of fixtures) {
      const archiveQueue = rig.archiveQueues.get(fixture.provider);
      const factory = providerAdapters[fixture.provider];
      if (!factory) continue;
      const adapter = factory(env);
      const queue = await ensureQueuePair(verify.sqs, `${prefix}-${fixture.provider}`);
      rig.queueUrls.set(fixture.provider, queue.queueUrl);
      rig.handlers.set(
        fixture.provider,
        createWebhookHandler({
          adapter,
          secrets:
            options.secretSource?.(adapter, fixture) ??
            new StaticSecretSource(adapter.secretsFromEnv(env)),
          store: new KillableStore(new DynamoDbIdempotencyStore(handlerClients.dynamodb, table)),
          publisher: new KillablePublisher(new SqsPublisher(handlerClients.sqs, queue.queueUrl)),
          archive: archiveQueue && new SqsPublisher(handlerClients.sqs, archiveQueue.queueUrl),
          log,
          maxBodyBytes: Defaults.maxBodyBytes,
          retentionDays: Math.max(Defaults.retentionDays, adapter.minRetentionDays),
          leaseSeconds: Defaults.leaseSeconds,
          now: rig.now,
        }),
      );
    }
    return rig;
  }

  /** Sends one delivery to its provider's handler, as API Gateway would. */
  async invoke(delivery: Delivery, options: InvokeOptions = {}): Promise<InvokeResult> {
    const handler = this.handlers.get(delivery.provider);
    if (!handler) throw new Error(`${delivery.provider} is not served by this rig`);
    const budgetMs = options.budgetMs ?? 4_000;
    const deadline = Date.now() + budgetMs;
    let killedSignal: (value: { killed: true }) => void = () => {};
    const killed = new Promise<{ killed: true }>((done) => {
      killedSignal = done;
    });
    const state: Invocation = {
      killed: false,
      killAfterEnqueue: options.killAfterEnqueue ?? false,
      kill: () => {
        if (state.killed) return;
        state.killed = true;
        killedSignal({ killed: true });
        options.onKill?.();
      },
    };
    const timer = setTimeout(() => state.kill(), budgetMs);
    try {
      const outcome = await Promise.race([
        invocations.run(state, () =>
          handler(apiEvent(delivery), {
            getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
          }),
        ),
        killed,
      ]);
      if ('killed' in outcome) return outcome;
      return {
        killed: false,
        statusCode: outcome.statusCode,
        body: JSON.parse(outcome.body) as Record<string, unknown>,
        raw: outcome,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls a provider's handler with any event, as Lambda would; never throws for a bad event. */
  async call(
    provider: ProviderName,
    event: unknown,
  ): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
    const handler = this.handlers.get(provider);
    if (!handler) throw new Error(`${provider} is not served by this rig`);
    return handler(event, { getRemainingTimeInMillis: () => 4_000 });
  }

  /** Reads and deletes everything on a provider's queue. */
  async drain(provider: ProviderName): Promise<QueueContents> {
    return this.drainQueue(
      this.queueUrls.get(provider),
      (body) => `${provider}#${String(body.idempotencyKey)}`,
    );
  }

  /** Reads and deletes every archive record, counted by provider and idempotency key. */
  async drainArchive(): Promise<QueueContents> {
    const contents: QueueContents[] = [];
    for (const { queueUrl } of this.archiveQueues.values()) {
      contents.push(
        await this.drainQueue(
          queueUrl,
          (body) => `${String(body.provider)}#${String(body.idempotencyKey)}`,
        ),
      );
    }
    return merged(contents);
  }

  /**
   * Runs the stack's archiver on every archive queue (the real `archiveBatch`, settling
   * against this rig's table) into a bucket on fauxqs; what it refuses stays on its queue.
   */
  async archiveToS3(): Promise<{
    location: ArchiveLocation;
    lines: Awaited<ReturnType<typeof readArchive>>;
  }> {
    const s3 = localS3Client(this.verifySqs, LOCAL_REGION, LOCAL_CREDENTIALS);
    const location = { bucket: `${this.prefix}-archive`, prefix: 'events' };
    try {
      await s3.send(new CreateBucketCommand({ Bucket: location.bucket }));
      const sources = [...this.archiveQueues].map(([provider, queue]) => ({ provider, queue }));
      const archiver = new LocalArchiver(
        this.verify.sqs,
        sources,
        {
          s3,
          location,
          ledger: new DynamoDbClaimLedger(this.verify.dynamodb, this.table),
          sources: new Map(sources.map(({ provider, queue }) => [queue.queueArn, provider])),
          retentionDays: Defaults.retentionDays,
        },
        new CapturingLog(),
      );
      await archiver.drain();
      return { location, lines: await readArchive(s3, location) };
    } finally {
      s3.destroy();
    }
  }

  /** The operator CLI's view of this rig: its table, queues and archive. */
  cliTarget(archive: ArchiveLocation): StoreTarget {
    const s3 = localS3Client(this.verifySqs, LOCAL_REGION, LOCAL_CREDENTIALS);
    const queues = Object.fromEntries(
      [...this.queueUrls].map(([provider, queue]) => [
        provider,
        { queue, deadLetterQueue: `${queue}-dlq` },
      ]),
    ) as StoreTarget['queues'];
    return {
      kind: 'local',
      description: `reliability rig ${this.prefix}`,
      urlFor: () => '',
      signingEnv: {},
      providers: seedsByQueue(Object.keys(queues), 'reliability rig queues'),
      ledgerFile: join(tmpdir(), `${this.prefix}-tail-ledger.json`),
      table: this.table,
      queues,
      archive,
      clients: () => ({ dynamodb: this.verify.dynamodb, sqs: this.verify.sqs, s3 }),
      close: () => s3.destroy(),
    };
  }

  /** Sends one message to a provider's archive queue, as a principal other than its function would. */
  async sendToArchive(provider: ProviderName, envelope: string): Promise<void> {
    const queue = this.archiveQueues.get(provider);
    if (!queue) throw new Error(`no archive queue for ${provider}`);
    const header = JSON.parse(envelope) as { provider: string; type: string };
    await this.verify.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.queueUrl,
        MessageBody: envelope,
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: header.provider },
          type: { DataType: 'String', StringValue: header.type },
        },
      }),
    );
  }

  private async drainQueue(
    queueUrl: string | undefined,
    keyOf: (body: Record<string, unknown>) => string,
  ): Promise<QueueContents> {
    return queueUrl
      ? drainQueue(this.verify.sqs, queueUrl, keyOf)
      : { total: 0, byKey: new Map(), bodies: [] };
  }

  /** Every queue drained into one count by idempotency key. */
  async drainAll(): Promise<QueueContents> {
    const contents: QueueContents[] = [];
    for (const provider of this.queueUrls.keys()) contents.push(await this.drain(provider));
    return merged(contents);
  }

  /** Idempotency records that are not completed. */
  async unfinishedClaims(): Promise<number> {
    let count = 0;
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await this.verify.dynamodb.send(
        new ScanCommand({ TableName: this.table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        if (item.status?.S !== RecordStatus.Completed) count += 1;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }

  close(): void {
    for (const client of [this.clients, this.verify]) {
      client.dynamodb.destroy();
      client.sqs.destroy();
    }
  }
}

// ---------------------------------------------------------------------------
// Scenarios

/** One line of the reliability table. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly deliveries: number;
  /** Distinct events that got a 2xx at least once. */
  readonly acknowledged: number;
  readonly unique: number;
  readonly onQueue: number;
  /** Acknowledged events with no message on the queue. */
  readonly lost: number;
  /** Messages beyond the first for an event. */
  readonly duplicates: number;
  /**
   * Faults that may legitimately leave one extra message each: crashes (kills, failed
   * completions) plus ambiguous outcomes (an AWS call sent with no answer). The bound on
   * duplicates.
   */
  readonly crashes: number;
  /** Requests whose log line says an AWS call's outcome was unknown. */
  readonly ambiguous: number;
  /** Claims not completed at the end, or answered `in_progress` after their lease. */
  readonly stuckClaims: number;
  /** Events never acknowledged after recovery. */
  readonly unacknowledged: number;
  /** Acknowledged events with no record on the archive queue; undefined when not archiving. */
  readonly archiveLost?: number | undefined;
  /** Archive records beyond one per acknowledged event (attempts answered 503 included). */
  readonly archiveExtra?: number | undefined;
  /**
   * Replay rows: messages `replay` sent that are not an acknowledged event as its
   * consumer got it — a forged record, or a delivery never acknowledged. Must be 0.
   */
  readonly replayedWrong?: number | undefined;
  /** Redeliveries after recovery answered something else than `accepted`/`duplicate`. */
  readonly badRedeliveries: number;
  readonly statuses: Record<string, number>;
  readonly ms: number;
}

export interface Emulators {
  readonly dynamodb: string;
  readonly sqs: string;
}

/** How a fault scenario disturbs the stream of deliveries. */
interface FaultPlan {
  readonly name: string;
  readonly events: number;
  /** Called before delivery `index` of the first pass. */
  before?(index: number, proxies: { dynamodb: FaultProxy; sqs: FaultProxy }): Promise<void> | void;
  /** Options for delivery `index` of the first pass. */
  options?(index: number, proxies: { dynamodb: FaultProxy; sqs: FaultProxy }): InvokeOptions;
  /** After the first pass: restore service. */
  recover?(proxies: { dynamodb: FaultProxy; sqs: FaultProxy }): Promise<void> | void;
  /** Faults that may leave an extra message, counted after the run. */
  crashes(
    proxies: { dynamodb: FaultProxy; sqs: FaultProxy },
    killed: number,
    log: CapturingLog,
  ): number;
  /** The SQS endpoint to verify against, when the scenario restarts the emulator. */
  readonly sqsEndpoint?: () => string;
  /**
   * Redeliver at once after the first pass, before any lease could have run out: a claim
   * left behind by a failed delivery then shows up as `in_progress` (stuck).
   */
  readonly redeliverAtOnce?: boolean;
  /** The deliveries of the first pass; `fixture.event` per event when unset. */
  deliveries?(fixture: ProviderFixture, run: string): Delivery[];
  /** Deliveries of event `index` in the first pass until one is acknowledged (quick retries); 1 by default. */
  attempts?(index: number): number;
  /** The provider gives up on event `index` after the first pass: never redelivered. */
  abandons?(index: number): boolean;
  /**
   * After recovery the consumer has taken every message and lost it, and the operator
   * replays the whole range from the archive (written by the real archiver), after
   * `forge` sent archive records by other hands. On queue, lost and duplicates are then
   * the replay's.
   */
  readonly replay?: {
    forge?(rig: Rig, consumed: readonly string[]): Promise<void>;
  };
}

/** What is on the queue against what was acknowledged: messages, lost events, extra copies. */
function queueCounts(
  acked: ReadonlySet<string>,
  queue: QueueContents,
): Pick<ScenarioResult, 'onQueue' | 'lost' | 'duplicates'> {
  return {
    onQueue: queue.total,
    lost: [...acked].filter((key) => !queue.byKey.has(key)).length,
    duplicates: queue.total - queue.byKey.size,
  };
}

/** Requests whose `webhook` log line records an ambiguous AWS call. */
export function ambiguousOutcomes(log: CapturingLog): number {
  return log.lines.filter(
    (line) => line.includes('"message":"webhook"') && line.includes('"ambiguous":true'),
  ).length;
}

function bump(statuses: Record<string, number>, key: string): void {
  statuses[key] = (statuses[key] ?? 0) + 1;
}

function label(result: InvokeResult): string {
  return result.killed ? 'killed' : `${result.statusCode} ${String(result.body.status)}`;
}

const acknowledged = (result: InvokeResult) =>
  !result.killed && result.statusCode === 200 && result.body.status !== 'ignored';

/**
 * Runs a fault plan: a first pass of deliveries with the fault, then recovery,
 * then the provider's redeliveries of every event (the clock stepped past every
 * lease each round) until each is acknowledged.
 */
async function runFaultPlan(emulators: Emulators, plan: FaultPlan): Promise<ScenarioResult> {
  const started = Date.now();
  const proxies = {
    dynamodb: await FaultProxy.start(emulators.dynamodb),
    sqs: await FaultProxy.start(plan.sqsEndpoint?.() ?? emulators.sqs),
  };
  const log = new CapturingLog();
  const rig = await Rig.create({
    dynamodb: proxies.dynamodb.endpoint,
    sqs: proxies.sqs.endpoint,
    log,
    verifyDynamodb: emulators.dynamodb,
    verifySqs: plan.sqsEndpoint?.() ?? emulators.sqs,
    providers: ['sigmate'],
    // As deployed: the archive's send comes first and meets the same SQS faults.
    archive: true,
  });
  try {
    const fixture = rig.fixtures[0];
    if (!fixture) throw new Error('sigmate is not registered');
    const run = randomUUID().slice(0, 8);
    const events =
      plan.deliveries?.(fixture, run) ??
      Array.from({ length: plan.events }, (_, index) => fixture.event(`${run}-${index}`));
    const statuses: Record<string, number> = {};
    const acked = new Set<string>();
    let deliveries = 0;
    let killed = 0;
    // Each event is sent once in this pass, so no other live delivery can hold its claim.
    let blockedByOwnClaim = 0;

    // First pass: in order, as the provider sends them, with the fault switched on mid-stream.
    for (const [index, delivery] of events.entries()) {
      await plan.before?.(index, proxies);
      for (let attempt = 0; attempt < (plan.attempts?.(index) ?? 1); attempt += 1) {
        const result = await rig.invoke(delivery, plan.options?.(index, proxies) ?? {});
        deliveries += 1;
        if (result.killed) killed += 1;
        else if (result.body.status === 'in_progress') blockedByOwnClaim += 1;
        bump(statuses, label(result));
        if (acknowledged(result)) {
          acked.add(delivery.eventKey);
          break;
        }
      }
    }
    await plan.recover?.(proxies);
    proxies.dynamodb.clear();
    proxies.sqs.clear();
    proxies.sqs.releaseHeld();
    await Promise.all([proxies.dynamodb.idle(), proxies.sqs.idle()]);

    // Recovery: the provider redelivers every event it has not given up on until it is acknowledged.
    let stuck = blockedByOwnClaim;
    let bad = 0;
    const kept = events.filter((_, index) => !plan.abandons?.(index));
    let pending = kept;
    for (let round = 0; round < 3 && pending.length > 0; round += 1) {
      if (!(plan.redeliverAtOnce && round === 0)) rig.passLeases();
      const next: Delivery[] = [];
      for (const delivery of pending) {
        const result = await rig.invoke(delivery);
        deliveries += 1;
        bump(statuses, `redelivery ${label(result)}`);
        if (acknowledged(result)) {
          acked.add(delivery.eventKey);
        } else {
          if (!result.killed && result.body.status === 'in_progress') stuck += 1;
          else bad += 1;
          next.push(delivery);
        }
      }
      pending = next;
    }

    const queue = await rig.drainAll();
    return {
      scenario: plan.name,
      ...(plan.replay
        ? await replayFromArchive(rig, fixture.provider, acked, queue, plan.replay, started)
        : await archiveQueueCounts(rig, acked, queue)),
      deliveries,
      acknowledged: acked.size,
      unique: kept.length,
      crashes: plan.crashes(proxies, killed, log) + ambiguousOutcomes(log),
      ambiguous: ambiguousOutcomes(log),
      stuckClaims: stuck + (await rig.unfinishedClaims()),
      unacknowledged: kept.filter((delivery) => !acked.has(delivery.eventKey)).length,
      badRedeliveries: bad,
      statuses,
      ms: Date.now() - started,
    };
  } finally {
    rig.close();
    await Promise.all([proxies.dynamodb.close(), proxies.sqs.close()]);
  }
}

/** The consumer queue's counts, and the archive queues' against what was acknowledged. */
async function archiveQueueCounts(
  rig: Rig,
  acked: ReadonlySet<string>,
  queue: QueueContents,
): Promise<
  Pick<ScenarioResult, 'onQueue' | 'lost' | 'duplicates' | 'archiveLost' | 'archiveExtra'>
> {
  const archived = await rig.drainArchive();
  return {
    ...queueCounts(acked, queue),
    archiveLost: [...acked].filter((key) => !archived.byKey.has(key)).length,
    archiveExtra: archived.total - acked.size,
  };
}

/** The part of an envelope after its header: the payload's exact bytes. */
const payloadOf = (envelope: string) => envelope.slice(envelope.indexOf(',"payload":'));

/**
 * The consumer lost what it took (`consumed`); the archiver writes the archive queues to
 * S3 and the operator replays the whole range with the CLI's `replay`. Counts the replay:
 * each acknowledged event must come back once, as the consumer first got it (same
 * envelope id and payload bytes); anything else sent is `replayedWrong`.
 */
async function replayFromArchive(
  rig: Rig,
  provider: ProviderName,
  acked: ReadonlySet<string>,
  consumed: QueueContents,
  plan: NonNullable<FaultPlan['replay']>,
  started: number,
): Promise<
  Pick<
    ScenarioResult,
    'onQueue' | 'lost' | 'duplicates' | 'archiveLost' | 'archiveExtra' | 'replayedWrong'
  >
> {
  const genuine = new Map<string, string>();
  for (const body of consumed.bodies) {
    const envelope = JSON.parse(body) as { provider: string; idempotencyKey: string };
    genuine.set(`${envelope.provider}#${envelope.idempotencyKey}`, body);
  }
  await plan.forge?.(rig, consumed.bodies);
  const { location, lines } = await rig.archiveToS3();
  const target = rig.cliTarget(location);
  try {
    await replay(
      target,
      {
        provider,
        since: new Date(started - 3_600_000).toISOString(),
        // Past the forged records' later receive times.
        until: new Date(Date.now() + 3_600_000).toISOString(),
      },
      new MemoryIo(),
    );
  } finally {
    target.close();
  }
  const replayed = await rig.drain(provider);
  const right = (body: string) => {
    const envelope = JSON.parse(body) as { provider: string; idempotencyKey: string; id: string };
    const original = genuine.get(`${envelope.provider}#${envelope.idempotencyKey}`);
    return (
      original !== undefined &&
      (JSON.parse(original) as { id: string }).id === envelope.id &&
      payloadOf(original) === payloadOf(body)
    );
  };
  const keyOf = (line: { provider: string; idempotencyKey: string }) =>
    `${line.provider}#${line.idempotencyKey}`;
  return {
    onQueue: replayed.total,
    lost: [...acked].filter(
      (key) => !replayed.bodies.some((body) => right(body) && keyOf(JSON.parse(body)) === key),
    ).length,
    duplicates: replayed.total - replayed.byKey.size,
    replayedWrong: replayed.bodies.filter((body) => !right(body)).length,
    archiveLost: [...acked].filter(
      (key) => !lines.some((line) => keyOf(line) === key && line.acknowledged === true),
    ).length,
    archiveExtra: lines.length - acked.size,
  };
}

export const FAULT_EVENTS = 30;
const windowOf = (index: number, from: number, to: number) => index >= from && index < to;

/** SQS refuses every connection for a third of the stream. */
export function sqsDown(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'SQS down mid-stream',
    events: FAULT_EVENTS,
    before: (index, { sqs }) => sqs.setDown(windowOf(index, 10, 20)),
    crashes: () => 0,
  });
}

/** DynamoDB refuses every connection for a third of the stream. */
export function dynamodbDown(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'DynamoDB down mid-stream',
    events: FAULT_EVENTS,
    before: (index, { dynamodb }) => dynamodb.setDown(windowOf(index, 10, 20)),
    crashes: () => 0,
  });
}

/**
 * SendMessage hangs past the function's budget for a few deliveries: the budget aborts
 * each send (an ambiguous outcome), the claim is released and the answer is `503`; the
 * held requests then reach the queue late, the worst case for duplicates.
 */
export function sqsSlow(emulators: Emulators, budgetMs = 1_500): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'ambiguous sends: SQS slow past the budget',
    events: FAULT_EVENTS,
    before: (index, { sqs }) => {
      if (index === 10) sqs.inject({ operation: 'SendMessage', action: 'hang', times: 3 });
    },
    options: (_index, { sqs }) => ({ budgetMs, onKill: () => sqs.releaseHeld() }),
    crashes: (_proxies, killed) => killed,
  });
}

/** The archive queue refuses every send for a third of the stream; the consumer's queue works. */
export function archiveDown(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'archive queue down mid-stream',
    events: FAULT_EVENTS,
    before: (index, { sqs }) => {
      sqs.clear();
      if (windowOf(index, 10, 20)) {
        sqs.inject({ operation: 'SendMessage', action: 'error', bodyContains: '-archive"' });
      }
    },
    crashes: () => 0,
  });
}

/** The consumer's queue refuses every send for a third of the stream; the archive works. */
export function consumerQueueDown(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'consumer queue down mid-stream (archive up)',
    events: FAULT_EVENTS,
    before: (index, { sqs }) => {
      sqs.clear();
      if (windowOf(index, 10, 20)) {
        sqs.inject({ operation: 'SendMessage', action: 'error', bodyContains: '-sigmate"' });
      }
    },
    crashes: () => 0,
  });
}

/**
 * Sigmate's queue refuses every send for a third of the stream; Sigmate tries each of those
 * events 3 times within seconds, gets `503` each time, and gives up. The archive keeps the
 * 30 attempts, none acknowledged; the consumer then loses everything and the operator
 * replays the range: the 20 acknowledged events come back once each, the abandoned ones not.
 */
export function neverAcknowledged(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'never acknowledged: consumer queue down, Sigmate gives up after 3 × 503 (10 events); then replay',
    events: FAULT_EVENTS,
    before: (index, { sqs }) => {
      sqs.clear();
      if (windowOf(index, 10, 20)) {
        sqs.inject({ operation: 'SendMessage', action: 'error', bodyContains: '-sigmate"' });
      }
    },
    attempts: (index) => (windowOf(index, 10, 20) ? 3 : 1),
    abandons: (index) => windowOf(index, 10, 20),
    replay: {},
    crashes: () => 0,
  });
}

/**
 * Every acknowledged event gets a forged archive record, sent by other hands: on its own
 * provider's archive queue with a new envelope id, or with the acknowledged envelope id,
 * or on another provider's archive queue — each with a later receive time and another
 * amount, as in the review's attack. The range replay must send the genuine events only.
 */
export function forgedArchiveRecords(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'forged archive records (30: own queue, acknowledged envelope id, another provider’s queue); then replay',
    events: FAULT_EVENTS,
    replay: {
      forge: async (rig, consumed) => {
        for (const [index, body] of consumed.entries()) {
          const header = JSON.parse(body) as {
            id: string;
            provider: ProviderName;
            type: string;
            idempotencyKey: string;
            receivedAt: string;
          };
          const forged = buildEnvelope(
            {
              ...header,
              id: index % 3 === 1 ? header.id : randomUUID(),
              receivedAt: new Date(Date.parse(header.receivedAt) + 60_000).toISOString(),
            },
            JSON.stringify({
              id: header.idempotencyKey,
              signal_type: 'consensus_sell',
              amount: 999_999,
            }),
          );
          await rig.sendToArchive(index % 3 === 2 ? 'sigma' : header.provider, forged);
        }
      },
    },
    crashes: () => 0,
  });
}

/**
 * Every answer to one delivery's claim (PutItem) is lost after DynamoDB wrote it, retries
 * included: the claim is ambiguous, so the delivery releases its own claim, answers
 * `503`, and the provider's immediate retry is accepted instead of meeting `in_progress`.
 */
export function ambiguousClaims(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'ambiguous claims: every PutItem answer lost',
    events: FAULT_EVENTS,
    before: (index, { dynamodb }) => {
      if (windowOf(index, 10, 13)) {
        dynamodb.inject({ operation: 'PutItem', action: 'lose-response', times: 3 });
      }
    },
    redeliverAtOnce: true,
    crashes: () => 0,
  });
}

/**
 * Verified events whose ids, types and payloads hold what SQS refuses raw (U+FFFE,
 * U+FFFF, C0 controls, escaped lone surrogates) or what it cannot take at all: each gets
 * a definitive answer (escaped and accepted, or `400`), never a `503` loop.
 */
export function poisonContent(emulators: Emulators): Promise<ScenarioResult> {
  const awkward = ['\uFFFE', '\uFFFF', '\u0001', '\u001f', '\uD83D\uDE00', '\u{1F4B8}'];
  return runFaultPlan(emulators, {
    name: 'poison content: code points SQS refuses',
    events: awkward.length * 2 + 1,
    deliveries: (fixture, run) => [
      // A lone surrogate is fine inside the payload, where it stays a JSON escape.
      fixture.sign(Buffer.from(JSON.stringify({ id: `${run}-lone`, text: 'a\uD800b' }))),
      ...awkward.flatMap((text, index) => [
        fixture.sign(
          Buffer.from(
            JSON.stringify({ id: `${run}-id-${index}-${text}`, note: `payload ${text}` }),
          ),
        ),
        fixture.sign(
          Buffer.from(
            JSON.stringify({ id: `${run}-payload-${index}`, nested: { text: `x${text}y` } }),
          ),
        ),
      ]),
    ],
    crashes: () => 0,
  });
}

/** The process dies between the enqueue and the completion write. */
export function killedAfterEnqueue(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'killed between enqueue and completion',
    events: FAULT_EVENTS,
    options: (index) => ({ killAfterEnqueue: index % 6 === 3 }),
    crashes: (_proxies, killed) => killed,
  });
}

/** Every completion write (UpdateItem) fails for a third of the stream. */
export function completionFails(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'completion write failing',
    events: FAULT_EVENTS,
    before: (index, { dynamodb }) => {
      if (index === 10) dynamodb.inject({ operation: 'UpdateItem', action: 'error' });
      if (index === 20) dynamodb.clear();
    },
    // Each acknowledged event whose completion write failed may be enqueued once more.
    crashes: (_proxies, _killed, log) =>
      log.lines.filter((line) => line.includes('completion write failed')).length,
  });
}

/** The answers of SendMessage and of the claim are lost after the emulator acted. */
export function answersLost(emulators: Emulators): Promise<ScenarioResult> {
  return runFaultPlan(emulators, {
    name: 'answers lost (SendMessage, PutItem)',
    events: FAULT_EVENTS,
    // One lost answer per delivery. A lost PutItem answer is retried by the SDK and finds
    // the delivery's own claim; a lost SendMessage answer is not retried (ambiguous): the
    // delivery answers 503 and the provider's retry may enqueue the event a second time.
    before: (index, { dynamodb, sqs }) => {
      if (windowOf(index, 5, 8)) {
        sqs.inject({ operation: 'SendMessage', action: 'lose-response', times: 1 });
      }
      if (windowOf(index, 15, 18)) {
        dynamodb.inject({ operation: 'PutItem', action: 'lose-response', times: 1 });
      }
    },
    crashes: ({ sqs }) => sqs.count('lose-response'),
  });
}

/** The SQS emulator process itself is stopped for a third of the stream, then restarted on its data. */
export async function sqsRestarted(emulators: Emulators): Promise<ScenarioResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reliability-fauxqs-'));
  const port = await freePort();
  let fauxqs = await startSqsEmulator({ port, dataDir });
  try {
    return await runFaultPlan(
      { ...emulators, sqs: fauxqs.endpoint },
      {
        name: 'SQS emulator stopped, restarted',
        events: FAULT_EVENTS,
        before: async (index) => {
          if (index === 10) await fauxqs.stop();
          if (index === 20) fauxqs = await startSqsEmulator({ port, dataDir });
        },
        crashes: () => 0,
      },
    );
  } finally {
    await fauxqs.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Every fault scenario, in the report's order. */
export const faultScenarios: readonly ((emulators: Emulators) => Promise<ScenarioResult>)[] = [
  sqsDown,
  sqsRestarted,
  dynamodbDown,
  sqsSlow,
  ambiguousClaims,
  killedAfterEnqueue,
  completionFails,
  answersLost,
  poisonContent,
  archiveDown,
  consumerQueueDown,
  neverAcknowledged,
  forgedArchiveRecords,
];

/**
 * A provider secret stored raw instead of as JSON (`put-secret-value --secret-string
 * <the secret>`, the natural mistake), for every provider. Secrets Manager is the SDK
 * client with its answers stubbed (no emulator of it runs here); DynamoDB and SQS are
 * the emulators. Every delivery gets `503`, the failure is cached (one GetSecretValue
 * per few seconds, not one per request), no line quotes the secret, and once the secret
 * is fixed the provider's retries are accepted.
 */
export async function misconfiguredSecret(
  emulators: Emulators,
): Promise<ScenarioResult & { secretCalls: number; leakedLines: number }> {
  const started = Date.now();
  const stub = mockClient(SecretsManagerClient);
  const raw = new Map<string, string>();
  const fixed = new Map<string, string>();
  let broken = true;
  stub.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
    const id = input.SecretId ?? '';
    return { SecretString: broken ? raw.get(id) : fixed.get(id) };
  });
  let clock = Date.now();
  const log = new CapturingLog();
  const rig = await Rig.create({
    ...emulators,
    log,
    secretSource: (adapter, fixture) => {
      const id = `webhook-ingress/${adapter.provider}`;
      // The raw value: the fixture's first secret, as an operator would paste it.
      raw.set(id, fixture.secretValues[0] ?? 'raw-secret');
      fixed.set(id, JSON.stringify(secretJsonFor(adapter.provider, fixtureEnv())));
      return new SecretsManagerSource({
        client: new SecretsManagerClient({ region: 'us-east-1' }),
        secretId: id,
        parse: (value) => adapter.secretsFromJson(value),
        expectedShape: adapter.secretShape,
        now: () => clock,
      });
    },
  });
  try {
    const run = randomUUID().slice(0, 8);
    const statuses: Record<string, number> = {};
    const events = rig.fixtures.flatMap((fixture) =>
      Array.from({ length: 5 }, (_, index) => fixture.event(`${run}-${index}`)),
    );
    let deliveries = 0;
    for (const delivery of events) {
      bump(statuses, label(await rig.invoke(delivery)));
      deliveries += 1;
    }
    const secretCalls = stub.commandCalls(GetSecretValueCommand).length;
    broken = false;
    clock += 60_000;
    const acked = new Set<string>();
    for (const delivery of events) {
      const result = await rig.invoke(delivery);
      deliveries += 1;
      bump(statuses, `redelivery ${label(result)}`);
      if (acknowledged(result)) acked.add(delivery.eventKey);
    }
    const queue = await rig.drainAll();
    const secrets = [...raw.values()];
    const leakedLines = log.lines.filter((line) =>
      secrets.some((secret) => line.includes(secret)),
    ).length;
    return {
      scenario: 'misconfigured secret (raw, not JSON), then fixed',
      deliveries,
      acknowledged: acked.size,
      unique: events.length,
      ...queueCounts(acked, queue),
      crashes: 0,
      ambiguous: ambiguousOutcomes(log),
      stuckClaims: await rig.unfinishedClaims(),
      unacknowledged: events.length - acked.size,
      badRedeliveries: leakedLines,
      statuses,
      ms: Date.now() - started,
      secretCalls,
      leakedLines,
    };
  } finally {
    rig.close();
    stub.restore();
  }
}

/** The Secrets Manager JSON of a provider, from the contract's local variables. */
function secretJsonFor(
  provider: string,
  env: Readonly<Record<string, string | undefined>>,
): unknown {
  const list = (name: string) => (env[name] ?? '').split(',');
  if (provider === 'sigma') {
    const secrets = list('SIGMA_API_SECRET');
    return {
      credentials: list('SIGMA_API_KEY').map((apiKey, i) => ({ apiKey, apiSecret: secrets[i] })),
      businessId: env.SIGMA_BUSINESS_ID,
    };
  }
  if (provider === 'sigmate') return { webhookSecrets: list('SIGMATE_WEBHOOK_SECRET') };
  return { apiKeys: list('SIGNIFYD_API_KEY') };
}

// ---------------------------------------------------------------------------
// Concurrency

export interface LoadOptions {
  /** Deliveries in total, redeliveries included. */
  readonly deliveries: number;
  readonly concurrency: number;
  /** Share of deliveries that repeat an earlier event. */
  readonly redeliveryRate: number;
  readonly providers?: readonly ProviderName[];
  /** Stop early after this many milliseconds (soak). */
  readonly durationMs?: number;
  /** Deliveries per second at most (soak); unbounded when unset. */
  readonly ratePerSecond?: number;
}

/**
 * Many events across every provider, at a fixed concurrency, with redeliveries
 * mixed in (some while the first delivery is still in flight). A 409
 * `in_progress` is retried, as providers do. In process: the handler is called
 * directly, so the emulators, not HTTP parsing, are what is measured.
 */
export async function loadRun(emulators: Emulators, options: LoadOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const rig = await Rig.create({
    ...emulators,
    ...(options.providers ? { providers: options.providers } : {}),
  });
  try {
    const run = randomUUID().slice(0, 8);
    const fixtures = rig.fixtures;
    const uniqueCount = Math.round(options.deliveries * (1 - options.redeliveryRate));
    const events = Array.from({ length: uniqueCount }, (_, index) => {
      const fixture = fixtures[index % fixtures.length];
      if (!fixture) throw new Error('no provider is registered');
      return fixture.event(`${run}-${index}`);
    });
    // Each redelivery goes soon after its original (a deterministic spread), so some race it.
    const redeliveryCount = options.deliveries - uniqueCount;
    const ordered = events.map((delivery, index) => ({ delivery, order: index }));
    for (let index = 0; index < redeliveryCount; index += 1) {
      const original = Math.floor((index * uniqueCount) / Math.max(1, redeliveryCount));
      const delivery = events[original];
      if (delivery) ordered.push({ delivery, order: original + ((index * 7919) % 48) + 0.5 });
    }
    const queue = ordered.sort((a, b) => a.order - b.order).map((entry) => entry.delivery);
    const statuses: Record<string, number> = {};
    const acked = new Set<string>();
    let deliveries = 0;
    let stuck = 0;
    let cursor = 0;
    const planned = queue.length;
    const sent = new Set<string>();
    const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
    const interval = options.ratePerSecond ? 1000 / options.ratePerSecond : 0;
    let nextSlot = Date.now();
    const worker = async () => {
      for (;;) {
        // Past the deadline only retries are still sent, so every event sent gets its answer.
        if (Date.now() > deadline && cursor < planned) cursor = planned;
        const delivery = queue[cursor++];
        if (!delivery) return;
        sent.add(delivery.eventKey);
        if (interval > 0) {
          const wait = nextSlot - Date.now();
          nextSlot = Math.max(nextSlot, Date.now()) + interval;
          if (wait > 0) await new Promise((done) => setTimeout(done, wait));
        }
        const result = await rig.invoke(delivery, { budgetMs: 30_000 });
        deliveries += 1;
        bump(statuses, label(result));
        if (acknowledged(result)) acked.add(delivery.eventKey);
        else if (!result.killed && (result.statusCode === 409 || result.statusCode === 503)) {
          // Retried at the back of the queue, as a provider's backoff would.
          if (deliveries > options.deliveries * 3) stuck += 1;
          else queue.push(delivery);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const contents = await rig.drainAll();
    return {
      scenario: `${options.deliveries} deliveries (+ retries of 409), concurrency ${options.concurrency}, ${Math.round(options.redeliveryRate * 100)} % redelivered (${fixtures.map((fixture) => fixture.provider).join(', ')})`,
      deliveries,
      acknowledged: acked.size,
      unique: sent.size,
      ...queueCounts(acked, contents),
      crashes: 0,
      ambiguous: 0,
      stuckClaims: stuck + (await rig.unfinishedClaims()),
      unacknowledged: sent.size - acked.size,
      badRedeliveries: 0,
      statuses,
      ms: Date.now() - started,
    };
  } finally {
    rig.close();
  }
}

/** `copies` identical deliveries of one event, all at once. */
export async function identicalBurst(emulators: Emulators, copies = 50): Promise<ScenarioResult> {
  const started = Date.now();
  const rig = await Rig.create({ ...emulators, providers: ['sigmate'] });
  try {
    const fixture = rig.fixtures[0];
    if (!fixture) throw new Error('sigmate is not registered');
    const delivery = fixture.event(randomUUID());
    const statuses: Record<string, number> = {};
    const results = await Promise.all(
      Array.from({ length: copies }, () => rig.invoke(delivery, { budgetMs: 30_000 })),
    );
    for (const result of results) bump(statuses, label(result));
    const accepted = results.filter(
      (result) => !result.killed && result.body.status === 'accepted',
    );
    const contents = await rig.drainAll();
    return {
      scenario: `${copies} identical deliveries at once`,
      deliveries: copies,
      acknowledged: results.some(acknowledged) ? 1 : 0,
      unique: 1,
      onQueue: contents.total,
      lost: results.some(acknowledged) && contents.total === 0 ? 1 : 0,
      duplicates: Math.max(0, contents.total - 1),
      crashes: 0,
      ambiguous: 0,
      stuckClaims: await rig.unfinishedClaims(),
      unacknowledged: accepted.length === 1 ? 0 : 1,
      badRedeliveries: results.filter(
        (result) =>
          result.killed ||
          !['accepted', 'duplicate', 'in_progress'].includes(String(result.body.status)),
      ).length,
      statuses,
      ms: Date.now() - started,
    };
  } finally {
    rig.close();
  }
}

/** The report's table, in Markdown. */
export function reliabilityTable(results: readonly ScenarioResult[]): string {
  const header =
    '| scenario | deliveries | acknowledged | on queue | lost | duplicates | ambiguous outcomes | bound (crashes + ambiguous) | stuck claims | archive: lost / extra records | replay: wrong messages | time |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const rows = results.map(
    (result) =>
      `| ${result.scenario} | ${result.deliveries} | ${result.acknowledged}/${result.unique} | ${result.onQueue} | ${result.lost} | ${result.duplicates} | ${result.ambiguous} | ${result.crashes} | ${result.stuckClaims} | ${result.archiveLost === undefined ? '—' : `${result.archiveLost} / ${result.archiveExtra ?? 0}`} | ${result.replayedWrong ?? '—'} | ${(result.ms / 1000).toFixed(1)} s |`,
  );
  return [header, ...rows].join('\n');
}
