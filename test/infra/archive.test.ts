import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpApi, type IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { EnvNames } from '../../functions/core/config.js';
import { IngressArchive } from '../../infra/archive.js';
import { SettingsError } from '../../infra/config.js';
import { readSettings } from '../../infra/context.js';
import { addIngressStack } from '../../infra/ingress-app.js';
import { IngressMonitoring } from '../../infra/monitoring.js';

/* The audit archive's template, on stacks synthesized without bundling, each cdk-nag clean. */
type Json = Record<string, unknown>;
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

const synthesized = new Map<string, ReturnType<typeof synthOnce>>();
/** One synthesis per context for the whole file: each is seconds of CPU. */
function synth(context: Record<string, unknown>) {
  const key = JSON.stringify(context);
  const cached = synthesized.get(key) ?? synthOnce(context);
  synthesized.set(key, cached);
  return cached;
}

function synthOnce(context: Record<string, unknown>) {
  const app = new App({ context: { ...NO_BUNDLING, alarmEmail: 'ops@example.com', ...context } });
  const stack = addIngressStack(app);
  const template = Template.fromStack(stack);
  const props = (type: string) =>
    Object.values(template.findResources(type)).map((r) => (r as Json).Properties as Json);
  const nag = new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(app)
    .violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`);
  return { template, props, nag };
}

const archiveBucket = (s: ReturnType<typeof synth>) =>
  s
    .props('AWS::S3::Bucket')
    .find(
      (bucket) =>
        bucket.LifecycleConfiguration !== undefined &&
        JSON.stringify(bucket.LifecycleConfiguration).includes('archive-retention'),
    );

describe('infra: the audit archive', () => {
  it('is on by default: a versioned, encrypted, private, TLS-only bucket kept five years with cheaper storage classes', () => {
    const s = synth({});
    expect(s.nag).toEqual([]);
    const bucket = archiveBucket(s);
    expect(bucket).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: expect.anything(), LogFilePrefix: 'archive/' },
    });
    expect(bucket?.ObjectLockEnabled).toBeUndefined();
    const rule = (bucket?.LifecycleConfiguration as { Rules: Json[] } | undefined)?.Rules.find(
      (r) => r.Id === 'archive-retention',
    );
    expect(rule).toMatchObject({
      Prefix: 'events/',
      ExpirationInDays: 1_827,
      Transitions: [
        { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
        { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
      ],
    });
  });

  it('gives each provider function its own archive queue, and the archiver drains them all with partial failures', () => {
    const s = synth({});
    const providers = s
      .props('AWS::Lambda::Function')
      .filter((fn) => JSON.stringify(fn.Environment ?? {}).includes(EnvNames.queueUrl));
    expect(providers).toHaveLength(3);
    const archiveQueues = new Set<string>();
    for (const fn of providers) {
      const env = (fn.Environment as { Variables: Json }).Variables;
      const queue = (env[EnvNames.archiveQueueUrl] as { Ref: string }).Ref;
      expect(queue).toMatch(/^ArchiveQueue(Sigma|Sigmate|Signifyd)[0-9A-F]{8}$/);
      archiveQueues.add(queue);
    }
    expect(archiveQueues.size).toBe(3);
    // Four event sources: a provider's queue each, and the shared queue of earlier versions.
    const sources = s.props('AWS::Lambda::EventSourceMapping');
    expect(sources).toHaveLength(4);
    for (const source of sources) {
      expect(source).toMatchObject({
        BatchSize: 1_000,
        MaximumBatchingWindowInSeconds: 60,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^Archive\w*Queue/), 'Arn'] },
      });
    }
    // The archiver writes objects under the prefix and reads idempotency records; nothing
    // else on S3 or DynamoDB.
    const archiverPolicy = s
      .props('AWS::IAM::Policy')
      .map((p) => JSON.stringify(p.PolicyDocument))
      .find((doc) => doc.includes('s3:PutObject'));
    expect(archiverPolicy).toContain('/events/*');
    expect(archiverPolicy).toContain('dynamodb:BatchGetItem');
    expect(archiverPolicy).not.toMatch(
      /s3:GetObject|s3:DeleteObject|s3:\*|dynamodb:(PutItem|UpdateItem|DeleteItem)/,
    );
  });

  it('lets a provider’s function send archive records to its own archive queue only, which the archiver reads as that provider’s', () => {
    const s = synth({});
    const template = s.template.toJSON() as { Resources: Record<string, Json> };
    const archiver = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        JSON.stringify(r.Properties).includes(EnvNames.archiveSources),
    );
    if (!archiver) throw new Error('no archiver');
    const sources = JSON.stringify(
      ((archiver.Properties as Json).Environment as { Variables: Json }).Variables[
        EnvNames.archiveSources
      ],
    );
    for (const provider of ['sigma', 'sigmate', 'signifyd']) {
      const title = provider.slice(0, 1).toUpperCase() + provider.slice(1);
      expect(sources).toMatch(
        new RegExp(`${provider}=",\\{"Fn::GetAtt":\\["ArchiveQueue${title}[0-9A-F]{8}"`),
      );
      // Its function's role: SendMessage on its own archive queue, on no other.
      const role = Object.entries(template.Resources).find(
        ([id, r]) =>
          r.Type === 'AWS::IAM::Policy' && id.startsWith(`${title}FunctionRoleDefaultPolicy`),
      )?.[1];
      if (!role) throw new Error(`no policy of the ${provider} function`);
      const statements = ((role.Properties as Json).PolicyDocument as { Statement: Json[] })
        .Statement;
      const archiveSends = statements
        .filter((st) => JSON.stringify(st.Resource).includes('Archive'))
        .map((st) => [st.Action, JSON.stringify(st.Resource)]);
      expect(archiveSends).toEqual([
        ['sqs:SendMessage', expect.stringMatching(new RegExp(`"ArchiveQueue${title}[0-9A-F]{8}"`))],
      ]);
    }
    expect(sources).toMatch(/"\*=",\{"Fn::GetAtt":\["ArchiveQueue[0-9A-F]{8}"/);
    // A provider's record waits past its delivery's lease before it is settled.
    const delayed = Object.entries(s.template.findResources('AWS::SQS::Queue')).filter(
      ([, queue]) => (queue as { Properties: Json }).Properties.DelaySeconds === 15,
    );
    expect(delayed.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^ArchiveQueueSigma[0-9A-F]{8}$/),
      expect.stringMatching(/^ArchiveQueueSigmate[0-9A-F]{8}$/),
      expect.stringMatching(/^ArchiveQueueSignifyd[0-9A-F]{8}$/),
    ]);
  });

  it('ships a Glue table over the partitions with projection, for Athena', () => {
    const s = synth({});
    s.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'events',
        PartitionKeys: [
          { Name: 'provider', Type: 'string' },
          { Name: 'date', Type: 'string' },
        ],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.date.format': 'yyyy-MM-dd',
        }),
      }),
    });
  });

  it('locks objects in compliance mode for the retention, under the customer key, when asked', () => {
    const s = synth({
      archiveObjectLock: 'compliance',
      archiveObjectLockEnabled: 'true',
      archiveRetentionDays: '7y',
      kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
    });
    expect(s.nag).toEqual([]);
    expect(archiveBucket(s)).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2_557 } },
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          expect.objectContaining({
            ServerSideEncryptionByDefault: expect.objectContaining({ SSEAlgorithm: 'aws:kms' }),
            BucketKeyEnabled: true,
          }),
        ],
      },
    });
  });

  it('locks in governance mode, and can go without access logs', () => {
    const s = synth({
      archiveObjectLock: 'governance',
      archiveObjectLockEnabled: 'true',
      archiveAccessLogging: 'false',
    });
    expect(s.nag.filter((v) => !v.startsWith('AwsSolutions-S1 '))).toEqual([]);
    const bucket = archiveBucket(s);
    expect(bucket?.ObjectLockConfiguration).toMatchObject({
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1_827 } },
    });
    expect(bucket?.LoggingConfiguration).toBeUndefined();
  });

  it('alarms on dead letters, a stalled archiver and its errors, each with a runbook section, and outputs where it is', () => {
    const s = synth({});
    const alarms = s.props('AWS::CloudWatch::Alarm');
    const named = (suffix: string) =>
      alarms.find((alarm) => alarm.AlarmName === `webhook-ingress-prod-${suffix}`);
    expect(named('archive-dead-letters')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [expect.anything()],
    });
    // The oldest record on any of the archive queues.
    expect(named('archive-behind')).toMatchObject({ Threshold: 900 });
    const behind = JSON.stringify(named('archive-behind')?.Metrics);
    expect(behind).toContain('MAX([q0x0,q0x1,q0x2,q0x3])');
    expect(behind.match(/ApproximateAgeOfOldestMessage/g)).toHaveLength(4);
    expect(named('archive-errors')).toMatchObject({ MetricName: 'Errors', Threshold: 1 });
    const runbook = readFileSync('docs/runbook.md', 'utf8');
    for (const name of ['archive-dead-letters', 'archive-behind', 'archive-errors']) {
      expect(String(named(name)?.AlarmDescription)).toContain(`docs/runbook.md#${name}`);
      expect(runbook).toContain(`### \`${name}\``);
    }
    const outputs = s.template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'ArchiveBucketName',
        'ArchiveQueueUrl',
        'SigmateArchiveQueueUrl',
        'ArchiveDeadLetterQueueUrl',
        'ArchiveAthenaTable',
      ]),
    );
  });

  it('is write-once and undeletable for everyone, keeps its policy and queues whatever happens, and cannot starve the providers', () => {
    const s = synth({});
    const policies = Object.values(s.template.findResources('AWS::S3::BucketPolicy')) as Json[];
    const archivePolicy = policies.find((p) =>
      JSON.stringify(p).includes('ArchivedObjectsAreWrittenOnce'),
    );
    if (!archivePolicy) throw new Error('no archive bucket policy');
    expect(archivePolicy.DeletionPolicy).toBe('Retain');
    expect(archivePolicy.UpdateReplacePolicy).toBe('Retain');
    const statements = ((archivePolicy.Properties as Json).PolicyDocument as { Statement: Json[] })
      .Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'ArchivedObjectsAreWrittenOnce',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:PutObject',
          Condition: { Null: { 's3:if-none-match': 'true' } },
        }),
        expect.objectContaining({
          Sid: 'ArchivedObjectsAreNeverDeleted',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        }),
      ]),
    );
    // No principal the stack creates is allowed a delete or a policy change on the bucket.
    for (const policy of s.props('AWS::IAM::Policy')) {
      expect(JSON.stringify(policy)).not.toMatch(
        /s3:Delete|s3:PutBucketPolicy|s3:PutLifecycle|s3:\*/,
      );
    }
    // The archive queues hold acknowledged records not yet in S3: never deleted with the stack.
    const queues = Object.entries(s.template.findResources('AWS::SQS::Queue')).filter(([id]) =>
      id.startsWith('Archive'),
    );
    expect(queues).toHaveLength(5);
    for (const [, queue] of queues) expect((queue as Json).DeletionPolicy).toBe('Retain');
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1_000,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('turned off, stops the sends only: the bucket, its outputs and the archiver stay, so old records stay readable and queued ones are written', () => {
    const on = synth({});
    const s = synth({ archive: 'false' });
    expect(archiveBucket(s)).toEqual(archiveBucket(on));
    expect(s.props('AWS::Lambda::EventSourceMapping')).toHaveLength(4);
    expect(Object.keys(s.template.findOutputs('*'))).toEqual(
      expect.arrayContaining(['ArchiveBucketName', 'ArchiveAthenaTable']),
    );
    const providers = s
      .props('AWS::Lambda::Function')
      .filter((fn) => JSON.stringify(fn.Environment ?? {}).includes(EnvNames.queueUrl));
    expect(providers).toHaveLength(3);
    for (const fn of providers) {
      expect(JSON.stringify(fn.Environment ?? {})).not.toContain(EnvNames.archiveQueueUrl);
    }
    for (const policy of s.props('AWS::IAM::Policy')) {
      const text = JSON.stringify(policy);
      if (text.includes('sqs:SendMessage')) expect(text).not.toMatch(/"Archive\w*Queue/);
    }
  });

  it('keeps the buckets an Object Lock switch replaced reachable: an output, the operator’s reads, an Athena table and the same protections', () => {
    const s = synth({
      archiveObjectLock: 'compliance',
      archiveObjectLockEnabled: 'true',
      archivePreviousBuckets: 'old-archive-bucket',
    });
    expect(s.nag).toEqual([]);
    expect(s.template.findOutputs('ArchivePreviousBucketNames')).toMatchObject({
      ArchivePreviousBucketNames: { Value: 'old-archive-bucket' },
    });
    s.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'events_previous_1',
        StorageDescriptor: Match.objectLike({ Location: 's3://old-archive-bucket/events/' }),
      }),
    });
    const policies = Object.values(s.template.findResources('AWS::S3::BucketPolicy')) as Json[];
    const previous = policies.find((p) => (p.Properties as Json).Bucket === 'old-archive-bucket');
    expect(previous?.DeletionPolicy).toBe('Retain');
    expect(JSON.stringify(previous)).toContain('ArchivedObjectsAreNeverDeleted');
    expect(JSON.stringify(previous)).toContain('ArchivedObjectsAreWrittenOnce');
  });

  it('refuses an unknown lock mode, a lock on a bucket not created with it (with the steps), and a retention out of bounds', () => {
    const read = (context: Record<string, unknown>) => () => readSettings((key) => context[key]);
    expect(read({ archiveObjectLock: 'legal-hold' })).toThrow(SettingsError);
    expect(read({ archiveObjectLock: 'legal-hold' })).toThrow(/governance, compliance/);
    // Switching the lock on an existing bucket would replace it: refused at synth, with the
    // steps that keep the old bucket reachable.
    expect(read({ archiveObjectLock: 'compliance' })).toThrow(
      /archiveObjectLockEnabled.*archivePreviousBuckets.*Switch Object Lock/,
    );
    expect(
      read({ archiveObjectLock: 'governance', archiveObjectLockEnabled: 'true' }),
    ).not.toThrow();
    // A locked bucket without a default retention is not a replacement: allowed.
    expect(read({ archiveObjectLockEnabled: 'true' })).not.toThrow();
    expect(
      read({ archive: 'false', archiveObjectLock: 'compliance', archiveObjectLockEnabled: 'true' }),
    ).not.toThrow();
    expect(read({ archivePreviousBuckets: 'Not_A_Bucket' })).toThrow(SettingsError);

    expect(read({ archiveRetentionDays: '0' })).toThrow(SettingsError);
    expect(read({ archiveRetentionDays: '101y' })).toThrow(SettingsError);
    expect(readSettings((key) => ({ archiveRetentionDays: '1y' })[key]).archiveRetentionDays).toBe(
      366,
    );
  });
});

