import { Annotations, Names, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { EventSourceMappingOptions, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/*
 * Every use of the stack's customer-managed key that a function is given, built here and
 * only here. CDK's own grants (`key.grant`, `queue.grantConsumeMessages`,
 * `secret.grantRead`) allow the key for any caller path; these statements allow it only
 * through the service that holds the data (`kms:ViaService`) and only for the resource
 * that service names in its encryption context, so a function's role cannot decrypt
 * anything else under the same key, nor call KMS directly.
 *
 * The encryption contexts, as each service documents them:
 * - DynamoDB: `aws:dynamodb:tableName` = the table name, `aws:dynamodb:subscriberId` =
 *   the account (DynamoDB developer guide, "How Amazon DynamoDB uses AWS KMS",
 *   encryption context).
 * - SQS: `aws:sqs:arn` = the queue ARN (the context SQS passes on its KMS calls; the
 *   SQS developer guide names the permissions, not the context: docs/decisions.md,
 *   "Customer key grants").
 * - Secrets Manager: `SecretARN` = the secret's ARN (and `SecretVersionId`, which is not
 *   pinned: it changes with every rotation) (Secrets Manager user guide, "Secret
 *   encryption and decryption", encryption context).
 * - S3 with an S3 Bucket Key: `aws:s3:arn` = the bucket ARN (S3 user guide,
 *   "UsingKMSEncryption", encryption context).
 * `kms:DescribeKey` carries no encryption context: it is allowed through the service only.
 */

/** One service's use of the key for one resource. */
export interface KeyUse {
  /** The service's endpoint name, as in `kms:ViaService`: `dynamodb`, `sqs`, … */
  readonly service: 'dynamodb' | 'sqs' | 'secretsmanager' | 's3';
  /** Cryptographic actions, each called with the encryption context below. */
  readonly actions: readonly string[];
  /** Actions that take no encryption context (only `kms:DescribeKey`). */
  readonly contextFreeActions?: readonly string[];
  /** `kms:EncryptionContext:<name>` → the value the service sets for this resource. */
  readonly context: Readonly<Record<string, string>>;
}

/**
 * Reads and writes of a DynamoDB table (`read`: reads only, Decrypt): DynamoDB decrypts its
 * table key as the caller.
 */
export function tableKeyUse(table: ITable, use: 'read-write' | 'read' = 'read-write'): KeyUse {
  return {
    service: 'dynamodb',
    actions:
      use === 'read' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
    contextFreeActions: ['kms:DescribeKey'],
    context: {
      'aws:dynamodb:tableName': table.tableName,
      'aws:dynamodb:subscriberId': Stack.of(table).account,
    },
  };
}

/**
 * Sending to (GenerateDataKey, and Decrypt to check a new data key) or receiving from
 * (Decrypt) an SQS queue encrypted with the key.
 */
export function queueKeyUse(queue: IQueue, use: 'send' | 'receive'): KeyUse {
  return {
    service: 'sqs',
    actions: use === 'send' ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:Decrypt'],
    context: { 'aws:sqs:arn': queue.queueArn },
  };
}

/** Reading a Secrets Manager secret's value (GetSecretValue decrypts as the caller). */
export function secretKeyUse(secret: ISecret): KeyUse {
  return {
    service: 'secretsmanager',
    actions: ['kms:Decrypt'],
    context: { SecretARN: secret.secretArn },
  };
}

/** Writing objects to an SSE-KMS bucket with an S3 Bucket Key (its context is the bucket). */
export function bucketKeyUse(bucket: IBucket): KeyUse {
  return {
    service: 's3',
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    context: { 'aws:s3:arn': bucket.bucketArn },
  };
}

/** `<service>.<region>.amazonaws.com` (`.com.cn` in China), as KMS sees the calling service. */
export function viaService(scope: IKey, service: KeyUse['service']): string {
  const stack = Stack.of(scope);
  return `${service}.${stack.region}.${stack.urlSuffix}`;
}

/** The identity-policy statements for `uses` of `key`: one per use, plus the context-free ones. */
export function keyUseStatements(key: IKey, uses: readonly KeyUse[]): PolicyStatement[] {
  return uses.flatMap((use) => {
    const via = { 'kms:ViaService': viaService(key, use.service) };
    const context = Object.fromEntries(
      Object.entries(use.context).map(([name, value]) => [`kms:EncryptionContext:${name}`, value]),
    );
    const statements = [
      new PolicyStatement({
        actions: [...use.actions],
        resources: [key.keyArn],
        conditions: { StringEquals: { ...via, ...context } },
      }),
    ];
    if (use.contextFreeActions?.length) {
      statements.push(
        new PolicyStatement({
          actions: [...use.contextFreeActions],
          resources: [key.keyArn],
          conditions: { StringEquals: via },
        }),
      );
    }
    return statements;
  });
}

/** Lets `grantee` use `key` for exactly `uses`; nothing when there is no customer key. */
export function grantKeyUse(
  grantee: IGrantable,
  key: IKey | undefined,
  uses: readonly KeyUse[],
): void {
  if (!key) return;
  for (const statement of keyUseStatements(key, uses)) {
    grantee.grantPrincipal.addToPrincipalPolicy(statement);
  }
}

/** What an SQS event source needs on the queue itself (the key is granted separately). */
export const QUEUE_CONSUME_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
] as const;

/**
 * An SQS event source for `fn`, like `SqsEventSource` (same construct id, so the mapping
 * keeps its logical id), whose key permission is {@link queueKeyUse} instead of the
 * unconditioned `kms:Decrypt` that `queue.grantConsumeMessages` adds.
 */
export function consumeQueue(
  fn: IFunction,
  queue: IQueue,
  options: Omit<EventSourceMappingOptions, 'eventSourceArn'>,
  key: IKey | undefined,
): void {
  fn.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`, {
    ...options,
    eventSourceArn: queue.queueArn,
  });
  queue.grant(fn, ...QUEUE_CONSUME_ACTIONS);
  grantKeyUse(fn, key, [queueKeyUse(queue, 'receive')]);
}

/**
 * CloudWatch Logs encrypts a log group only with a key whose policy lets it. A key made
 * in this app gets the statement; an imported key's policy cannot be changed from here.
 */
export function allowLogsToUseKey(scope: Construct, key: IKey): void {
  const stack = Stack.of(scope);
  const logs = new ServicePrincipal(`logs.${stack.region}.amazonaws.com`);
  const { statementAdded } = key.addToResourcePolicy(
    new PolicyStatement({
      principals: [logs],
      actions: [
        'kms:Encrypt*',
        'kms:Decrypt*',
        'kms:ReEncrypt*',
        'kms:GenerateDataKey*',
        'kms:Describe*',
      ],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  if (!statementAdded) {
    Annotations.of(scope).addInfo(
      `The imported KMS key ${key.keyArn} must let CloudWatch Logs use it (principal logs.<region>.amazonaws.com, kms:Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe*, condition kms:EncryptionContext:aws:logs:arn): see the README, Deploy, "Customer-managed key".`,
    );
  }
}
