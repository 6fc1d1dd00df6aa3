import { ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveBatch } from '../../functions/core/archive.js';
import { asLambdaRecord, readArchive } from '../../local/archiver.js';
import { DEMO_SECRETS } from '../../local/ingress.js';
import { MemoryLog, startTestIngress, type TestIngress } from '../support/harness.js';
import { signedSigmate } from '../support/sign.js';

const SECRET = DEMO_SECRETS.SIGMATE_WEBHOOK_SECRET;

describe('reliability: the archiver crashes mid-batch', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress();
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('loses nothing, and duplicates at most the crashed batch', async () => {
    const archive = ingress.archive;
    if (!archive) throw new Error('the archive is off');
    const accepted: string[] = [];
    for (let i = 0; i < 25; i++) {
      const delivery = signedSigmate(`{"id":"crash-${i}","signal_type":"consensus_buy"}`, SECRET);
      const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
      expect(answer.status).toBe(200);
      accepted.push(String(answer.json.id));
    }
    const source = archive.sources.find((item) => item.provider === 'sigmate')?.queue;
    if (!source) throw new Error('no sigmate archive queue');
    const queueUrl = source.queueUrl;
    // Crash 1: a batch written to S3, then the process dies before deleting it.
    const first = await ingress.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    const written = (first.Messages ?? []).map((m) => ({
      ...asLambdaRecord(m, source.queueArn),
      receiptHandle: m.ReceiptHandle ?? '',
    }));
    expect(written.length).toBeGreaterThan(0);
    await archiveBatch(archive.dependencies, written, new MemoryLog());
    // Crash 2: a batch received, then the process dies before writing anything.
    const second = await ingress.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
    );
    // Their visibility timeouts end (made immediate here): the messages come back.
    for (const batch of [
      written,
      (second.Messages ?? []).map((m) => ({ receiptHandle: m.ReceiptHandle ?? '' })),
    ]) {
      if (batch.length === 0) continue;
      await ingress.clients.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((m, index) => ({
            Id: String(index),
            ReceiptHandle: m.receiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
    await archive.archiver.drain();

    const records = await readArchive(archive.s3, archive.location, 'provider=sigmate/');
    const ids = records.map((r) => r.envelopeId).filter((id) => accepted.includes(id));
    // Nothing lost: every acknowledged event is archived.
    expect(new Set(ids)).toEqual(new Set(accepted));
    // Duplicates bounded by the batch that was written and not deleted.
    expect(ids.length - accepted.length).toBeLessThanOrEqual(written.length);
    // And copies of one attempt only (settled again, so only settledAt may differ): readers
    // deduplicate on envelopeId.
    const distinctLines = new Set(
      records.map((r) => JSON.stringify({ ...r, key: undefined, settledAt: undefined })),
    );
    expect(distinctLines.size).toBe(new Set(ids).size);
    // The queue is empty: nothing left to be dead-lettered.
    const left = await ingress.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(left.Messages ?? []).toHaveLength(0);
  });
});
