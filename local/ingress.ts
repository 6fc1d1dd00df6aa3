import { mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Defaults, type Env, EnvNames, loadConfig, readInteger } from '../functions/core/config.js';
import { createHandlerFromConfig } from '../functions/core/lambda.js';
import type { Log } from '../functions/core/pipeline.js';
import { createProviderAdapter } from '../functions/declared/adapter.js';
import type { ProviderName } from '../functions/provider-names.js';
import { type ProviderDeclaration, providerEntry, SEED_PROVIDERS } from '../functions/providers.js';
import { type LocalArchive, startLocalArchive } from './archiver.js';
import { type Emulator, retryUntil, startDynamoDbLocal, startSqsEmulator } from './emulators.js';
import {
  DEMO_SECRETS,
  LOCAL_CREDENTIALS,
  LOCAL_FUNCTION_TIMEOUT_MS,
  LOCAL_REGION,
  LOCAL_TABLE,
  type LocalEndpoints,
  localEnv,
} from './endpoints.js';
import { ensureIdempotencyTable, ensureQueuePair, type QueuePair } from './resources.js';

export {
  DEMO_SECRETS,
  LOCAL_CREDENTIALS,
  LOCAL_FUNCTION_TIMEOUT_MS,
  LOCAL_REGION,
  LOCAL_TABLE,
  type LocalEndpoints,
  localEnv,
};

import { AnswerCounters, createLocalApiServer, type LocalRoute, listen } from './server.js';

export interface LocalIngressOptions {
  /** HTTP port; 0 picks a free one. */
  readonly port?: number;
  /** Persist emulator state here so acknowledged events survive a restart; in memory when unset. */
  readonly dataDir?: string;
  /** Environment for secrets and provider flags; unset secrets get demo values (`localEnv`). */
  readonly env?: Env;
  /** The providers to serve (the `providers` context of cdk.json); default the seed providers. */
  readonly providers?: readonly ProviderDeclaration[];
  /** Emulator ports; free ones when unset. Fixed ports keep persisted queue URLs valid. */
  readonly dynamodbPort?: number;
  readonly sqsPort?: number;
  /** Reuse running emulators instead of starting new ones (they are not stopped by `stop`). */
  readonly dynamodb?: Emulator;
  readonly sqs?: Emulator;
  /** Prefix for the table and queue names, so tests can share emulators. */
  readonly namePrefix?: string;
  readonly log?: Log;
  readonly functionTimeoutMs?: number;
  /** Where to write endpoints.json; not written when unset. */
  readonly endpointsFile?: string;
  /** The audit archive: on by default; `'manual'` creates it without the background poller. */
  readonly archive?: boolean | 'manual';
  /** Progress lines while starting. */
  readonly onProgress?: (message: string) => void;
}

export interface LocalIngress {
  readonly endpoints: LocalEndpoints;
  readonly env: Env;
  readonly queues: Record<ProviderName, QueuePair>;
  readonly dynamodb: Emulator;
  readonly sqs: Emulator;
  readonly server: Server;
  readonly providers: ProviderName[];
  /** The archive queue, bucket and in-process archiver; undefined when the archive is off. */
  readonly archive: LocalArchive | undefined;
  stop(): Promise<void>;
}

/** Local SDK clients for the emulators. */
export function localClients(endpoints: { dynamodb: string; sqs: string }): {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
} {
  return {
    dynamodb: new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: endpoints.dynamodb,
      credentials: LOCAL_CREDENTIALS,
    }),
    sqs: new SQSClient({
      region: LOCAL_REGION,
      endpoint: endpoints.sqs,
      credentials: LOCAL_CREDENTIALS,
    }),
  };
}

/**
 * Starts the whole ingress locally: DynamoDB Local and fauxqs on 127.0.0.1, the
 * table and queues, and every provider handler behind one HTTP server.
 */
