import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import type { HttpResult } from '../../functions/core/http.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClients } from '../../local/ingress.js';
import { ensureIdempotencyTable, ensureQueuePair } from '../../local/resources.js';

/** The real Sigmate Lambda handler, configured from its environment at import. */
export interface ImportedSigmateHandler {
  readonly handle: (event: unknown, context?: unknown) => Promise<HttpResult>;
  readonly queueUrl: string;
  /** Envelopes on the queue now (received, not deleted). */
  onQueue(): Promise<Record<string, unknown>[]>;
}

/**
 * Creates a table and queue on the test run's emulators, sets the environment the stack
 * would give the Sigmate function (with `WEBHOOK_PATH_PREFIX`) and imports its handler,
 * as Lambda does. Once per test file: the handler reads its environment at import.
 */
export async function importSigmateHandler(options: {
  readonly secret: string;
  readonly pathPrefix: string;
  readonly namePrefix: string;
}): Promise<ImportedSigmateHandler> {
  const endpoints = inject('emulators');
  const clients = localClients(endpoints);
  const name = `${options.namePrefix}${randomUUID().slice(0, 8)}`;
  await ensureIdempotencyTable(clients.dynamodb, `${name}-idempotency`);
  const queueUrl = (await ensureQueuePair(clients.sqs, `${name}-sigmate`)).queueUrl;
  Object.assign(process.env, {
    WEBHOOK_TABLE_NAME: `${name}-idempotency`,
    WEBHOOK_QUEUE_URL: queueUrl,
    WEBHOOK_PATH_PREFIX: options.pathPrefix,
    SIGMATE_WEBHOOK_SECRET: options.secret,
    AWS_REGION: LOCAL_REGION,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const { handler } = (await import('../../functions/sigmate/handler.js')) as never as {
    handler: ImportedSigmateHandler['handle'];
  };
  return {
    handle: handler,
    queueUrl,
    async onQueue() {
      const { Messages } = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      return (Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as Record<string, unknown>);
    },
  };
}
