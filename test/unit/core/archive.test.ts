import { gunzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ArchiveQueueMessage,
  acknowledgedBy,
  archiveBatch,
  Settlement,
  settle,
  toArchiveQueueMessage,
} from '../../../functions/core/archive.js';
import { buildEnvelope } from '../../../functions/core/envelope.js';
import { type ClaimView, RecordStatus } from '../../../functions/core/idempotency.js';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const location = { bucket: 'archive', prefix: 'events' };
const quiet = { warn() {}, error() {} };
const SIGMATE_QUEUE = 'arn:aws:sqs:us-east-1:123456789012:archive-sigmate';
/** The archiver's dependencies on the stubbed S3, with no idempotency record at all. */
const deps = {
  s3: client,
  location,
  ledger: { read: async () => new Map() },
  sources: new Map([[SIGMATE_QUEUE, 'sigmate']]),
  retentionDays: 7,
};

function message(messageId: string, id: string): ArchiveQueueMessage {
  const receivedAt = '2026-11-23T10:00:00.000Z';
  return toArchiveQueueMessage(
    messageId,
    {
      provider: 'sigmate',
      type: 'signal.fired',
      product: undefined,
      subject: id,
      idempotencyKey: id,
      envelopeId: `env-${id}`,
      receivedAt,
      sourceIp: '203.0.113.1',
      requestId: `req-${id}`,
      envelope: buildEnvelope(
        {
          id: `env-${id}`,
          provider: 'sigmate',
          type: 'signal.fired',
          idempotencyKey: id,
          receivedAt,
        },
        `{"id":"${id}"}`,
      ),
    },
    SIGMATE_QUEUE,
  );
}

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe('core: archiveBatch on S3 (SDK stubbed)', () => {
  beforeEach(() => s3.reset());

  it('writes once: If-None-Match on every upload, the key derived from the batch alone', async () => {
    s3.on(PutObjectCommand).resolves({});
    await archiveBatch(deps, [message('m1', 'a'), message('m2', 'b')], quiet);
    await archiveBatch(deps, [message('m2', 'b'), message('m1', 'a')], quiet);
    const inputs = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => input.IfNoneMatch)).toEqual(['*', '*']);
    // The same messages in another order: the same key, so a retry cannot add a copy.
    expect(inputs[0]?.Key).toBe(inputs[1]?.Key);
    expect(inputs[0]?.Key).toMatch(
      /^events\/provider=sigmate\/date=2026-11-23\/[0-9a-f]{32}\.jsonl\.gz$/,
    );
  });

  it('counts an object that already exists (412) as written: the batch was written before a crash', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const result = await archiveBatch(deps, [message('m1', 'a')], quiet);
    expect(result.batchItemFailures).toEqual([]);
  });

  it('reports every message of a group whose upload failed otherwise, so only they come back', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    const result = await archiveBatch(deps, [message('m1', 'a'), message('m2', 'b')], quiet);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
  });
});

describe('core: settling an archived attempt against its idempotency record', () => {
  const now = Date.parse('2026-11-23T10:01:00.000Z');
  const attempt = { envelopeId: 'env-a', digest: 'd-a', receivedAt: '2026-11-23T10:00:00.000Z' };
  const week = 7 * 86_400_000;
  const record = (fields: Partial<ClaimView>): ClaimView => ({
    status: RecordStatus.Completed,
    envelopeId: 'env-a',
    envelopeDigest: 'd-a',
    leaseExpiresAt: undefined,
    ...fields,
  });

  it('calls acknowledged only the attempt a completed record names, by envelope id and digest', () => {
    expect(settle(record({}), attempt, now, week)).toBe(Settlement.Completed);
    // Records written before digests existed: the envelope id alone ties them.
    expect(settle(record({ envelopeDigest: undefined }), attempt, now, week)).toBe(
      Settlement.Completed,
    );
    expect(acknowledgedBy(Settlement.Completed)).toBe(true);
  });

  it('calls every other attempt not acknowledged: another was, the claim was released, or the content differs', () => {
    expect(settle(record({ envelopeId: 'env-b' }), attempt, now, week)).toBe(
      Settlement.OtherCompleted,
    );
    expect(
      settle(
        record({ envelopeId: 'env-b', status: RecordStatus.InProgress, leaseExpiresAt: now + 1 }),
        attempt,
        now,
        week,
      ),
    ).toBe(Settlement.OtherInProgress);
    expect(settle(undefined, attempt, now, week)).toBe(Settlement.NoRecord);
    // A record sent by other hands with the acknowledged envelope id and other content.
    expect(settle(record({ envelopeDigest: 'd-forged' }), attempt, now, week)).toBe(
      Settlement.DigestMismatch,
    );
    for (const settlement of [
      Settlement.OtherCompleted,
      Settlement.OtherInProgress,
      Settlement.NoRecord,
      Settlement.DigestMismatch,
    ]) {
      expect(acknowledgedBy(settlement)).toBe(false);
    }
  });

  it('waits while the attempt’s own claim is leased, and says unknown once it is not and never completed', () => {
    const open = record({ status: RecordStatus.InProgress, leaseExpiresAt: now + 1_000 });
    expect(settle(open, attempt, now, week)).toBe('pending');
    const stale = record({ status: RecordStatus.InProgress, leaseExpiresAt: now - 1 });
    expect(settle(stale, attempt, now, week)).toBe(Settlement.NotCompleted);
    expect(settle(undefined, attempt, Date.parse(attempt.receivedAt) + week, week)).toBe(
      Settlement.RecordExpired,
    );
    expect(acknowledgedBy(Settlement.NotCompleted)).toBeNull();
    expect(acknowledgedBy(Settlement.RecordExpired)).toBeNull();
  });
});

