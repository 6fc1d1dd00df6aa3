import {
  createHash,
  createHmac,
  createSecretKey,
  type Hash,
  type Hmac,
  type KeyObject,
} from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Checksum,
  ChecksumConstructor,
  Logger,
  RetryErrorInfo,
  SourceData,
  StandardRetryToken,
} from '@smithy/types';
import { type Env, EnvNames, readBoolean } from './config.js';
import { ConfigurationError } from './errors.js';

/** The three AWS services a provider function calls, on the SDK v3 clients. */
export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
}

/** Timeouts and attempts of every AWS call; the invocation's budget still aborts earlier. */
export interface AwsClientTuning {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** Time to open a connection (TCP + TLS) before the attempt fails. */
  readonly connectionTimeoutMs: number;
  /** Time without an answer before the attempt fails. */
  readonly requestTimeoutMs: number;
}

export const DefaultAwsClientTuning: AwsClientTuning = {
  maxAttempts: 3,
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 2000,
};

/** The SDK's environment variable for each service's endpoint (`AWS_ENDPOINT_URL_<SERVICE_ID>`). */
export const ServiceEndpointVariables = {
  dynamodb: EnvNames.dynamodbEndpoint,
  sqs: EnvNames.sqsEndpoint,
  secretsManager: EnvNames.secretsManagerEndpoint,
  s3: EnvNames.s3Endpoint,
} as const;

export type Service = keyof typeof ServiceEndpointVariables;

/** The SigV4 signing name of each service. */
export const SigningNames: Record<Service, string> = {
  dynamodb: 'dynamodb',
  sqs: 'sqs',
  secretsManager: 'secretsmanager',
  s3: 's3',
};

export interface AwsClientOptions {
  /** Explicit credentials (local emulators); unset reads the ones Lambda puts in the environment. */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly tuning?: Partial<AwsClientTuning>;
}

/**
 * SHA-256 and HMAC-SHA256 for SigV4 on `node:crypto`, with each HMAC key held as a
 * `KeyObject`: Node 24 re-imports a `Buffer` key on every `createHmac`, about 6× the
 * cost of the hash itself for the SDK's short messages (docs/decisions.md §13).
 */
export class KeyObjectSha256 implements Checksum {
  private static readonly keys = new WeakMap<object, KeyObject>();
  /** Text keys, a few at most: the secret access key and its `AWS4` form (below). */
  private static readonly textKeys = new Map<string, KeyObject>();
  private static readonly maxTextKeys = 8;
  private readonly hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', keyOf(secret));
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }

  reset(): void {
    throw new Error('KeyObjectSha256 is single-use');
  }

  /** The cached key of a byte view (the signer reuses its signing key's bytes per day). */
  static keyFor(bytes: ArrayBufferView): KeyObject {
    let key = KeyObjectSha256.keys.get(bytes);
    if (key === undefined) {
      key = createSecretKey(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      KeyObjectSha256.keys.set(bytes, key);
    }
    return key;
  }

  /**
   * The cached key of a text secret: the signer HMACs the secret access key on every
   * request (to look its signing key up), which made a new `KeyObject` each time
   * (docs/decisions.md §21). The oldest key goes when the credentials have changed often.
   */
  static keyForText(text: string): KeyObject {
    const keys = KeyObjectSha256.textKeys;
    let key = keys.get(text);
    if (key === undefined) {
      key = createSecretKey(Buffer.from(text, 'utf8'));
      if (keys.size >= KeyObjectSha256.maxTextKeys) {
        const oldest = keys.keys().next().value;
        if (oldest !== undefined) keys.delete(oldest);
      }
      keys.set(text, key);
    }
    return key;
  }
}

function keyOf(secret: SourceData): KeyObject {
  if (typeof secret === 'string') return KeyObjectSha256.keyForText(secret);
  if (ArrayBuffer.isView(secret)) return KeyObjectSha256.keyFor(secret);
  return createSecretKey(new Uint8Array(secret));
}

/**
 * The SDK's logger middleware redacts every input and output before it calls
 * `logger.info`, unless there is no `info`: the ingress logs its own outcome line,
 * so the clients get a logger that only has `warn` (SDK deprecation notices).
 */
export const quietLogger = {
  debug: () => {},
  warn: (message: unknown) => console.warn(message),
} as unknown as Logger;

/**
 * One signer per signing region and name, built once instead of once per request.
 * `sha256` is only ever changed by the bench, to weigh the `KeyObject` HMAC.
 */
export function cachedSigner(
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
  clientRegion: string,
  signingName: string,
  sha256: ChecksumConstructor = KeyObjectSha256,
) {
  const signers = new Map<string, SignatureV4>();
  return async (authScheme?: { signingRegion?: string; signingName?: string }) => {
    const region = authScheme?.signingRegion || clientRegion;
    const service = authScheme?.signingName || signingName;
    const id = `${region}\n${service}`;
    let signer = signers.get(id);
    if (signer === undefined) {
      signer = new SignatureV4({
        credentials,
        region,
        service,
        sha256,
        uriEscapePath: true,
      });
      signers.set(id, signer);
    }
    return signer;
  };
}

/**
 * The endpoint the SDK would take from the environment: `AWS_ENDPOINT_URL_<SERVICE>`,
 * then `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true.
 * Undefined leaves the SDK's endpoint rules (partition, FIPS, dual-stack) in charge.
 */
