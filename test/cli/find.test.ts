import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryIo } from '../../cli/io.js';
import { send } from '../../cli/send.js';
import type { StoreTarget } from '../../cli/target.js';
import type { TestIngress } from '../support/harness.js';
import {
  acceptOneArchived,
  archiveLine,
  cli,
  describeStacksAnswer,
  expireRecord,
  type LocalCli,
  STACK_ARCHIVE_BUCKET,
  stackQueueUrl,
  startLocalCli,
  stopLocalCli,
} from './cli-support.js';

const HOUR = 3600;

describe('cli find: did it arrive, and where is it now? (local)', () => {
  let ingress: TestIngress;
  let endpoints: LocalCli['endpoints'];
  let target: StoreTarget;

  beforeAll(async () => {
    ({ ingress, endpoints, target } = await startLocalCli());
  });
  afterAll(() => stopLocalCli({ ingress, endpoints, target }));

  /** A record as the functions write it, `subject` included (or left out, as on older records). */
  async function putRecord(record: {
    provider: string;
    key: string;
    envelopeId: string;
    subject?: string;
    receivedAt?: string;
  }): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    await ingress.clients.dynamodb.send(
      new PutItemCommand({
        TableName: ingress.endpoints.table,
        Item: {
          id: { S: `${record.provider}#${record.key}` },
          status: { S: 'COMPLETED' },
          provider: { S: record.provider },
          type: { S: 'guarantees/completion' },
          envelopeId: { S: record.envelopeId },
          receivedAt: { S: record.receivedAt ?? new Date().toISOString() },
          expiration: { N: String(now + HOUR) },
          ...(record.subject ? { subject: { S: record.subject } } : {}),
        },
      }),
    );
  }

  it('finds an event sent through the ingress by its key and by its envelope id', async () => {
    const sent = await send(
      target,
      { provider: 'sigmate', count: 1, duplicates: 0, concurrency: 1 },
      new MemoryIo(),
    );
    const envelopeId = sent.acceptedIds[0] ?? '';
    const [record] = await ingress.records();
    const key = String(record?.id).replace(/^sigmate#/, '');

    const byKey = await cli(['find', 'sigmate', key, '--endpoints', endpoints.file, '--json']);
    expect(byKey.code).toBe(0);
    const found = JSON.parse(byKey.stdout.join('\n'));
    expect(found).toMatchObject({
      scanned: 0,
      found: [{ matchedBy: 'idempotencyKey', envelopeId, state: 'accepted' }],
    });
    // Not searched: the queue holds a message, and a look would count as a receive.
    expect(found.found[0].place).toMatchObject({ where: 'unknown' });
    expect(found.found[0].place.why).toMatch(/holds 1 message\(s\); --search-queue/);

    const byId = await cli(['find', 'sigmate', envelopeId, '--endpoints', endpoints.file]);
    expect(byId.code).toBe(0);
    expect(byId.stdout.join('\n')).toMatch(/matched by envelopeId/);
    expect(byId.stdout.join('\n')).toMatch(new RegExp(`envelope id\\s+${envelopeId}`));

    const searched = await cli([
      'find',
      'sigmate',
      envelopeId,
      '--endpoints',
      endpoints.file,
      '--search-queue',
    ]);
    expect(searched.stdout.join('\n')).toMatch(/now\s+on the queue, waiting for the consumer/);
    // The search gave the message back at once.
    expect(await ingress.drain('sigmate')).toHaveLength(1);

    const consumed = await cli(['find', 'sigmate', key, '--endpoints', endpoints.file]);
    expect(consumed.stdout.join('\n')).toMatch(/not on the queues: the queue is empty/);
  });

  it('finds by the provider’s own identifier (subject), and on the dead-letter queue', async () => {
    await putRecord({
      provider: 'signifyd',
      key: 'guarantees/completion:abc',
      envelopeId: 'env-case-44',
      subject: '44',
    });
    await ingress.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: ingress.endpoints.deadLetterQueues.signifyd,
        MessageBody: JSON.stringify({ version: 1, id: 'env-case-44', payload: { caseId: 44 } }),
      }),
    );
    const run = await cli(['find', 'signifyd', '44', '--endpoints', endpoints.file]);
    expect(run.code).toBe(0);
    const text = run.stdout.join('\n');
    expect(text).toMatch(/signifyd event, matched by subject/);
    expect(text).toMatch(/envelope id\s+env-case-44/);
    expect(text).toMatch(/now\s+on the dead-letter queue \(received 1×\): redrive brings it back/);
    expect(run.stderr.join('\n')).toMatch(/record\(s\) scanned: a Scan reads the whole table/);
  });

  it('exits 1 when nothing matches, and says when older records cannot match by subject', async () => {
    await putRecord({ provider: 'signifyd', key: 'cases/creation:old', envelopeId: 'env-old' });
    const run = await cli(['find', 'signifyd', 'no-such-case', '--endpoints', endpoints.file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toEqual([
      expect.stringMatching(
        /^no idempotency record matches; searching the signifyd archive from \S+ to \S+ \(the last 30 days by default; --since\/--until for another range\)$/,
      ),
      expect.stringMatching(
        /^no signifyd event with idempotency key, envelope id or subject "no-such-case" \(records are kept/,
      ),
      '1 signifyd record(s) predate subjects and can be found only by key or envelope id',
      expect.stringMatching(
        /^nor in the archive from \S+ to \S+ \(read 0 object\(s\) in 31 day partition\(s\), 0 line\(s\), 0 B from the archive; --since\/--until for another range\)$/,
      ),
    ]);
  });

  it('falls back to the archive for an event whose idempotency record is gone', async () => {
    const { envelopeId, key, record } = await acceptOneArchived(ingress, target, 'signifyd');
    const subject = String(record?.subject);
    expect(subject).toMatch(/\S/);
    await expireRecord(ingress, 'signifyd', key);

    const byKey = await cli(['find', 'signifyd', key, '--endpoints', endpoints.file, '--json']);
    expect(byKey.code, byKey.stderr.join('\n')).toBe(0);
    const report = JSON.parse(byKey.stdout.join('\n'));
    const today = String(record?.receivedAt).slice(0, 10);
    expect(report.found).toEqual([
      {
        matchedBy: 'idempotencyKey',
        provider: 'signifyd',
        idempotencyKey: key,
        envelopeId,
        type: record?.type,
        subject,
        receivedAt: record?.receivedAt,
        state: 'archived',
        sourceIp: expect.stringMatching(/127\.0\.0\.1/),
        requestId: expect.any(String),
        attempts: 1,
        // Settled by the archiver while its record was there: the acknowledged attempt.
        acknowledged: true,
        settlement: 'completed',
        place: {
          where: 'archive',
          object: expect.stringMatching(
            new RegExp(
              `^s3://${ingress.endpoints.archive?.bucket}/events/provider=signifyd/date=${today}/[0-9a-f]{32}\\.jsonl\\.gz$`,
            ),
          ),
        },
      },
    ]);
    expect(report.archive).toMatchObject({
      searched: true,
      read: { partitions: 31, objects: 1, lines: 1, skippedLines: 0 },
    });

    const byEnvelope = await cli(['find', 'signifyd', envelopeId, '--endpoints', endpoints.file]);
    expect(byEnvelope.code).toBe(0);
    const text = byEnvelope.stdout.join('\n');
    expect(text).toMatch(
      /^signifyd event, matched by envelopeId, in the archive only \(no idempotency record: expired\)/,
    );
    expect(text).toMatch(/arrived\s+\S+ \(archived, acknowledged\)/);
    expect(text).toMatch(
      /acknowledged\s+acknowledged \(the idempotency record names this attempt\)/,
    );
    expect(text).toMatch(/now\s+archive: s3:\/\/\S+\.jsonl\.gz \(the queues were not searched/);
    expect(byEnvelope.stderr.join('\n')).toMatch(
      /\(archive from \S+ to \S+: read 1 object\(s\) in 31 day partition\(s\), 1 line\(s\)/,
    );

    const bySubject = await cli([
      'find',
      'signifyd',
      subject,
      '--endpoints',
      endpoints.file,
      '--json',
    ]);
    expect(JSON.parse(bySubject.stdout.join('\n')).found).toMatchObject([
      { matchedBy: 'subject', envelopeId, state: 'archived' },
    ]);

    // A range that leaves the event out finds nothing; the range is the operator's.
    const before = await cli([
      'find',
      'signifyd',
      key,
      '--endpoints',
      endpoints.file,
      '--since',
      '2020-01-01',
      '--until',
      '2020-01-02',
    ]);
    expect(before.code).toBe(1);
    expect(before.stderr.join('\n')).toMatch(
      /nor in the archive from 2020-01-01T00:00:00.000Z to 2020-01-02T00:00:00.000Z \(read 0 object\(s\) in 2 day partition\(s\)/,
    );
  });

  it('refuses a backwards range before reading anything', async () => {
    const run = await cli([
      'find',
      'sigmate',
      'x',
      '--endpoints',
      endpoints.file,
      '--since',
      '1h',
      '--until',
      '2h',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual(['webhook-ingress: --since is after --until']);
  });
});

describe('cli find: a deployed stack (mocked AWS)', () => {
  // Mocked from beforeAll on: the local tests above use the real clients.
  let cloudFormation: AwsClientStub<CloudFormationClient>;
  let dynamodb: AwsClientStub<DynamoDBClient>;
  let sqs: AwsClientStub<SQSClient>;
  const queue = stackQueueUrl;

  beforeAll(() => {
    cloudFormation = mockClient(CloudFormationClient);
    dynamodb = mockClient(DynamoDBClient);
    sqs = mockClient(SQSClient);
    cloudFormation.on(DescribeStacksCommand).resolves(describeStacksAnswer('WebhookIngress-prod'));
    const record = {
      id: { S: 'sigma#transaction-monitoring:9f2c' },
      status: { S: 'COMPLETED' },
      provider: { S: 'sigma' },
      type: { S: 'transaction.decision' },
      envelopeId: { S: 'env-txn-001' },
      receivedAt: { S: '2026-11-23T09:00:00.000Z' },
      expiration: { N: '1795000000' },
      subject: { S: 'txn-001' },
      messageId: { S: 'msg-1' },
    };
    dynamodb.on(GetItemCommand).resolves({});
    dynamodb
      .on(GetItemCommand, { Key: { id: { S: 'sigma#transaction-monitoring:9f2c' } } })
      .resolves({ Item: record });
    dynamodb.on(ScanCommand).resolves({ Items: [record], ScannedCount: 1200, Count: 1 });
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [] });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: {
        ApproximateNumberOfMessages: '0',
        ApproximateNumberOfMessagesNotVisible: '0',
        ApproximateNumberOfMessagesDelayed: '0',
      },
    });
  });
  afterAll(() => {
    cloudFormation.restore();
    dynamodb.restore();
    sqs.restore();
  });

  const stack = ['--stack', 'WebhookIngress-prod', '--region', 'eu-west-1'];

  it.each([
    ['its idempotency key', 'transaction-monitoring:9f2c', 'idempotencyKey'],
    ['its envelope id', 'env-txn-001', 'envelopeId'],
    ['Sigma’s data.transaction_id', 'txn-001', 'subject'],
  ])('answers by %s', async (_, id, matchedBy) => {
    const run = await cli(['find', 'sigma', id, ...stack, '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const report = JSON.parse(run.stdout.join('\n'));
    expect(report.found).toEqual([
      {
        matchedBy,
        provider: 'sigma',
        idempotencyKey: 'transaction-monitoring:9f2c',
        envelopeId: 'env-txn-001',
        type: 'transaction.decision',
        subject: 'txn-001',
        receivedAt: '2026-11-23T09:00:00.000Z',
        state: 'accepted',
        messageId: 'msg-1',
        expiresAt: new Date(1795000000 * 1000).toISOString(),
        place: {
          where: 'not on the queues',
          why: 'the queue is empty and the dead-letter queue does not hold it: consumed (or expired)',
        },
      },
    ]);
    expect(report.scanned).toBe(matchedBy === 'idempotencyKey' ? 0 : 1200);
  });

  it('reads the right table and the provider’s own dead-letter queue', async () => {
    dynamodb.resetHistory();
    sqs.resetHistory();
    await cli(['find', 'sigma', 'txn-001', ...stack]);
    expect(dynamodb.commandCalls(ScanCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'ingress-table',
      ExpressionAttributeValues: { ':provider': { S: 'sigma' }, ':id': { S: 'txn-001' } },
    });
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input.QueueUrl).toBe(
      queue('Sigma-dlq'),
    );
  });
});

describe('cli find: the archive of a deployed stack (mocked AWS)', () => {
  let cloudFormation: AwsClientStub<CloudFormationClient>;
  let dynamodb: AwsClientStub<DynamoDBClient>;
  let s3: AwsClientStub<S3Client>;
  let sqs: AwsClientStub<SQSClient>;
  const stack = ['--stack', 'WebhookIngress-prod', '--region', 'eu-west-1'];
  const day = (offset: number) =>
    new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);
  // Received 40 days ago: long past the table's 7 days, and past find's default 30.
  const old = `${day(40)}T10:00:00.000Z`;
  const objectKey = `events/provider=sigma/date=${day(40)}/0f.jsonl.gz`;

  beforeAll(() => {
    cloudFormation = mockClient(CloudFormationClient);
    dynamodb = mockClient(DynamoDBClient);
    s3 = mockClient(S3Client);
    sqs = mockClient(SQSClient);
    cloudFormation.on(DescribeStacksCommand).resolves(describeStacksAnswer('WebhookIngress-prod'));
    dynamodb.on(GetItemCommand).resolves({});
    dynamodb.on(ScanCommand).resolves({ Items: [], ScannedCount: 900, Count: 0 });
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string }) => ({
      Contents: objectKey.startsWith(input.Prefix ?? '-') ? [{ Key: objectKey }] : [],
      IsTruncated: false,
    }));
    s3.on(GetObjectCommand).resolves({
      Body: Readable.from([
        gzipSync(
          `${archiveLine({
            provider: 'sigma',
            type: 'transaction.decision',
            key: 'transaction-monitoring:9f2c',
            envelopeId: 'env-txn-001',
            subject: 'txn-001',
            receivedAt: old,
          })}\n`,
        ),
      ]) as never,
    });
  });
  afterAll(() => {
    for (const client of [cloudFormation, dynamodb, s3, sqs]) client.restore();
  });

  it('reads the last 30 days by default, one listing per day, and says so', async () => {
    s3.resetHistory();
    const run = await cli(['find', 'sigma', 'txn-001', ...stack]);
    expect(run.code).toBe(1);
    const prefixes = s3
      .commandCalls(ListObjectsV2Command)
      .map(({ args: [{ input }] }) => input.Prefix)
      .sort();
    expect(prefixes).toHaveLength(31);
    expect(prefixes[0]).toBe(`events/provider=sigma/date=${day(30)}/`);
    expect(prefixes.at(-1)).toBe(`events/provider=sigma/date=${day(0)}/`);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(run.stderr[0]).toMatch(
      /the last 30 days by default; --since\/--until for another range/,
    );
    // No receive: an archived event's queues are not searched, and nothing matched here.
    expect(sqs.calls()).toHaveLength(0);
  });

  it('finds an event older than the default window with --since, in the stack’s bucket', async () => {
    s3.resetHistory();
    const run = await cli(['find', 'sigma', 'txn-001', ...stack, '--since', '45d', '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const report = JSON.parse(run.stdout.join('\n'));
    expect(report.found).toEqual([
      {
        matchedBy: 'subject',
        provider: 'sigma',
        idempotencyKey: 'transaction-monitoring:9f2c',
        envelopeId: 'env-txn-001',
        type: 'transaction.decision',
        subject: 'txn-001',
        receivedAt: old,
        state: 'archived',
        sourceIp: '203.0.113.7',
        requestId: 'req-env-txn-001',
        attempts: 1,
        acknowledged: true,
        settlement: 'completed',
        place: { where: 'archive', object: `s3://${STACK_ARCHIVE_BUCKET}/${objectKey}` },
      },
    ]);
    expect(report).toMatchObject({
      scanned: 900,
      archive: { searched: true, read: { partitions: 46, objects: 1, lines: 1 } },
    });
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: STACK_ARCHIVE_BUCKET,
      Key: objectKey,
    });
  });

  it('says when the stack has no archive, and exits 1', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves(describeStacksAnswer('WebhookIngress-prod', [], { archive: false }));
    const run = await cli(['find', 'sigma', 'txn-001', ...stack]);
    expect(run.code).toBe(1);
    expect(run.stderr.at(-1)).toBe(
      'the archive is off (no ArchiveBucketName output: the stack’s archive setting): older events cannot be found',
    );
  });
});
