import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { EnvNames } from '../../functions/core/config.js';
import { readSettings, SettingsError } from '../../infra/config.js';
import { addIngressStack } from '../../infra/ingress-app.js';

/* The audit archive's template, on stacks synthesized without bundling, each cdk-nag clean. */
type Json = Record<string, unknown>;
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function synth(context: Record<string, unknown>) {
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

  it('gives each provider function the archive queue to send to, and the archiver batches with partial failures', () => {
    const s = synth({});
    const providers = s
      .props('AWS::Lambda::Function')
      .filter((fn) => JSON.stringify(fn.Environment ?? {}).includes(EnvNames.tableName));
    expect(providers.length).toBeGreaterThan(0);
    for (const fn of providers) {
      const env = (fn.Environment as { Variables: Json }).Variables;
      expect(env[EnvNames.archiveQueueUrl]).toEqual({
        Ref: expect.stringMatching(/^ArchiveQueue/),
      });
    }
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1_000,
      MaximumBatchingWindowInSeconds: 60,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ArchiveQueue'), 'Arn'] },
    });
    // The archiver writes objects under the prefix, and nothing else on S3.
    const archiverPolicy = s
      .props('AWS::IAM::Policy')
      .map((p) => JSON.stringify(p.PolicyDocument))
      .find((doc) => doc.includes('s3:PutObject'));
    expect(archiverPolicy).toContain('/events/*');
    expect(archiverPolicy).not.toMatch(/s3:GetObject|s3:DeleteObject|s3:\*/);
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
    const s = synth({ archiveObjectLock: 'governance', archiveAccessLogging: 'false' });
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
    expect(named('archive-behind')).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 900,
    });
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
        'ArchiveDeadLetterQueueUrl',
        'ArchiveAthenaTable',
      ]),
    );
  });

  it('is write-once for everyone, keeps its queues when turned off, and cannot starve the providers', () => {
    const s = synth({});
    const policies = s.props('AWS::S3::BucketPolicy').map((p) => JSON.stringify(p.PolicyDocument));
    const writeOnce = policies.find((p) => p.includes('ArchivedObjectsAreWrittenOnce'));
    expect(writeOnce).toBeDefined();
    expect(JSON.parse(writeOnce ?? '{}').Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:PutObject',
          Condition: { Null: { 's3:if-none-match': 'true' } },
        }),
      ]),
    );
    // The archive queues hold acknowledged records not yet in S3: never deleted with the stack.
    const queues = Object.entries(s.template.findResources('AWS::SQS::Queue')).filter(([id]) =>
      id.startsWith('Archive'),
    );
    expect(queues).toHaveLength(2);
    for (const [, queue] of queues) expect((queue as Json).DeletionPolicy).toBe('Retain');
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1_000,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('can be turned off: no bucket, no archive queue, no archive variable', () => {
    const s = synth({ archive: 'false' });
    expect(archiveBucket(s)).toBeUndefined();
    expect(
      s.props('AWS::CloudWatch::Alarm').filter((a) => String(a.AlarmName).includes('archive')),
    ).toEqual([]);
    expect(Object.keys(s.template.findOutputs('*')).filter((o) => o.startsWith('Archive'))).toEqual(
      [],
    );
    for (const fn of s.props('AWS::Lambda::Function')) {
      expect(JSON.stringify(fn.Environment ?? {})).not.toContain(EnvNames.archiveQueueUrl);
    }
  });

  it('refuses an unknown lock mode, a lock without the archive, and a retention out of bounds', () => {
    const read = (context: Record<string, unknown>) => () => readSettings((key) => context[key]);
    expect(read({ archiveObjectLock: 'legal-hold' })).toThrow(SettingsError);
    expect(read({ archiveObjectLock: 'legal-hold' })).toThrow(/governance, compliance/);
    expect(read({ archive: 'false', archiveObjectLock: 'compliance' })).toThrow(SettingsError);
    expect(read({ archiveRetentionDays: '0' })).toThrow(SettingsError);
    expect(read({ archiveRetentionDays: '101y' })).toThrow(SettingsError);
    expect(readSettings((key) => ({ archiveRetentionDays: '1y' })[key]).archiveRetentionDays).toBe(
      366,
    );
  });
});
