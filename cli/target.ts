import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type Output,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ArchiveLocation } from '../functions/core/archive.js';
import { UnambiguousRetryStrategy } from '../functions/core/aws.js';
import type { Env } from '../functions/core/config.js';
import { type ProviderDeclaration, providerRoutes } from '../functions/providers.js';
import { SigmaProducts } from '../functions/sigma/names.js';
import { localS3Client } from '../local/archiver.js';
import { LOCAL_CREDENTIALS, type LocalEndpoints, localEnv } from '../local/endpoints.js';
import {
  CliError,
  fromAwsError,
  TargetNotFoundError,
  UnavailableError,
  UsageError,
} from './errors.js';
import { printable } from './format.js';
import {
  parseServedProviders,
  projectProviders,
  type ServedProviders,
  seedsByQueue,
  servedProvider,
} from './providers.js';
import { type QueueUrls, readIngressOutputs } from './stack-outputs.js';

export type { QueueUrls };

/** The package's root (the CLI is `cli/` in the repository, `lib/cli.mjs` installed). */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
/** `npm start` writes `.local/endpoints.json` where it runs: the CLI looks in its own directory. */
export const DEFAULT_ENDPOINTS_FILE = resolve('.local', 'endpoints.json');

/**
 * Where the CLI keeps what it remembers about a stack or URL target (tail's ledger): the
 * `.local/` folder of the directory it runs in, as for the endpoints file, or
 * WEBHOOK_LOCAL_DIR. Never the package's own folder: installed, that is inside node_modules.
 */
function localStateFile(env: Env, name: string): string {
  return resolve(env.WEBHOOK_LOCAL_DIR?.trim() || '.local', name);
}

/** The webhook paths these providers are served on (a Sigma provider: one per product). */
export function routePaths(providers: readonly ProviderDeclaration[]): string[] {
  return providers.flatMap((declaration) =>
    providerRoutes(declaration).flatMap((route) =>
      route.endsWith('/{product}')
        ? SigmaProducts.map((product) => route.replace('{product}', product))
        : [route],
    ),
  );
}

/** The stack `npx cdk deploy` creates with the default stage (infra/ingress-app.ts). */
export const DEFAULT_STACK_NAME = 'WebhookIngress-prod';

/** Options every command takes to pick where it works. */
export interface TargetOptions {
  /** `local` (default) or a base URL (send only). */
  readonly target?: string | undefined;
  /** The local endpoints file; `.local/endpoints.json` by default. */
  readonly endpoints?: string | undefined;
  /** A deployed stack's name: its outputs give every URL. */
  readonly stack?: string | undefined;
  /** Which WebhookIngress of the stack, when it holds several (its construct path). */
  readonly ingress?: string | undefined;
  readonly region?: string | undefined;
  readonly profile?: string | undefined;
  /** KEY=VALUE lines with provider secrets (deployed targets); `--secrets-file`. */
  readonly secretsFile?: string | undefined;
}

/** Where a command works: the ingress URLs, and (unless a bare URL) its queues and table. */
export interface Target {
  readonly kind: 'local' | 'stack' | 'url';
  /** e.g. `local (.local/endpoints.json)`, `stack webhook-ingress (eu-west-1)`. */
  readonly description: string;
  /** The URL a provider posts to for this path; throws TargetNotFoundError. */
  urlFor(path: string): string;
  /** Secrets the CLI signs with: demo defaults locally, the environment when deployed. */
  readonly signingEnv: Env;
  /**
   * The providers served, by name: the endpoints file's or the stack's; for a bare URL,
   * the project's `cdk.json` (the seeds without a list).
   */
  readonly providers: ServedProviders;
  readonly region?: string | undefined;
  /** A deployed target: the stack's name and the named profile, for further AWS clients. */
  readonly stack?: string | undefined;
  readonly profile?: string | undefined;
  readonly table?: string | undefined;
  /** Each served provider's queues. */
  readonly queues?: Readonly<Record<string, QueueUrls>> | undefined;
  /** A deployed target: each provider function's log group (`tail --follow`). */
  readonly logGroups?: Readonly<Record<string, string>> | undefined;
  /** The audit archive's bucket and prefix; undefined when the archive is off. */
  readonly archive?: ArchiveLocation | undefined;
  /** Archive buckets the current one replaced (a stack's Object Lock switch): read too. */
  readonly previousArchives?: readonly ArchiveLocation[] | undefined;
  /** Where `tail` remembers the receive counts it saw (never a tracked file). */
  readonly ledgerFile: string;
  /** SDK clients for the queues, the table and the archive; created once, destroyed by `close`. */
  clients(): Clients;
  close(): void;
}

export interface Clients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
}

