import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stackTarget } from '../../cli/target.js';
import type { LocalEndpoints } from '../../local/ingress.js';
import { cli, describeStacksAnswer, runNode, writeEndpoints } from './cli-support.js';

// Nothing listens here: these tests must fail before any request is made.
const NOWHERE = 'http://127.0.0.1:9';
const endpointsNowhere: LocalEndpoints = {
  api: NOWHERE,
  region: 'us-east-1',
  dynamodb: NOWHERE,
  sqs: NOWHERE,
  table: 't',
  queues: { sigma: `${NOWHERE}/q/a`, sigmate: `${NOWHERE}/q/b`, signifyd: `${NOWHERE}/q/c` },
  deadLetterQueues: {
    sigma: `${NOWHERE}/d/a`,
    sigmate: `${NOWHERE}/d/b`,
    signifyd: `${NOWHERE}/d/c`,
  },
};

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: {} });
}

describe('cli: clear errors and exit codes', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  let endpoints: Awaited<ReturnType<typeof writeEndpoints>>;
  beforeAll(async () => {
    endpoints = await writeEndpoints(endpointsNowhere);
  });
  afterEach(() => {
    cloudFormation.reset();
  });
  afterAll(async () => {
    cloudFormation.restore();
    await endpoints?.remove();
  });

  it('exits 2 with one line for an unknown provider', async () => {
    const run = await cli(['send', 'stripe', '--endpoints', endpoints.file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual([
      'webhook-ingress: unknown provider "stripe" (this ingress serves sigma, sigmate, signifyd)',
    ]);
  });

  it('exits 2 for an unreadable payload file, before sending anything', async () => {
    const run = await cli([
      'send',
      'sigmate',
      '--endpoints',
      endpoints.file,
      '--file',
      '/no/such.json',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(
      /^webhook-ingress: cannot read payload file \/no\/such\.json: ENOENT/,
    );
  });

  it('exits 2 for malformed options', async () => {
    const ratio = await cli(['send', 'sigmate', '--duplicates', '1.5']);
    const count = await cli(['send', 'sigmate', '--count', '0']);
    const product = await cli(['send', 'sigma', '--product', 'kyc']);
    expect([ratio.code, count.code, product.code]).toEqual([2, 2, 2]);
    expect(ratio.stderr.join('\n')).toMatch(/expected a ratio/);
  });

  it('exits 3 when there is no local ingress to talk to', async () => {
    const run = await cli(['status', '--endpoints', '/no/such/endpoints.json']);
    expect(run.code).toBe(3);
    expect(run.stderr).toEqual([
      'webhook-ingress: no local ingress: /no/such/endpoints.json does not exist (start one with npm start)',
    ]);
  });

  it('exits 5 naming the address when the local ingress is not running', async () => {
    const run = await cli(['send', 'sigmate', '--endpoints', endpoints.file]);
    expect(run.code).toBe(5);
    expect(run.stderr[0]).toMatch(/could not reach http:\/\/127\.0\.0\.1:9\/webhooks\/sigmate/);
  });

  it('exits 3 for a stack that does not exist', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id nope does not exist'));
    const run = await cli(['status', '--stack', 'nope', '--region', 'eu-west-1']);
    expect(run.code).toBe(3);
    expect(run.stderr).toEqual(['webhook-ingress: stack "nope" not found in eu-west-1']);
  });

  it('exits 4 when AWS refuses the credentials', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        awsError('InvalidClientTokenId', 'The security token included in the request is invalid.'),
      );
    const run = await cli(['tail', '--stack', 'WebhookIngress-prod', '--region', 'eu-west-1']);
    expect(run.code).toBe(4);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(
      /AWS refused the credentials while reading stack "WebhookIngress-prod": InvalidClientTokenId/,
    );
  });

  it('exits 3 when the stack has no ingress outputs, or lacks one the CLI needs', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 's', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] },
      ],
    });
    const none = await cli(['status', '--stack', 's', '--region', 'eu-west-1']);
    expect(none.code).toBe(3);
    expect(none.stderr[0]).toMatch(/stack "s" has no webhook-ingress outputs/);

    const answer = describeStacksAnswer('s');
    const outputs = answer.Stacks[0]?.Outputs ?? [];
    answer.Stacks[0] = {
      ...(answer.Stacks[0] as (typeof answer.Stacks)[0]),
      Outputs: outputs.filter((output) => output.OutputKey !== 'IdempotencyTableName'),
    };
    cloudFormation.on(DescribeStacksCommand).resolves(answer);
    const partial = await cli(['status', '--stack', 's', '--region', 'eu-west-1']);
    expect(partial.code).toBe(3);
    expect(partial.stderr[0]).toMatch(/stack "s" has no table output for s\/Default/);
  });

  it('reads every URL from the base URL output (the custom domain when there is one)', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(describeStacksAnswer('s'));
    const target = await stackTarget({ stack: 's', region: 'eu-west-1' }, {});
    expect(target.urlFor('/webhooks/sigma/aml')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/sigma/aml',
    );
    expect(target.table).toBe('ingress-table');
    expect(target.queues.signifyd?.deadLetterQueue).toMatch(/Signifyd-dlq$/);
    target.close();
  });

  it('needs real secrets for a deployed target: no demo values', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves(
        describeStacksAnswer('s', [
          ['SigmateWebhookUrl', 'https://hooks.example.com/webhooks/sigmate'],
        ]),
      );
    const run = await cli(['send', 'sigmate', '--stack', 's', '--region', 'eu-west-1']);
    expect(run.code).toBe(2);
    expect(run.stderr[0]).toMatch(
      /SIGMATE_WEBHOOK_SECRET is not set: export it or pass --secrets-file/,
    );
  });

  it('the installed bin answers with the same exit codes', async () => {
    const exec = (args: string[]) => runNode(['bin/webhook-ingress.mjs', ...args]);
    const [unknown, missing] = await Promise.all([
      exec(['send', 'stripe', '--endpoints', endpoints.file]),
      exec(['status', '--endpoints', '/no/such/endpoints.json']),
    ]);
    expect(unknown).toMatchObject({
      code: 2,
      stderr:
        'webhook-ingress: unknown provider "stripe" (this ingress serves sigma, sigmate, signifyd)\n',
    });
    expect(missing.code).toBe(3);
  });
});
