import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ArchiveQueueMessage,
  archiveBatch,
  toArchiveQueueMessage,
} from '../../../functions/core/archive.js';
import { buildEnvelope } from '../../../functions/core/envelope.js';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const location = { bucket: 'archive', prefix: 'events' };
const quiet = { warn() {}, error() {} };

function message(messageId: string, id: string): ArchiveQueueMessage {
  const receivedAt = '2026-11-23T10:00:00.000Z';
  return toArchiveQueueMessage(messageId, {
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
  });
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
    await archiveBatch(client, location, [message('m1', 'a'), message('m2', 'b')], quiet);
    await archiveBatch(client, location, [message('m2', 'b'), message('m1', 'a')], quiet);
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
    const result = await archiveBatch(client, location, [message('m1', 'a')], quiet);
    expect(result.batchItemFailures).toEqual([]);
  });

  it('reports every message of a group whose upload failed otherwise, so only they come back', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    const result = await archiveBatch(
      client,
      location,
      [message('m1', 'a'), message('m2', 'b')],
      quiet,
    );
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
  });
});
