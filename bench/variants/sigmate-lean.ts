/**
 * Measured alternative (not deployed): the Sigmate handler wired like functions/core/lambda.ts
 * but without the Secrets Manager client, Powertools Parameters and Powertools Metrics, to
 * weigh what those three cost in bundle size and cold init.
 */
import { loadConfig } from '../../functions/core/config.js';
import { DynamoDbIdempotencyStore } from '../../functions/core/idempotency.js';
import { createClients } from '../../functions/core/lambda.js';
import { createLogger } from '../../functions/core/observability.js';
import { createWebhookHandler } from '../../functions/core/pipeline.js';
import { SqsPublisher } from '../../functions/core/publisher.js';
import { StaticSecretSource } from '../../functions/core/secrets.js';
import { sigmateAdapter } from '../../functions/sigmate/adapter.js';

const config = loadConfig('sigmate', process.env, { minRetentionDays: 1 });
const clients = createClients(config);

export const handler = createWebhookHandler({
  adapter: sigmateAdapter,
  secrets: new StaticSecretSource(sigmateAdapter.secretsFromEnv(process.env)),
  store: new DynamoDbIdempotencyStore(clients.dynamodb, config.tableName),
  publisher: new SqsPublisher(clients.sqs, config.queueUrl),
  log: createLogger('sigmate'),
  maxBodyBytes: config.maxBodyBytes,
  retentionDays: config.retentionDays,
  leaseSeconds: config.leaseSeconds,
});
