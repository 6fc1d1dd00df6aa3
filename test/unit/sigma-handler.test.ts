import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Env, loadConfig } from '../../functions/core/config.js';
import type { HttpResult } from '../../functions/core/http.js';
import { DynamoDbIdempotencyStore } from '../../functions/core/idempotency.js';
import { createWebhookHandler } from '../../functions/core/pipeline.js';
import { SqsPublisher } from '../../functions/core/publisher.js';
import { SecretsManagerSource, StaticSecretSource } from '../../functions/core/secrets.js';
import { createSigmaAdapter } from '../../functions/sigma/adapter.js';
import { documentedRestApiV1Event, httpApiDelivery } from '../fixtures/events.js';
import {
  SIGMA_EXAMPLE_BODY,
  SIGMA_EXAMPLE_BODY_SHA256,
  SIGMA_VECTOR as V,
} from '../fixtures/sigma.js';
import { MemoryLog } from '../support/harness.js';

/*
 * The Sigma function as configured from the environment, through the core
 * pipeline and the store, publisher and secret source, with the SDK stubbed.
 * (The same wiring is exercised end to end on the emulators.)
 */

const dynamodb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const secretsManager = mockClient(SecretsManagerClient);

const BASE_ENV: Env = {
  WEBHOOK_TABLE_NAME: 'table',
  WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/sigma',
  AWS_REGION: 'us-east-1',
  SIGMA_API_KEY: V.current.apiKey,
  SIGMA_API_SECRET: V.current.apiSecret,
  SIGMA_BUSINESS_ID: V.businessId,
};

function sigmaHandler(env: Env = {}) {
  const merged = { ...BASE_ENV, ...env };
  const adapter = createSigmaAdapter(merged);
  const config = loadConfig('sigma', merged, { minRetentionDays: adapter.minRetentionDays });
  const log = new MemoryLog();
  const handle = createWebhookHandler({
    adapter,
    secrets:
      config.secretId === undefined
        ? new StaticSecretSource(adapter.secretsFromEnv(merged))
        : new SecretsManagerSource({
            secretId: config.secretId,
            parse: (value) => adapter.secretsFromJson(value),
            client: new SecretsManagerClient({ region: 'us-east-1' }),
            expectedShape: adapter.secretShape,
          }),
    store: new DynamoDbIdempotencyStore(
      new DynamoDBClient({ region: 'us-east-1' }),
      config.tableName,
    ),
    publisher: new SqsPublisher(new SQSClient({ region: 'us-east-1' }), config.queueUrl),
    log,
    maxBodyBytes: config.maxBodyBytes,
    retentionDays: config.retentionDays,
    leaseSeconds: config.leaseSeconds,
    sourceAllowlist: config.sourceAllowlist,
  });
  return { handle, log };
}

const v2 = (
  options: { path?: string; signature?: string; headerName?: string; sourceIp?: string } = {},
) =>
  httpApiDelivery(
    options.path ?? '/webhooks/sigma/aml',
    SIGMA_EXAMPLE_BODY,
    { [options.headerName ?? 'x-signature']: options.signature ?? V.currentHmac },
    options.sourceIp ? { sourceIp: options.sourceIp } : {},
  );

function v1(options: { headerName: string; signature: string; sourceIp: string }) {
  const event = documentedRestApiV1Event();
  event.httpMethod = 'POST';
  event.path = '/webhooks/sigma/cdd';
  event.resource = '/webhooks/sigma/{product}';
  event.headers = { 'Content-Type': 'application/json', [options.headerName]: options.signature };
  event.multiValueHeaders = {};
  event.body = SIGMA_EXAMPLE_BODY;
  event.requestContext.identity.sourceIp = options.sourceIp;
  return event;
}

const json = (result: HttpResult) => JSON.parse(result.body) as Record<string, unknown>;

function sentEnvelope(): Record<string, unknown> {
  const input = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
  return JSON.parse(input?.MessageBody ?? 'null');
}

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
  secretsManager.reset();
  dynamodb.on(PutItemCommand).resolves({});
  dynamodb.on(UpdateItemCommand).resolves({});
  dynamodb.on(DeleteItemCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});

