import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  BucketPolicy,
  type CfnBucket,
  type IBucket,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvNames } from '../functions/core/config.js';
import { ANY_PROVIDER } from '../functions/core/names.js';
import type { ArchiveObjectLock } from './config.js';
import { bucketKeyUse, consumeQueue, grantKeyUse, tableKeyUse } from './key-grants.js';
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
/**
 * How long a provider's archive record waits on its queue before the archiver may read
 * it: past the delivery's claim lease (the function's timeout plus a second), so the
 * attempt has been answered and its idempotency record says how when it is settled.
 */
export const ARCHIVE_SETTLE_DELAY = Duration.seconds(15);
/** Lifecycle: objects move to Standard-IA, then Glacier Instant Retrieval (still queryable). */
export const ARCHIVE_TRANSITIONS = [
  { storageClass: StorageClass.INFREQUENT_ACCESS, afterDays: 30 },
  { storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, afterDays: 90 },
] as const;

export interface IngressArchiveProps {
  readonly stageName: string;
  /** The deployed providers: one archive queue each, and the Glue table's `provider` values. */
  readonly providers: readonly string[];
  readonly retentionDays: number;
  readonly objectLock: ArchiveObjectLock;
  /** The bucket was created with Object Lock (fixed for its life; see the setting). */
  readonly objectLockEnabled: boolean;
  /** Archive buckets this one replaced: kept readable and in Athena. */
  readonly previousBuckets: readonly string[];
  readonly accessLogging: boolean;
  /** The idempotency table: the archiver settles each attempt against its record. */
  readonly table: ITable;
  /** The deduplication window, days: past it an attempt's record is gone. */
  readonly idempotencyRetentionDays: number;
  readonly logRetention: RetentionDays;
  /** The stack's customer-managed key: bucket (SSE-KMS), queues and log group. */
  readonly encryptionKey?: IKey | undefined;
}

/**
 * The audit archive (docs/decisions.md §15): an archive queue per provider, which only
 * that provider's function may send each verified event to before its 2xx; an archiver
 * draining them in batches, settling each attempt against its idempotency record, into
 * gzip JSON Lines objects partitioned by provider and date; the bucket with its
 * lifecycle, deletes refused to every principal and optional Object Lock; and a Glue
 * table (partition projection) for Athena.
 */
