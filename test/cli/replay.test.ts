import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryIo } from '../../cli/io.js';
import { replay } from '../../cli/replay.js';
import { send } from '../../cli/send.js';
import { localTarget, type StoreTarget } from '../../cli/target.js';
import { Settlement } from '../../functions/core/archive.js';
import { buildEnvelope } from '../../functions/core/envelope.js';
import { OutputFacts, outputTag } from '../../infra/output-tags.js';
import { type LocalArchive, readArchive } from '../../local/archiver.js';
import { queueUrlOf } from '../../local/endpoints.js';
import { DEMO_SECRETS } from '../../local/ingress.js';
import { startTestIngress, type TestIngress, withQueueDeleted } from '../support/harness.js';
import { signedSigmate } from '../support/sign.js';
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
  withSmallQueue,
  writeArchive,
  writeEndpoints,
} from './cli-support.js';

const SECRET = DEMO_SECRETS.SIGMATE_WEBHOOK_SECRET;

/** The part of an envelope after its header: the payload's exact bytes. */
const payloadOf = (raw: string) => raw.slice(raw.indexOf(',"payload":'));

describe('cli replay: from the archive of a local ingress', () => {
  let ingress: TestIngress;
  let endpoints: Awaited<ReturnType<typeof writeEndpoints>>;
  let target: StoreTarget;
  let archive: LocalArchive;

  beforeAll(async () => {
    ingress = await startTestIngress();
    endpoints = await writeEndpoints(ingress.endpoints);
    target = await localTarget(endpoints.file, {});
    if (!ingress.archive) throw new Error('the test ingress has no archive');
    archive = ingress.archive;
  });
  afterAll(async () => {
    target?.close();
    await ingress?.stop();
    await endpoints?.remove();
  });

  const replayCli = (...args: string[]) =>
    cli(['replay', 'sigmate', '--endpoints', endpoints.file, ...args]);
  const archiveLines = (lines: string[]) => writeArchive(archive.s3, archive.location, lines);
  const drainedIds = async () =>
    (await ingress.drain('sigmate')).map((message) => String(message.body.id)).sort();

  it('replays what the ingress accepted, from the archive: marked replay, payload byte for byte', async () => {
    const sent = await send(
      target,
      { provider: 'sigmate', count: 6, duplicates: 0.5, concurrency: 3 },
      new MemoryIo(),
    );
    expect(sent.unique).toBe(3);
    const originals = await ingress.drain('sigmate');
    expect(await archive.archiver.drain()).toBe(3);

    const dry = await replayCli('--since', '10m', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toHaveLength(3);
    for (const line of dry.stdout)
      expect(line).toMatch(/ sigmate signal\.fired key=\S+ id=\S+ \[replay\] \[synthetic\]$/);
    expect(dry.stderr.join('\n')).toMatch(
      /dry run: would replay 3 sigmate event\(s\), .* \(read \d+ object\(s\) in 1 day partition\(s\), 3 line\(s\), [\d.]+ (B|KB) from the archive\)/,
    );
    expect(await ingress.drain('sigmate')).toHaveLength(0);

    const run = await replayCli('--since', '10m');
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.stdout.join('\n')).toMatch(/^replayed 3 sigmate event\(s\), .* \(read \d+ object/);
    const replayed = await ingress.drain('sigmate');
    expect(replayed).toHaveLength(3);
    for (const message of replayed) {
      const original = originals.find((item) => item.body.id === message.body.id);
      expect(original, 'the same envelope id').toBeDefined();
      expect(message.body).toEqual({ ...original?.body, replay: true });
      expect(payloadOf(message.raw)).toBe(payloadOf(original?.raw ?? ''));
      expect(message.attributes).toEqual({
        provider: 'sigmate',
        type: 'signal.fired',
        replay: 'true',
      });
    }

    // A replay is an operator's act, not a redelivery: run twice, it sends twice.
    expect((await replayCli('--since', '10m')).code).toBe(0);
    expect(await ingress.drain('sigmate')).toHaveLength(3);
  });

  it('replays by time range: only events received in it, reading only its day partitions', async () => {
    await archiveLines([
      archiveLine({ key: 'r-a', envelopeId: 'env-r-a', receivedAt: '2026-01-01T09:00:00.000Z' }),
      archiveLine({ key: 'r-b', envelopeId: 'env-r-b', receivedAt: '2026-01-01T13:00:00.000Z' }),
      archiveLine({ key: 'r-c', envelopeId: 'env-r-c', receivedAt: '2026-01-02T23:59:59.999Z' }),
      archiveLine({ key: 'r-d', envelopeId: 'env-r-d', receivedAt: '2026-01-03T00:00:00.000Z' }),
      archiveLine({ key: 'r-e', envelopeId: 'env-r-e', receivedAt: '2026-01-05T10:00:00.000Z' }),
      archiveLine({
        provider: 'signifyd',
        type: 'cases/creation',
        key: 'r-f',
        envelopeId: 'env-r-f',
        receivedAt: '2026-01-02T10:00:00.000Z',
      }),
    ]);
    const io = new MemoryIo();
    const report = await replay(
      target,
      { provider: 'sigmate', since: '2026-01-01T12:00:00Z', until: '2026-01-02T23:59:59.999Z' },
      io,
    );
    expect(report).toMatchObject({ matched: 2, replayed: 2, exitCode: 0 });
    // One object per (provider, date) was written: two days, two objects, four lines read.
    expect(report.read).toMatchObject({ partitions: 2, objects: 2, lines: 3, skippedLines: 0 });
    expect(await drainedIds()).toEqual(['env-r-b', 'env-r-c']);

    const wide = await replay(
      target,
      { provider: 'sigmate', since: '2026-01-01T00:00:00Z', until: '2026-01-09T00:00:00Z' },
      new MemoryIo(),
    );
    expect(wide.read).toMatchObject({ partitions: 9, objects: 4 });
    expect(await drainedIds()).toEqual(['env-r-a', 'env-r-b', 'env-r-c', 'env-r-d', 'env-r-e']);
  });

  it('sends one replay per idempotency key, the acknowledged attempt: copies and other attempts are dropped', async () => {
    const day = '2026-02-01';
    const first = [
      // Answered 503 (archived, then the enqueue failed), and the provider's retry.
      archiveLine({
        key: 'k-1',
        envelopeId: 'env-k1-a',
        receivedAt: `${day}T10:00:00.000Z`,
        acknowledged: false,
      }),
      archiveLine({ key: 'k-1', envelopeId: 'env-k1-b', receivedAt: `${day}T10:00:05.000Z` }),
      archiveLine({ key: 'k-2', envelopeId: 'env-k2', receivedAt: `${day}T11:00:00.000Z` }),
      // Two attempts received in the same millisecond: the acknowledged one, whatever its id.
      archiveLine({
        key: 'k-3',
        envelopeId: 'env-k3-b',
        receivedAt: `${day}T12:00:00.000Z`,
        acknowledged: false,
      }),
      archiveLine({ key: 'k-3', envelopeId: 'env-k3-a', receivedAt: `${day}T12:00:00.000Z` }),
    ];
    await archiveLines(first);
    // An archiver retry in another batch: the same records again, in another object.
    await archiveLines([first[1] ?? '', first[2] ?? '']);
    const io = new MemoryIo();
    const report = await replay(
      target,
      { provider: 'sigmate', since: `${day}T00:00:00Z`, until: `${day}T23:59:59Z` },
      io,
    );
    expect(report).toMatchObject({ matched: 3, replayed: 3, copies: 2, earlierAttempts: 2 });
    expect(report.read.objects).toBe(2);
    expect(io.stderr.join('\n')).toMatch(
      /one replay per idempotency key: dropped 2 exact copies \(same envelope id\) and 2 other attempt\(s\)/,
    );
    expect(await drainedIds()).toEqual(['env-k1-b', 'env-k2', 'env-k3-a']);
  });

  it('--key reads the one day its idempotency record names; once the record is gone, it needs --since', async () => {
    const { envelopeId, key } = await acceptOneArchived(ingress, target, 'sigmate');

    const io = new MemoryIo();
    const report = await replay(target, { provider: 'sigmate', key }, io);
    expect(report).toMatchObject({ matched: 1, replayed: 1, exitCode: 0 });
    expect(report.read.partitions).toBe(1);
    expect(io.stdout.join('\n')).toMatch(
      new RegExp(`replayed 1 sigmate event\\(s\\), key ${key} \\(received \\S+: partition date=`),
    );
    const [message] = await ingress.drain('sigmate');
    expect(message?.body).toMatchObject({ id: envelopeId, idempotencyKey: key, replay: true });

    await expireRecord(ingress, 'sigmate', key);
    const expired = await replayCli('--key', key);
    expect(expired.code).toBe(2);
    expect(expired.stderr).toEqual([
      `webhook-ingress: no idempotency record for sigmate key "${key}": it expired after the deduplication window (7 days by default), or never arrived (pass --since, and --until, to search the archive by time)`,
    ]);
    expect(await ingress.drain('sigmate')).toHaveLength(0);

    const bounded = await replayCli('--key', key, '--since', '1h');
    expect(bounded.code).toBe(0);
    expect((await ingress.drain('sigmate')).map((item) => item.body.id)).toEqual([envelopeId]);

    const unknown = await replayCli('--key', 'no-such-key', '--since', '1h');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.join('\n')).toMatch(/nothing matched: no sigmate event in the archive/);
  });

  it('--subject replays the events about one provider identifier, and needs --since', async () => {
    const day = '2026-03-01';
    await archiveLines([
      archiveLine({
        key: 's-1',
        envelopeId: 'env-s-1',
        subject: 'case-1',
        receivedAt: `${day}T08:00:00.000Z`,
      }),
      archiveLine({
        key: 's-2',
        envelopeId: 'env-s-2',
        subject: 'case-1',
        receivedAt: `${day}T09:00:00.000Z`,
      }),
      archiveLine({
        key: 's-3',
        envelopeId: 'env-s-3',
        subject: 'case-2',
        receivedAt: `${day}T09:30:00.000Z`,
      }),
    ]);
    const unbounded = await replayCli('--subject', 'case-1');
    expect(unbounded.code).toBe(2);
    expect(unbounded.stderr).toEqual([
      'webhook-ingress: --subject needs --since: the archive has no index by subject, so a time range bounds what is read',
    ]);
    const run = await replayCli(
      '--subject',
      'case-1',
      '--since',
      day,
      '--until',
      `${day}T23:59:59Z`,
    );
    expect(run.code).toBe(0);
    expect(run.stdout.join('\n')).toMatch(/replayed 2 sigmate event\(s\), .*, subject case-1 \(/);
    expect(await drainedIds()).toEqual(['env-s-1', 'env-s-2']);
  });

  it('a dry run sends nothing, and stops quietly when its reader goes', async () => {
    const range = { since: '2026-01-01T00:00:00Z', until: '2026-01-09T00:00:00Z' };
    const io = new MemoryIo({ closeAfter: 1 });
    const report = await replay(target, { provider: 'sigmate', ...range, dryRun: true }, io);
    expect(report).toMatchObject({ matched: 5, replayed: 0, exitCode: 0 });
    expect(io.stdout).toHaveLength(1);
    expect(io.stderr).toEqual([]);
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('shows its progress on a terminal: objects listed and read, events matched', async () => {
    const writes: string[] = [];
    const io = Object.assign(new MemoryIo(), { progress: (text: string) => writes.push(text) });
    const range = { since: '2026-01-01T00:00:00Z', until: '2026-01-09T00:00:00Z' };
    await replay(target, { provider: 'sigmate', ...range, dryRun: true }, io);
    expect(writes.join('')).toMatch(
      /listing the sigmate archive \[#{20}\] 9\/9 .* · 4 object\(s\)/,
    );
    expect(writes.join('')).toMatch(
      /reading the sigmate archive \[#{20}\] 4\/4 .* · 5 matched · 0 skipped/,
    );
    expect(io.stdout).toHaveLength(5);
  });

  it('interrupted (Ctrl-C, a closed pipe), it stops before sending, or between batches', async () => {
    const range = { since: '2026-01-01T00:00:00Z', until: '2026-01-09T00:00:00Z' };
    await expect(
      replay(
        target,
        { provider: 'sigmate', ...range, signal: AbortSignal.abort() },
        new MemoryIo(),
      ),
    ).rejects.toThrow('interrupted while reading the archive: nothing was changed');
    const stop = new AbortController();
    const io = new MemoryIo();
    const report = await replay(
      target,
      {
        provider: 'sigmate',
        ...range,
        signal: stop.signal,
        // Ctrl-C while the operator is asked: the answer comes, then nothing is sent.
        confirm: async () => stop.abort(),
      },
      io,
    );
    expect(report).toMatchObject({ matched: 5, replayed: 0, exitCode: 1 });
    expect(io.stderr).toContain('interrupted: 5 event(s) were not sent');
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('skips and reports lines that are not archive records and objects that are not gzip', async () => {
    const partition = `${archive.location.prefix}/provider=sigmate/date=2026-04-01`;
    const good = archiveLine({
      key: 'p-1',
      envelopeId: 'env-p-1',
      receivedAt: '2026-04-01T10:00:00.000Z',
    });
    const lines = [
      good,
      'not json',
      '{"archiveVersion":2}',
      good.replace('"provider":"sigmate"', '"provider":"signifyd"'),
      '',
    ];
    const put = (name: string, body: Uint8Array) =>
      archive.s3.send(
        new PutObjectCommand({
          Bucket: archive.location.bucket,
          Key: `${partition}/${name}`,
          Body: body,
        }),
      );
    await put('poison.jsonl.gz', gzipSync(lines.join('\n')));
    await put('garbage.jsonl.gz', Buffer.from('this is not gzip'));
    await put('truncated.jsonl.gz', gzipSync(`${good}\n`).subarray(0, 20));
    const run = await replayCli('--since', '2026-04-01', '--until', '2026-04-01T23:59:59Z');
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const where = `s3://${archive.location.bucket}/${partition}`;
    // The first three are named (which three depends on the order the reads finish in).
    const named = run.stderr.filter((line) => line.startsWith('skipped '));
    expect(named).toHaveLength(3);
    const expected = [
      `skipped line 2 of ${where}/poison.jsonl.gz: not a sigmate archive record`,
      `skipped line 3 of ${where}/poison.jsonl.gz: not a sigmate archive record`,
      `skipped line 4 of ${where}/poison.jsonl.gz: not a sigmate archive record`,
      `skipped ${where}/garbage.jsonl.gz: not gzip JSON Lines (incorrect header check)`,
      `skipped ${where}/truncated.jsonl.gz: not gzip JSON Lines (unexpected end of file)`,
    ];
    for (const line of named) expect(expected).toContain(line);
    expect(run.stderr).toContain(
      '… 2 more skipped (3 line(s) that are not archive records, 2 unreadable object(s))',
    );
    expect(run.stdout.join('\n')).toMatch(
      /replayed 1 sigmate event\(s\), .* \(read 3 object\(s\) in 1 day partition\(s\), 4 line\(s\), .*; skipped 3 line\(s\) that are not archive records, 2 unreadable object\(s\)\)/,
    );
    expect(await drainedIds()).toEqual(['env-p-1']);

    // A record whose envelope is not an envelope v1 cannot be replayed: named, exit 1.
    // (The archiver refuses to write one; an object written by other hands may hold it.)
    await archive.s3.send(
      new PutObjectCommand({
        Bucket: archive.location.bucket,
        Key: `${archive.location.prefix}/provider=sigmate/date=2026-04-02/foreign.jsonl.gz`,
        Body: gzipSync(
          `${archiveLine({
            key: 'p-2',
            envelopeId: 'env-p-2',
            receivedAt: '2026-04-02T10:00:00.000Z',
          }).replace(/"envelope":".*"}$/, '"envelope":"{\\"hello\\":1}"}')}\n`,
        ),
      }),
    );
    const bad = await replayCli('--since', '2026-04-02', '--until', '2026-04-02T23:59:59Z');
    expect(bad.code).toBe(1);
    expect(bad.stderr.join('\n')).toMatch(
      /cannot replay key p-2 \(s3:\/\/.*\): not an envelope v1/,
    );
    expect(await ingress.drain('sigmate')).toHaveLength(0);
  });

  it('drops a line over 4 MiB whole and reads on', async () => {
    const good = archiveLine({
      key: 'long-1',
      envelopeId: 'env-long-1',
      receivedAt: '2026-04-05T10:00:00.000Z',
    });
    // 12 MiB without a newline compresses to a few KB: the reader stops keeping it at 4 MiB.
    await archive.s3.send(
      new PutObjectCommand({
        Bucket: archive.location.bucket,
        Key: `${archive.location.prefix}/provider=sigmate/date=2026-04-05/long.jsonl.gz`,
        Body: gzipSync(`${'x'.repeat(12 * 1024 * 1024)}\n${good}\n`),
      }),
    );
    const run = await replayCli(
      '--since',
      '2026-04-05',
      '--until',
      '2026-04-05T23:59:59Z',
      '--dry-run',
    );
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.stdout.join('\n')).toContain('key=long-1');
    expect(run.stderr.join('\n')).toContain('skipped line 1 of');
  });

  it('exits 1 and names the event when SQS refuses an entry of the batch', async () => {
    const at = '2026-05-01T10:00:0';
    await archiveLines([
      archiveLine({ key: 'small-1', envelopeId: 'env-small-1', receivedAt: `${at}1.000Z` }),
      archiveLine({
        key: 'big',
        envelopeId: 'env-big',
        receivedAt: `${at}2.000Z`,
        payload: JSON.stringify({ id: 'big', note: 'x'.repeat(2000) }),
      }),
      archiveLine({ key: 'small-2', envelopeId: 'env-small-2', receivedAt: `${at}3.000Z` }),
    ]);
    await withSmallQueue(
      ingress.clients.sqs,
      queueUrlOf(ingress.endpoints, 'sigmate'),
      async () => {
        const run = await replayCli('--since', '2026-05-01', '--until', '2026-05-01T23:00:00Z');
        expect(run.code).toBe(1);
        expect(run.stderr.join('\n')).toMatch(/refused: .* key=big id=env-big \[replay\]/);
        expect(run.stderr.join('\n')).toMatch(
          /the queue 1 refused \(InvalidParameterValue.*\): those were not replayed \(replay each with --key/,
        );
        expect(run.stdout.join('\n')).toMatch(/replayed 2 sigmate event/);
      },
    );
    expect(await drainedIds()).toEqual(['env-small-1', 'env-small-2']);
  });

  it.each([
    [['--since', '2026-01-02', '--until', '2026-01-01'], /^--since is after --until$/],
    [
      ['--since', '2000-01-01'],
      /^a range of \d+ days lists \d+ archive partitions: at most 3660 \(ten years\) at once; split it$/,
    ],
    [
      ['--since', 'yesterday'],
      /^--since must be an ISO-8601 time \(UTC unless it carries an offset\) or a duration like 15m, 2h, 3d$/,
    ],
    [['--since', '2026-02-30'], /^--since must be an ISO-8601 time/],
    [['--since', '2026-03-29T24:00'], /^--since must be an ISO-8601 time/],
    [['--since', '99999999999d'], /^--since must be an ISO-8601 time/],
    [[], /^replay needs --since \(or --key for one event\)$/],
  ])('refuses %j before reading anything (exit 2)', async (args, message) => {
    const run = await replayCli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]?.replace(/^webhook-ingress: /, '')).toMatch(message);
  });

  it('an empty range matches nothing: exit 1, nothing sent', async () => {
    const run = await replayCli('--since', '2020-01-01', '--until', '2020-01-02');
    expect(run.code).toBe(1);
    expect(run.stderr.join('\n')).toMatch(
      /nothing matched: no sigmate event in the archive for 2020-01-01T00:00:00.000Z … 2020-01-02T00:00:00.000Z \(read 0 object\(s\) in 2 day partition\(s\)/,
    );
  });

  it('an ingress without an archive: one line naming the setting (exit 3)', async () => {
    const { archive: _off, ...withoutArchive } = ingress.endpoints;
    const off = await writeEndpoints(withoutArchive);
    try {
      const run = await cli(['replay', 'sigmate', '--endpoints', off.file, '--since', '1h']);
      expect(run.code).toBe(3);
      expect(run.stderr).toEqual([
        `webhook-ingress: replay reads the audit archive, and local (${off.file}) has no "archive" key (this ingress runs with its archive off: restart npm start, which turns it on)`,
      ]);
    } finally {
      await off.remove();
    }
  });
});

describe('cli replay: a deployed stack (mocked AWS)', () => {
  let cloudFormation: AwsClientStub<CloudFormationClient>;
  let dynamodb: AwsClientStub<DynamoDBClient>;
  let s3: AwsClientStub<S3Client>;
  let sqs: AwsClientStub<SQSClient>;
  const stack = ['--stack', 'WebhookIngress-prod', '--region', 'eu-west-1'];
  const partition = (date: string) => `events/provider=sigma/date=${date}/`;
  const sigma = (key: string, envelopeId: string, receivedAt: string, settlement?: Settlement) =>
    archiveLine({
      provider: 'sigma',
      type: 'transaction.decision',
      key,
      envelopeId,
      receivedAt,
      subject: `txn-${key}`,
      ...(settlement ? { settlement } : {}),
    });
  /** Objects by key, as gzip JSON Lines. */
  const objects: Record<string, string[]> = {
    [`${partition('2026-11-22')}a.jsonl.gz`]: [
      sigma('tm:1', 'env-1', '2026-11-22T08:00:00.000Z'),
      sigma('tm:2', 'env-2a', '2026-11-22T09:00:00.000Z'),
    ],
    // The second page of the listing: an attempt answered 503 whose clock ran ahead; the
    // completed record names env-2a, so the archiver settled this one as not acknowledged.
    [`${partition('2026-11-22')}b.jsonl.gz`]: [
      sigma('tm:2', 'env-2b', '2026-11-22T09:00:07.000Z', Settlement.OtherCompleted),
    ],
    [`${partition('2026-11-23')}c.jsonl.gz`]: [sigma('tm:3', 'env-3', '2026-11-23T10:00:00.000Z')],
  };

  beforeAll(() => {
    cloudFormation = mockClient(CloudFormationClient);
    dynamodb = mockClient(DynamoDBClient);
    s3 = mockClient(S3Client);
    sqs = mockClient(SQSClient);
  });
  beforeEach(() => {
    for (const client of [cloudFormation, dynamodb, s3, sqs]) client.reset();
    cloudFormation.on(DescribeStacksCommand).resolves(describeStacksAnswer('WebhookIngress-prod'));
    s3.on(ListObjectsV2Command).callsFake(
      (input: { Prefix?: string; ContinuationToken?: string }) => {
        const keys = Object.keys(objects).filter((key) => key.startsWith(input.Prefix ?? ''));
        // One object per page, to walk the pagination.
        const page = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
        const more = page + 1 < keys.length;
        return {
          Contents: keys.slice(page, page + 1).map((Key) => ({ Key })),
          IsTruncated: more,
          ...(more ? { NextContinuationToken: String(page + 1) } : {}),
        };
      },
    );
    s3.on(GetObjectCommand).callsFake((input: { Key?: string }) => ({
      Body: Readable.from([gzipSync(`${(objects[input.Key ?? ''] ?? []).join('\n')}\n`)]),
    }));
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries?: { Id?: string }[] }) => ({
      Successful: (input.Entries ?? []).map((entry) => ({
        Id: entry.Id,
        MessageId: `m-${entry.Id}`,
        MD5OfMessageBody: 'x',
      })),
      Failed: [],
    }));
  });
  afterAll(() => {
    for (const client of [cloudFormation, dynamodb, s3, sqs]) client.restore();
  });

  const sent = () =>
    sqs.commandCalls(SendMessageBatchCommand).flatMap((call) =>
      (call.args[0].input.Entries ?? []).map((entry) => ({
        queue: call.args[0].input.QueueUrl,
        body: JSON.parse(entry.MessageBody ?? ''),
        attributes: entry.MessageAttributes,
      })),
    );

  /** `replay sigma` on the stack from 2026-11-22 to `until`, confirmed. */
  const replayFrom22nd = (until: string) =>
    cli([
      'replay',
      'sigma',
      ...stack,
      '--since',
      '2026-11-22T00:00:00Z',
      '--until',
      until,
      '--yes',
    ]);

  it('lists only the range’s day partitions of the stack’s bucket, page by page, and replays one per key', async () => {
    const run = await replayFrom22nd('2026-11-23T23:59:59Z');
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(
      s3
        .commandCalls(ListObjectsV2Command)
        .map(
          ({ args: [{ input }] }) => `${input.Bucket} ${input.Prefix} ${input.ContinuationToken}`,
        )
        .sort(),
    ).toEqual([
      `${STACK_ARCHIVE_BUCKET} ${partition('2026-11-22')} 1`,
      `${STACK_ARCHIVE_BUCKET} ${partition('2026-11-22')} undefined`,
      `${STACK_ARCHIVE_BUCKET} ${partition('2026-11-23')} undefined`,
    ]);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(3);
    expect(sent().map((message) => message.body.id)).toEqual(['env-1', 'env-2a', 'env-3']);
    expect(sent()[0]).toMatchObject({
      queue: stackQueueUrl('Sigma'),
      body: { idempotencyKey: 'tm:1', replay: true },
      attributes: {
        provider: { StringValue: 'sigma' },
        type: { StringValue: 'transaction.decision' },
        replay: { StringValue: 'true' },
      },
    });
    expect(run.stdout.join('\n')).toMatch(
      /replayed 3 sigma event\(s\), .* \(read 3 object\(s\) in 2 day partition\(s\), 4 line\(s\)/,
    );
  });

  it('asks first: without a terminal and --yes it reads and sends nothing (exit 2)', async () => {
    const run = await cli([
      'replay',
      'sigma',
      ...stack,
      '--since',
      '2026-11-22',
      '--until',
      '2026-11-23T23:59:59Z',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.at(-1)).toMatch(
      /refusing to replay onto the sigma queue \(stack WebhookIngress-prod \(eu-west-1\)\) without confirmation: stdin is not a terminal \(pass --yes\)/,
    );
    // Refused before the archive was read: a ten-year range costs nothing to refuse.
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(0);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('--key alone: one GetItem, one day, and the attempt the record acknowledged', async () => {
    // The archiver settled each attempt against the record, which names the acknowledged
    // one: it wins over receive times, which come from different instances' clocks.
    dynamodb.on(GetItemCommand).resolves({
      Item: {
        id: { S: 'sigma#tm:2' },
        status: { S: 'COMPLETED' },
        envelopeId: { S: 'env-2a' },
        receivedAt: { S: '2026-11-22T09:00:00.000Z' },
      },
    });
    const run = await cli(['replay', 'sigma', ...stack, '--key', 'tm:2', '--yes']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(dynamodb.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'ingress-table',
      Key: { id: { S: 'sigma#tm:2' } },
      ConsistentRead: true,
    });
    expect(
      new Set(s3.commandCalls(ListObjectsV2Command).map(({ args: [{ input }] }) => input.Prefix)),
    ).toEqual(new Set([partition('2026-11-22')]));
    expect(sent().map((message) => message.body.id)).toEqual(['env-2a']);
  });

  it('a stack with its archive off: one line naming the setting (exit 3), nothing read', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves(describeStacksAnswer('WebhookIngress-prod', [], { archive: false }));
    const run = await cli(['replay', 'sigma', ...stack, '--since', '1h', '--yes']);
    expect(run.code).toBe(3);
    expect(run.stderr).toEqual([
      'webhook-ingress: replay reads the audit archive, and stack WebhookIngress-prod (eu-west-1) has none: no ArchiveBucketName output (its archive setting is off: deploy with archive=true)',
    ]);
    expect(s3.calls()).toHaveLength(0);
  });

  it('reads the buckets an Object Lock switch replaced too (ArchivePreviousBucketNames)', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves(
        describeStacksAnswer('WebhookIngress-prod', [
          [
            'ArchivePreviousBucketNames',
            'old-archive-1,old-archive-2',
            outputTag(OutputFacts.archivePreviousBuckets, 'WebhookIngress-prod/Default'),
          ],
        ]),
      );
    const byBucket: Record<string, Record<string, string[]>> = {
      [STACK_ARCHIVE_BUCKET]: {
        [`${partition('2026-11-22')}new.jsonl.gz`]: [
          sigma('tm:new', 'env-new', '2026-11-22T10:00:00.000Z'),
        ],
      },
      'old-archive-1': {
        [`${partition('2026-11-22')}old.jsonl.gz`]: [
          sigma('tm:old', 'env-old', '2026-11-22T08:00:00.000Z'),
        ],
      },
      'old-archive-2': {},
    };
    s3.on(ListObjectsV2Command).callsFake((input: { Bucket?: string; Prefix?: string }) => ({
      Contents: Object.keys(byBucket[input.Bucket ?? ''] ?? {})
        .filter((key) => key.startsWith(input.Prefix ?? ''))
        .map((Key) => ({ Key })),
      IsTruncated: false,
    }));
    s3.on(GetObjectCommand).callsFake((input: { Bucket?: string; Key?: string }) => ({
      Body: Readable.from([
        gzipSync(`${(byBucket[input.Bucket ?? '']?.[input.Key ?? ''] ?? []).join('\n')}\n`),
      ]),
    }));
    const run = await replayFrom22nd('2026-11-22T23:59:59Z');
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(
      new Set(s3.commandCalls(ListObjectsV2Command).map(({ args: [{ input }] }) => input.Bucket)),
    ).toEqual(new Set([STACK_ARCHIVE_BUCKET, 'old-archive-1', 'old-archive-2']));
    expect(sent().map((message) => message.body.id)).toEqual(['env-old', 'env-new']);
  });

  it('a bucket S3 refuses: one line, exit 5, nothing sent', async () => {
    s3.on(ListObjectsV2Command).rejects(
      Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket' }),
    );
    const run = await cli(['replay', 'sigma', ...stack, '--since', '1h', '--yes']);
    expect(run.code).toBe(5);
    expect(run.stderr).toEqual([
      'webhook-ingress: reading the archive (s3://ingress-archive/events/) failed: NoSuchBucket: The specified bucket does not exist',
    ]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('cli replay and find: acknowledged events only (issue 20)', () => {
  let local: LocalCli;
  beforeAll(async () => {
    local = await startLocalCli();
  });
  afterAll(async () => {
    await stopLocalCli(local ?? {});
  });
  const archive = () => {
    if (!local.ingress.archive) throw new Error('the test ingress has no archive');
    return local.ingress.archive;
  };
  const run = (...args: string[]) => cli([...args, '--endpoints', local.endpoints.file]);

  it('never replays a delivery answered 503 until Sigmate gave up; find says so; --include-unacknowledged recovers it, marked', async () => {
    const { ingress } = local;
    const delivery = signedSigmate('{"id":"gave-up-1","signal_type":"consensus_sell"}', SECRET);
    await withQueueDeleted(ingress, queueUrlOf(ingress.endpoints, 'sigmate'), async () => {
      // Sigmate retries 3 times within seconds, then gives up.
      for (let attempt = 0; attempt < 3; attempt++) {
        expect((await ingress.post(delivery.path, delivery.body, delivery.headers)).status).toBe(
          503,
        );
      }
    });
    await archive().archiver.drain();

    const replayed = await run('replay', 'sigmate', '--since', '1h', '--yes');
    expect(replayed.code).toBe(1);
    expect(replayed.stderr.join('\n')).toMatch(
      /not replayed: 1 key\(s\) never acknowledged \(3 attempt\(s\) archived, none acknowledged/,
    );
    expect(replayed.stderr.join('\n')).toMatch(/nothing matched: no acknowledged sigmate event/);
    expect(await ingress.drain('sigmate')).toHaveLength(0);

    const found = await run('find', 'sigmate', 'gave-up-1');
    expect(found.code).toBe(0);
    expect(found.stdout.join('\n')).toMatch(/arrived\s+\S+ \(archived, never acknowledged\)/);
    expect(found.stdout.join('\n')).toMatch(
      /acknowledged\s+never acknowledged: answered 503 \(nothing was acknowledged\)/,
    );
    expect(found.stdout.join('\n')).toMatch(/attempts\s+3 archived \(the latest shown; none/);

    const recovered = await run(
      'replay',
      'sigmate',
      '--since',
      '1h',
      '--include-unacknowledged',
      '--yes',
    );
    expect(recovered.code, recovered.stderr.join('\n')).toBe(0);
    expect(recovered.stdout.join('\n')).toMatch(
      /replayed 1 sigmate event\(s\) \(1 never acknowledged, marked\)/,
    );
    const [message, ...rest] = await ingress.drain('sigmate');
    expect(rest).toHaveLength(0);
    expect(message?.body).toMatchObject({
      idempotencyKey: 'gave-up-1',
      replay: true,
      acknowledged: false,
    });
    expect(message?.attributes).toMatchObject({ replay: 'true', acknowledged: 'false' });
  });

  it('replays the acknowledged event, never a forged archive record of it, from any queue', async () => {
    const { ingress } = local;
    const body = '{"id":"acked-1","signal_type":"consensus_buy","amount":10}';
    const delivery = signedSigmate(body, SECRET);
    const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(answer.json.status).toBe('accepted');
    const [original] = await ingress.drain('sigmate');
    const later = new Date(Date.now() + 60_000).toISOString();
    const forge = (id: string) =>
      buildEnvelope(
        {
          id,
          provider: 'sigmate',
          type: 'signal.fired',
          idempotencyKey: 'acked-1',
          receivedAt: later,
        },
        '{"id":"acked-1","signal_type":"consensus_sell","amount":999999}',
      );
    const queues = archive().endpoints.queues;
    for (const [queueUrl, envelope] of [
      // On Sigmate's own archive queue: a fresh envelope id, and the acknowledged one.
      [queues.sigmate, forge(randomUUID())],
      [queues.sigmate, forge(String(answer.json.id))],
      // On the shared queue of earlier versions, which the archiver still drains.
      [archive().endpoints.queue, forge(randomUUID())],
      // On another provider's archive queue: refused, never archived.
      [queues.sigma, forge(randomUUID())],
    ] as const) {
      await ingress.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: envelope,
          MessageAttributes: {
            provider: { DataType: 'String', StringValue: 'sigmate' },
            type: { DataType: 'String', StringValue: 'signal.fired' },
          },
        }),
      );
    }
    await archive().archiver.drain();
    const archived = (await readArchive(archive().s3, archive().location)).filter(
      (line) => line.idempotencyKey === 'acked-1',
    );
    expect(archived.map((line) => line.settlement).sort()).toEqual([
      'completed',
      'digest-mismatch',
      'other-completed',
      'other-completed',
    ]);

    for (const extra of [[], ['--include-unacknowledged']]) {
      // The range takes in the forged records' later receive time, as in the review's attack.
      const until = new Date(Date.now() + 120_000).toISOString();
      const replayed = await run('replay', 'sigmate', '--since', '1h', '--until', until, ...extra);
      expect(replayed.code, replayed.stderr.join('\n')).toBe(0);
      const sent = (await ingress.drain('sigmate')).filter(
        (message) => message.body.idempotencyKey === 'acked-1',
      );
      expect(sent.map((message) => message.body.id)).toEqual([answer.json.id]);
      expect(payloadOf(sent[0]?.raw ?? '')).toBe(payloadOf(original?.raw ?? ''));
    }
  });
});
