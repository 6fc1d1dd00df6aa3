/**
 * The wiring this project shipped before the lean client won (docs/decisions.md §7):
 * the Sigmate handler exactly as functions/core/lambda.ts wires it — Powertools Logger,
 * EMF recorder, Secrets Manager when configured — but on AWS SDK v3 clients and
 * Powertools Parameters. Kept in the bench so the decision stays measured.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../../functions/core/config.js';
import { DynamoDbIdempotencyStore } from '../../functions/core/idempotency.js';
import { createLogger, EmfOutcomeRecorder } from '../../functions/core/observability.js';
import { createWebhookHandler } from '../../functions/core/pipeline.js';
import { SqsPublisher } from '../../functions/core/publisher.js';
import {
  type SecretSource,
  SecretsManagerSource,
  StaticSecretSource,
} from '../../functions/core/secrets.js';
import { type SigmateSecrets, sigmateAdapter } from '../../functions/sigmate/adapter.js';

const config = loadConfig('sigmate', process.env, { minRetentionDays: 1 });
const region = config.region ? { region: config.region } : {};
const dynamodb = new DynamoDBClient({
  ...region,
  ...(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {}),
});
const sqs = new SQSClient({
  ...region,
  ...(config.endpoints.sqs ? { endpoint: config.endpoints.sqs } : {}),
});
const secrets: SecretSource<SigmateSecrets> =
  config.secretId !== undefined
    ? new SecretsManagerSource({
        secretId: config.secretId,
        parse: (value) => sigmateAdapter.secretsFromJson(value),
        client: new SecretsManagerClient({
          ...region,
          ...(config.endpoints.secretsManager ? { endpoint: config.endpoints.secretsManager } : {}),
        }),
        maxAgeSeconds: config.secretMaxAgeSeconds,
      })
    : new StaticSecretSource(sigmateAdapter.secretsFromEnv(process.env));

export const handler = createWebhookHandler({
  adapter: sigmateAdapter,
  secrets,
  store: new DynamoDbIdempotencyStore(dynamodb, config.tableName),
  publisher: new SqsPublisher(sqs, config.queueUrl),
  log: createLogger('sigmate'),
  metrics: new EmfOutcomeRecorder('sigmate'),
  maxBodyBytes: config.maxBodyBytes,
  retentionDays: config.retentionDays,
  leaseSeconds: config.leaseSeconds,
  sourceAllowlist: config.sourceAllowlist,
  storeEnvelopes: config.storeEnvelopes,
});
