import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Env, type IngressConfig, loadConfig } from './config.js';
import { DynamoDbIdempotencyStore } from './idempotency.js';
import { createLogger, EmfOutcomeRecorder } from './observability.js';
import {
  createWebhookHandler,
  type Log,
  type OutcomeRecorder,
  type WebhookHandler,
} from './pipeline.js';
import type { ProviderAdapter } from './provider.js';
import { SqsPublisher } from './publisher.js';
import { type SecretSource, SecretsManagerSource, StaticSecretSource } from './secrets.js';

export interface WiringOverrides {
  readonly log?: Log;
  readonly metrics?: OutcomeRecorder | null;
  readonly dynamodb?: DynamoDBClient;
  readonly sqs?: SQSClient;
  readonly secretsManager?: SecretsManagerClient;
}

/** AWS SDK clients for a configuration: explicit endpoints in local mode, defaults in AWS. */
export function createClients(config: IngressConfig): {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
} {
  const region = config.region;
  return {
    dynamodb: new DynamoDBClient({
      ...(region ? { region } : {}),
      ...(config.endpoints.dynamodb ? { endpoint: config.endpoints.dynamodb } : {}),
    }),
    sqs: new SQSClient({
      ...(region ? { region } : {}),
      // An explicit endpoint stops the SDK from dialling the queue URL's own host.
      ...(config.endpoints.sqs ? { endpoint: config.endpoints.sqs } : {}),
    }),
  };
}

/** Wires a provider's pipeline from configuration: the same code in Lambda and locally. */
export function createHandlerFromConfig<TSecrets>(
  adapter: ProviderAdapter<TSecrets>,
  config: IngressConfig,
  env: Env,
  overrides: WiringOverrides = {},
): WebhookHandler {
  const clients = overrides.dynamodb && overrides.sqs ? undefined : createClients(config);
  const dynamodb = overrides.dynamodb ?? clients?.dynamodb;
  const sqs = overrides.sqs ?? clients?.sqs;
  if (!dynamodb || !sqs) throw new Error('unreachable: clients are created when not given');
  let secrets: SecretSource<TSecrets>;
  if (config.secretId !== undefined) {
    const client =
      overrides.secretsManager ??
      new SecretsManagerClient({
        ...(config.region ? { region: config.region } : {}),
        ...(config.endpoints.secretsManager ? { endpoint: config.endpoints.secretsManager } : {}),
      });
    secrets = new SecretsManagerSource({
      secretId: config.secretId,
      parse: (value) => adapter.secretsFromJson(value),
      client,
      maxAgeSeconds: config.secretMaxAgeSeconds,
    });
  } else {
    secrets = new StaticSecretSource(adapter.secretsFromEnv(env));
  }
  return createWebhookHandler({
    adapter,
    secrets,
    store: new DynamoDbIdempotencyStore(dynamodb, config.tableName),
    publisher: new SqsPublisher(sqs, config.queueUrl),
    log: overrides.log ?? createLogger(adapter.provider),
    metrics:
      overrides.metrics === null
        ? undefined
        : (overrides.metrics ?? new EmfOutcomeRecorder(adapter.provider)),
    maxBodyBytes: config.maxBodyBytes,
    retentionDays: config.retentionDays,
    leaseSeconds: config.leaseSeconds,
    sourceAllowlist: config.sourceAllowlist,
    storeEnvelopes: config.storeEnvelopes,
  });
}

/** A Lambda handler for a provider, configured from the environment at cold start. */
export function createLambdaHandler<TSecrets>(
  adapter: ProviderAdapter<TSecrets>,
  env: Env,
): WebhookHandler {
  const config = loadConfig(adapter.provider, env, { minRetentionDays: adapter.minRetentionDays });
  return createHandlerFromConfig(adapter, config, env);
}
