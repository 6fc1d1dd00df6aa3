import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ArchiveLocation } from '../functions/core/archive.js';
import type { Env } from '../functions/core/config.js';
import { type ProviderName, ProviderNames } from '../functions/registry.js';
import { localS3Client } from '../local/archiver.js';
import { LOCAL_CREDENTIALS, type LocalEndpoints, localEnv } from '../local/ingress.js';
import {
  CliError,
  fromAwsError,
  TargetNotFoundError,
  UnavailableError,
  UsageError,
} from './errors.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_ENDPOINTS_FILE = resolve(PROJECT_ROOT, '.local', 'endpoints.json');

/**
 * The CloudFormation outputs the CLI reads from a deployed stack, all in one place;
 * they match infra/stack.ts. A route's own output wins over `ApiEndpoint` + path.
 */
export const StackOutputs = {
  apiUrl: 'ApiEndpoint',
  routes: {
    '/webhooks/sigmate': 'SigmateWebhookUrl',
    '/webhooks/signifyd': 'SignifydWebhookUrl',
    '/webhooks/sigma/transaction-monitoring': 'SigmaTransactionMonitoringWebhookUrl',
    '/webhooks/sigma/aml': 'SigmaAmlWebhookUrl',
    '/webhooks/sigma/cdd': 'SigmaCddWebhookUrl',
  } as Record<string, string>,
  table: 'IdempotencyTableName',
  queue: (provider: ProviderName) => `${capitalise(provider)}QueueUrl`,
  deadLetterQueue: (provider: ProviderName) => `${capitalise(provider)}DeadLetterQueueUrl`,
  /** The audit archive's bucket (every stack since the archive exists). */
  archiveBucket: 'ArchiveBucketName',
  /** Buckets the archive replaced (`archivePreviousBuckets`), comma-separated: still read. */
  archivePreviousBuckets: 'ArchivePreviousBucketNames',
} as const;

/**
 * The key prefix the stack's archiver writes under (infra/archive.ts `ARCHIVE_PREFIX`;
 * test/cli/archive-read.test.ts checks they agree). Not an output: it never changes.
 */
export const STACK_ARCHIVE_PREFIX = 'events';

/** The stack `npx cdk deploy` creates with the default stage (infra/ingress-app.ts). */
export const DEFAULT_STACK_NAME = 'WebhookIngress-prod';

function capitalise(text: string): string {
  return `${text.slice(0, 1).toUpperCase()}${text.slice(1)}`;
}

/** The webhook paths of the contract, in display order. */
export const ROUTE_PATHS = Object.keys(StackOutputs.routes);

/** Options every command takes to pick where it works. */
export interface TargetOptions {
  /** `local` (default) or a base URL (send only). */
  readonly target?: string | undefined;
  /** The local endpoints file; `.local/endpoints.json` by default. */
  readonly endpoints?: string | undefined;
  /** A deployed stack's name: its outputs give every URL. */
  readonly stack?: string | undefined;
  readonly region?: string | undefined;
  readonly profile?: string | undefined;
  /** KEY=VALUE lines with provider secrets (deployed targets); `--secrets-file`. */
  readonly secretsFile?: string | undefined;
}

