import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MemoryIo } from '../../cli/io.js';
import { run } from '../../cli/program.js';
import { send } from '../../cli/send.js';
import { localTarget, type StoreTarget } from '../../cli/target.js';
import {
  ANY_PROVIDER,
  ARCHIVE_VERSION,
  type ArchiveLocation,
  type ArchiveRecord,
  acknowledgedBy,
  archiveBatch,
  archiveLine as archiveRecordLine,
  Settlement,
  toArchiveQueueMessage,
} from '../../functions/core/archive.js';
import { sha256Hex } from '../../functions/core/crypto.js';
import { buildEnvelope } from '../../functions/core/envelope.js';
import { type ClaimView, RecordStatus } from '../../functions/core/idempotency.js';
import { type ProviderDeclaration, parseProviders } from '../../functions/providers.js';
import type { ProviderName } from '../../functions/registry.js';
import { type OutputFact, OutputFacts, outputTag } from '../../infra/output-tags.js';
import type { LocalEndpoints } from '../../local/ingress.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';
import { type Ran, run as runToEnd } from '../support/process.js';
import { EVERY_SCHEME } from '../unit/schemes/support.js';

/**
 * A `providers` list with a provider of every scheme: the seed schemes under their own
 * names and others, and the `hmac` scheme's forms (a header key and field type, a signed
 * timestamp with a field key, a body key with a fixed type).
 */
export const DECLARED_PROVIDERS = parseProviders([
  ...EVERY_SCHEME,
  { name: 'signals', scheme: 'sigmate' },
  { name: 'fraud-eu', scheme: 'signifyd' },
  {
    name: 'slackish',
    scheme: 'hmac',
    signatureHeader: 'x-slackish-signature',
    prefix: 'v0=',
    encoding: 'hex',
    signedPayload: 'v0:{timestamp}:{body}',
    timestampHeader: 'x-slackish-request-timestamp',
    key: { field: 'event_id' },
    type: { field: 'kind' },
  },
  {
    name: 'ledger',
    scheme: 'hmac',
    signatureHeader: 'x-ledger-hmac',
    encoding: 'base64',
    signedPayload: '{timestamp}.{body}',
    timestampHeader: 'x-ledger-time',
    key: { body: 'sha256' },
    type: { value: 'ledger.entry' },
  },
]);

/** A temporary endpoints.json for a test ingress, as `npm start` would write it. */
export async function writeEndpoints(
  endpoints: LocalEndpoints,
): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
  const file = join(dir, 'endpoints.json');
  await writeFile(file, JSON.stringify(endpoints));
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A test ingress, its endpoints file as `npm start` writes it, and the CLI's target on it. */
export interface LocalCli {
  readonly ingress: TestIngress;
  readonly endpoints: Awaited<ReturnType<typeof writeEndpoints>>;
  readonly target: StoreTarget;
}

/**
 * Starts a test ingress — serving `providers`, as `npm start` does a `providers` list; the
 * seeds without — and points the CLI at it (pair with {@link stopLocalCli}).
 */
export async function startLocalCli(
  options: { providers?: readonly ProviderDeclaration[] } = {},
): Promise<LocalCli> {
  const ingress = await startTestIngress(options);
  const endpoints = await writeEndpoints(ingress.endpoints);
  const target = await localTarget(endpoints.file, {});
  return { ingress, endpoints, target };
}

/** Undoes {@link startLocalCli}, whatever part of it had started. */
export async function stopLocalCli(local: Partial<LocalCli>): Promise<void> {
  local.target?.close();
  await local.ingress?.stop();
  await local.endpoints?.remove();
}

