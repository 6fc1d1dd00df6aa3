/**
 * Measured alternatives (not deployed): the Sigmate function wired exactly as
 * functions/core/lambda.ts wires it, on SDK clients built as functions/core/aws.ts
 * `createAwsClients` builds them but with one tuning left out, or all of them. Each
 * `bench/variants/tuning-*.ts` file is one such function; bench/bundles.ts names them and
 * the bundle aliases each gets (docs/decisions.md §13).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Sha256 } from '@smithy/core/checksum';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import {
  type AwsClients,
  accountIdEndpointMode,
  cachedSigner,
  commonSettings,
  configuredEndpoint,
  DefaultAwsClientTuning,
  KeyObjectSha256,
  SigningNames,
  UnambiguousRetryStrategy,
} from '../../functions/core/aws.js';
import { type Env, loadConfig } from '../../functions/core/config.js';
import { createHandlerFromConfig } from '../../functions/core/lambda.js';
import { sigmateAdapter } from '../../functions/sigmate/adapter.js';

/**
 * What a variant leaves out of `createAwsClients`:
 * - `credentials`: `fromEnv()`; the clients resolve the SDK's default chain themselves.
 * - `signer`: the cached `SignatureV4`; the SDK builds one per request.
 * - `sha256`: `KeyObjectSha256`; the SDK's `Sha256` (HMAC with a `Buffer` key) signs.
 * - `logger`: the quiet logger; the SDK's default `NoOpLogger`.
 * - `settings`: every explicit setting but region, credentials and endpoint.
 * - `all`: every tuning: clients as the SDK's docs build them.
 * - `none`: nothing: the control, equal to ours but built here (it should measure as ours).
 *
 * The request handler's timeouts and the SQS client's `UnambiguousRetryStrategy` stay in
 * every variant: they are behaviour (deadlines, no resend after an ambiguous send), not
 * tuning.
 */
export type Removed = 'credentials' | 'signer' | 'sha256' | 'logger' | 'settings' | 'all' | 'none';

type Service = keyof typeof SigningNames;

/** The SDK clients of `createAwsClients(env)` without one tuning. */
export function clientsWithout(env: Env, removed: Removed): AwsClients {
  const { credentials, settings } = commonSettings(env, {});
  const { region, requestHandler } = settings;
  const retryStrategy = new UnambiguousRetryStrategy(DefaultAwsClientTuning.maxAttempts);
  if (removed === 'all') {
    return {
      dynamodb: new DynamoDBClient({ requestHandler }),
      sqs: new SQSClient({ requestHandler, retryStrategy }),
      secretsManager: new SecretsManagerClient({ requestHandler }),
    };
  }
  const { sha256, logger, ...explicit } = settings;
  const shared = {
    ...(removed === 'settings' ? { region, credentials, requestHandler } : explicit),
    ...(removed === 'sha256' ? {} : { sha256 }),
    ...(removed === 'logger' ? {} : { logger }),
  };
  if (removed === 'credentials') delete (shared as { credentials?: unknown }).credentials;
  // Without `fromEnv()`, each signer asks its own client's default chain.
  const clients: Partial<Record<Service, { config: { credentials: unknown } }>> = {};
  const chainOf =
    (service: Service): AwsCredentialIdentityProvider =>
    (options) => {
      const chain = clients[service]?.config.credentials as AwsCredentialIdentityProvider;
      return chain(options);
    };
  const forService = (service: Service) => {
    const endpoint = configuredEndpoint(env, service);
    const signerCredentials = removed === 'credentials' ? chainOf(service) : credentials;
    return {
      ...shared,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(removed === 'signer'
        ? {}
        : {
            signer: cachedSigner(
              signerCredentials,
              region,
              SigningNames[service],
              removed === 'sha256' ? Sha256 : KeyObjectSha256,
            ),
          }),
    };
  };
  const implicit = removed === 'settings';
  const built: AwsClients = {
    dynamodb: new DynamoDBClient({
      ...forService('dynamodb'),
      ...(implicit
        ? {}
        : { endpointDiscoveryEnabled: false, accountIdEndpointMode: accountIdEndpointMode(env) }),
    }),
    sqs: new SQSClient({ ...forService('sqs'), retryStrategy }),
    secretsManager: new SecretsManagerClient(forService('secretsManager')),
  };
  Object.assign(clients, built);
  return built;
}

/** The Sigmate handler of functions/sigmate/handler.ts, on {@link clientsWithout}. */
export function sigmateWithout(removed: Removed, env: Env = process.env) {
  const config = loadConfig(sigmateAdapter.provider, env, {
    minRetentionDays: sigmateAdapter.minRetentionDays,
  });
  return createHandlerFromConfig(sigmateAdapter, config, env, {
    clients: clientsWithout(env, removed),
  });
}
