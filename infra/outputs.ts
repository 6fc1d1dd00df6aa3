import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ProviderName } from '../functions/provider-names.js';
import { providerEntry } from '../functions/providers.js';
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
      `${title}Provider`,
      JSON.stringify(providerEntry(deployment.declaration)),
      OutputFacts.provider,
      `${title}: its declaration (name, scheme, options)`,
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
    ingress.apiEndpoint,
    OutputFacts.apiEndpoint,
    ingress.edge
      ? 'Base URL of the webhook API (execute-api, REST API stage behind AWS WAF)'
      : 'Base URL of the webhook API (execute-api)',
  );
  if (ingress.edge) {
    output(
      'EdgeWebAclArn',
      ingress.edge.webAcl.attrArn,
      OutputFacts.edgeWebAcl,
      'The WAF web ACL rate limiting each source and enforcing the source allowlists (docs/runbook.md#edge-rate-limited)',
    );
  }
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
  // The archive is always there (with `archive` off the functions only stop sending).
  const { archive } = ingress;
  output(
    'ArchiveBucketName',
    archive.bucket.bucketName,
    OutputFacts.archiveBucket,
    `The audit archive: ${ARCHIVE_PREFIX}/provider=<provider>/date=<YYYY-MM-DD>/<hash>.jsonl.gz`,
  );
  output('ArchivePrefix', ARCHIVE_PREFIX, OutputFacts.archivePrefix, 'Key prefix of the archive');
  if (archive.previousBuckets.length > 0) {
    output(
      'ArchivePreviousBucketNames',
      archive.previousBuckets.map((bucket) => bucket.bucketName).join(','),
      OutputFacts.archivePreviousBuckets,
      'Archive buckets the current one replaced: replay and find read them too',
    );
  }
  output(
    'ArchiveQueueUrl',
    archive.queue.queueUrl,
    OutputFacts.archiveQueue,
    'The shared archive queue of earlier versions: still drained, no function sends to it',
  );
  for (const { deployment } of ingress.providers.values()) {
    output(
      `${deployment.title}ArchiveQueueUrl`,
      archive.queueFor(deployment.provider).queueUrl,
      OutputFacts.archiveQueue,
      `The archive queue only the ${deployment.title} function may send to`,
      deployment.provider,
    );
  }
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
  output(
    'DashboardName',
    ingress.monitoring.dashboard.dashboardName,
    OutputFacts.dashboard,
    'CloudWatch dashboard',
  );
}
