import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import type { Env } from '../../functions/core/config.js';
import type { Log } from '../../functions/core/pipeline.js';
import type { ProviderName } from '../../functions/provider-names.js';
import type { ProviderDeclaration } from '../../functions/providers.js';
import { attachEmulator } from '../../local/emulators.js';
import { queueUrlOf } from '../../local/endpoints.js';
import { type LocalIngress, localClients, startLocalIngress } from '../../local/ingress.js';

/** A log that keeps every line, for assertions (and for proving no secret is logged). */
export class MemoryLog implements Log {
  readonly lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  info(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, attributes });
  }
  text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }
}

export interface PostResult {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

export interface ReceivedMessage {
  readonly body: Record<string, unknown>;
  readonly raw: string;
  readonly attributes: Record<string, string | undefined>;
}

export interface TestIngress extends LocalIngress {
  readonly log: MemoryLog;
  readonly clients: ReturnType<typeof localClients>;
  /** POSTs (or sends `method`) to the local API and parses the JSON answer. */
  post(
    path: string,
    body: string | Buffer,
    headers?: Record<string, string>,
    method?: string,
  ): Promise<PostResult>;
  /** Drains a provider's queue: every message currently on it, deleted as read. */
  drain(provider: ProviderName, options?: { waitSeconds?: number }): Promise<ReceivedMessage[]>;
  /** Every idempotency record in this ingress's table. */
  records(): Promise<Record<string, unknown>[]>;
}

/**
 * A whole local ingress for one test file, on the run's shared emulators, with
 * its own table and queues (a random name prefix), so files never see each other.
 */
export async function startTestIngress(
  options: {
    env?: Env;
    archive?: boolean | 'manual';
    providers?: readonly ProviderDeclaration[];
  } = {},
): Promise<TestIngress> {
  const endpoints = inject('emulators');
  const log = new MemoryLog();
  const ingress = await startLocalIngress({
    port: 0,
    env: options.env ?? {},
    ...(options.providers ? { providers: options.providers } : {}),
    dynamodb: attachEmulator('DynamoDB Local', endpoints.dynamodb),
    sqs: attachEmulator('fauxqs', endpoints.sqs),
    namePrefix: `t${randomUUID().slice(0, 8)}`,
    log,
    // The archive is made, but drained only when a test asks (no poller per test file).
    archive: options.archive ?? 'manual',
  });
  const clients = localClients(endpoints);

  async function receive(queueUrl: string, waitSeconds: number): Promise<Message[]> {
    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageAttributeNames: ['All'],
      }),
    );
    return Messages ?? [];
  }

  return {
    ...ingress,
    log,
    clients,
    async post(path, body, headers = {}, method = 'POST') {
      const response = await fetch(`${ingress.endpoints.api}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: JSON.parse(text) };
    },
    async drain(provider, drainOptions = {}) {
      const queueUrl = queueUrlOf(ingress.endpoints, provider);
      const received: ReceivedMessage[] = [];
      for (;;) {
        const batch = await receive(
          queueUrl,
          received.length === 0 ? (drainOptions.waitSeconds ?? 0) : 0,
        );
        if (batch.length === 0) break;
        for (const message of batch) {
          const raw = message.Body ?? '';
          received.push({
            raw,
            body: JSON.parse(raw),
            attributes: Object.fromEntries(
              Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
                name,
                value.StringValue,
              ]),
            ),
          });
        }
        await clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle ?? '',
            })),
          }),
        );
      }
      return received;
    },
    async records() {
      const { Items } = await clients.dynamodb.send(
        new ScanCommand({ TableName: ingress.endpoints.table, ConsistentRead: true }),
      );
      return (Items ?? []).map((item) =>
        Object.fromEntries(Object.entries(item).map(([name, value]) => [name, value.S ?? value.N])),
      );
    },
    async stop() {
      await ingress.stop();
      clients.dynamodb.destroy();
      clients.sqs.destroy();
    },
  };
}

/**
 * Runs `body` while a queue of the ingress is deleted (every send to it fails: `503`),
 * then creates it again with its attributes.
 */
export async function withQueueDeleted(
  ingress: TestIngress,
  queueUrl: string,
  body: () => Promise<void>,
): Promise<void> {
  const queueName = new URL(queueUrl).pathname.split('/').pop() ?? '';
  const { Attributes } = await ingress.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['VisibilityTimeout', 'MessageRetentionPeriod', 'RedrivePolicy'],
    }),
  );
  await ingress.clients.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  try {
    await body();
  } finally {
    await ingress.clients.sqs.send(
      new CreateQueueCommand({ QueueName: queueName, Attributes: Attributes ?? {} }),
    );
  }
}
