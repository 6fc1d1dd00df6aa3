import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANY_PROVIDER,
  type ArchiverDependencies,
  archiveBatch,
  toArchiveQueueMessage,
} from '../../functions/core/archive.js';
import { buildEnvelope } from '../../functions/core/envelope.js';
import { readArchive } from '../../local/archiver.js';
import { queueUrlOf } from '../../local/endpoints.js';
import { DEMO_SECRETS } from '../../local/ingress.js';
import {
  MemoryLog,
  startTestIngress,
  type TestIngress,
  withQueueDeleted,
} from '../support/harness.js';
import { signedSigmate } from '../support/sign.js';

const SECRET = DEMO_SECRETS.SIGMATE_WEBHOOK_SECRET;

describe('archive: every acknowledged event, on fauxqs S3', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress();
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  const archive = () => {
    if (!ingress.archive) throw new Error('the archive is off');
    return ingress.archive;
  };
  /** The archiver's dependencies on this ingress's bucket, settling against no record. */
  const SHARED = 'arn:aws:sqs:us-east-1:000000000000:shared-archive';
  const direct = (prefix: string, bucket = archive().location.bucket): ArchiverDependencies => ({
    s3: archive().s3,
    location: { bucket, prefix },
    ledger: { read: async () => new Map() },
    sources: new Map([[SHARED, ANY_PROVIDER]]),
    retentionDays: 7,
  });

  it('archives the envelope exactly as enqueued, with the verified metadata and no signature', async () => {
    // Digits a JSON reader would round: the archive must keep the provider's text.
    const body =
      '{"id":"archive-1","signal_type":"consensus_buy","amount":12345678901234567890,"price":1.10}';
    const delivery = signedSigmate(body, SECRET);
    const answer = await ingress.post(delivery.path, delivery.body, {
      ...delivery.headers,
      'x-forwarded-for': '203.0.113.9',
    });
    expect(answer.status).toBe(200);
    const [message] = await ingress.drain('sigmate');
    expect(await archive().archiver.drain()).toBe(1);
    const records = await readArchive(archive().s3, archive().location, 'provider=sigmate/');
    const record = records.find((item) => item.idempotencyKey === 'archive-1');
    expect(record).toMatchObject({
      archiveVersion: 2,
      provider: 'sigmate',
      type: 'signal.fired',
      idempotencyKey: 'archive-1',
      envelopeId: answer.json.id,
      // The attempt the completed idempotency record names: the acknowledged one.
      acknowledged: true,
      settlement: 'completed',
      envelope: message?.raw,
    });
    expect(record?.envelope).toContain('"amount":12345678901234567890,"price":1.10');
    expect(record?.receivedAt).toBe(message?.body.receivedAt);
    expect(record?.key).toMatch(
      new RegExp(
        `^events/provider=sigmate/date=${String(record?.receivedAt).slice(0, 10)}/[0-9a-f]{32}\\.jsonl\\.gz$`,
      ),
    );
    const text = JSON.stringify(records);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(delivery.headers['x-sigmate-signature']);
  });

  it('archives a redelivery answered duplicate not again: once per acknowledgement', async () => {
    const body = '{"id":"archive-dup","signal_type":"consensus_buy"}';
    const delivery = signedSigmate(body, SECRET);
    const first = await ingress.post(delivery.path, delivery.body, delivery.headers);
    const second = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(first.json.status).toBe('accepted');
    expect(second.json.status).toBe('duplicate');
    await archive().archiver.drain();
    const records = await readArchive(archive().s3, archive().location);
    expect(records.filter((item) => item.idempotencyKey === 'archive-dup')).toHaveLength(1);
  });

  it('writes one object per (provider, date) and overwrites it when the same batch is retried', async () => {
    const s3 = archive().s3;
    const deps = direct('retried');
    const location = deps.location;
    const message = (messageId: string, provider: string, receivedAt: string, id: string) =>
      toArchiveQueueMessage(
        messageId,
        {
          provider,
          type: 't',
          product: undefined,
          subject: id,
          idempotencyKey: id,
          envelopeId: id,
          receivedAt,
          sourceIp: undefined,
          requestId: undefined,
          envelope: buildEnvelope(
            { id, provider, type: 't', idempotencyKey: id, receivedAt },
            `{"id":"${id}"}`,
          ),
        },
        SHARED,
      );
    const batch = [
      message('m1', 'sigma', '2026-01-01T10:00:00.000Z', 'a'),
      message('m2', 'sigma', '2026-01-01T23:59:59.999Z', 'b'),
      message('m3', 'sigma', '2026-01-02T00:00:00.000Z', 'c'),
      message('m4', 'signifyd', '2026-01-01T12:00:00.000Z', 'd'),
      { messageId: 'm5', body: 'not an envelope', eventSourceARN: SHARED },
    ];
    const log = new MemoryLog();
    const first = await archiveBatch(deps, batch, log);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm5' }]);
    // Lambda hands the same messages again after a crash before the delete.
    await archiveBatch(deps, batch.slice(0, 4).reverse(), log);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: location.bucket, Prefix: 'retried/' }),
    );
    const keys = (listed.Contents ?? []).map((item) => item.Key ?? '').sort();
    expect(keys).toHaveLength(3);
    expect(keys.map((key) => key.split('/').slice(1, 3).join('/'))).toEqual([
      'provider=sigma/date=2026-01-01',
      'provider=sigma/date=2026-01-02',
      'provider=signifyd/date=2026-01-01',
    ]);
    const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: keys[0] }));
    const lines = gunzipSync((await object.Body?.transformToByteArray()) ?? new Uint8Array())
      .toString('utf8')
      .trim()
      .split('\n');
    expect(lines.map((item) => JSON.parse(item).idempotencyKey)).toEqual(['a', 'b']);
  });

  it('writes an envelope that spans lines as one JSON line, and refuses bodies that are not envelopes', async () => {
    const s3 = archive().s3;
    const deps = direct('lines');
    const location = deps.location;
    const envelope = buildEnvelope(
      {
        id: 'multi',
        provider: 'sigmate',
        type: 'signal.fired',
        idempotencyKey: 'multi',
        receivedAt: '2026-02-01T00:00:00.000Z',
      },
      '{\n  "id": "multi"\r\n}',
    );
    const good = toArchiveQueueMessage(
      'm-multi',
      {
        provider: 'sigmate',
        type: 'signal.fired',
        product: undefined,
        subject: 'multi',
        idempotencyKey: 'multi',
        envelopeId: 'multi',
        receivedAt: '2026-02-01T00:00:00.000Z',
        sourceIp: undefined,
        requestId: undefined,
        envelope,
      },
      SHARED,
    );
    const refused = [
      { messageId: 'not-json', body: '{"version":1,' },
      { messageId: 'v2', body: envelope.replace('"version":1', '"version":2') },
      { messageId: 'bad-provider', body: envelope.replace('"sigmate"', '"../x"') },
      { messageId: 'bad-time', body: envelope.replace('2026-02-01T00:00:00.000Z', 'yesterday') },
    ].map((message) => ({ ...message, eventSourceARN: SHARED }));
    const result = await archiveBatch(deps, [good, ...refused], new MemoryLog());
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      refused.map((m) => m.messageId).sort(),
    );
    const records = await readArchive(s3, location);
    expect(records).toHaveLength(1);
    // The envelope kept byte for byte, line breaks included, inside one line.
    expect(records[0]?.envelope).toBe(envelope);
  });

  it('reports a failed write as failed items, so only that group comes back', async () => {
    const log = new MemoryLog();
    const result = await archiveBatch(
      direct('x', 'no-such-bucket-for-archive'),
      [
        {
          messageId: 'only',
          eventSourceARN: SHARED,
          body: buildEnvelope(
            {
              id: 'only',
              provider: 'sigma',
              type: 't',
              idempotencyKey: 'only',
              receivedAt: '2026-01-01T00:00:00.000Z',
            },
            '{}',
          ),
        },
      ],
      log,
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'only' }]);
    expect(log.text()).toContain('archive write failed');
  });

  it('answers 503 and acknowledges nothing while the archive queue is down, then archives the retry once', async () => {
    const body = '{"id":"archive-down","signal_type":"consensus_buy"}';
    const delivery = signedSigmate(body, SECRET);
    await ingress.drain('sigmate');
    // Sigmate's own archive queue: the only one its function may send to.
    await withQueueDeleted(ingress, archive().endpoints.queues.sigmate ?? '', async () => {
      const refused = await ingress.post(delivery.path, delivery.body, delivery.headers);
      expect(refused.status).toBe(503);
      expect(refused.json.status).toBe('retry');
      // The claim was released: the provider's retry is not kept waiting.
      const records = await ingress.records();
      expect(records.filter((item) => String(item.id).endsWith('#archive-down'))).toHaveLength(0);
    });
    const retried = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(retried.status).toBe(200);
    expect(retried.json.status).toBe('accepted');
    await archive().archiver.drain();
    const archived = (await readArchive(archive().s3, archive().location)).filter(
      (item) => item.idempotencyKey === 'archive-down',
    );
    expect(archived.map((item) => item.envelopeId)).toEqual([retried.json.id]);
    // The archive goes first: the refused attempt never reached the consumer queue.
    const queued = (await ingress.drain('sigmate')).filter(
      (message) => message.body.idempotencyKey === 'archive-down',
    );
    expect(queued.map((message) => message.body.id)).toEqual([retried.json.id]);
  });

  it('answers 503 while the consumer queue is down; the archive keeps the attempt, the retry is enqueued once', async () => {
    const body = '{"id":"queue-down","signal_type":"consensus_buy"}';
    const delivery = signedSigmate(body, SECRET);
    await archive().archiver.drain();
    await ingress.drain('sigmate');
    await withQueueDeleted(ingress, queueUrlOf(ingress.endpoints, 'sigmate'), async () => {
      const refused = await ingress.post(delivery.path, delivery.body, delivery.headers);
      expect(refused.status).toBe(503);
      expect(refused.json.status).toBe('retry');
    });
    const retried = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(retried.json.status).toBe('accepted');
    await archive().archiver.drain();
    const archived = (await readArchive(archive().s3, archive().location)).filter(
      (item) => item.idempotencyKey === 'queue-down',
    );
    // Two attempts of one event: the refused one (its own envelope id) and the acknowledged,
    // and each says which it was.
    expect(archived).toHaveLength(2);
    expect(archived.map((item) => item.envelopeId)).toContain(retried.json.id);
    for (const item of archived) {
      expect(item.acknowledged).toBe(item.envelopeId === retried.json.id);
    }
    const queued = (await ingress.drain('sigmate')).filter(
      (message) => message.body.idempotencyKey === 'queue-down',
    );
    expect(queued.map((message) => message.body.id)).toEqual([retried.json.id]);
  });
});

describe('archive: events near a raised body limit', () => {
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress({ env: { WEBHOOK_MAX_BODY_BYTES: '1000000' } });
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('accepts and archives 600 KB of escaped quotes: the archive message is the envelope, not an escaped copy', async () => {
    // Inside a JSON string every \" is two bytes; escaped once more it would be four, and
    // the archive message would pass SQS's 1 MiB although the envelope does not.
    const body = `{"id":"big-quotes","note":"${'\\"'.repeat(300_000)}"}`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(600_000);
    const delivery = signedSigmate(body, SECRET);
    const answer = await ingress.post(delivery.path, delivery.body, delivery.headers);
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.status).toBe('accepted');
    const archive = ingress.archive;
    if (!archive) throw new Error('the archive is off');
    await archive.archiver.drain();
    const records = await readArchive(archive.s3, archive.location);
    const record = records.find((item) => item.idempotencyKey === 'big-quotes');
    expect(record?.envelope.endsWith(`"payload":${body}}`)).toBe(true);
  });
});