export function configuredEndpoint(env: Env, service: Service): string | undefined {
  if (readBoolean(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', false)) return undefined;
  const value = env[ServiceEndpointVariables[service]]?.trim() || env.AWS_ENDPOINT_URL?.trim();
  return value ? value : undefined;
}

/**
 * The settings every client shares, each given explicitly so that nothing is looked up
 * in `~/.aws` at the first call, and each read from the same environment variables the
 * SDK reads in Lambda: region, FIPS, dual-stack, endpoint URLs.
 */
export function commonSettings(env: Env, options: AwsClientOptions) {
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  if (!region) throw new ConfigurationError('AWS_REGION is not set');
  const tuning = { ...DefaultAwsClientTuning, ...options.tuning };
  // Lambda gives the execution role's credentials as environment variables: `fromEnv`
  // reads them (session token included) without the default chain's STS/SSO clients.
  const credentials = options.credentials ?? fromEnv();
  const appId = env.AWS_SDK_UA_APP_ID?.trim();
  return {
    credentials,
    settings: {
      region,
      credentials,
      useFipsEndpoint: readBoolean(env, 'AWS_USE_FIPS_ENDPOINT', false),
      useDualstackEndpoint: readBoolean(env, 'AWS_USE_DUALSTACK_ENDPOINT', false),
      // The variables are read above, as the SDK reads them; config files are not.
      ignoreConfiguredEndpointUrls: true,
      maxAttempts: tuning.maxAttempts,
      retryMode: 'standard',
      defaultsMode: 'standard' as const,
      userAgentAppId: async () => appId || undefined,
      authSchemePreference: [],
      sha256: KeyObjectSha256,
      logger: quietLogger,
      requestHandler: {
        connectionTimeout: tuning.connectionTimeoutMs,
        requestTimeout: tuning.requestTimeoutMs,
        // Without it the handler only warns when an answer is late, and the call waits on.
        throwOnRequestTimeout: true,
      },
    },
  };
}

const AccountIdEndpointModes = ['preferred', 'required', 'disabled'] as const;

/** `AWS_ACCOUNT_ID_ENDPOINT_MODE` as the SDK reads it; `preferred` by default. */
export function accountIdEndpointMode(env: Env): (typeof AccountIdEndpointModes)[number] {
  const text = env.AWS_ACCOUNT_ID_ENDPOINT_MODE?.trim().toLowerCase();
  if (!text) return 'preferred';
  const mode = AccountIdEndpointModes.find((item) => item === text);
  if (mode === undefined) {
    throw new ConfigurationError(
      `AWS_ACCOUNT_ID_ENDPOINT_MODE must be one of ${AccountIdEndpointModes.join(', ')}`,
    );
  }
  return mode;
}

/** Errors that show the request never reached the service, so it was not applied. */
const UNSENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * True when a failed call may still have been applied: it was sent and no answer came
 * back (a request or socket timeout, an abort, a reset connection). False when AWS
 * answered with an error, or when the connection never opened.
 */
export function isAmbiguousFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const failure = error as {
    $metadata?: { httpStatusCode?: number };
    code?: string;
    message?: string;
    cause?: unknown;
  };
  // An error AWS answered is definite; a 2xx whose body was cut off or unreadable is not:
  // the SDK records the status before it reads the body.
  const status = failure.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 300) return false;
  if (failure.code !== undefined && UNSENT_CODES.has(failure.code)) return false;
  if (failure.message?.includes('did not establish a connection')) return false;
  return true;
}

/**
 * The SDK's standard retries, except after an ambiguous failure: SendMessage is not
 * idempotent, so resending after a timeout could put the event on the queue twice
 * within one delivery. The provider's own retry (after our `503`) is the one retry such
 * an outcome gets, which bounds it to one extra message (docs/decisions.md §14).
 */
export class UnambiguousRetryStrategy extends StandardRetryStrategy {
  override async refreshRetryTokenForRetry(
    token: StandardRetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<StandardRetryToken> {
    if (isAmbiguousFailure(errorInfo.error)) throw errorInfo.error;
    return super.refreshRetryTokenForRetry(token, errorInfo);
  }
}

/** The DynamoDB, SQS and Secrets Manager clients of a provider function. */
export function createAwsClients(env: Env, options: AwsClientOptions = {}): AwsClients {
  const { credentials, settings } = commonSettings(env, options);
  const forService = (service: Service) => {
    const endpoint = configuredEndpoint(env, service);
    return {
      ...settings,
      ...(endpoint === undefined ? {} : { endpoint }),
      signer: cachedSigner(credentials, settings.region, SigningNames[service]),
    };
  };
  return {
    dynamodb: new DynamoDBClient({
      ...forService('dynamodb'),
      // Discovery is not used by these operations; off, so the bundle can drop its cache.
      endpointDiscoveryEnabled: false,
      accountIdEndpointMode: accountIdEndpointMode(env),
    }),
    sqs: new SQSClient({
      ...forService('sqs'),
      // The endpoint rules' answer (FIPS, dual-stack, AWS_ENDPOINT_URL_SQS), not the host
      // in the queue URL, which is the plain regional one.
      useQueueUrlAsEndpoint: false,
      retryStrategy: new UnambiguousRetryStrategy(settings.maxAttempts),
    }),
    secretsManager: new SecretsManagerClient(forService('secretsManager')),
  };
}