/** A target with queues and a table (local or a stack): what tail, redrive, replay and status need. */
export interface StoreTarget extends Target {
  readonly table: string;
  readonly queues: Readonly<Record<string, QueueUrls>>;
}

/** A served provider's queue and dead-letter queue; UsageError for one the target does not serve. */
export function queuesOf(target: StoreTarget, provider: string): QueueUrls {
  servedProvider(target.providers, provider);
  const queues = Object.hasOwn(target.queues, provider) ? target.queues[provider] : undefined;
  if (queues === undefined) {
    throw new TargetNotFoundError(`${target.description} names no queues for ${provider}`);
  }
  return queues;
}

export function requireStore(target: Target, command: string): StoreTarget {
  if (target.table === undefined || target.queues === undefined) {
    throw new UsageError(`${command} needs the queues: use the local target or --stack NAME`);
  }
  return target as StoreTarget;
}

async function readSecretsFile(file: string | undefined): Promise<Env> {
  if (file === undefined) return {};
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --secrets-file ${file}: ${(error as Error).message}`);
  }
  return parseEnv(text);
}

/**
 * The functions' rule for SQS (functions/core/aws.ts): the SDK's standard retries,
 * except after an ambiguous failure — a SendMessageBatch whose answer was lost may have
 * been applied, and sending it again could put every entry on the queue twice.
 */
function sqsWriteRule() {
  return { retryStrategy: new UnambiguousRetryStrategy(3) };
}

function lazyClients(make: () => Clients) {
  let made: Clients | undefined;
  return {
    clients: () => {
      made ??= make();
      return made;
    },
    close: () => {
      made?.dynamodb.destroy();
      made?.sqs.destroy();
      made?.s3.destroy();
      made = undefined;
    },
  };
}

/**
 * The providers an endpoints file says are served: its `providers`, or — written before
 * providers were configuration — its queues' names, each a seed provider.
 */
function localProviders(file: string, endpoints: LocalEndpoints): ServedProviders {
  if (endpoints.providers !== undefined) {
    if (typeof endpoints.providers !== 'object' || endpoints.providers === null) {
      throw new TargetNotFoundError(`${file}: "providers" is not an object`);
    }
    return parseServedProviders(
      Object.entries(endpoints.providers),
      (name) => `${file} providers.${name}`,
    );
  }
  return seedsByQueue(Object.keys(endpoints.queues ?? {}), `${file} queues`);
}

/** The local ingress from its endpoints file (written by `npm start`). */
export async function localTarget(file: string, env: Env): Promise<StoreTarget> {
  let endpoints: LocalEndpoints;
  try {
    endpoints = JSON.parse(await readFile(file, 'utf8')) as LocalEndpoints;
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ENOENT';
    throw new TargetNotFoundError(
      missing
        ? `no local ingress: ${file} does not exist (start one with npm start)`
        : `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  const providers = localProviders(file, endpoints);
  const queues = Object.fromEntries(
    Object.keys(providers).map((provider) => {
      const queue = endpoints.queues?.[provider];
      const deadLetterQueue = endpoints.deadLetterQueues?.[provider];
      if (!queue || !deadLetterQueue) {
        throw new TargetNotFoundError(
          `${file} names no queue or dead-letter queue for ${provider}`,
        );
      }
      return [provider, { queue, deadLetterQueue }];
    }),
  );
  const { clients, close } = lazyClients(() => ({
    dynamodb: new DynamoDBClient({
      region: endpoints.region,
      endpoint: endpoints.dynamodb,
      credentials: LOCAL_CREDENTIALS,
    }),
    sqs: new SQSClient({
      region: endpoints.region,
      endpoint: endpoints.sqs,
      credentials: LOCAL_CREDENTIALS,
      ...sqsWriteRule(),
    }),
    // fauxqs serves S3 on its SQS endpoint.
    s3: localS3Client(endpoints.sqs, endpoints.region, LOCAL_CREDENTIALS),
  }));
  return {
    kind: 'local',
    description: `local (${file})`,
    urlFor: (path) => `${endpoints.api.replace(/\/+$/, '')}${path}`,
    // npm start's demo value for every served provider's variable left unset.
    signingEnv: localEnv(env, Object.values(providers)),
    providers,
    ledgerFile: resolve(dirname(file), 'tail-ledger.json'),
    region: endpoints.region,
    table: endpoints.table,
    queues,
    archive: endpoints.archive
      ? { bucket: endpoints.archive.bucket, prefix: endpoints.archive.prefix }
      : undefined,
    clients,
    close,
  };
}

