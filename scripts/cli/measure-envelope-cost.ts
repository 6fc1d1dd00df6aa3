/**
 * What keeping the envelope (WEBHOOK_STORE_ENVELOPES=true, for `replay`) adds per
 * event: the idempotency record's size and the write units DynamoDB Local reports
 * for the claim PutItem and the completion UpdateItem, with and without it.
 *
 *   npx tsx scripts/cli/measure-envelope-cost.ts
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { sha256Hex } from '../../functions/core/crypto.js';
import { buildEnvelope } from '../../functions/core/envelope.js';
import { DynamoDbIdempotencyStore } from '../../functions/core/idempotency.js';
import { startDynamoDbLocal } from '../local/emulators.js';
import { LOCAL_CREDENTIALS } from '../local/ingress.js';
import { ensureIdempotencyTable } from '../local/resources.js';
import { samplers } from './samples/index.js';

/** DynamoDB's documented item size: attribute names plus values (numbers ≈ digits/2 + 1). */
function itemBytes(item: Record<string, { S?: string; N?: string }>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    if (value.N !== undefined) bytes += Math.ceil(value.N.replace(/^0+|\./g, '').length / 2) + 1;
  }
  return bytes;
}

const emulator = await startDynamoDbLocal();
const writeUnits: number[] = [];
const client = new DynamoDBClient({
  region: 'us-east-1',
  endpoint: emulator.endpoint,
  credentials: LOCAL_CREDENTIALS,
});
client.middlewareStack.add(
  (next) => async (args) => {
    const input = args.input as Record<string, unknown>;
    input.ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } })
      .ConsumedCapacity;
    writeUnits.push(consumed?.CapacityUnits ?? Number.NaN);
    return result;
  },
  { step: 'initialize', name: 'consumedCapacity' },
);
try {
  await ensureIdempotencyTable(client, 'measure');
  const store = new DynamoDbIdempotencyStore(client, 'measure');
  const cases = [
    ['sigmate', {}],
    ['sigma', { product: 'transaction-monitoring' }],
    ['signifyd', { apiVersion: 2 }],
    ['signifyd', { apiVersion: 3 }],
    ['sigmate', { padTo: 2_048 }],
    ['sigmate', { padTo: 8_192 }],
    ['sigmate', { padTo: 65_536 }],
  ] as const;
  console.log(
    'sample | payload B | item B without → with | claim WCU without → with | completion WCU without → with',
  );
  for (const [provider, extra] of cases) {
    const sample = samplers[provider].sampleBody({
      ...extra,
      sequence: 1,
      now: new Date(),
      uuid: randomUUID,
    });
    // Real payloads run larger than the docs' trimmed examples: pad a sample to a size.
    const padTo = 'padTo' in extra ? extra.padTo : 0;
    const body =
      padTo > 0
        ? `${sample.slice(0, -1)},"padding":"${'x'.repeat(Math.max(0, padTo - sample.length - 14))}"}`
        : sample;
    const row: number[][] = [];
    for (const keep of [false, true]) {
      const recordKey = `${provider}#${randomUUID()}`;
      const envelopeId = randomUUID();
      const envelope = buildEnvelope(
        {
          id: envelopeId,
          provider,
          type: 'sample.type',
          idempotencyKey: recordKey,
          receivedAt: new Date().toISOString(),
        },
        body,
      );
      writeUnits.length = 0;
      await store.claim({
        recordKey,
        bodyHash: sha256Hex(body),
        envelopeId,
        provider,
        type: 'sample.type',
        receivedAt: new Date().toISOString(),
        now: Date.now(),
        leaseMs: 10_000,
        retentionSeconds: 7 * 86_400,
        envelope: keep ? envelope : undefined,
      });
      await store.complete(recordKey, envelopeId, undefined);
      const [claimUnits = Number.NaN, completeUnits = Number.NaN] = writeUnits;
      const { Item = {} } = await client.send(
        new GetItemCommand({ TableName: 'measure', Key: { id: { S: recordKey } } }),
      );
      row.push([
        itemBytes(Item as Record<string, { S?: string; N?: string }>),
        claimUnits,
        completeUnits,
      ]);
    }
    const [without = [], withEnvelope = []] = row;
    console.log(
      `${provider}${'apiVersion' in extra ? ` v${extra.apiVersion}` : ''}${padTo ? ' (padded)' : ''} | ${Buffer.byteLength(body)} | ${without[0]} → ${withEnvelope[0]} | ${without[1]} → ${withEnvelope[1]} | ${without[2]} → ${withEnvelope[2]}`,
    );
  }
} finally {
  client.destroy();
  await emulator.stop();
}
