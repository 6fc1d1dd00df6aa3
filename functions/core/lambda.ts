import { type AwsClientOptions, type AwsClients, createAwsClients } from './aws.js';
import { type Env, type IngressConfig, loadConfig } from './config.js';
import { DynamoDbIdempotencyStore } from './idempotency.js';
import { createLogger } from './observability.js';
import { createWebhookHandler, type Log, type WebhookHandler } from './pipeline.js';
import type { ProviderAdapter } from './provider.js';
import { SqsPublisher } from './publisher.js';
import { type SecretSource, SecretsManagerSource, StaticSecretSource } from './secrets.js';

export interface WiringOverrides extends AwsClientOptions {
  readonly log?: Log;
  /** Clients built elsewhere (tests, the reliability rig); unset builds them from `env`. */
  readonly clients?: AwsClients;
}

/** Wires a provider's pipeline from configuration: the same code in Lambda and locally. */
export function createHandlerFromConfig<TSecrets>(
  adapter: ProviderAdapter<TSecrets>,
  config: IngressConfig,
  env: Env,
  overrides: WiringOverrides = {},
): WebhookHandler {
  const clients = overrides.clients ?? createAwsClients(env, overrides);
  const secrets: SecretSource<TSecrets> =
    config.secretId !== undefined
      ? new SecretsManagerSource({
          client: clients.secretsManager,
          secretId: config.secretId,
          parse: (value) => adapter.secretsFromJson(value),
          expectedShape: adapter.secretShape,
          maxAgeSeconds: config.secretMaxAgeSeconds,
        })
      : new StaticSecretSource(adapter.secretsFromEnv(env));
  return createWebhookHandler({
    adapter,
    secrets,
    store: new DynamoDbIdempotencyStore(clients.dynamodb, config.tableName),
    publisher: new SqsPublisher(clients.sqs, config.queueUrl),
    archive:
      config.archiveQueueUrl === undefined
        ? undefined
        : new SqsPublisher(clients.sqs, config.archiveQueueUrl),
    log: overrides.log ?? createLogger(adapter.provider),
    maxBodyBytes: config.maxBodyBytes,
    retentionDays: config.retentionDays,
    leaseSeconds: config.leaseSeconds,
    sourceAllowlist: config.sourceAllowlist,
    pathPrefix: config.pathPrefix,
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
