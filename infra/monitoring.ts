import { Annotations, Duration } from 'aws-cdk-lib';
import type { IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, Outcome, SERVICE_NAME } from '../functions/core/names.js';
import type { ProviderName } from '../functions/provider-names.js';
import type { WebhookFunction } from './webhook-function.js';

/** Rejection reasons the handlers count as `rejected_<reason>` (401 and 400). */
export const RejectionReasons = ['signature', 'payload'] as const;

/** The handlers' EMF metric for one provider: namespace, name and dimensions as emitted. */
export function outcomeMetric(
  provider: ProviderName,
  metricName: string,
  statistic = 'Sum',
  period = Duration.minutes(1),
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    // Powertools Metrics emits `service` plus the recorder's default dimension `provider`.
    dimensionsMap: { service: SERVICE_NAME, provider },
    statistic,
    period,
  });
}

export interface MonitoredProvider {
  readonly provider: ProviderName;
  readonly title: string;
  readonly fn: WebhookFunction;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
}

/** The audit archive's parts the alarms watch. */
export interface MonitoredArchive {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly archiver: IFunction;
}

/** Alarm names of the archive (runbook sections of the same name). */
export const ArchiveAlarms = {
  deadLetters: 'archive-dead-letters',
  behind: 'archive-behind',
  errors: 'archive-errors',
} as const;

/**
 * The archive queue's oldest record may reach this age before the `archive-behind` alarm:
 * the archiver batches for up to 60 s, so anything past 15 minutes means it is failing.
 */
export const ARCHIVE_BEHIND_SECONDS = 15 * 60;

export interface IngressMonitoringProps {
  readonly stageName: string;
  readonly apiStage: IHttpStage;
  readonly providers: readonly MonitoredProvider[];
  readonly alarmEmail: string | undefined;
  /** An existing topic the alarms notify as well (e.g. the platform team's pager). */
  readonly alarmTopic: ITopic | undefined;
  readonly unauthorizedAlarmThreshold: number;
  readonly oldestMessageAlarmSeconds: number;
  /** The audit archive, when on. */
  readonly archive?: MonitoredArchive | undefined;
}

/** Id of the synth warning a deployment whose alarms notify nobody gets. */
export const ALARMS_NOTIFY_NOBODY = 'webhook-ingress:alarmsNotifyNobody';

/** The alarm name suffixes, per provider (`webhook-ingress-<stage>-<provider>-<suffix>`). */
export const ProviderAlarms = {
  retry: 'retry',
  unauthorizedSpike: 'unauthorized-spike',
  deadLetters: 'dead-letters',
  oldestMessage: 'oldest-message',
  functionErrors: 'function-errors',
  functionThrottles: 'function-throttles',
} as const;