export interface QueueUrls {
  readonly queue: string;
  readonly deadLetterQueue: string;
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
  readonly region?: string | undefined;
  /** A deployed target: the stack's name and the named profile, for further AWS clients. */
  readonly stack?: string | undefined;
  readonly profile?: string | undefined;
  readonly table?: string | undefined;
  readonly queues?: Record<ProviderName, QueueUrls> | undefined;
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
  readonly queues: Record<ProviderName, QueueUrls>;
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
  const queues = Object.fromEntries(
    ProviderNames.map((provider) => {
      const queue = endpoints.queues?.[provider];
      const deadLetterQueue = endpoints.deadLetterQueues?.[provider];
      if (!queue || !deadLetterQueue) {
        throw new TargetNotFoundError(
          `${file} names no queue or dead-letter queue for ${provider}`,
        );
      }
      return [provider, { queue, deadLetterQueue }];
    }),
  ) as Record<ProviderName, QueueUrls>;
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
    }),
    // fauxqs serves S3 on its SQS endpoint.
    s3: localS3Client(endpoints.sqs, endpoints.region, LOCAL_CREDENTIALS),
  }));
  return {
    kind: 'local',
    description: `local (${file})`,
    urlFor: (path) => `${endpoints.api.replace(/\/+$/, '')}${path}`,
    signingEnv: localEnv(env),
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

/** A deployed stack, from its CloudFormation outputs and the caller's AWS credentials. */
export async function stackTarget(
  options: { stack: string; region?: string | undefined; profile?: string | undefined },
  env: Env,
  cloudFormation?: CloudFormationClient,
): Promise<StoreTarget> {
  const aws = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const client = cloudFormation ?? new CloudFormationClient(aws);
  let outputs: Record<string, string>;
  let region: string;
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: options.stack }));
    const stack = Stacks?.[0];
    if (!stack) throw new TargetNotFoundError(`stack "${options.stack}" not found`);
    outputs = Object.fromEntries(
      (stack.Outputs ?? []).flatMap((output) =>
        output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue]] : [],
      ),
    );
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
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new TargetNotFoundError(`stack "${options.stack}" has no output ${key}`);
    return value;
  };
  const queues = Object.fromEntries(
    ProviderNames.map((provider) => [
      provider,
      {
        queue: need(StackOutputs.queue(provider)),
        deadLetterQueue: need(StackOutputs.deadLetterQueue(provider)),
      },
    ]),
  ) as Record<ProviderName, QueueUrls>;
  const { clients, close } = lazyClients(() => ({
    dynamodb: new DynamoDBClient({ ...aws, region }),
    sqs: new SQSClient({ ...aws, region }),
    s3: new S3Client({ ...aws, region }),
  }));
  const archiveBucket = outputs[StackOutputs.archiveBucket];
  return {
    kind: 'stack',
    description: `stack ${options.stack} (${region})`,
    urlFor(path) {
      const routeKey = StackOutputs.routes[path];
      const own = routeKey ? outputs[routeKey] : undefined;
      if (own) return own;
      const api = outputs[StackOutputs.apiUrl];
      if (api) return `${api.replace(/\/+$/, '')}${path}`;
      throw new TargetNotFoundError(
        `stack "${options.stack}" has neither ${routeKey ?? 'a route output'} nor ${StackOutputs.apiUrl}`,
      );
    },
    signingEnv: env,
    ledgerFile: resolve(PROJECT_ROOT, '.local', `tail-ledger.${options.stack}.json`),
    region,
    stack: options.stack,
    profile: options.profile,
    table: need(StackOutputs.table),
    queues,
    archive: archiveBucket ? { bucket: archiveBucket, prefix: STACK_ARCHIVE_PREFIX } : undefined,
    previousArchives: (outputs[StackOutputs.archivePreviousBuckets] ?? '')
      .split(',')
      .filter((bucket) => bucket !== '')
      .map((bucket) => ({ bucket, prefix: STACK_ARCHIVE_PREFIX })),
    clients,
    close,
  };
}

/** A bare base URL: `send` only; secrets from the environment. */
export function urlTarget(base: string, env: Env): Target {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--target must be "local" or an http(s) URL, not "${base}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--target must be "local" or an http(s) URL, not "${base}"`);
  }
  const root = url.toString().replace(/\/+$/, '');
  return {
    kind: 'url',
    description: root,
    urlFor: (path) => `${root}${path}`,
    signingEnv: env,
    ledgerFile: resolve(PROJECT_ROOT, '.local', 'tail-ledger.url.json'),
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
      { stack: options.stack, region: options.region, profile: options.profile },
      merged,
    );
  }
  if (options.target && options.target !== 'local') return urlTarget(options.target, merged);
  // `npm start` honours WEBHOOK_LOCAL_DIR; so does the CLI's default.
  const localDir = env.WEBHOOK_LOCAL_DIR?.trim();
  const fallback = localDir ? resolve(localDir, 'endpoints.json') : DEFAULT_ENDPOINTS_FILE;
  return localTarget(resolve(options.endpoints ?? fallback), merged);
}
