import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvNames } from '../functions/core/config.js';
import type { ArchiveObjectLock } from './config.js';
import { bundledCode } from './lambda-code.js';
import { functionLogAndRole } from './webhook-function.js';

/** The key prefix of archived events: `events/provider=…/date=YYYY-MM-DD/<hash>.jsonl.gz`. */
export const ARCHIVE_PREFIX = 'events';
/** Records per archiver invocation: SQS's event source takes up to 10 000 with a window. */
export const ARCHIVE_BATCH_SIZE = 1_000;
/** How long the event source gathers a batch: one object per (provider, date) per window. */
export const ARCHIVE_BATCHING_WINDOW = Duration.seconds(60);
export const ARCHIVER_TIMEOUT = Duration.seconds(60);
/** Six times the archiver's timeout plus the batching window, as AWS advises for SQS event sources. */
export const ARCHIVE_QUEUE_VISIBILITY = Duration.seconds(420);
/** At most this many archivers at once: a backlog must not take the providers' concurrency. */
export const ARCHIVER_MAX_CONCURRENCY = 2;
/** Receives before an archive message is dead-lettered (a broken bucket policy, say). */
export const ARCHIVE_MAX_RECEIVE_COUNT = 10;
/** Lifecycle: objects move to Standard-IA, then Glacier Instant Retrieval (still queryable). */
export const ARCHIVE_TRANSITIONS = [
  { storageClass: StorageClass.INFREQUENT_ACCESS, afterDays: 30 },
  { storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, afterDays: 90 },
] as const;

export interface IngressArchiveProps {
  readonly stageName: string;
  /** The deployed providers: the Glue table's `provider` partition values. */
  readonly providers: readonly string[];
  readonly retentionDays: number;
  readonly objectLock: ArchiveObjectLock;
  readonly accessLogging: boolean;
  readonly logRetention: RetentionDays;
  /** The stack's customer-managed key: bucket (SSE-KMS), queues and log group. */
  readonly encryptionKey?: IKey | undefined;
}

/**
 * The audit archive (docs/decisions.md §15): an archive queue every provider function
 * sends each verified event to before its 2xx, an archiver draining it in batches into
 * gzip JSON Lines objects partitioned by provider and date, the bucket with its lifecycle
 * and optional Object Lock, and a Glue table (partition projection) for Athena.
 */
