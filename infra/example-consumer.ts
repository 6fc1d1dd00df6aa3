import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConsumerEnvNames } from '../functions/core/names.js';
import { bundledCode } from './lambda-code.js';
import { functionLogAndRole } from './webhook-function.js';

/** Within the queues' visibility timeout (60 s) six times over, as AWS advises. */
export const CONSUMER_TIMEOUT = Duration.seconds(10);

export interface ExampleConsumerProps {
  readonly queues: readonly IQueue[];
  readonly logRetention: RetentionDays;
  readonly retentionDays: number;
  /** Encrypts the consumer's log group; the queues' key is granted by the event sources. */
  readonly encryptionKey?: IKey | undefined;
}

/** An SQS-triggered example consumer of every provider queue, with its own dedupe table. */
export class ExampleConsumer extends Construct {
  readonly fn: LambdaFunction;
  readonly table: Table;

  constructor(scope: Construct, id: string, props: ExampleConsumerProps) {
    super(scope, id);
    this.table = new Table(this, 'ProcessedEvents', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiration',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // An example: it goes with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const { logGroup, role } = functionLogAndRole(
      this,
      'Function',
      props.logRetention,
      props.encryptionKey,
    );
    this.fn = new LambdaFunction(this, 'Function', {
      ...bundledCode('example-consumer'),
      description: 'Example consumer of the webhook queues',
      memorySize: 256,
      timeout: CONSUMER_TIMEOUT,
      logGroup,
      role,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [ConsumerEnvNames.tableName]: this.table.tableName,
        [ConsumerEnvNames.retentionDays]: String(props.retentionDays),
      },
    });
    this.table.grant(role, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    for (const queue of props.queues) {
      this.fn.addEventSource(
        new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }),
      );
    }
  }
}