export async function startLocalIngress(options: LocalIngressOptions = {}): Promise<LocalIngress> {
  const progress = options.onProgress ?? (() => {});
  const started: Emulator[] = [];
  let server: Server | undefined;
  let archive: LocalArchive | undefined;
  try {
    progress('starting DynamoDB Local and the SQS emulator');
    // Both at once; if one fails, wait for the other before stopping it, so none is left behind.
    const [dynamodbStart, sqsStart] = await Promise.allSettled([
      options.dynamodb ??
        startDynamoDbLocal({
          ...(options.dataDir ? { dataDir: join(options.dataDir, 'dynamodb') } : {}),
          ...(options.dynamodbPort ? { port: options.dynamodbPort } : {}),
        }).then((emulator) => {
          started.push(emulator);
          return emulator;
        }),
      options.sqs ??
        startSqsEmulator({
          ...(options.dataDir ? { dataDir: join(options.dataDir, 'sqs') } : {}),
          ...(options.sqsPort ? { port: options.sqsPort } : {}),
        }).then((emulator) => {
          started.push(emulator);
          return emulator;
        }),
    ]);
    if (dynamodbStart.status === 'rejected') throw dynamodbStart.reason;
    if (sqsStart.status === 'rejected') throw sqsStart.reason;
    const dynamodb = dynamodbStart.value;
    const sqs = sqsStart.value;
    const clients = localClients({ dynamodb: dynamodb.endpoint, sqs: sqs.endpoint });
    const prefix = options.namePrefix ?? 'webhook-ingress';
    const table = options.namePrefix ? `${prefix}-idempotency` : LOCAL_TABLE;

    progress('creating the idempotency table and the queues');
    await retryUntil(() => ensureIdempotencyTable(clients.dynamodb, table), 10_000);
    // fauxqs keeps the URL a queue was created with, port included; point every URL at the
    // emulator as it runs now, so persisted queues stay reachable when the port changes.
    const current = (url: string) => {
      const parsed = new URL(url);
      parsed.host = new URL(sqs.endpoint).host;
      return parsed.toString();
    };
    const declarations = options.providers ?? SEED_PROVIDERS;
    const names = declarations.map((declaration) => declaration.name);
    const queueEntries = await Promise.all(
      names.map(async (provider) => {
        const pair = await ensureQueuePair(clients.sqs, `${prefix}-${provider}`);
        return [
          provider,
          { ...pair, queueUrl: current(pair.queueUrl), dlqUrl: current(pair.dlqUrl) },
        ] as const;
      }),
    );
    const queues = Object.fromEntries(queueEntries) as Record<ProviderName, QueuePair>;
    const env = localEnv(options.env ?? {}, declarations);
    if (options.archive !== false) {
      archive = await startLocalArchive({
        sqs: clients.sqs,
        dynamodb: clients.dynamodb,
        table,
        retentionDays: readInteger(env, EnvNames.retentionDays, Defaults.retentionDays, 1, 365),
        providers: names,
        endpoint: sqs.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        namePrefix: prefix,
        currentUrl: current,
        log: options.log ?? console,
        poll: options.archive !== 'manual',
      });
    }

    const routes: LocalRoute[] = [];
    const providers: ProviderName[] = [];
    for (const declaration of declarations) {
      const provider = declaration.name;
      const adapter = createProviderAdapter(declaration, { env });
      const functionEnv = {
        ...env,
        [EnvNames.tableName]: table,
        [EnvNames.queueUrl]: queues[provider]?.queueUrl,
        // Each function sends to its own archive queue only, as in the stack.
        [EnvNames.archiveQueueUrl]: archive?.endpoints.queues[provider],
        [EnvNames.region]: LOCAL_REGION,
        [EnvNames.dynamodbEndpoint]: dynamodb.endpoint,
        [EnvNames.sqsEndpoint]: sqs.endpoint,
        [EnvNames.secretId]: undefined,
      };
      const config = loadConfig(provider, functionEnv, {
        minRetentionDays: adapter.minRetentionDays,
      });
      // The same wiring as Lambda; only the endpoints and the credentials are local.
      const handler = createHandlerFromConfig(adapter, config, functionEnv, {
        credentials: LOCAL_CREDENTIALS,
        ...(options.log ? { log: options.log } : {}),
      });
      routes.push({
        name: provider,
        matches: (path) => adapter.matchRoute(path) !== undefined,
        handler,
        timeoutMs: options.functionTimeoutMs ?? LOCAL_FUNCTION_TIMEOUT_MS,
      });
      providers.push(provider);
    }

    const urlOf = (provider: ProviderName, which: 'queueUrl' | 'dlqUrl') => {
      const pair = queues[provider];
      return pair ? [[provider, pair[which]] as const] : [];
    };
    server = createLocalApiServer(routes, new AnswerCounters());
    const port = await listen(server, options.port ?? 3000);
    const endpoints: LocalEndpoints = {
      api: `http://127.0.0.1:${port}`,
      region: LOCAL_REGION,
      dynamodb: dynamodb.endpoint,
      sqs: sqs.endpoint,
      table,
      queues: Object.fromEntries(names.flatMap((provider) => urlOf(provider, 'queueUrl'))),
      deadLetterQueues: Object.fromEntries(names.flatMap((provider) => urlOf(provider, 'dlqUrl'))),
      providers: Object.fromEntries(
        declarations.map((declaration) => [declaration.name, providerEntry(declaration)]),
      ),
      ...(archive ? { archive: archive.endpoints } : {}),
    };
    if (options.endpointsFile) {
      await mkdir(join(options.endpointsFile, '..'), { recursive: true });
      await writeFile(options.endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
    }
    const httpServer = server;
    return {
      endpoints,
      env,
      queues,
      dynamodb,
      sqs,
      server: httpServer,
      providers,
      archive,
      async stop() {
        await new Promise<void>((done) => {
          httpServer.close(() => done());
          httpServer.closeAllConnections();
        });
        await archive?.stop();
        clients.dynamodb.destroy();
        clients.sqs.destroy();
        await Promise.all(started.map((emulator) => emulator.stop()));
      },
    };
  } catch (error) {
    server?.close();
    await archive?.stop().catch(() => undefined);
    await Promise.all(started.map((emulator) => emulator.stop()));
    throw error;
  }
}
