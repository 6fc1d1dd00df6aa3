/*
 * The tags of the construct's outputs, shared with the operator CLI: no import, so the
 * CLI bundle takes nothing of the CDK with it.
 */

/**
 * What the operator CLI reads from a stack (`--stack`), each fact one CloudFormation
 * output. The construct creates them wherever it is used, so the CLI works against a
 * user's own stack: it finds them by the tag at the end of each output's description,
 * not by output name (CDK names an output after its construct path, with a hash).
 */
export const OutputFacts = {
  baseUrl: 'base-url',
  apiEndpoint: 'api-endpoint',
  webhookUrl: 'webhook-url',
  table: 'table',
  queue: 'queue',
  queueArn: 'queue-arn',
  deadLetterQueue: 'dead-letter-queue',
  deadLetterQueueArn: 'dead-letter-queue-arn',
  secret: 'secret',
  logGroup: 'log-group',
  archiveBucket: 'archive-bucket',
  archivePrefix: 'archive-prefix',
  /** Buckets the archive replaced (an Object Lock switch), comma-separated. */
  archivePreviousBuckets: 'archive-previous-buckets',
  /** The shared archive queue of earlier versions; with a provider, that provider's own. */
  archiveQueue: 'archive-queue',
  archiveDeadLetterQueue: 'archive-dead-letter-queue',
  athenaTable: 'athena-table',
  dashboard: 'dashboard',
  customDomainTarget: 'custom-domain-target',
  edgeWebAcl: 'edge-web-acl',
  /** A provider's declaration, `{ name, scheme, …options }` as JSON. */
  provider: 'provider',
} as const;
export type OutputFact = (typeof OutputFacts)[keyof typeof OutputFacts];

/**
 * The tag ending an output's description: `[webhook-ingress:<fact>[:<provider>]@<path>]`,
 * where `<path>` is the construct's path in the app (one stack may hold several).
 */
export function outputTag(fact: OutputFact, ingressPath: string, provider?: string): string {
  return `[webhook-ingress:${fact}${provider ? `:${provider}` : ''}@${ingressPath}]`;
}

/** Reads a tag back; undefined for an output that has none. */
export function parseOutputTag(
  description: string | undefined,
): { fact: string; provider?: string; ingress: string } | undefined {
  const match = /\[webhook-ingress:([a-z-]+)(?::([a-z0-9-]+))?@(.+)\]$/.exec(description ?? '');
  if (!match?.[1] || !match[3]) return undefined;
  return { fact: match[1], ...(match[2] ? { provider: match[2] } : {}), ingress: match[3] };
}
