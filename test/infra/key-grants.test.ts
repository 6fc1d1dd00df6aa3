import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { addIngressStack } from '../../infra/ingress-app.js';
import { WebhookIngress } from '../../infra/webhook-ingress.js';
import { KMS_KEY_ARN } from './contexts.js';

/*
 * With a customer key (kmsKeyArn, or a key of the app), every use of it a function is
 * given goes through one service and names the resource that service puts in its
 * encryption context (issue 20, item 10). Templates without bundling.
 */
type Json = Record<string, unknown>;
interface Statement {
  Action: string | string[];
  Effect: string;
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const via = (service: string) => ({
  'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
});
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const actions = (s: Statement) => [s.Action].flat();
const isKms = (s: Statement) => actions(s).some((action) => action.startsWith('kms:'));

/** Every statement in a role's policies, by the role's logical id. */
function roleStatements(template: Template): Map<string, Statement[]> {
  const byRole = new Map<string, Statement[]>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const props = policy.Properties as Json;
    const statements = (props.PolicyDocument as { Statement: Statement[] }).Statement;
    for (const role of props.Roles as { Ref: string }[]) {
      byRole.set(role.Ref, [...(byRole.get(role.Ref) ?? []), ...statements]);
    }
  }
  return byRole;
}

/** The execution role of every Lambda function in the template. */
function functionRoles(template: Template): string[] {
  return Object.values(template.findResources('AWS::Lambda::Function')).map(
    (fn) => ((fn.Properties as Json).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
  );
}

function synthWithKeyArn() {
  const app = new App({
    context: { ...NO_BUNDLING, kmsKeyArn: KMS_KEY_ARN, exampleConsumer: 'true' },
  });
  const stack = addIngressStack(app);
  return { stack, template: Template.fromStack(stack) };
}

describe('infra: customer key grants (kmsKeyArn)', () => {
  let stack: ReturnType<typeof synthWithKeyArn>['stack'];
  let template: Template;
  let byRole: Map<string, Statement[]>;
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  /** The KMS statements of one role, with the service each goes through. */
  const kmsOf = (role: string) =>
    (byRole.get(role) ?? []).filter(isKms).map((s) => ({
      actions: actions(s).sort(),
      conditions: s.Condition?.StringEquals,
      resource: s.Resource,
    }));

  beforeAll(() => {
    ({ stack, template } = synthWithKeyArn());
    byRole = roleStatements(template);
  });

  it('gives no function the key without kms:ViaService, nor (but DescribeKey) without an encryption context', () => {
    const roles = functionRoles(template);
    // Three providers, the archiver, the example consumer (and the not-found function).
    expect(roles.length).toBeGreaterThanOrEqual(5);
    const kms = roles.flatMap((role) => (byRole.get(role) ?? []).filter(isKms));
    expect(kms.length).toBeGreaterThan(0);
    for (const statement of kms) {
      const equals = statement.Condition?.StringEquals ?? {};
      expect(Object.keys(statement.Condition ?? {}), JSON.stringify(statement)).toEqual([
        'StringEquals',
      ]);
      expect(equals['kms:ViaService'], JSON.stringify(statement)).toBeDefined();
      expect(statement.Resource).toBe(KMS_KEY_ARN);
      if (actions(statement).join() !== 'kms:DescribeKey') {
        const context = Object.keys(equals).filter((k) => k.startsWith('kms:EncryptionContext:'));
        expect(context.length, JSON.stringify(statement)).toBeGreaterThan(0);
      }
    }
  });

  it('lets each provider function use the key for its own table, queue, archive queue and secret only', () => {
    const table = id(stack.ingress.table);
    for (const [provider, { fn, queue, secret }] of stack.providers) {
      const archiveQueue = id(stack.ingress.archive?.queueFor(provider) as never);
      const role = id(fn.functionRole as never);
      expect(kmsOf(role)).toEqual(
        expect.arrayContaining([
          {
            actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
            conditions: {
              'kms:ViaService': via('dynamodb'),
              'kms:EncryptionContext:aws:dynamodb:tableName': { Ref: table },
              'kms:EncryptionContext:aws:dynamodb:subscriberId': { Ref: 'AWS::AccountId' },
            },
            resource: KMS_KEY_ARN,
          },
          {
            actions: ['kms:DescribeKey'],
            conditions: { 'kms:ViaService': via('dynamodb') },
            resource: KMS_KEY_ARN,
          },
          {
            actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
            conditions: {
              'kms:ViaService': via('sqs'),
              'kms:EncryptionContext:aws:sqs:arn': arnOf(id(queue)),
            },
            resource: KMS_KEY_ARN,
          },
          {
            actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
            conditions: {
              'kms:ViaService': via('sqs'),
              'kms:EncryptionContext:aws:sqs:arn': arnOf(archiveQueue),
            },
            resource: KMS_KEY_ARN,
          },
          {
            actions: ['kms:Decrypt'],
            conditions: {
              'kms:ViaService': via('secretsmanager'),
              'kms:EncryptionContext:SecretARN': { Ref: id(secret) },
            },
            resource: KMS_KEY_ARN,
          },
        ]),
      );
      expect(kmsOf(role)).toHaveLength(5);
      // The secret itself is still readable (GetSecretValue) by its own function.
      expect(byRole.get(role)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: id(secret) },
          }),
        ]),
      );
    }
  });

  it('lets the archiver use the key through S3 for the bucket, DynamoDB to read the records and SQS for its queues', () => {
    const archive = stack.ingress.archive;
    if (!archive) throw new Error('the archive is on by default');
    const role = id(archive.archiver.role as never);
    const queues = archive.sources().map(({ queue }) => queue);
    expect(kmsOf(role)).toEqual([
      {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        conditions: {
          'kms:ViaService': via('s3'),
          'kms:EncryptionContext:aws:s3:arn': arnOf(id(archive.bucket)),
        },
        resource: KMS_KEY_ARN,
      },
      {
        actions: ['kms:Decrypt'],
        conditions: {
          'kms:ViaService': via('dynamodb'),
          'kms:EncryptionContext:aws:dynamodb:tableName': { Ref: id(stack.ingress.table) },
          'kms:EncryptionContext:aws:dynamodb:subscriberId': { Ref: 'AWS::AccountId' },
        },
        resource: KMS_KEY_ARN,
      },
      {
        actions: ['kms:DescribeKey'],
        conditions: { 'kms:ViaService': via('dynamodb') },
        resource: KMS_KEY_ARN,
      },
      ...queues.map((queue) => ({
        actions: ['kms:Decrypt'],
        conditions: {
          'kms:ViaService': via('sqs'),
          'kms:EncryptionContext:aws:sqs:arn': arnOf(id(queue)),
        },
        resource: KMS_KEY_ARN,
      })),
    ]);
    // Its event source still consumes the archive queue, with the same batching.
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(id(archive.queue)),
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 60,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('lets the example consumer decrypt through SQS, for the provider queues only', () => {
    const consumer = stack.ingress.exampleConsumer;
    if (!consumer) throw new Error('exampleConsumer is set');
    const role = id(consumer.fn.role as never);
    expect(kmsOf(role)).toEqual(
      [...stack.providers.values()].map(({ queue }) => ({
        actions: ['kms:Decrypt'],
        conditions: {
          'kms:ViaService': via('sqs'),
          'kms:EncryptionContext:aws:sqs:arn': arnOf(id(queue)),
        },
        resource: KMS_KEY_ARN,
      })),
    );
  });
});

