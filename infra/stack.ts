import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { Key } from 'aws-cdk-lib/aws-kms';
import { HostedZone } from 'aws-cdk-lib/aws-route53';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { ProviderName } from '../functions/registry.js';
import { ARCHIVE_PREFIX } from './archive.js';
import type { IngressSettings } from './config.js';
import {
  type ProviderResources,
  WebhookIngress,
  type WebhookIngressProps,
} from './webhook-ingress.js';

export interface WebhookIngressStackProps extends StackProps {
  readonly settings: IngressSettings;
  /** Defaults to every provider registered in functions/registry.ts. */
  readonly providers?: readonly ProviderName[];
}

/** The construct's props from the app's plain settings: ARNs become imported constructs. */
export function propsFromSettings(
  scope: Construct,
  settings: IngressSettings,
): WebhookIngressProps {
  const { alarmTopicArn, kmsKeyArn, customDomain, ...plain } = settings;
  const domain = customDomain;
  return {
    ...plain,
    ...(alarmTopicArn
      ? { alarmTopic: Topic.fromTopicArn(scope, 'AlarmTopic', alarmTopicArn) }
      : {}),
    ...(kmsKeyArn ? { encryptionKey: Key.fromKeyArn(scope, 'EncryptionKey', kmsKeyArn) } : {}),
    ...(domain
      ? {
          customDomain: {
            domainName: domain.domainName,
            certificate: Certificate.fromCertificateArn(
              scope,
              'Certificate',
              domain.certificateArn,
            ),
            ...(domain.hostedZone
              ? {
                  hostedZone: HostedZone.fromHostedZoneAttributes(scope, 'HostedZone', {
                    hostedZoneId: domain.hostedZone.id,
                    zoneName: domain.hostedZone.name,
                  }),
                }
              : {}),
            ...(domain.mappingPath ? { mappingPath: domain.mappingPath } : {}),
          },
        }
      : {}),
  };
}

/**
 * The shipped app's stack (`npx cdk deploy`): a {@link WebhookIngress} and the outputs
 * the README and the operator CLI read (cli/target.ts, `StackOutputs`).
 */
export class WebhookIngressStack extends Stack {
  readonly ingress: WebhookIngress;

  constructor(scope: Construct, id: string, props: WebhookIngressStackProps) {
    super(scope, id, props);
    const { settings } = props;
    Tags.of(this).add('service', 'webhook-ingress');
    Tags.of(this).add('stage', settings.stageName);

    // Id `Default` leaves the construct out of logical ids: a stack deployed before the
    // construct existed updates in place instead of replacing its table, queues and secrets.
    this.ingress = new WebhookIngress(this, 'Default', {
      ...propsFromSettings(this, settings),
      ...(props.providers ? { providers: props.providers } : {}),
    });
    const ingress = this.ingress;

    for (const url of ingress.webhookUrls) {
      new CfnOutput(this, url.output, { value: url.url, description: url.description });
    }
    for (const { deployment, queue, deadLetterQueue, secret } of ingress.providers.values()) {
      const { title } = deployment;
      new CfnOutput(this, `${title}QueueUrl`, { value: queue.queueUrl });
      new CfnOutput(this, `${title}QueueArn`, { value: queue.queueArn });
      new CfnOutput(this, `${title}DeadLetterQueueUrl`, { value: deadLetterQueue.queueUrl });
      new CfnOutput(this, `${title}DeadLetterQueueArn`, { value: deadLetterQueue.queueArn });
      new CfnOutput(this, `${title}SecretName`, {
        value: secret.secretName,
        description: `JSON: ${deployment.secretShape}`,
      });
    }
    new CfnOutput(this, 'ApiEndpoint', {
      value: ingress.api.apiEndpoint,
      description: 'Base URL of the webhook API (execute-api)',
    });
    if (ingress.domainName) {
      new CfnOutput(this, 'CustomDomainUrl', {
        value: ingress.baseUrl,
        description: 'Base URL of the webhook API on the custom domain',
      });
      new CfnOutput(this, 'CustomDomainTarget', {
        value: ingress.domainName.regionalDomainName,
        description: 'Point the custom domain here (CNAME) unless a hosted zone was given',
      });
    }
    new CfnOutput(this, 'IdempotencyTableName', { value: ingress.table.tableName });
    {
      const { archive } = ingress;
      new CfnOutput(this, 'ArchiveBucketName', {
        value: archive.bucket.bucketName,
        description: `The audit archive: ${ARCHIVE_PREFIX}/provider=<provider>/date=<YYYY-MM-DD>/<hash>.jsonl.gz`,
      });
      if (archive.previousBuckets.length > 0) {
        new CfnOutput(this, 'ArchivePreviousBucketNames', {
          value: archive.previousBuckets.map((bucket) => bucket.bucketName).join(','),
          description: 'Archive buckets the current one replaced: replay and find read them too',
        });
      }
      new CfnOutput(this, 'ArchiveQueueUrl', {
        value: archive.queue.queueUrl,
        description:
          'The shared archive queue of earlier versions: still drained, no function sends to it',
      });
      for (const [provider, queue] of archive.providerQueues) {
        const title = ingress.providers.get(provider as ProviderName)?.deployment.title;
        new CfnOutput(this, `${title ?? provider}ArchiveQueueUrl`, {
          value: queue.queueUrl,
          description: `The archive queue only the ${provider} function may send to`,
        });
      }
      new CfnOutput(this, 'ArchiveDeadLetterQueueUrl', { value: archive.deadLetterQueue.queueUrl });
      new CfnOutput(this, 'ArchiveAthenaTable', {
        value: `${archive.database.ref}.events`,
        description: 'Glue database and table for Athena (README, Archive and audit)',
      });
    }
    new CfnOutput(this, 'DashboardName', { value: ingress.monitoring.dashboard.dashboardName });
  }

  /** Shorthand for the construct's per-provider resources. */
  get providers(): ReadonlyMap<ProviderName, ProviderResources> {
    return this.ingress.providers;
  }
}