export class IngressArchive extends Construct {
  /**
   * The one archive queue of earlier versions, which every provider function could send
   * to. No function may any more; the archiver still drains it (its envelopes name their
   * provider), so what waited on it at the upgrade is archived.
   */
  readonly queue: Queue;
  /** Per provider, the archive queue only its function may send to. */
  readonly providerQueues: ReadonlyMap<string, Queue>;
  readonly deadLetterQueue: Queue;
  readonly bucket: Bucket;
  /** The buckets this archive replaced (`archivePreviousBuckets`), imported: read only. */
  readonly previousBuckets: readonly IBucket[];
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
    const archiveQueue = (id: string, deliveryDelay?: Duration) =>
      new Queue(this, id, {
        ...queueEncryption,
        enforceSSL: true,
        removalPolicy: RemovalPolicy.RETAIN,
        retentionPeriod: Duration.days(14),
        visibilityTimeout: ARCHIVE_QUEUE_VISIBILITY,
        maxMessageSizeBytes: 1024 * 1024,
        ...(deliveryDelay ? { deliveryDelay } : {}),
        deadLetterQueue: {
          queue: this.deadLetterQueue,
          maxReceiveCount: ARCHIVE_MAX_RECEIVE_COUNT,
        },
      });
    this.queue = archiveQueue('Queue');
    // SQS cannot tell its consumer who sent a message: a queue per provider, each sendable
    // by that provider's function alone (infra/webhook-function.ts), tells the archiver.
    this.providerQueues = new Map(
      props.providers.map((provider) => [
        provider,
        archiveQueue(`Queue${pascalCase(provider)}`, ARCHIVE_SETTLE_DELAY),
      ]),
    );

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
      // Fixed at creation (a change replaces the bucket): its own setting, checked at synth.
      ...(props.objectLockEnabled ? { objectLockEnabled: true } : {}),
      ...(props.objectLock === 'off'
        ? {}
        : {
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

    for (const statement of archiveBucketStatements(this.bucket)) {
      this.bucket.addToResourcePolicy(statement);
    }
    // Kept when the bucket is replaced or the stack deleted: a retained bucket keeps its
    // protections (by default CloudFormation would delete the policy with the resource).
    this.bucket.policy?.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.previousBuckets = props.previousBuckets.map((name, index) => {
      const previous = Bucket.fromBucketName(this, `PreviousBucket${index + 1}`, name);
      // An imported bucket keeps the policy it has; this one restates the archive's, so a
      // bucket replaced before the policy was retained is protected again.
      const policy = new BucketPolicy(this, `PreviousBucket${index + 1}Policy`, {
        bucket: previous,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      policy.document.addStatements(
        ...archiveBucketStatements(previous),
        new PolicyStatement({
          sid: 'TlsOnly',
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions: ['s3:*'],
          resources: [previous.bucketArn, previous.arnForObjects('*')],
          conditions: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
      return previous;
    });

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
        [EnvNames.archiveLedgerTable]: props.table.tableName,
        [EnvNames.archiveLedgerRetentionDays]: String(props.idempotencyRetentionDays),
        [EnvNames.archiveSources]: this.sources()
          .map(({ provider, queue }) => `${provider}=${queue.queueArn}`)
          .join(','),
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
    // Settling reads the idempotency records (consistent BatchGetItem), and writes nothing.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:BatchGetItem'],
        resources: [props.table.tableArn],
      }),
    );
    // The key only through S3 for this bucket, DynamoDB for the table, SQS for its queues.
    grantKeyUse(role, key, [bucketKeyUse(this.bucket), tableKeyUse(props.table, 'read')]);
    for (const { queue } of this.sources()) {
      consumeQueue(
        this.archiver,
        queue,
        {
          batchSize: ARCHIVE_BATCH_SIZE,
          maxBatchingWindow: ARCHIVE_BATCHING_WINDOW,
          reportBatchItemFailures: true,
          maxConcurrency: ARCHIVER_MAX_CONCURRENCY,
        },
        key,
      );
    }

    const stack = Stack.of(this);
    const databaseName = `webhook_ingress_${props.stageName.replace(/-/g, '_')}`;
    this.database = new CfnDatabase(this, 'GlueDatabase', {
      catalogId: stack.account,
      databaseInput: { name: databaseName, description: 'Webhook ingress audit archive' },
    });
    this.table = eventsTable(this, 'GlueTable', {
      databaseName,
      name: 'events',
      bucketName: this.bucket.bucketName,
      providers: props.providers,
    });
    this.table.addResourceDependency(this.database);
    props.previousBuckets.forEach((name, index) => {
      eventsTable(this, `PreviousGlueTable${index + 1}`, {
        databaseName,
        name: `events_previous_${index + 1}`,
        bucketName: name,
        providers: props.providers,
      }).addResourceDependency(this.database);
    });
  }

  /** Every queue the archiver drains, with the provider whose function sends to it. */
  sources(): { provider: string; queue: Queue }[] {
    return [
      { provider: ANY_PROVIDER, queue: this.queue },
      ...[...this.providerQueues].map(([provider, queue]) => ({ provider, queue })),
    ];
  }

  /** The archive queue a provider's function sends to. */
  queueFor(provider: string): Queue {
    const queue = this.providerQueues.get(provider);
    if (!queue) throw new Error(`the archive has no queue for ${provider}`);
    return queue;
  }

  /** Every archive queue, the dead-letter queue included (operators look, never write). */
  allQueues(): Queue[] {
    return [...this.sources().map(({ queue }) => queue), this.deadLetterQueue];
  }
}

/**
 * The archive bucket's own rules, for every principal: objects under the prefix are
 * written once (an upload must say If-None-Match), and no object of the bucket can be
 * deleted, current or noncurrent version — whoever's identity policy says otherwise. Only
 * the lifecycle (S3 itself) expires objects after the retention; an account administrator
 * could still edit this policy (Object Lock compliance is what stops even that).
 */
function archiveBucketStatements(bucket: IBucket): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'ArchivedObjectsAreWrittenOnce',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(`${ARCHIVE_PREFIX}/*`)],
      conditions: { Null: { 's3:if-none-match': 'true' } },
    }),
    new PolicyStatement({
      sid: 'ArchivedObjectsAreNeverDeleted',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [bucket.arnForObjects('*')],
    }),
  ];
}

/** `sigma` → `Sigma`, `my-stripe` → `MyStripe`: construct ids per provider. */
function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => `${part.slice(0, 1).toUpperCase()}${part.slice(1)}`)
    .join('');
}

/** The archive line's fields as Athena columns (lower case: the JSON SerDe matches them so). */
const ARCHIVE_COLUMNS = {
  archiveversion: 'int',
  type: 'string',
  product: 'string',
  subject: 'string',
  idempotencykey: 'string',
  envelopeid: 'string',
  receivedat: 'string',
  sourceip: 'string',
  requestid: 'string',
  acknowledged: 'boolean',
  settlement: 'string',
  settledat: 'string',
  envelope: 'string',
} as const;

/** A Glue table over one bucket's archive (JSON SerDe, partition projection on provider and date). */
function eventsTable(
  scope: Construct,
  id: string,
  props: {
    databaseName: string;
    name: string;
    bucketName: string;
    providers: readonly string[];
  },
): CfnTable {
  const location = `s3://${props.bucketName}/${ARCHIVE_PREFIX}/`;
  return new CfnTable(scope, id, {
    catalogId: Stack.of(scope).account,
    databaseName: props.databaseName,
    tableInput: {
      name: props.name,
      description:
        'Every verified delivery attempt, acknowledged or not (gzip JSON Lines); see README, Archive and audit',
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
        columns: Object.entries(ARCHIVE_COLUMNS).map(([name, type]) => ({ name, type })),
      },
    },
  });
}
