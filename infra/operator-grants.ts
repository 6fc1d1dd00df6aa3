import { Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARCHIVE_PREFIX } from './archive.js';
import { KEY_DATA_ACTIONS } from './webhook-function.js';
import type { WebhookIngress } from './webhook-ingress.js';

/** The CLI's reads and writes on one queue (tail, redrive, replay, status). */
const OPERATOR_QUEUE_ACTIONS = [
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:SendMessage',
];
/** The CLI's reads of the idempotency table (find, replay, status). */
const OPERATOR_TABLE_ACTIONS = [
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  // Settling archive lines written before the archiver settled them (cli/archive.ts).
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
];
/**
 * Searching the functions' log groups (find, the runbook's queries). Reading a Logs
 * Insights query's results (`logs:GetQueryResults`) cannot be scoped to a log group in
 * IAM, so it is left to the operator's own policy (README, IAM for operators).
 */
const OPERATOR_LOG_ACTIONS = ['logs:StartQuery', 'logs:FilterLogEvents'];

/**
 * What the operator CLI needs against one ingress (`--stack`): read the stack's outputs,
 * read and move messages on every queue and dead-letter queue (tail, redrive, replay),
 * read the idempotency table (find, replay, status), query the functions' logs, read the
 * archive, use the customer key. It never reads a provider secret: `send` takes secrets
 * from the operator's environment.
 */
export function grantOperatorAccess(ingress: WebhookIngress, grantee: IGrantable): void {
  const stack = Stack.of(ingress);
  const principal = grantee.grantPrincipal;
  principal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['cloudformation:DescribeStacks'],
      resources: [stack.stackId],
    }),
  );
  principal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: OPERATOR_QUEUE_ACTIONS,
      resources: [...ingress.providers.values()]
        .flatMap((p) => [p.queue, p.deadLetterQueue])
        .map((queue) => queue.queueArn),
    }),
  );
  principal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['sqs:StartMessageMoveTask', 'sqs:ListMessageMoveTasks'],
      resources: [...ingress.providers.values()].map((p) => p.deadLetterQueue.queueArn),
    }),
  );
  principal.addToPrincipalPolicy(
    new PolicyStatement({ actions: OPERATOR_TABLE_ACTIONS, resources: [ingress.table.tableArn] }),
  );
  principal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: OPERATOR_LOG_ACTIONS,
      resources: [...ingress.providers.values()].map(({ fn }) => fn.functionLogGroup.logGroupArn),
    }),
  );
  {
    // Replay and find read the archive, and the buckets it replaced: list and get under
    // the prefix; nothing else.
    const buckets = [ingress.archive.bucket, ...ingress.archive.previousBuckets];
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: buckets.map((bucket) => bucket.bucketArn),
        conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}/*`] } },
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: buckets.map((bucket) => bucket.arnForObjects(`${ARCHIVE_PREFIX}/*`)),
      }),
    );
    if (Construct.isConstruct(principal)) {
      const bucketId = stack.getLogicalId(ingress.archive.bucket.node.defaultChild as CfnBucket);
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${ARCHIVE_PREFIX}/*]`,
        reason:
          'Replay and find read archive objects whose keys the archiver derives per batch (provider=…/date=…/<hash>.jsonl.gz): GetObject must cover the archive prefix, and grants nothing else (no put, no delete).',
      });
    }
    // The archive's queues: look, never write or delete. An operator who could send to
    // the archive queue could forge audit records, and one who could delete could drop
    // them before the archiver writes them; redriving its dead letters is an
    // administrator's act (docs/runbook.md#archive-dead-letters).
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: ingress.archive.allQueues().map((queue) => queue.queueArn),
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility'],
        resources: [ingress.archive.deadLetterQueue.queueArn],
      }),
    );
  }
  ingress.encryptionKey?.grant(grantee, ...KEY_DATA_ACTIONS);
}
