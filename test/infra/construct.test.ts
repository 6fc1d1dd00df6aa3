import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Annotations, App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations as AssertAnnotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALARMS_NOTIFY_NOBODY, SettingsError, WebhookIngress } from '../../infra/index.js';
import { PACKAGE_ROOT as PROJECT_ROOT } from '../../infra/lambda-code.js';

/*
 * The construct as a platform team uses it: in their own app and stack, with their own
 * consumer on a queue and an operator role, with no props and with some.
 */
type Json = Record<string, unknown>;
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** A consumer the way a careful team writes one: its own log group and role, no managed policy. */
function consumerOf(stack: Stack, ingress: WebhookIngress): LambdaFunction {
  const logGroup = new LogGroup(stack, 'ConsumerLogs', {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(stack, 'ConsumerRole', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  });
  logGroup.grantWrite(role);
  const consumer = new LambdaFunction(stack, 'SigmateConsumer', {
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
    timeout: Duration.seconds(10),
    logGroup,
    role,
  });
  consumer.addEventSource(
    new SqsEventSource(ingress.queue('sigmate'), { batchSize: 10, reportBatchItemFailures: true }),
  );
  return consumer;
}

const nag = (app: App) =>
  new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(app)
    .violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`);

describe('WebhookIngress in your own app, with no props', () => {
  let app: App;
  let stack: Stack;
  let ingress: WebhookIngress;
  let operator: Role;
  let template: Template;

  beforeAll(() => {
    app = new App({ context: NO_BUNDLING });
    stack = new Stack(app, 'Payments');
    ingress = new WebhookIngress(stack, 'Ingress');
    consumerOf(stack, ingress);
    operator = new Role(stack, 'Operator', { assumedBy: new AccountRootPrincipal() });
    ingress.grantOperator(operator);
    template = Template.fromStack(stack);
  });

  it('exposes the queues, dead-letter queues, table, functions and secrets', () => {
    for (const provider of ['sigma', 'sigmate', 'signifyd'] as const) {
      expect(ingress.queue(provider).node.path).toContain(`Ingress/`);
      expect(ingress.deadLetterQueue(provider)).toBeDefined();
      expect(ingress.function(provider).provider).toBe(provider);
      expect(ingress.secret(provider)).toBeDefined();
    }
    expect(ingress.queues.sigmate).toBe(ingress.queue('sigmate'));
    expect(ingress.deadLetterQueues.sigma).toBe(ingress.deadLetterQueue('sigma'));
    expect(ingress.functions.signifyd).toBe(ingress.function('signifyd'));
    expect(ingress.secrets.sigmate).toBe(ingress.secret('sigmate'));
    expect(ingress.table).toBeDefined();
    expect(ingress.webhookUrls.map((u) => u.output)).toContain('SigmateWebhookUrl');
  });

  it('wires the consumer to the Sigmate queue, allowed to receive and delete there only', () => {
    const sigmateQueue = stack.getLogicalId(ingress.queue('sigmate').node.defaultChild as never);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [sigmateQueue, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const consumerPolicy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p).includes('ConsumerRole'),
    );
    const text = JSON.stringify(consumerPolicy);
    expect(text).toContain('sqs:ReceiveMessage');
    expect(text).toContain('sqs:DeleteMessage');
    expect(text).toContain(sigmateQueue);
    for (const other of ['sigma', 'signifyd'] as const) {
      expect(text).not.toContain(
        stack.getLogicalId(ingress.queue(other).node.defaultChild as never),
      );
    }
  });

  it('gives an operator what the CLI needs and no provider secret', () => {
    const policy = operator.node.tryFindChild('DefaultPolicy') as unknown as { document: unknown };
    const statements = stack.resolve(policy.document).Statement as { Action: string | string[] }[];
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        'cloudformation:DescribeStacks',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'sqs:StartMessageMoveTask',
        'dynamodb:Scan',
        'dynamodb:GetItem',
        'logs:StartQuery',
      ]),
    );
    expect(actions.some((a) => a.startsWith('secretsmanager:'))).toBe(false);
    expect(JSON.stringify(stack.resolve(policy.document))).not.toContain('"Resource":"*"');
    // Replay and find read the archive: list and get under its prefix, never put or delete.
    const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
    expect(s3.flatMap((s) => [s.Action].flat()).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(JSON.stringify(s3)).toContain('events/*');
    // The archive's queues: looked at, never written or deleted (no forged or dropped records).
    const archiveQueue = stack.getLogicalId(ingress.archive?.queue.node.defaultChild as never);
    const onArchiveQueue = statements.filter((s) =>
      JSON.stringify(stack.resolve(s)).includes(archiveQueue),
    );
    expect(onArchiveQueue.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
    ]);
  });

  it('grants a polling consumer one queue, or every queue', () => {
    const poller = new Role(stack, 'Poller', { assumedBy: new AccountRootPrincipal() });
    expect(ingress.grantConsumeEvents(poller, 'signifyd')).toHaveLength(1);
    expect(ingress.grantConsumeEvents(poller)).toHaveLength(3);
  });

  it('passes cdk-nag AwsSolutions, the consumer included', () => {
    expect(nag(app)).toEqual([]);
  });

  it('keeps the idempotency table and the secrets on destroy', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::SecretsManager::Secret']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy).toBe('Retain');
      }
    }
  });
});

describe('WebhookIngress with props', () => {
  it('serves a subset of providers, encrypts with a key of the app and notifies its topic', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Signals');
    const encryptionKey = new Key(stack, 'Key', { enableKeyRotation: true });
    const alarmTopic = new Topic(stack, 'Pager', { enforceSSL: true, masterKey: encryptionKey });
    const ingress = new WebhookIngress(stack, 'Ingress', {
      providers: ['sigmate'],
      stageName: 'signals',
      encryptionKey,
      alarmTopic,
      reservedConcurrency: { sigmate: 5 },
      routeThrottles: { sigmate: { rateLimit: 30, burstLimit: 60 } },
    });
    const template = Template.fromStack(stack);
    expect([...ingress.providers.keys()]).toEqual(['sigmate']);
    // Sigmate's queue and dead-letter queue, and the archive's pair.
    template.resourceCountIs('AWS::SQS::Queue', 4);
    // The key lets CloudWatch Logs encrypt the log groups.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: {
              Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            },
          }),
        ]),
      },
    });
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect((alarm.Properties as Json).AlarmActions).toEqual([
        { Ref: stack.getLogicalId(alarmTopic.node.defaultChild as never) },
      ]);
      expect(String((alarm.Properties as Json).AlarmName)).toMatch(/^webhook-ingress-signals-/);
    }
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
    expect(nag(app)).toEqual([]);
  });

  it.each([
    [
      { idempotencyRetentionDays: 20 },
      'WebhookIngress prop "idempotencyRetentionDays" must be at most 14',
    ],
    [{ idempotencyRetentionDays: 6 }, 'must be at least 7 while Sigma is deployed'],
    [
      { idempotencyRetentionDays: 10, queueRetentionDays: 8 },
      'WebhookIngress prop "queueRetentionDays"',
    ],
    [{ reservedConcurrency: { sigma: 0 } }, 'WebhookIngress prop "reservedConcurrency.sigma"'],
    [
      { routeThrottles: { default: { rateLimit: 0, burstLimit: 1 } } },
      'WebhookIngress prop "routeThrottles.default.rateLimit"',
    ],
    [{ stageName: 'Prod' }, 'WebhookIngress prop "stageName"'],
  ])('refuses %o in one line naming the prop', (props, message) => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Bad');
    expect(() => new WebhookIngress(stack, 'Ingress', props)).toThrow(SettingsError);
    expect(() => new WebhookIngress(new Stack(new App(), 'Bad'), 'Ingress', props)).toThrow(
      message,
    );
  });

  it('warns that alarms notify nobody, unless the team acknowledges it on purpose', () => {
    const loud = new Stack(new App({ context: NO_BUNDLING }), 'Loud');
    new WebhookIngress(loud, 'Ingress');
    const quiet = new Stack(new App({ context: NO_BUNDLING }), 'Quiet');
    const ingress = new WebhookIngress(quiet, 'Ingress');
    Annotations.of(ingress).acknowledgeWarning(ALARMS_NOTIFY_NOBODY, 'a test stack');
    const warnings = (stack: Stack) =>
      AssertAnnotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('NOTIFY NOBODY'));
    expect(warnings(loud)).toHaveLength(1);
    expect(warnings(quiet)).toHaveLength(0);
  });

  it('lets a Sigma-less ingress keep deduplication shorter than Sigma needs', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Short');
    const ingress = new WebhookIngress(stack, 'Ingress', {
      providers: ['signifyd'],
      idempotencyRetentionDays: 5,
    });
    expect(ingress.settings.idempotencyRetentionDays).toBe(5);
  });
});

describe('a separate TypeScript CDK app that depends on the package', () => {
  let dir: string;
  const exec = promisify(execFile);

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'consumer-app-'));
    const modules = path.join(dir, 'node_modules');
    mkdirSync(modules);
    // What `npm install <this repository>` gives it: the package, and the app's own CDK.
    symlinkSync(PROJECT_ROOT, path.join(modules, 'webhook-ingress'));
    for (const dep of ['aws-cdk-lib', 'constructs', '@types']) {
      symlinkSync(path.join(PROJECT_ROOT, 'node_modules', dep), path.join(modules, dep));
    }
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'payments-app', private: true, type: 'module' }),
    );
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2023',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    writeFileSync(
      path.join(dir, 'app.ts'),
      `import { App, Duration, Stack } from 'aws-cdk-lib';
import { Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { WebhookIngress } from 'webhook-ingress';

const app = new App();
const stack = new Stack(app, 'Payments');
const ingress = new WebhookIngress(stack, 'Ingress');
const consumer = new Function(stack, 'SignifydConsumer', {
  runtime: Runtime.NODEJS_24_X,
  handler: 'index.handler',
  code: Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
  timeout: Duration.seconds(10),
});
consumer.addEventSource(new SqsEventSource(ingress.queue('signifyd'), { reportBatchItemFailures: true }));
app.synth();
`,
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('type-checks `import { WebhookIngress } from "webhook-ingress"`', async () => {
    const tsc = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsc');
    await expect(exec(tsc, ['-p', dir], { cwd: dir })).resolves.toBeDefined();
  });

  it('synthesizes with the consumer on the Signifyd queue', async () => {
    const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
    const outdir = path.join(dir, 'cdk.out');
    await exec(tsx, ['app.ts'], {
      cwd: dir,
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(NO_BUNDLING) },
    });
    const template = JSON.parse(readFileSync(path.join(outdir, 'Payments.template.json'), 'utf8'));
    const resources = Object.entries(template.Resources) as [
      string,
      { Type: string; Properties: Json },
    ][];
    const queueIds = resources
      .filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping')
      .map(([, r]) => (r.Properties.EventSourceArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]);
    // The app's consumer on Signifyd's queue, and the ingress's own archiver.
    expect(queueIds).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^IngressSignifydQueue/),
        expect.stringMatching(/^IngressArchiveQueue/),
      ]),
    );
    expect(queueIds).toHaveLength(2);
    expect(resources.filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')).toHaveLength(4);
  }, 60_000);
});
