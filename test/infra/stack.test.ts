import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toArchiveQueueMessage } from '../../functions/core/archive.js';
import { EnvNames } from '../../functions/core/config.js';
import { buildEnvelope } from '../../functions/core/envelope.js';
import { RecordAttributes } from '../../functions/core/idempotency.js';
import { METRICS_NAMESPACE, Outcome, SERVICE_NAME } from '../../functions/core/names.js';
import { addIngressStack } from '../../infra/ingress-app.js';
import {
  ASSETS_DIR,
  BUNDLE_FILE,
  LambdaBundles,
  PACKAGE_ROOT as PROJECT_ROOT,
} from '../../infra/lambda-code.js';
import { ProviderAlarms } from '../../infra/monitoring.js';
import { deployedProviders } from '../../infra/providers.js';
import { SavedQueries } from '../../infra/queries.js';
import type { WebhookIngressStack } from '../../infra/stack.js';
import { localS3Client, readArchive } from '../../local/archiver.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/ingress.js';
import { ensureIdempotencyTable } from '../../local/resources.js';
import { lambdaEsbuildOptions } from '../../tools/bundling.js';

const execFileAsync = promisify(execFile);

// One synth for the whole file: the defaults plus an alarm e-mail.
let outdir: string;
let stack: WebhookIngressStack;
let template: Template;
let app: App;
const providers = deployedProviders();

type Json = Record<string, unknown>;
const resources = (type: string): [string, Json][] =>
  Object.entries(template.findResources(type)) as [string, Json][];
