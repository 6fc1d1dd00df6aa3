import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, inject, it } from 'vitest';
import { EnvNames } from '../../functions/core/config.js';
import { parseProviders, providerDemoSecrets } from '../../functions/providers.js';
import { addIngressStack } from '../../infra/ingress-app.js';
import { ASSETS_DIR, BUNDLE_FILE } from '../../infra/lambda-code.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/endpoints.js';
import { ensureIdempotencyTable, ensureQueuePair } from '../../local/resources.js';
import { signedRequest } from '../fixtures/schemes.js';
import { apiEvent } from '../support/providers.js';

const execFileAsync = promisify(execFile);

/*
 * The declared bundle every provider but a seed under its own name runs (lib/assets/declared,
 * the bytes the construct deploys), loaded as the Lambda runtime loads a CommonJS handler,
 * with the environment the construct gives a Stripe provider's function.
 */
describe('infra: the shipped declared bundle, run as Lambda runs it', () => {
  const emulators = inject('emulators');

  it('accepts a correctly signed Stripe event once and refuses a wrong signature with 401', async () => {
    const entry = { name: 'stripe-eu', scheme: 'stripe' };
    const stack = addIngressStack(new App({ context: { providers: [entry] } }));
    const fn = stack.ingress.function('stripe-eu');
    const resource = Template.fromStack(stack).toJSON().Resources[
      stack.getLogicalId(fn.node.defaultChild as never)
    ] as { Properties: { Handler: string; Environment: { Variables: Record<string, unknown> } } };
    expect(resource.Properties.Handler).toBe('index.handler');
    const variables = resource.Properties.Environment.Variables;
    expect(stack.ingress.provider('stripe-eu').deployment.bundle).toBe('declared');

    // Its resources on the emulators; the secret from the local variable (no Secrets Manager).
    const suffix = randomUUID().slice(0, 8);
    const clients = {
      dynamodb: new DynamoDBClient({
        region: LOCAL_REGION,
        endpoint: emulators.dynamodb,
        credentials: LOCAL_CREDENTIALS,
      }),
      sqs: new SQSClient({
        region: LOCAL_REGION,
        endpoint: emulators.sqs,
        credentials: LOCAL_CREDENTIALS,
      }),
    };
    const table = `declared-${suffix}`;
    await ensureIdempotencyTable(clients.dynamodb, table);
    const queue = await ensureQueuePair(clients.sqs, `declared-${suffix}`);
    const [declaration] = parseProviders([entry]);
    if (!declaration) throw new Error('no declaration');
    const secrets = providerDemoSecrets(declaration);
    const secret = Object.values(secrets)[0] ?? '';

    const invoke = async (event: unknown) => {
      const script = `Promise.resolve(require(${JSON.stringify(path.join(ASSETS_DIR, 'declared', BUNDLE_FILE))}).handler(JSON.parse(process.env.EVENT))).then((r) => process.stdout.write(JSON.stringify(r)))`;
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--input-type=commonjs', '-e', script],
        {
          env: {
            PATH: process.env.PATH ?? '',
            AWS_REGION: LOCAL_REGION,
            AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
            AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodb,
            AWS_ENDPOINT_URL_SQS: emulators.sqs,
            POWERTOOLS_LOG_LEVEL: 'SILENT',
            [EnvNames.provider]: String(variables[EnvNames.provider]),
            [EnvNames.tableName]: table,
            [EnvNames.queueUrl]: queue.queueUrl,
            ...secrets,
            EVENT: JSON.stringify(event),
          },
        },
      );
      return JSON.parse(stdout) as { statusCode: number; body: string };
    };

    const id = `evt_${suffix}`;
    const body = `{"id":"${id}","object":"event","type":"invoice.paid","data":{"object":{}}}`;
    const signed = signedRequest(declaration, secret, body);
    const delivery = {
      path: signed.path,
      headers: Object.entries(signed.headers),
      body: signed.body,
    };
    const accepted = await invoke(apiEvent(delivery));
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(JSON.parse(accepted.body).status).toBe('accepted');

    const wrong = signedRequest(declaration, 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==', body);
    const refused = await invoke(
      apiEvent({ path: wrong.path, headers: Object.entries(wrong.headers), body: wrong.body }),
    );
    expect(refused.statusCode).toBe(401);

    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages?.map((m) => JSON.parse(m.Body ?? '{}').idempotencyKey)).toEqual([id]);
    expect(JSON.parse(Messages?.[0]?.Body ?? '{}').provider).toBe('stripe-eu');
    clients.dynamodb.destroy();
    clients.sqs.destroy();
  }, 60_000);
});