describe('sigma: the Lambda handler', () => {
  it('enqueues a signed HTTP API delivery with type, product and key in the envelope', async () => {
    const result = await sigmaHandler().handle(v2());
    expect(result.statusCode).toBe(200);
    expect(json(result).status).toBe('accepted');
    expect(sentEnvelope()).toMatchObject({
      provider: 'sigma',
      type: 'transaction.decision',
      product: 'aml',
      idempotencyKey: `aml:${SIGMA_EXAMPLE_BODY_SHA256}`,
      payload: JSON.parse(SIGMA_EXAMPLE_BODY),
    });
    const attributes = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageAttributes;
    expect(attributes?.type?.StringValue).toBe('transaction.decision');
  });

  it('reads the header in any case from a REST API (1.0) event', async () => {
    for (const headerName of ['X-Signature', 'X-SIGNATURE', 'x-SiGnAtUrE']) {
      sqs.resetHistory();
      const result = await sigmaHandler().handle(
        v1({ headerName, signature: V.currentHmac, sourceIp: '192.0.2.2' }),
      );
      expect(result.statusCode, headerName).toBe(200);
      expect(sentEnvelope().product).toBe('cdd');
    }
  });

  it('answers 404 not_found for a product Sigma does not have', async () => {
    const result = await sigmaHandler().handle(v2({ path: '/webhooks/sigma/kyc' }));
    expect(result.statusCode).toBe(404);
    expect(json(result).status).toBe('not_found');
  });

  it('answers 401 with one body for the legacy SHA-256 unless the flag is on', async () => {
    const off = await sigmaHandler().handle(v2({ signature: V.currentLegacySha256 }));
    expect(off.statusCode).toBe(401);
    expect(json(off)).toEqual({ status: 'rejected', reason: 'invalid signature' });
    const on = await sigmaHandler({ SIGMA_ALLOW_LEGACY_SHA256: 'true' }).handle(
      v2({ signature: V.currentLegacySha256 }),
    );
    expect(on.statusCode).toBe(200);
  });

  it('never writes the signature or a credential to the log or the answer', async () => {
    const { handle, log } = sigmaHandler();
    const answers = [
      await handle(v2()),
      await handle(v2({ signature: V.nextHmac })),
      await handle(v2({ signature: V.currentLegacySha256 })),
    ];
    const text = `${log.text()}\n${answers.map((answer) => answer.body).join('\n')}`;
    expect(log.lines.length).toBe(3);
    for (const secret of [V.currentHmac, V.nextHmac, V.currentLegacySha256, V.current.apiSecret]) {
      expect(text).not.toContain(secret);
    }
  });

  it('verifies against the Secrets Manager JSON, both pairs of a rotation', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ credentials: [V.current, V.next], businessId: V.businessId }),
    });
    const { handle } = sigmaHandler({
      WEBHOOK_SECRET_ID: 'sigma-secret',
      SIGMA_API_KEY: undefined,
      SIGMA_API_SECRET: undefined,
      SIGMA_BUSINESS_ID: undefined,
    });
    expect((await handle(v2({ signature: V.currentHmac }))).statusCode).toBe(200);
    expect((await handle(v2({ signature: V.nextHmac }))).statusCode).toBe(200);
    expect((await handle(v2({ signature: V.crossedPairHmac }))).statusCode).toBe(401);
  });
});

describe('sigma: source allowlist', () => {
  const ALLOWLIST = '203.0.113.0/24, 2001:db8:5160::/48';

  it('lets every source through when no allowlist is configured', async () => {
    const result = await sigmaHandler().handle(v2({ sourceIp: '198.51.100.7' }));
    expect(result.statusCode).toBe(200);
  });

  it('accepts IPv4 and IPv6 sources inside the ranges', async () => {
    const { handle } = sigmaHandler({ WEBHOOK_SOURCE_ALLOWLIST: ALLOWLIST });
    expect((await handle(v2({ sourceIp: '203.0.113.9' }))).statusCode).toBe(200);
    expect((await handle(v2({ sourceIp: '2001:db8:5160:1::42' }))).statusCode).toBe(200);
    const restApi = v1({
      headerName: 'X-Signature',
      signature: V.currentHmac,
      sourceIp: '203.0.113.200',
    });
    expect((await handle(restApi)).statusCode).toBe(200);
  });

  it('answers 403 forbidden outside the ranges, before looking at the signature', async () => {
    const { handle } = sigmaHandler({ WEBHOOK_SOURCE_ALLOWLIST: ALLOWLIST });
    for (const event of [
      v2({ sourceIp: '198.51.100.7' }),
      v2({ sourceIp: '2001:db8:5161::1' }),
      v2({ sourceIp: '198.51.100.7', signature: 'not-a-signature' }),
      v1({ headerName: 'X-Signature', signature: V.currentHmac, sourceIp: '203.0.114.1' }),
    ]) {
      const result = await handle(event);
      expect(result.statusCode).toBe(403);
      expect(json(result).status).toBe('forbidden');
    }
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('still checks the signature for an allowed source', async () => {
    const { handle } = sigmaHandler({ WEBHOOK_SOURCE_ALLOWLIST: ALLOWLIST });
    const result = await handle(v2({ sourceIp: '203.0.113.9', signature: V.nextHmac }));
    expect(result.statusCode).toBe(401);
  });
});
