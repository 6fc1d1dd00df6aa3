import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbIdempotencyStore } from '../../../functions/core/idempotency.js';
import { createWebhookHandler } from '../../../functions/core/pipeline.js';
import { SqsPublisher } from '../../../functions/core/publisher.js';
import { SIGNATURE_REJECTION_BODY } from '../../../functions/core/respond.js';
import { StaticSecretSource } from '../../../functions/core/secrets.js';
import { createProviderAdapter } from '../../../functions/declared/adapter.js';
import {
  type ProviderDeclaration,
  parseProviders,
  providerDemoSecrets,
} from '../../../functions/providers.js';
import { httpApiDelivery } from '../../fixtures/events.js';
import { type SignedRequest, signedRequest } from '../../fixtures/schemes.js';
import { MemoryLog } from '../../support/harness.js';

const T = 1_790_000_000;
const NOW = T * 1000;
const dynamodb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

/** A declared provider of each scheme, as served: demo secrets from its own variable. */
const DECLARED = parseProviders([
  { name: 'billing', scheme: 'standard-webhooks' },
  { name: 'gh', scheme: 'github' },
  { name: 'pay', scheme: 'stripe' },
  { name: 'shop', scheme: 'shopify' },
  {
    name: 'acme',
    scheme: 'hmac',
    signatureHeader: 'x-acme-signature',
    encoding: 'base64',
    signedPayload: '{timestamp}.{body}',
    timestampHeader: 'x-acme-timestamp',
    key: { field: 'id' },
    type: { field: 'type' },
  },
  { name: 'signals', scheme: 'sigmate' },
  { name: 'fraud', scheme: 'signifyd' },
  { name: 'kyc', scheme: 'sigma' },
]);
/** Those whose signature covers a timestamp, and so refuse a replay. */
const TIMESTAMPED = new Set(['standard-webhooks', 'stripe', 'hmac']);
const BODY = JSON.stringify({
  id: 'evt_1',
  type: 'invoice.paid',
  event: 'case.updated',
  data: { id: 'inv_1', case_id: 'c-1' },
});

function serve(declaration: ProviderDeclaration) {
  const adapter = createProviderAdapter(declaration, { now: () => NOW });
  const secrets = adapter.secretsFromEnv(providerDemoSecrets(declaration));
  return createWebhookHandler({
    adapter,
    secrets: new StaticSecretSource(secrets),
    store: new DynamoDbIdempotencyStore(new DynamoDBClient({}), 'table'),
    publisher: new SqsPublisher(new SQSClient({}), 'https://sqs.example/queue'),
    log: new MemoryLog(),
    maxBodyBytes: 4096,
    retentionDays: 7,
    leaseSeconds: 10,
    now: () => NOW,
    newId: () => 'envelope-1',
  });
}

/** Signed as the sender would, with the provider's demo secret (the first, as `send` will). */
function sign(declaration: ProviderDeclaration, timestamp = T): SignedRequest {
  const [secret = ''] = Object.values(providerDemoSecrets(declaration));
  return signedRequest(declaration, secret, BODY, { timestamp, type: 'invoice.paid' });
}

const post = (signed: SignedRequest) =>
  httpApiDelivery(signed.path, signed.body, signed.headers, { base64: true });

describe('declared providers through the pipeline', () => {
  beforeEach(() => {
    dynamodb.reset();
    sqs.reset();
    dynamodb.on(PutItemCommand).resolves({});
    dynamodb.on(UpdateItemCommand).resolves({});
    dynamodb.on(DeleteItemCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  });

  it.each(DECLARED.map((declaration) => [declaration.scheme, declaration]))(
    '%s: a signed delivery is enqueued under the declared name',
    async (_scheme, declaration) => {
      const result = await serve(declaration)(post(sign(declaration)));
      expect(JSON.parse(result.body)).toEqual({ status: 'accepted', id: 'envelope-1' });
      const message = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
      expect(JSON.parse(message?.MessageBody ?? '{}')).toMatchObject({
        provider: declaration.name,
      });
      expect(message?.MessageAttributes?.provider?.StringValue).toBe(declaration.name);
    },
  );

  it.each(DECLARED.filter((d) => TIMESTAMPED.has(d.scheme)).map((d) => [d.scheme, d]))(
    '%s: a replay past the tolerance gets the answer of a wrong signature, and nothing is claimed',
    async (_scheme, declaration) => {
      const handle = serve(declaration);
      const stale = await handle(post(sign(declaration, T - 301)));
      const forged = sign(declaration);
      const wrong = await handle(
        post({ ...forged, body: Buffer.from(BODY.replace('inv_1', 'inv_2')) }),
      );
      expect(stale).toEqual(wrong);
      expect(stale.statusCode).toBe(401);
      expect(stale.body).toBe(SIGNATURE_REJECTION_BODY);
      expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(0);
    },
  );
});
