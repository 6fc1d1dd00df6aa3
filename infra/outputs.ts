import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ProviderName } from '../functions/provider-names.js';
import { ARCHIVE_PREFIX } from './archive.js';
import { type OutputFact, OutputFacts, outputTag } from './output-tags.js';
import type { WebhookIngress } from './webhook-ingress.js';

/**
 * Every output of one ingress: the URLs to paste into the providers' dashboards, then
 * what the CLI and an operator need. In the shipped stack (construct id `Default`) the
 * output names are the bare ids below, e.g. `SigmateQueueUrl`.
 */
export function addIngressOutputs(ingress: WebhookIngress): void {
  const path = ingress.node.path;
  const output = (
    id: string,
    value: string,
    fact: OutputFact,
    text: string,
    provider?: ProviderName,
  ) =>
    new CfnOutput(ingress as Construct, id, {
      value,
      description: `${text} ${outputTag(fact, path, provider)}`,
    });

  for (const url of ingress.webhookUrls) {
    output(url.output, url.url, OutputFacts.webhookUrl, url.description, url.provider);
  }
  for (const { deployment, queue, deadLetterQueue, secret, fn } of ingress.providers.values()) {
    const { title, provider } = deployment;
    output(`${title}QueueUrl`, queue.queueUrl, OutputFacts.queue, `${title} events`, provider);
    output(`${title}QueueArn`, queue.queueArn, OutputFacts.queueArn, `${title} events`, provider);
    output(
      `${title}DeadLetterQueueUrl`,
      deadLetterQueue.queueUrl,
      OutputFacts.deadLetterQueue,
      `${title} dead letters`,
      provider,
    );
    output(
      `${title}DeadLetterQueueArn`,
      deadLetterQueue.queueArn,
      OutputFacts.deadLetterQueueArn,
      `${title} dead letters`,
      provider,
    );
    output(
      `${title}SecretName`,
      secret.secretName,
      OutputFacts.secret,
      `JSON: ${deployment.secretShape}`,
      provider,
    );
    output(
      `${title}LogGroupName`,
      fn.functionLogGroup.logGroupName,
      OutputFacts.logGroup,
      `${title} function logs`,
      provider,
    );
  }
  output(
    'ApiEndpoint',
    ingress.api.apiEndpoint,
    OutputFacts.apiEndpoint,
    'Base URL of the webhook API (execute-api)',
  );
  output(
    'WebhookBaseUrl',
    ingress.baseUrl,
    OutputFacts.baseUrl,
    'Base URL the providers call (the custom domain and mapping path when set)',
  );
  if (ingress.domainName) {
    output(
      'CustomDomainTarget',
      ingress.domainName.regionalDomainName,
      OutputFacts.customDomainTarget,
      'Point the custom domain here (CNAME) unless a hosted zone was given',
    );
  }
  output('IdempotencyTableName', ingress.table.tableName, OutputFacts.table, 'Idempotency records');
  const { archive } = ingress;
  if (archive) {
    output(
      'ArchiveBucketName',
      archive.bucket.bucketName,
      OutputFacts.archiveBucket,
      `The audit archive: ${ARCHIVE_PREFIX}/provider=<provider>/date=<YYYY-MM-DD>/<hash>.jsonl.gz`,
    );
    output('ArchivePrefix', ARCHIVE_PREFIX, OutputFacts.archivePrefix, 'Key prefix of the archive');
    output('ArchiveQueueUrl', archive.queue.queueUrl, OutputFacts.archiveQueue, 'Archive queue');
    output(
      'ArchiveDeadLetterQueueUrl',
      archive.deadLetterQueue.queueUrl,
      OutputFacts.archiveDeadLetterQueue,
      'Archive dead letters',
    );
    output(
      'ArchiveAthenaTable',
      `${archive.database.ref}.events`,
      OutputFacts.athenaTable,
      'Glue database and table for Athena (README, Archive and audit)',
    );
  }
  output(
    'DashboardName',
    ingress.monitoring.dashboard.dashboardName,
    OutputFacts.dashboard,
    'CloudWatch dashboard',
  );
}