describe('infra: customer key grants (a key of the app)', () => {
  it('adds no statement for a function role to the key policy: the roles hold conditioned grants only', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Owned');
    const encryptionKey = new Key(stack, 'Key', { enableKeyRotation: true });
    const ingress = new WebhookIngress(stack, 'Ingress', { encryptionKey });
    const template = Template.fromStack(stack);
    const roles = new Set(functionRoles(template));
    const keyPolicy = Object.values(template.findResources('AWS::KMS::Key'))[0]?.Properties as {
      KeyPolicy: { Statement: Statement[] };
    };
    for (const statement of keyPolicy.KeyPolicy.Statement) {
      const principal = JSON.stringify(statement.Principal);
      for (const role of roles) expect(principal).not.toContain(role);
    }
    const byRole = roleStatements(template);
    const keyArn = arnOf(stack.getLogicalId(encryptionKey.node.defaultChild as never));
    const secretRole = stack.getLogicalId(
      ingress.function('sigmate').functionRole.node.defaultChild as never,
    );
    expect(byRole.get(secretRole)).toEqual(
      expect.arrayContaining([
        {
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: keyArn,
          Condition: {
            StringEquals: {
              'kms:ViaService': via('secretsmanager'),
              'kms:EncryptionContext:SecretARN': {
                Ref: stack.getLogicalId(ingress.secret('sigmate').node.defaultChild as never),
              },
            },
          },
        },
      ]),
    );
    for (const role of roles) {
      for (const statement of (byRole.get(role) ?? []).filter(isKms)) {
        expect(statement.Condition?.StringEquals?.['kms:ViaService']).toBeDefined();
      }
    }
  });
});