export class IngressArchive extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly bucket: Bucket;
  readonly accessLogBucket: Bucket | undefined;
  readonly archiver: LambdaFunction;
  readonly database: CfnDatabase;
  readonly table: CfnTable;

  constructor(scope: Construct, id: string, props: IngressArchiveProps) {
    super(scope, id);
    const key = props.encryptionKey;
    const queueEncryption = key
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key }
      : { encryption: QueueEncryption.SQS_MANAGED };
    // Both queues hold acknowledged events not yet in S3: kept when the archive is turned
    // off or the stack destroyed (deleting them would lose those records).
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...queueEncryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: 1024 * 1024,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.queue = new Queue(this, 'Queue', {
      ...queueEncryption,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: ARCHIVE_QUEUE_VISIBILITY,
      maxMessageSizeBytes: 1024 * 1024,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: ARCHIVE_MAX_RECEIVE_COUNT },
    });

    const bucketEncryption = key
      ? { encryption: BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true }
      : { encryption: BucketEncryption.S3_MANAGED };
    this.accessLogBucket = props.accessLogging
      ? new Bucket(this, 'AccessLogs', {
          // S3 server access logging delivers only to SSE-S3 buckets.
          encryption: BucketEncryption.S3_MANAGED,
          enforceSSL: true,
          blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
          // Without the app-wide flag `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`, CDK
          // grants log delivery by ACL, which needs ACLs enabled on this bucket only.
          objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
          versioned: true,
          removalPolicy: RemovalPolicy.RETAIN,
          lifecycleRules: [
            {
              expiration: Duration.days(Math.max(props.retentionDays, 365)),
              // Versioned: expired logs become noncurrent versions, removed a month later.
              noncurrentVersionExpiration: Duration.days(30),
            },
          ],
        })
      : undefined;
    const lockDays = Duration.days(props.retentionDays);
    this.bucket = new Bucket(this, 'Bucket', {
      ...bucketEncryption,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(this.accessLogBucket
        ? { serverAccessLogsBucket: this.accessLogBucket, serverAccessLogsPrefix: 'archive/' }
        : {}),
      ...(props.objectLock === 'off'
        ? {}
        : {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              props.objectLock === 'compliance'
                ? ObjectLockRetention.compliance(lockDays)
                : ObjectLockRetention.governance(lockDays),
          }),
      lifecycleRules: [
        {
          id: 'archive-retention',
          prefix: `${ARCHIVE_PREFIX}/`,
          transitions: ARCHIVE_TRANSITIONS.filter((t) => t.afterDays < props.retentionDays).map(
            (t) => ({ storageClass: t.storageClass, transitionAfter: Duration.days(t.afterDays) }),
          ),
          expiration: lockDays,
          // The archiver never overwrites (If-None-Match, enforced below): a noncurrent
          // version exists only after someone deleted or replaced an object, and is kept
          // 90 days so the mistake can be undone.
          noncurrentVersionExpiration: Duration.days(90),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    // Write-once under the prefix, for everyone: an upload must say If-None-Match, so no
    // one (the archiver included) can replace an archived object with other bytes.
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'ArchivedObjectsAreWrittenOnce',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${ARCHIVE_PREFIX}/*`)],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );

    if (!this.accessLogBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'The operator turned archive access logging off (archiveAccessLogging=false), for example because CloudTrail data events already record every request on this bucket.',
      });
    }
    const { logGroup, role } = functionLogAndRole(this, 'Archiver', props.logRetention, key);
    this.archiver = new LambdaFunction(this, 'Archiver', {
      ...bundledCode('archiver'),
      description: 'Webhook ingress: writes archive-queue batches to S3 as gzip JSON Lines',
      memorySize: 512,
      timeout: ARCHIVER_TIMEOUT,
      logGroup,
      role,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [EnvNames.archiveBucket]: this.bucket.bucketName,
        [EnvNames.archivePrefix]: ARCHIVE_PREFIX,
      },
    });
    // Only PutObject, only under the prefix: the archiver can neither read nor delete.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${ARCHIVE_PREFIX}/*`)],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/${ARCHIVE_PREFIX}/*]`,
      reason:
        'The archiver writes new objects whose keys it derives from each batch (provider=…/date=…/<hash>.jsonl.gz): PutObject must cover the archive prefix, and nothing else (no read, no delete, no other prefix).',
    });
    if (key) key.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.archiver.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: ARCHIVE_BATCH_SIZE,
        maxBatchingWindow: ARCHIVE_BATCHING_WINDOW,
        reportBatchItemFailures: true,
        maxConcurrency: ARCHIVER_MAX_CONCURRENCY,
      }),
    );

    const stack = Stack.of(this);
    const databaseName = `webhook_ingress_${props.stageName.replace(/-/g, '_')}`;
    this.database = new CfnDatabase(this, 'GlueDatabase', {
      catalogId: stack.account,
      databaseInput: { name: databaseName, description: 'Webhook ingress audit archive' },
    });
    const location = `s3://${this.bucket.bucketName}/${ARCHIVE_PREFIX}/`;
    this.table = new CfnTable(this, 'GlueTable', {
      catalogId: stack.account,
      databaseName,
      tableInput: {
        name: 'events',
        description:
          'Every acknowledged webhook event (gzip JSON Lines); see README, Archive and audit',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [
          { name: 'provider', type: 'string' },
          { name: 'date', type: 'string' },
        ],
        parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.provider.type': 'enum',
          'projection.provider.values': props.providers.join(','),
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          'projection.date.range': '2026-01-01,NOW',
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          'storage.location.template': `${location}provider=\${provider}/date=\${date}/`,
        },
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
          columns: [
            { name: 'archiveversion', type: 'int' },
            { name: 'type', type: 'string' },
            { name: 'product', type: 'string' },
            { name: 'subject', type: 'string' },
            { name: 'idempotencykey', type: 'string' },
            { name: 'envelopeid', type: 'string' },
            { name: 'receivedat', type: 'string' },
            { name: 'sourceip', type: 'string' },
            { name: 'requestid', type: 'string' },
            { name: 'envelope', type: 'string' },
          ],
        },
      },
    });
    this.table.addResourceDependency(this.database);
  }
}