/** Runs the CLI in-process; resolves to its exit code and what it printed. */
export async function cli(
  argv: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const io = new MemoryIo();
  const code = await run(argv, { io, env });
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** The project folder, where npm scripts and the bin run. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/** Runs `node <args>` in the project folder, as an npm script or the bin would. */
export function runNode(args: string[]) {
  return runProcess(process.execPath, args);
}

/** Runs a program in the project folder; resolves to its exit code and output. */
export function runProcess(file: string, args: string[]): Promise<Ran> {
  return runToEnd(file, args, { cwd: PROJECT_ROOT });
}

/** The API endpoint of the mocked stacks below. */
export const STACK_API = 'https://abc.execute-api.eu-west-1.amazonaws.com';

/** The archive bucket of the mocked stacks below (its `ArchiveBucketName` output). */
export const STACK_ARCHIVE_BUCKET = 'ingress-archive';

/** A fake queue URL of the mocked stacks below. */
export const stackQueueUrl = (name: string) => `https://sqs.eu-west-1.amazonaws.com/1/${name}`;

/**
 * DescribeStacks' answer for a stack whose WebhookIngress created its outputs (infra/outputs.ts):
 * the seeds' queues and log groups and, with `providers` (entries as configuration spells
 * them), a `provider` output for each, and the queues of those that are not seeds.
 */
export function describeStacksAnswer(
  name: string,
  extra: [string, string, string?][] = [],
  options: { archive?: boolean; ingress?: string; providers?: Record<string, unknown>[] } = {},
) {
  const ingress = options.ingress ?? `${name}/Default`;
  const tagged = (key: string, value: string, fact: OutputFact, provider?: string) =>
    [key, value, outputTag(fact, ingress, provider)] as [string, string, string];
  const outputs: [string, string, string?][] = [
    tagged('ApiEndpoint', STACK_API, OutputFacts.apiEndpoint),
    tagged('WebhookBaseUrl', STACK_API, OutputFacts.baseUrl),
    tagged('IdempotencyTableName', 'ingress-table', OutputFacts.table),
    ...(options.archive === false
      ? []
      : [
          tagged('ArchiveBucketName', STACK_ARCHIVE_BUCKET, OutputFacts.archiveBucket),
          tagged('ArchivePrefix', 'events', OutputFacts.archivePrefix),
        ]),
    ...(options.providers ?? []).map((entry) =>
      tagged(
        `Provider${String(entry.name)}`,
        JSON.stringify(entry),
        OutputFacts.provider,
        String(entry.name),
      ),
    ),
    ...[
      'Sigma',
      'Sigmate',
      'Signifyd',
      ...(options.providers ?? [])
        .map((entry) => String(entry.name))
        .filter((provider) => !['sigma', 'sigmate', 'signifyd'].includes(provider)),
    ].flatMap((title) => {
      const provider = title.toLowerCase();
      return [
        tagged(`${title}QueueUrl`, stackQueueUrl(title), OutputFacts.queue, provider),
        tagged(
          `${title}DeadLetterQueueUrl`,
          stackQueueUrl(`${title}-dlq`),
          OutputFacts.deadLetterQueue,
          provider,
        ),
        tagged(`${title}LogGroupName`, `${provider}-logs`, OutputFacts.logGroup, provider),
      ];
    }),
    ...extra,
  ];
  return {
    Stacks: [
      {
        StackName: name,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: outputs.map(([OutputKey, OutputValue, Description]) => ({
          OutputKey,
          OutputValue,
          ...(Description ? { Description } : {}),
        })),
      },
    ],
  };
}

/** One archived delivery, as the functions would archive it (an envelope v1 inside). */
export interface ArchivedFields {
  readonly provider?: ProviderName;
  readonly key: string;
  readonly envelopeId: string;
  readonly receivedAt: string;
  readonly subject?: string;
  readonly type?: string;
  /** The provider's JSON text; `{"id":"<key>"}` by default. */
  readonly payload?: string;
  /**
   * Whether this attempt was the acknowledged one (true, the default), never acknowledged
   * (false: answered 503) or unknown (null). {@link writeArchive} gives the archiver an
   * idempotency record that says so.
   */
  readonly acknowledged?: boolean | null;
  /** The settlement the line says, when not the one `acknowledged` implies for a lone attempt. */
  readonly settlement?: Settlement;
}

/** The settlement a line of `fields` gets when it is the only attempt of its key. */
const settlementOf = (acknowledged: boolean | null | undefined): Settlement =>
  acknowledged === false
    ? Settlement.NoRecord
    : acknowledged === null
      ? Settlement.NotCompleted
      : Settlement.Completed;

/** The archive's JSON line for `fields`, as the archiver writes it. */
export function archiveLine(fields: ArchivedFields): string {
  const provider = fields.provider ?? 'sigmate';
  const type = fields.type ?? 'signal.fired';
  const settlement = fields.settlement ?? settlementOf(fields.acknowledged);
  return archiveRecordLine({
    archiveVersion: ARCHIVE_VERSION,
    provider,
    type,
    product: undefined,
    subject: fields.subject,
    idempotencyKey: fields.key,
    envelopeId: fields.envelopeId,
    receivedAt: fields.receivedAt,
    sourceIp: '203.0.113.7',
    requestId: `req-${fields.envelopeId}`,
    acknowledged: acknowledgedBy(settlement),
    settlement,
    settledAt: fields.receivedAt,
    envelope: buildEnvelope(
      {
        id: fields.envelopeId,
        provider,
        type,
        idempotencyKey: fields.key,
        receivedAt: fields.receivedAt,
      },
      fields.payload ?? JSON.stringify({ id: fields.key }),
    ),
  });
}

/** The queue ARN test messages come from: the shared queue, whose envelopes name their provider. */
export const TEST_ARCHIVE_SOURCE = 'arn:aws:sqs:us-east-1:000000000000:test-archive';

/**
 * Idempotency records that settle `lines` as each says: a key with an acknowledged line
 * has a completed record naming it (envelope id and digest); else one with an unknown
 * line has an expired claim naming it; else none (every attempt answered 503).
 */
export function ledgerFor(lines: readonly ArchiveRecord[]): {
  read: (keys: readonly string[]) => Promise<Map<string, ClaimView>>;
} {
  const records = new Map<string, ClaimView>();
  for (const wanted of [true, null] as const) {
    for (const line of lines) {
      const key = `${line.provider}#${line.idempotencyKey}`;
      if (line.acknowledged !== wanted || records.has(key)) continue;
      records.set(key, {
        status: wanted ? RecordStatus.Completed : RecordStatus.InProgress,
        envelopeId: line.envelopeId,
        envelopeDigest: sha256Hex(line.envelope),
        leaseExpiresAt: wanted ? undefined : 0,
      });
    }
  }
  return { read: async () => records };
}

/**
 * Writes archive queue messages to the archive with the real archiver (`archiveBatch`):
 * one object per (provider, date) of this batch, as one Lambda invocation would, each
 * settled against records that say what its line says ({@link ledgerFor}).
 */
export async function writeArchive(
  s3: S3Client,
  location: ArchiveLocation,
  bodies: readonly string[],
): Promise<void> {
  const log = { warn: () => {}, error: () => {} };
  const lines = bodies.map((line) => JSON.parse(line) as ArchiveRecord);
  // Each line back into the queue message the functions send, through the real archiver.
  const messages = lines.map((line) =>
    toArchiveQueueMessage(randomUUID(), line, TEST_ARCHIVE_SOURCE),
  );
  const { batchItemFailures } = await archiveBatch(
    {
      s3,
      location,
      ledger: ledgerFor(lines),
      sources: new Map([[TEST_ARCHIVE_SOURCE, ANY_PROVIDER]]),
      retentionDays: 36_500,
    },
    messages,
    log,
  );
  if (batchItemFailures.length > 0) throw new Error('the archiver refused a test record');
}

/** Runs `body` while a queue refuses messages over 1 KiB (its smallest setting). */
export async function withSmallQueue(
  sqs: SQSClient,
  queueUrl: string,
  body: () => Promise<void>,
): Promise<void> {
  const resize = (bytes: number) =>
    sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { MaximumMessageSize: String(bytes) },
      }),
    );
  await resize(1024);
  try {
    await body();
  } finally {
    await resize(262_144);
  }
}

/**
 * Sends one signed sample through the ingress, drains its queue (a consumer took it)
 * and the archive queue (the archiver wrote it); its idempotency record and key.
 */
export async function acceptOneArchived(
  ingress: TestIngress,
  target: StoreTarget,
  provider: ProviderName,
): Promise<{ envelopeId: string; key: string; record: Record<string, unknown> | undefined }> {
  const sent = await send(
    target,
    { provider, count: 1, duplicates: 0, concurrency: 1 },
    new MemoryIo(),
  );
  const envelopeId = sent.acceptedIds[0] ?? '';
  await ingress.drain(provider);
  await ingress.archive?.archiver.drain();
  const record = (await ingress.records()).find((item) => item.envelopeId === envelopeId);
  return { envelopeId, key: String(record?.id).replace(`${provider}#`, ''), record };
}

/** Deletes an idempotency record, as DynamoDB's TTL does once the deduplication window passed. */
export async function expireRecord(
  ingress: TestIngress,
  provider: ProviderName,
  key: string,
): Promise<void> {
  await ingress.clients.dynamodb.send(
    new DeleteItemCommand({
      TableName: ingress.endpoints.table,
      Key: { id: { S: `${provider}#${key}` } },
    }),
  );
}