/** A deployed stack, from the outputs its WebhookIngress created and the caller's credentials. */
export async function stackTarget(
  options: {
    stack: string;
    ingress?: string | undefined;
    region?: string | undefined;
    profile?: string | undefined;
  },
  env: Env,
  cloudFormation?: CloudFormationClient,
): Promise<StoreTarget> {
  const aws = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const client = cloudFormation ?? new CloudFormationClient(aws);
  let outputs: Output[];
  let region: string;
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: options.stack }));
    const stack = Stacks?.[0];
    if (!stack) throw new TargetNotFoundError(`stack "${options.stack}" not found`);
    outputs = stack.Outputs ?? [];
    region = options.region ?? (await client.config.region());
  } catch (error) {
    if (error instanceof CliError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && /region is missing/i.test(message)) {
      throw new UsageError('no AWS region: pass --region or set AWS_REGION');
    }
    if (
      error instanceof Error &&
      error.name === 'ValidationError' &&
      /does not exist/.test(message)
    ) {
      const where = options.region ? ` in ${options.region}` : '';
      throw new TargetNotFoundError(`stack "${options.stack}" not found${where}`, { cause: error });
    }
    throw fromAwsError(error, `reading stack "${options.stack}"`);
  } finally {
    if (!cloudFormation) client.destroy();
  }
  const ingress = readIngressOutputs(options.stack, outputs, options.ingress);
  const { clients, close } = lazyClients(() => ({
    dynamodb: new DynamoDBClient({ ...aws, region }),
    sqs: new SQSClient({ ...aws, region, ...sqsWriteRule() }),
    s3: new S3Client({ ...aws, region }),
  }));
  const base = ingress.baseUrl.replace(/\/+$/, '');
  return {
    kind: 'stack',
    description: `stack ${options.stack} (${region})`,
    urlFor: (path) => `${base}${path}`,
    signingEnv: env,
    providers: ingress.providers,
    ledgerFile: localStateFile(env, `tail-ledger.${options.stack}.json`),
    region,
    stack: options.stack,
    profile: options.profile,
    table: ingress.table,
    queues: ingress.queues,
    logGroups: ingress.logGroups,
    archive: ingress.archive,
    previousArchives: ingress.previousArchives,
    clients,
    close,
  };
}

/**
 * True for a URL hostname that can only be this machine: `localhost`, 127.0.0.0/8,
 * `::1` and IPv4-mapped 127.0.0.0/8 (the URL parser has already normalised the forms).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  // `[::ffff:7f00:1]`: 127.0.0.1 written as IPv6.
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}

/**
 * Refuses a URL that signed deliveries must not travel over: anything but `https:`,
 * except plain `http:` to this machine (the local ingress). A Sigma signature is a
 * constant bearer credential: whoever sees one request can replay it forever.
 */
export function requireSafeTransport(text: string, flag = '--target'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} must be "local" or an https:// URL, not "${printable(text)}"`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === 'http:') {
    throw new UsageError(
      `${flag} ${printable(text)}: plain http:// only to this machine (localhost, 127.0.0.0/8, ::1); use https:// — a signature sent in the clear can be replayed`,
    );
  }
  throw new UsageError(`${flag} must be "local" or an https:// URL, not "${printable(text)}"`);
}

/** A bare base URL: `send` only; secrets from the environment. */
export function urlTarget(base: string, env: Env): Target {
  const url = requireSafeTransport(base);
  const root = url.toString().replace(/\/+$/, '');
  return {
    kind: 'url',
    description: root,
    urlFor: (path) => `${root}${path}`,
    signingEnv: env,
    providers: projectProviders(),
    ledgerFile: localStateFile(env, 'tail-ledger.url.json'),
    clients() {
      throw new UnavailableError('a URL target has no queues');
    },
    close() {},
  };
}

/** Picks the target from the options: `--stack`, else `--target URL`, else local. */
export async function resolveTarget(
  options: TargetOptions,
  env: Env = process.env,
): Promise<Target> {
  const merged = { ...env, ...(await readSecretsFile(options.secretsFile)) };
  if (options.stack) {
    if (options.target && options.target !== 'local') {
      throw new UsageError('pass either --stack or --target, not both');
    }
    return stackTarget(
      {
        stack: options.stack,
        ingress: options.ingress,
        region: options.region,
        profile: options.profile,
      },
      merged,
    );
  }
  if (options.target && options.target !== 'local') return urlTarget(options.target, merged);
  // `npm start` honours WEBHOOK_LOCAL_DIR; so does the CLI's default.
  const localDir = env.WEBHOOK_LOCAL_DIR?.trim();
  const fallback = localDir ? resolve(localDir, 'endpoints.json') : DEFAULT_ENDPOINTS_FILE;
  return localTarget(resolve(options.endpoints ?? fallback), merged);
}