describe('infra: the archive-behind alarm with many providers', () => {
  it('watches every archive queue, ten to an alarm (CloudWatch’s limit), each pointing at the same runbook section', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Many');
    const table = new Table(stack, 'Table', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
    });
    const archive = new IngressArchive(stack, 'Archive', {
      stageName: 'test',
      providers: Array.from({ length: 12 }, (_, index) => `provider-${index + 1}`),
      retentionDays: 30,
      objectLock: 'off',
      objectLockEnabled: false,
      previousBuckets: [],
      accessLogging: false,
      logRetention: RetentionDays.ONE_WEEK,
      table,
      idempotencyRetentionDays: 7,
    });
    const api = new HttpApi(stack, 'Api');
    new IngressMonitoring(stack, 'Monitoring', {
      stageName: 'test',
      apiStage: api.defaultStage as IHttpStage,
      providers: [],
      alarmEmail: 'ops@example.com',
      alarmTopic: undefined,
      unauthorizedAlarmThreshold: 20,
      oldestMessageAlarmSeconds: 3600,
      archive,
    });
    const behind = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))
      .map((alarm) => (alarm as Json).Properties as Json)
      .filter((alarm) => String(alarm.AlarmName).includes('archive-behind'));
    expect(behind.map((alarm) => alarm.AlarmName).sort()).toEqual([
      'webhook-ingress-test-archive-behind',
      'webhook-ingress-test-archive-behind-2',
    ]);
    const watched = behind.flatMap((alarm) =>
      ((alarm.Metrics as Json[]) ?? []).filter((metric) => metric.MetricStat !== undefined),
    );
    // Twelve provider queues and the shared one, none twice.
    expect(watched).toHaveLength(13);
    for (const alarm of behind) {
      expect((alarm.Metrics as Json[]).length).toBeLessThanOrEqual(11);
      expect(String(alarm.AlarmDescription)).toContain('docs/runbook.md#archive-behind');
      expect(String(alarm.AlarmDescription)).not.toContain('#archive-behind-');
    }
  });
});
