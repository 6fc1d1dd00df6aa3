import { AwsJsonClient, type AwsJsonClientOptions, Protocols } from './aws/client.js';
import { type AwsCredentials, credentialsFromEnv } from './aws/credentials.js';
import { LeanDynamoDbIdempotencyStore } from './aws/dynamodb-store.js';
import { LeanSecretsManagerSource } from './aws/secrets-source.js';
import { LeanSqsPublisher } from './aws/sqs-publisher.js';
import { type Env, type IngressConfig, loadConfig } from './config.js';
import { ConfigurationError } from './errors.js';
import { createLogger, EmfOutcomeRecorder } from './observability.js';
import {
  createWebhookHandler,
  type Log,
  type OutcomeRecorder,
  type WebhookHandler,
} from './pipeline.js';
import type { ProviderAdapter } from './provider.js';
import { type SecretSource, StaticSecretSource } from './secrets.js';

/** The three AWS services a provider function calls. */
export interface AwsClients {
  readonly dynamodb: AwsJsonClient;
  readonly sqs: AwsJsonClient;
  readonly secretsManager: AwsJsonClient;
}

export type AwsClientTuning = Pick<
  AwsJsonClientOptions,
  'maxRetries' | 'attemptTimeoutMs' | 'deadlineMs'
>;

export interface WiringOverrides {
  readonly log?: Log;
  /** `null` turns metrics off (local mode); unset emits EMF. */
  readonly metrics?: OutcomeRecorder | null;
  /** Explicit credentials (local emulators); unset reads the ones Lambda puts in the environment. */
  readonly credentials?: AwsCredentials;
  readonly tuning?: AwsClientTuning;
  readonly clients?: AwsClients;
}

/**
 * The AWS clients for a configuration: explicit endpoints in local mode, AWS's own
 * otherwise. They are the project's lean SigV4 JSON client rather than SDK v3 — the
 * measured winner on bundle size, cold start and CPU per event (docs/decisions.md §7).
 */
export function createClients(
  config: IngressConfig,
  env: Env,
  options: { credentials?: AwsCredentials; tuning?: AwsClientTuning } = {},
): AwsClients {
  const region = config.region ?? env.AWS_DEFAULT_REGION?.trim();
  if (!region) throw new ConfigurationError('AWS_REGION is not set');
  const credentials = options.credentials ?? credentialsFromEnv(env);
  const common = { region, credentials, ...options.tuning };
  return {
    dynamodb: new AwsJsonClient({
      ...common,
      protocol: Protocols.dynamodb,
      endpoint: config.endpoints.dynamodb,
    }),
    sqs: new AwsJsonClient({ ...common, protocol: Protocols.sqs, endpoint: config.endpoints.sqs }),
    secretsManager: new AwsJsonClient({
      ...common,
      protocol: Protocols.secretsManager,
      endpoint: config.endpoints.secretsManager,
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
  const clients =
    overrides.clients ??
    createClients(config, env, {
      ...(overrides.credentials ? { credentials: overrides.credentials } : {}),
      ...(overrides.tuning ? { tuning: overrides.tuning } : {}),
    });
  const secrets: SecretSource<TSecrets> =
    config.secretId !== undefined
      ? new LeanSecretsManagerSource({
          client: clients.secretsManager,
          secretId: config.secretId,
          parse: (value) => adapter.secretsFromJson(value),
          maxAgeSeconds: config.secretMaxAgeSeconds,
        })
      : new StaticSecretSource(adapter.secretsFromEnv(env));
  return createWebhookHandler({
    adapter,
    secrets,
    store: new LeanDynamoDbIdempotencyStore(clients.dynamodb, config.tableName),
    publisher: new LeanSqsPublisher(clients.sqs, config.queueUrl),
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