describe('core: archiveBatch refuses what its queue’s provider did not send', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(PutObjectCommand).resolves({});
  });

  it('refuses a record naming another provider, and one from a queue it does not drain', async () => {
    const forged = toArchiveQueueMessage(
      'forged',
      {
        provider: 'signifyd',
        type: 'cases/creation',
        product: undefined,
        subject: undefined,
        idempotencyKey: 'k',
        envelopeId: 'env-k',
        receivedAt: '2026-11-23T10:00:00.000Z',
        sourceIp: undefined,
        requestId: undefined,
        envelope: buildEnvelope(
          {
            id: 'env-k',
            provider: 'signifyd',
            type: 'cases/creation',
            idempotencyKey: 'k',
            receivedAt: '2026-11-23T10:00:00.000Z',
          },
          '{}',
        ),
      },
      SIGMATE_QUEUE,
    );
    const stranger = { ...message('m-stranger', 's'), eventSourceARN: 'arn:aws:sqs:x:1:other' };
    const result = await archiveBatch(deps, [forged, stranger, message('m-ok', 'ok')], quiet);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'forged',
      'm-stranger',
    ]);
    const lines = await writtenLines();
    expect(lines.map((line) => line.idempotencyKey)).toEqual(['ok']);
  });

  it('writes each attempt with its settlement, and leaves an attempt still leased for later', async () => {
    const now = Date.parse('2026-11-23T10:00:30.000Z');
    const claims = new Map<string, ClaimView>([
      [
        'sigmate#acked',
        {
          status: RecordStatus.Completed,
          envelopeId: 'env-acked',
          envelopeDigest: undefined,
          leaseExpiresAt: undefined,
        },
      ],
      [
        'sigmate#running',
        {
          status: RecordStatus.InProgress,
          envelopeId: 'env-running',
          envelopeDigest: undefined,
          leaseExpiresAt: now + 2_000,
        },
      ],
    ]);
    const result = await archiveBatch(
      { ...deps, ledger: { read: async () => claims }, now: () => now },
      [message('m1', 'acked'), message('m2', 'running'), message('m3', 'refused')],
      quiet,
    );
    expect(result.pending).toEqual(['m2']);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
    const lines = await writtenLines();
    expect(lines.map((line) => [line.idempotencyKey, line.acknowledged, line.settlement])).toEqual([
      ['acked', true, 'completed'],
      ['refused', false, 'no-record'],
    ]);
    expect(lines[0]).toMatchObject({ archiveVersion: 2, settledAt: '2026-11-23T10:00:30.000Z' });
    // After a few receives a claim that is still open is settled as unknown, not kept forever.
    const late = { ...message('m2', 'running'), attributes: { ApproximateReceiveCount: '3' } };
    s3.reset();
    s3.on(PutObjectCommand).resolves({});
    const again = await archiveBatch(
      { ...deps, ledger: { read: async () => claims }, now: () => now },
      [late],
      quiet,
    );
    expect(again.batchItemFailures).toEqual([]);
    expect((await writtenLines())[0]).toMatchObject({
      acknowledged: null,
      settlement: 'not-completed',
    });
  });

  it('writes nothing and returns the whole batch when the idempotency records cannot be read', async () => {
    const result = await archiveBatch(
      {
        ...deps,
        ledger: {
          read: async () => {
            throw new Error('DynamoDB down');
          },
        },
      },
      [message('m1', 'a'), message('m2', 'b')],
      quiet,
    );
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

/** The lines of every object PutObject was called with, in order. */
async function writtenLines(): Promise<Record<string, unknown>[]> {
  return s3.commandCalls(PutObjectCommand).flatMap((call) =>
    gunzipSync(call.args[0].input.Body as Uint8Array)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}