const props = (resource: Json) => resource.Properties as Json;
/** The provider functions (the not-found function has no environment). */
const providerFunctions = () =>
  resources('AWS::Lambda::Function').filter(([, fn]) =>
    JSON.stringify(props(fn).Environment ?? {}).includes(EnvNames.tableName),
  );

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'cdk-stack-test-'));
  app = new App({
    outdir,
    context: { alarmEmail: 'ops@example.com', 'aws:cdk:enable-asset-metadata': true },
  });
  stack = addIngressStack(app);
  app.synth();
  template = Template.fromStack(stack);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('infra: stack', () => {
  it('serves every registered provider', () => {
    expect(providers.map((p) => p.provider)).toContain('sigmate');
    expect([...stack.providers.keys()]).toEqual(providers.map((p) => p.provider));
  });

  it('routes exactly the contract paths, each to its own provider function, and the rest to a 404', () => {
    const routes = resources('AWS::ApiGatewayV2::Route').map(([, r]) => props(r).RouteKey);
    expect(routes.sort()).toEqual(
      [...providers.flatMap((p) => p.routes.map((r) => `ANY ${r}`)), '$default'].sort(),
    );
    for (const [, route] of resources('AWS::ApiGatewayV2::Route')) {
      expect(props(route).AuthorizationType).toBe('NONE');
    }
    const integrations = resources('AWS::ApiGatewayV2::Integration');
    // One per provider, plus the $default route's, whose function answers `not_found`.
    expect(integrations).toHaveLength(providers.length + 1);
    const notFound = stack.getLogicalId(stack.ingress.notFoundFunction.node.defaultChild as never);
    const fallback = integrations.find(([, i]) =>
      JSON.stringify(props(i).IntegrationUri).includes(notFound),
    );
    expect(fallback).toBeDefined();
  });

  it('answers unknown paths with a 128 MB function that has no environment, no access and no log lines', () => {
    const logicalId = stack.getLogicalId(stack.ingress.notFoundFunction.node.defaultChild as never);
    const fn = props(template.toJSON().Resources[logicalId]);
    expect(fn).toMatchObject({
      MemorySize: 128,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      LoggingConfig: { LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'WARN' },
    });
    expect(fn.Environment).toBeUndefined();
    const policy = stack.ingress.notFoundFunction.role?.node.tryFindChild('DefaultPolicy');
    const statements = stack.resolve((policy as unknown as { document: unknown }).document)
      .Statement as { Action: string[] }[];
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  it('throttles unknown paths on their own, low limit', () => {
    const stage = props(resources('AWS::ApiGatewayV2::Stage')[0]?.[1] ?? {});
    expect(stage.RouteSettings).toEqual({
      $default: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
  });

  it('has no CORS and one $default stage with throttling and JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
    const stages = resources('AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    const stage = props(stages[0]?.[1] ?? {});
    expect(stage.StageName).toBe('$default');
    expect(stage.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    const log = stage.AccessLogSettings as { Format: string };
    expect(JSON.parse(log.Format)).toMatchObject({ requestId: '$context.requestId' });
  });

  it('runs every function on nodejs24.x arm64, 256 MB, 4 s, with source maps on', () => {
    const functions = providerFunctions();
    expect(functions).toHaveLength(providers.length);
    for (const [, fn] of functions) {
      expect(props(fn)).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 256,
        Timeout: 4,
        Handler: 'index.handler',
      });
      const env = (props(fn).Environment as { Variables: Json }).Variables;
      expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining([
          EnvNames.tableName,
          EnvNames.queueUrl,
          EnvNames.secretId,
          EnvNames.maxBodyBytes,
          EnvNames.retentionDays,
        ]),
      );
      expect(props(fn).LoggingConfig).toEqual({ LogGroup: expect.anything() });
    }
  });

  it('puts only names and ARNs in the environment, never a secret value', () => {
    for (const [, fn] of providerFunctions()) {
      const env = (props(fn).Environment as { Variables: Json }).Variables;
      expect(env[EnvNames.pathPrefix]).toBeUndefined();
      expect(props(fn).ReservedConcurrentExecutions).toBeUndefined();
      for (const [name, value] of Object.entries(env)) {
        expect(name).not.toMatch(/KEY|SECRET$|TOKEN|PASSWORD/);
        if (typeof value === 'string') expect(value).toMatch(/^[\w.,/:=-]*$/);
        else expect(JSON.stringify(value)).toMatch(/^\{"(Ref|Fn::GetAtt)"/);
      }
    }
  });

  it("grants each function its own queue and secret, and item writes on its own provider's records only", () => {
    const tableArn = {
      'Fn::GetAtt': [stack.getLogicalId(stack.ingress.table.node.defaultChild as never), 'Arn'],
    };
    for (const [name, resources_] of stack.providers) {
      const policy = resources_.fn.functionRole.node.tryFindChild('DefaultPolicy');
      expect(policy, name).toBeDefined();
      const statements = stack.resolve((policy as unknown as { document: unknown }).document)
        .Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
      const byAction = new Map(
        statements.map((s) => [[s.Action].flat().sort().join(','), [s.Resource].flat()]),
      );
      const tableStatement = statements.find((s) => [s.Action].flat().includes('dynamodb:PutItem'));
      expect(tableStatement?.Condition).toEqual({
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${name}#*`] },
      });
      // Its own queue, and its own archive queue (send only).
      const sendTargets = statements
        .filter((s) => [s.Action].flat().join(',') === 'sqs:SendMessage')
        .flatMap((s) => [s.Resource].flat());
      expect(sendTargets).toEqual([
        { 'Fn::GetAtt': [stack.getLogicalId(resources_.queue.node.defaultChild as never), 'Arn'] },
        {
          'Fn::GetAtt': [
            stack.getLogicalId(stack.ingress.archive.queueFor(name).node.defaultChild as never),
            'Arn',
          ],
        },
      ]);
      expect(byAction.get('dynamodb:DeleteItem,dynamodb:PutItem,dynamodb:UpdateItem')).toEqual([
        tableArn,
      ]);
      expect(byAction.get('secretsmanager:DescribeSecret,secretsmanager:GetSecretValue')).toEqual([
        { Ref: stack.getLogicalId(resources_.secret.node.defaultChild as never) },
      ]);
      expect(byAction.get('logs:CreateLogStream,logs:PutLogEvents')).toBeDefined();
      expect(statements).toHaveLength(5);
    }
  });

  it('has no policy with a "*" resource and no managed policy on any role', () => {
    for (const [, policy] of resources('AWS::IAM::Policy')) {
      expect(JSON.stringify(props(policy).PolicyDocument)).not.toMatch(/"Resource":"\*"|"\*"\]/);
    }
    for (const [, role] of resources('AWS::IAM::Role')) {
      expect(props(role).ManagedPolicyArns).toBeUndefined();
    }
  });

  it('keeps the idempotency table on demand, with TTL, PITR, deletion protection, retained', () => {
    const tables = resources('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const [, table] = tables[0] ?? ['', {}];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(props(table)).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: RecordAttributes.key, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: RecordAttributes.expiration, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('encrypts every queue, gives each provider queue a dead-letter queue, 1 MiB messages', () => {
    const queues = resources('AWS::SQS::Queue');
    // A queue and a dead-letter queue per provider, and the archive's: a queue per
    // provider, the shared one of earlier versions, their dead-letter queue.
    expect(queues).toHaveLength(providers.length * 3 + 2);
    for (const [, queue] of queues) {
      expect(props(queue)).toMatchObject({
        SqsManagedSseEnabled: true,
        MaximumMessageSize: 1048576,
      });
    }
    for (const [, { queue, deadLetterQueue }] of stack.providers) {
      const main =
        template.toJSON().Resources[stack.getLogicalId(queue.node.defaultChild as never)];
      const dlq =
        template.toJSON().Resources[stack.getLogicalId(deadLetterQueue.node.defaultChild as never)];
      expect(main.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
      expect(main.Properties.VisibilityTimeout).toBe(60);
      expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
      // At least the deduplication retention: an event is never dropped while redeliveries are refused.
      expect(main.Properties.MessageRetentionPeriod).toBe(7 * 86_400);
    }
  });

  it('refuses plain-HTTP access to every queue', () => {
    const policies = resources('AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(providers.length * 3 + 2);
    for (const [, policy] of policies) {
      expect(JSON.stringify(props(policy))).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('creates each secret with a random placeholder in its documented shape, kept on destroy', () => {
    for (const [name, { secret, deployment }] of stack.providers) {
      const resource =
        template.toJSON().Resources[stack.getLogicalId(secret.node.defaultChild as never)];
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
      expect(resource.Properties.Name).toBe(`webhook-ingress/prod/${name}`);
      expect(resource.Properties.SecretString).toBeUndefined();
      const generate = resource.Properties.GenerateSecretString;
      expect(generate.GenerateStringKey).toBe(deployment.secretPlaceholder.generatedKey);
      // The key that verifies signatures is never a value written in the template.
      expect(JSON.parse(generate.SecretStringTemplate)).not.toHaveProperty(
        generate.GenerateStringKey,
      );
    }
  });

  it('alarms on retry, 401 spikes, dead letters, message age, errors and throttles per provider', () => {
    const alarms = resources('AWS::CloudWatch::Alarm').map(([, a]) => props(a));
    const metricNames = alarms.map((a) => `${a.Namespace}:${a.MetricName}`);
    expect(metricNames).toContain('AWS/ApiGateway:5xx');
    for (const { provider } of providers) {
      const ours = alarms.filter((a) =>
        JSON.stringify(a.Dimensions ?? []).includes(`"Value":"${provider}"`),
      );
      expect(ours.map((a) => a.MetricName).sort()).toEqual(['rejected_signature', 'retry']);
      for (const alarm of ours) {
        expect(alarm.Namespace).toBe(METRICS_NAMESPACE);
        expect(alarm.Dimensions).toEqual(
          expect.arrayContaining([
            { Name: 'service', Value: SERVICE_NAME },
            { Name: 'provider', Value: provider },
          ]),
        );
      }
    }
    const counts = (name: string) => metricNames.filter((m) => m.endsWith(`:${name}`)).length;
    // One more of each for the audit archive (its dead letters, its archiver); its backlog
    // is the oldest record on any archive queue, a metric math alarm (test/infra/archive.test.ts).
    expect(counts('ApproximateNumberOfMessagesVisible')).toBe(providers.length + 1);
    expect(counts('ApproximateAgeOfOldestMessage')).toBe(providers.length);
    expect(counts('Errors')).toBe(providers.length + 1);
    expect(counts('Throttles')).toBe(providers.length);
    for (const alarm of alarms) expect(alarm.AlarmActions).toHaveLength(1);
  });

  it("counts each provider's outcomes, rejections, ambiguous outcomes and latency from its request lines", () => {
    const filters = resources('AWS::Logs::MetricFilter').map(([, f]) => props(f));
    for (const [provider, { fn }] of stack.providers) {
      const group = JSON.stringify({
        Ref: stack.getLogicalId(fn.functionLogGroup.node.defaultChild as never),
      });
      const ours = filters.filter((f) => JSON.stringify(f.LogGroupName) === group);
      const transforms = ours.map((f) => (f.MetricTransformations as Json[])[0] ?? {});
      expect(transforms.map((t) => t.MetricName).sort(), provider).toEqual(
        [
          ...Object.values(Outcome),
          'rejected_signature',
          'rejected_payload',
          'ambiguous_outcome',
          'latency',
        ].sort(),
      );
      for (const t of transforms) {
        // What outcomeMetric (infra/monitoring.ts) reads: the dashboard and the alarms.
        expect(t.MetricNamespace).toBe(METRICS_NAMESPACE);
        expect(t.Dimensions).toEqual([
          { Key: 'service', Value: '$.service' },
          { Key: 'provider', Value: '$.provider' },
        ]);
        expect(t.MetricValue).toBe(t.MetricName === 'latency' ? '$.latencyMs' : '1');
      }
      for (const f of ours) expect(String(f.FilterPattern)).toContain('$.message = "webhook"');
    }
  });

  it('names every alarm webhook-ingress-<stage>-…, and points its description at the runbook', () => {
    const alarms = resources('AWS::CloudWatch::Alarm').map(([, a]) => props(a));
    const names = alarms.map((a) => a.AlarmName);
    expect(names).toContain('webhook-ingress-prod-api-5xx');
    for (const { provider } of providers) {
      for (const suffix of Object.values(ProviderAlarms)) {
        expect(names).toContain(`webhook-ingress-prod-${provider}-${suffix}`);
      }
    }
    const runbook = readFileSync(path.join(PROJECT_ROOT, 'docs/runbook.md'), 'utf8');
    for (const alarm of alarms) {
      const anchor = String(alarm.AlarmDescription).match(/runbook\.md#([a-z0-9-]+)/)?.[1];
      expect(anchor, String(alarm.AlarmName)).toBeDefined();
      expect(runbook, `runbook section for ${anchor}`).toMatch(
        new RegExp(`^### \`?${anchor}\`?$`, 'm'),
      );
    }
  });

  it('does not warn about silent alarms when an e-mail is set', () => {
    const warnings = Annotations.fromStack(stack).findWarning(
      '*',
      Match.stringLikeRegexp('NOTIFY NOBODY'),
    );
    expect(warnings).toEqual([]);
  });

  it('saves the runbook Logs Insights queries over the provider log groups', () => {
    const queries = resources('AWS::Logs::QueryDefinition').map(([, q]) => props(q));
    expect(queries.map((q) => q.Name).sort()).toEqual(
      SavedQueries.map((q) => `webhook-ingress/prod/${q.name}`).sort(),
    );
    const logGroups = [...stack.providers.values()].map(({ fn }) => ({
      Ref: stack.getLogicalId(fn.functionLogGroup.node.defaultChild as never),
    }));
    for (const query of queries) {
      expect(query.LogGroupNames).toEqual(logGroups);
      expect(String(query.QueryString)).toContain('message = "webhook"');
    }
  });

  it('notifies an encrypted, TLS-only SNS topic subscribed by the alarm e-mail', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('outputs every URL to paste, the queues and the secret names', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const p of providers) {
      for (const url of p.urls) {
        expect(JSON.stringify(outputs[url.output]?.Value)).toContain(url.path);
      }
      for (const suffix of [
        'QueueUrl',
        'QueueArn',
        'DeadLetterQueueUrl',
        'DeadLetterQueueArn',
        'SecretName',
      ]) {
        expect(outputs, `${p.title}${suffix}`).toHaveProperty(`${p.title}${suffix}`);
      }
    }
    if (stack.providers.has('sigma')) {
      expect(Object.keys(outputs)).toEqual(
        expect.arrayContaining([
          'SigmaTransactionMonitoringWebhookUrl',
          'SigmaAmlWebhookUrl',
          'SigmaCddWebhookUrl',
        ]),
      );
    }
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    expect(
      report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`),
    ).toEqual([]);
  });

  it('writes a reason for every acknowledged cdk-nag rule into the template', () => {
    const suppressions = Object.values(template.toJSON().Resources as Record<string, Json>)
      .flatMap(
        (r) =>
          ((r.Metadata as Json | undefined)?.cdk_nag as Json | undefined)?.rules_to_suppress ?? [],
      )
      .flat() as { id: string; reason: string }[];
    expect(new Set(suppressions.map((s) => s.id))).toEqual(
      new Set([
        'AwsSolutions-APIG4',
        'AwsSolutions-SMG4',
        // CDK's own, on the access-log bucket's log-delivery ACL.
        'CloudFormation-Validate::W3045',
        `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stack.ingress.archive?.bucket.node.defaultChild as never)}.Arn>/events/*]`,
      ]),
    );
    for (const s of suppressions) {
      if (s.id.startsWith('CloudFormation-Validate::')) continue; // CDK's own wording
      expect(s.reason.length).toBeGreaterThan(80);
    }
  });
});

describe('infra: prebuilt bundles', () => {
  const functions = () =>
    [
      ...[...stack.providers.values()].map(
        ({ deployment, fn }) => [deployment.bundle, fn] as const,
      ),
      ['not-found' as const, stack.ingress.notFoundFunction] as const,
      ...(stack.ingress.archive
        ? [['archiver' as const, stack.ingress.archive.archiver] as const]
        : []),
    ] as const;

  it('deploys each function from its folder of lib/assets, byte for byte', () => {
    const assets = template.toJSON().Resources as Record<string, Json>;
    for (const [name, fn] of functions()) {
      const resource = assets[stack.getLogicalId(fn.node.defaultChild as never)] as Json;
      expect(props(resource).Handler, name).toBe('index.handler');
      const dir = path.join(outdir, (resource.Metadata as Json)['aws:asset:path'] as string);
      const shipped = path.join(ASSETS_DIR, name);
      expect(readdirSync(dir).sort(), name).toEqual(readdirSync(shipped).sort());
      for (const file of readdirSync(shipped)) {
        const same = readFileSync(path.join(dir, file)).equals(
          readFileSync(path.join(shipped, file)),
        );
        expect(same, `${name}/${file}`).toBe(true);
      }
    }
  });

  it('are what the sources build to now: the suite never runs a stale bundle', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'bundles-'));
    try {
      await Promise.all(
        functions().map(async ([name]) => {
          const file = path.join(scratch, name, BUNDLE_FILE);
          await build({
            ...lambdaEsbuildOptions(path.join(PROJECT_ROOT, LambdaBundles[name]), file),
            absWorkingDir: PROJECT_ROOT,
            metafile: false,
            logLevel: 'silent',
          });
          const same = readFileSync(file).equals(
            readFileSync(path.join(ASSETS_DIR, name, BUNDLE_FILE)),
          );
          expect(same, `${name}: run npm run build`).toBe(true);
        }),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('infra: the synthesized archiver asset, run as Lambda runs it', () => {
  const emulators = inject('emulators');

  it('writes an SQS batch to S3 (fauxqs) as gzip JSON Lines and reports the poison record', async () => {
    const archiver = stack.ingress.archive?.archiver;
    if (!archiver) throw new Error('the archive is off');
    const resource = (template.toJSON().Resources as Record<string, Json>)[
      stack.getLogicalId(archiver.node.defaultChild as never)
    ] as Json;
    const asset = path.join(outdir, (resource.Metadata as Json)['aws:asset:path'] as string);
    const bucket = `asset-test-${Date.now().toString(36)}`;
    const s3 = localS3Client(emulators.sqs, LOCAL_REGION, LOCAL_CREDENTIALS);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // The idempotency record the archiver settles the attempt against: completed, naming it.
    const table = `asset-test-${Date.now().toString(36)}`;
    const dynamodb = new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: emulators.dynamodb,
      credentials: LOCAL_CREDENTIALS,
    });
    await ensureIdempotencyTable(dynamodb, table);
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          id: { S: 'sigmate#asset-1' },
          status: { S: 'COMPLETED' },
          envelopeId: { S: 'e-asset-1' },
        },
      }),
    );
    dynamodb.destroy();
    const source = 'arn:aws:sqs:us-east-1:000000000000:asset-archive-sigmate';
    const message = toArchiveQueueMessage(
      'm-1',
      {
        provider: 'sigmate',
        type: 'signal.fired',
        product: undefined,
        subject: 'asset-1',
        idempotencyKey: 'asset-1',
        envelopeId: 'e-asset-1',
        receivedAt: '2026-11-23T10:00:00.000Z',
        sourceIp: '203.0.113.9',
        requestId: 'r-1',
        envelope: buildEnvelope(
          {
            id: 'e-asset-1',
            provider: 'sigmate',
            type: 'signal.fired',
            idempotencyKey: 'asset-1',
            receivedAt: '2026-11-23T10:00:00.000Z',
          },
          '{"id":"asset-1"}',
        ),
      },
      source,
    );
    // The Lambda runtime's way (its runtime interface client, src/UserFunction.js): a
    // CommonJS index.js is `require`d from the asset and its `handler` called, in a process
    // whose environment is the function's (the archiver's variables set).
    const script = `Promise.resolve(require(${JSON.stringify(path.join(asset, BUNDLE_FILE))}).handler(JSON.parse(process.env.EVENT))).then((r) => process.stdout.write(JSON.stringify(r)))`;
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--input-type=commonjs', '-e', script],
      {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_S3: emulators.sqs,
          AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodb,
          AWS_LAMBDA_FUNCTION_NAME: 'archiver',
          // The template's values, but for the references to resources, set to local ones.
          ...Object.fromEntries(
            Object.entries(
              ((resource.Properties as Json).Environment as { Variables: Json }).Variables,
            ).filter(([name, value]) => typeof value === 'string' && name !== 'NODE_OPTIONS'),
          ),
          [EnvNames.archiveBucket]: bucket,
          [EnvNames.archiveLedgerTable]: table,
          [EnvNames.archiveSources]: `sigmate=${source}`,
          EVENT: JSON.stringify({
            Records: [
              message,
              { messageId: 'm-poison', body: 'not an envelope', eventSourceARN: source },
            ],
          }),
        },
      },
    );
    expect(JSON.parse(stdout)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-poison' }] });
    const records = await readArchive(s3, { bucket, prefix: 'events' });
    expect(records.map((r) => [r.envelopeId, r.subject, r.sourceIp, r.settlement])).toEqual([
      ['e-asset-1', 'asset-1', '203.0.113.9', 'completed'],
    ]);
  });
});
