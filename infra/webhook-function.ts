import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { EnvNames } from '../functions/core/config.js';
import type { ProviderName } from '../functions/provider-names.js';
import { grantKeyUse, queueKeyUse, secretKeyUse, tableKeyUse } from './key-grants.js';
import { bundledCode, LAMBDA_NODE_OPTIONS, type LambdaBundle } from './lambda-code.js';
import { addRequestMetricFilters } from './request-metrics.js';

/** Lambda memory of every webhook function (arm64); the bench measures this size. */
export const WEBHOOK_FUNCTION_MEMORY_MB = 256;
/** Under every provider's own timeout: Sigmate closes the connection at 5 s. */
export const WEBHOOK_FUNCTION_TIMEOUT = Duration.seconds(4);

/** A function's own log group (optionally encrypted with a customer key) and role, allowed to write only there. */
export function functionLogAndRole(
  scope: Construct,
  id: string,
  retention: RetentionDays,
  encryptionKey?: IKey,
): { logGroup: LogGroup; role: Role } {
  const logGroup = new LogGroup(scope, `${id}LogGroup`, {
    retention,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(encryptionKey ? { encryptionKey } : {}),
  });
  // A role of our own instead of AWSLambdaBasicExecutionRole: logs to this group only.
  const role = new Role(scope, `${id}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  });
  logGroup.grantWrite(role);
  return { logGroup, role };
}

export interface WebhookFunctionProps {
  readonly provider: ProviderName;
  /** The prebuilt bundle it runs (a seed's own, or the declared providers'). */
  readonly bundle: LambdaBundle;
  readonly table: ITable;
  readonly queue: IQueue;
  readonly secret: ISecret;
  readonly maxBodyBytes: number;
  readonly retentionDays: number;
  readonly sourceAllowlist: readonly string[];
  /** Provider-specific flags (names only, never secret values). */
  readonly flags: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  /** Customer-managed key of the table, queue, secret and log group; the function may use it. */
  readonly encryptionKey?: IKey | undefined;
  /** Lambda reserved concurrency; unset: the account's unreserved pool. */
  readonly reservedConcurrency?: number | undefined;
  /** A custom domain's API mapping path, e.g. `/ingress`, taken off request paths. */
  readonly pathPrefix?: string | undefined;
  /** The audit archive's queue: the function sends every event there too (send only). */
  readonly archiveQueue?: IQueue | undefined;
}

/**
 * What the operator (a person, not a function) needs on a customer-managed key to use the
 * table and queues: named actions, no wildcard. Functions get conditioned statements from
 * infra/key-grants.ts instead.
 */
export const KEY_DATA_ACTIONS = [
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:DescribeKey',
] as const;

/** Reading the provider's secret (what `secret.grantRead` grants on the secret itself). */
export const SECRET_READ_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
] as const;

/** The idempotency-table writes of functions/core/idempotency.ts, and nothing that reads. */
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const;

/**
 * Item writes on the table, only on the provider's own records: every key is
 * `<provider>#<idempotencyKey>`, so a compromised function cannot touch another's.
 */
export function ownRecordsStatement(table: ITable, provider: ProviderName): PolicyStatement {
  return new PolicyStatement({
    actions: [...TABLE_WRITE_ACTIONS],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${provider}#*`] } },
  });
}

/**
 * One provider's webhook function, on its prebuilt bundle (infra/providers.ts). Fixes the
 * defaults every webhook function shares and grants exactly what the environment
 * names: put/update/delete on the table, send to its own queue, read its own secret.
 */
export class WebhookFunction extends LambdaFunction {
  readonly provider: ProviderName;
  readonly functionRole: IRole;
  readonly functionLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: WebhookFunctionProps) {
    const { logGroup, role } = functionLogAndRole(
      scope,
      id,
      props.logRetention,
      props.encryptionKey,
    );
    super(scope, id, {
      ...bundledCode(props.bundle),
      description: `Webhook ingress for ${props.provider}`,
      memorySize: WEBHOOK_FUNCTION_MEMORY_MB,
      timeout: WEBHOOK_FUNCTION_TIMEOUT,
      logGroup,
      role,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      environment: {
        NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
        [EnvNames.tableName]: props.table.tableName,
        [EnvNames.queueUrl]: props.queue.queueUrl,
        [EnvNames.secretId]: props.secret.secretArn,
        [EnvNames.maxBodyBytes]: String(props.maxBodyBytes),
        [EnvNames.retentionDays]: String(props.retentionDays),
        ...(props.sourceAllowlist.length > 0
          ? { [EnvNames.sourceAllowlist]: props.sourceAllowlist.join(',') }
          : {}),
        ...(props.pathPrefix ? { [EnvNames.pathPrefix]: props.pathPrefix } : {}),
        ...(props.archiveQueue ? { [EnvNames.archiveQueueUrl]: props.archiveQueue.queueUrl } : {}),
        ...props.flags,
      },
    });
    this.provider = props.provider;
    this.functionRole = role;
    this.functionLogGroup = logGroup;
    // The dashboard's and alarms' metrics, counted by CloudWatch from the request lines.
    addRequestMetricFilters(logGroup);

    role.addToPrincipalPolicy(ownRecordsStatement(props.table, props.provider));
    props.queue.grant(role, 'sqs:SendMessage');
    props.archiveQueue?.grant(role, 'sqs:SendMessage');
    // The secret's own actions; its key use is granted below (secret.grantRead would add
    // a key-policy statement without the secret's encryption context).
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [...SECRET_READ_ACTIONS],
        resources: [props.secret.secretArn],
      }),
    );
    // DynamoDB, SQS and Secrets Manager use the key with the caller's permission: only
    // through each service, for this function's own table, queues and secret.
    grantKeyUse(role, props.encryptionKey, [
      tableKeyUse(props.table),
      queueKeyUse(props.queue, 'send'),
      ...(props.archiveQueue ? [queueKeyUse(props.archiveQueue, 'send')] : []),
      secretKeyUse(props.secret),
    ]);
  }
}