/** The dashboard (a row per provider) and the alarms, optionally notifying SNS topics. */
export class IngressMonitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  /** The topic created for `alarmEmail`, if any. */
  readonly topic: Topic | undefined;

  constructor(scope: Construct, id: string, props: IngressMonitoringProps) {
    super(scope, id);

    if (props.alarmEmail !== undefined) {
      // CloudWatch can publish to an encrypted topic only with a customer key that lets it.
      const key = new Key(this, 'AlarmTopicKey', {
        description: 'Encrypts the webhook ingress alarm topic',
        enableKeyRotation: true,
      });
      this.topic = new Topic(this, 'AlarmTopic', {
        displayName: `Webhook ingress (${props.stageName}) alarms`,
        masterKey: key,
        enforceSSL: true,
      });
      key.grant(
        new ServicePrincipal('cloudwatch.amazonaws.com'),
        'kms:Decrypt',
        'kms:GenerateDataKey*',
      );
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    }
    const targets = [this.topic, props.alarmTopic].filter((t): t is ITopic => t !== undefined);
    if (targets.length === 0) {
      Annotations.of(this).addWarningV2(
        ALARMS_NOTIFY_NOBODY,
        'THE ALARMS NOTIFY NOBODY: no alarm e-mail and no alarm topic is set. Set -c alarmEmail=… or -c alarmTopicArn=… (construct: alarmEmail / alarmTopic) so a failing ingress pages someone.',
      );
    }
    const prefix = `webhook-ingress-${props.stageName}`;

    const alarm = (
      alarmId: string,
      alarmName: string,
      metric: IMetric,
      threshold: number,
      description: string,
      comparison = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) => {
      const created = new Alarm(this, alarmId, {
        alarmName: `${prefix}-${alarmName}`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: comparison,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        // The runbook's section of each alarm is named after its suffix.
        alarmDescription: `${description} Runbook: docs/runbook.md#${alarmName
          .split('-')
          .slice(alarmName.startsWith('api-') || alarmName.startsWith('archive-') ? 0 : 1)
          .join('-')}`,
      });
      for (const topic of targets) created.addAlarmAction(new SnsAction(topic));
      this.alarms.push(created);
      return created;
    };

    const fiveMinutes = Duration.minutes(5);
    alarm(
      'Api5xxAlarm',
      'api-5xx',
      props.apiStage.metricServerError({ statistic: 'Sum', period: fiveMinutes }),
      1,
      'The API answered 5xx: a function failed, timed out or returned retry.',
    );

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `webhook-ingress-${props.stageName}`,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Webhook ingress (${props.stageName})\nOutcomes are the \`status\` of each answer; \`retry\` is a 503 after a DynamoDB, SQS or Secrets Manager failure.`,
        width: 24,
        height: 2,
      }),
      new GraphWidget({
        title: 'API requests',
        left: [props.apiStage.metricCount({ statistic: 'Sum' })],
        right: [
          props.apiStage.metricClientError({ statistic: 'Sum' }),
          props.apiStage.metricServerError({ statistic: 'Sum' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'API latency',
        left: [
          props.apiStage.metricLatency({ statistic: 'p50' }),
          props.apiStage.metricLatency({ statistic: 'p99' }),
        ],
        width: 12,
      }),
    );

    for (const p of props.providers) {
      const name = p.title;
      alarm(
        `${name}RetryAlarm`,
        `${p.provider}-${ProviderAlarms.retry}`,
        outcomeMetric(p.provider, Outcome.Retry, 'Sum', fiveMinutes),
        1,
        `${name}: answered 503 retry (DynamoDB, SQS or Secrets Manager failed).`,
      );
      alarm(
        `${name}UnauthorizedSpikeAlarm`,
        `${p.provider}-${ProviderAlarms.unauthorizedSpike}`,
        outcomeMetric(p.provider, 'rejected_signature', 'Sum', fiveMinutes),
        props.unauthorizedAlarmThreshold,
        `${name}: many 401s — a secret that does not match the provider's, or forged requests.`,
      );
      alarm(
        `${name}DeadLetterQueueAlarm`,
        `${p.provider}-${ProviderAlarms.deadLetters}`,
        p.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        0,
        `${name}: a consumer gave up on messages (dead-letter queue not empty).`,
        ComparisonOperator.GREATER_THAN_THRESHOLD,
      );
      alarm(
        `${name}OldestMessageAlarm`,
        `${p.provider}-${ProviderAlarms.oldestMessage}`,
        p.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: fiveMinutes }),
        props.oldestMessageAlarmSeconds,
        `${name}: consumers are behind (oldest message older than ${props.oldestMessageAlarmSeconds} s).`,
      );
      alarm(
        `${name}FunctionErrorsAlarm`,
        `${p.provider}-${ProviderAlarms.functionErrors}`,
        p.fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        1,
        `${name}: the function crashed or timed out (the API answered 5xx).`,
      );
      alarm(
        `${name}FunctionThrottlesAlarm`,
        `${p.provider}-${ProviderAlarms.functionThrottles}`,
        p.fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes }),
        1,
        `${name}: invocations were throttled (the API answered 5xx).`,
      );

      const outcomes = Object.values(Outcome).map((outcome) => outcomeMetric(p.provider, outcome));
      this.dashboard.addWidgets(
        new GraphWidget({
          title: `${name}: outcomes`,
          left: outcomes,
          stacked: true,
          width: 6,
        }),
        new GraphWidget({
          title: `${name}: rejections`,
          left: RejectionReasons.map((reason) => outcomeMetric(p.provider, `rejected_${reason}`)),
          width: 4,
        }),
        new GraphWidget({
          title: `${name}: latency (ms)`,
          left: ['p50', 'p90', 'p99'].map((stat) => outcomeMetric(p.provider, 'latency', stat)),
          width: 4,
        }),
        new GraphWidget({
          title: `${name}: function`,
          left: [p.fn.metricInvocations(), p.fn.metricErrors(), p.fn.metricThrottles()],
          right: [p.fn.metricDuration({ statistic: 'p99' })],
          width: 5,
        }),
        new GraphWidget({
          title: `${name}: queue`,
          left: [
            p.queue.metricApproximateNumberOfMessagesVisible(),
            p.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead letters' }),
          ],
          right: [p.queue.metricApproximateAgeOfOldestMessage()],
          width: 5,
        }),
      );
    }

    if (props.archive) {
      const archive = props.archive;
      alarm(
        'ArchiveDeadLetterQueueAlarm',
        ArchiveAlarms.deadLetters,
        archive.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        0,
        'Acknowledged events the archiver could not write to S3 (archive dead-letter queue not empty): the audit archive has a gap until they are redriven.',
        ComparisonOperator.GREATER_THAN_THRESHOLD,
      );
      alarm(
        'ArchiveBehindAlarm',
        ArchiveAlarms.behind,
        archive.queue.metricApproximateAgeOfOldestMessage({
          statistic: 'Maximum',
          period: fiveMinutes,
        }),
        ARCHIVE_BEHIND_SECONDS,
        `The archiver is behind or failing: the oldest archive record waiting is older than ${ARCHIVE_BEHIND_SECONDS / 60} minutes.`,
      );
      alarm(
        'ArchiveErrorsAlarm',
        ArchiveAlarms.errors,
        archive.archiver.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        1,
        'The archiver crashed or timed out: its batch returns to the archive queue and is retried.',
      );
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Audit archive: queue',
          left: [
            archive.queue.metricApproximateNumberOfMessagesVisible(),
            archive.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              label: 'dead letters',
            }),
          ],
          right: [archive.queue.metricApproximateAgeOfOldestMessage()],
          width: 12,
        }),
        new GraphWidget({
          title: 'Audit archive: archiver',
          left: [
            archive.archiver.metricInvocations(),
            archive.archiver.metricErrors(),
            archive.archiver.metricThrottles(),
          ],
          right: [archive.archiver.metricDuration({ statistic: 'p99' })],
          width: 12,
        }),
      );
    }
  }
}
