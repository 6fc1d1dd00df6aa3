/**
 * Names the functions share with the infrastructure — metrics, idempotency records, the
 * example consumer's environment — with no runtime dependency: the construct library
 * (infra/) imports only modules like this one and config.ts from functions/, never a
 * module that loads the AWS SDK or Powertools.
 */

/**
 * A provider's name as it appears in routes, queues, records and logs. The core knows
 * no list of them: `functions/registry.ts` names the providers this build serves.
 */
export type ProviderName = string;

/** CloudWatch namespace of the handlers' EMF metrics; the dashboard and alarms read it. */
export const METRICS_NAMESPACE = 'WebhookIngress';
export const SERVICE_NAME = 'webhook-ingress';

/** Attribute names of an idempotency record; `expiration` is the table's TTL attribute. */
export const RecordAttributes = {
  key: 'id',
  status: 'status',
  expiration: 'expiration',
  leaseExpiresAt: 'leaseExpiresAt',
  bodyHash: 'bodyHash',
  envelopeId: 'envelopeId',
  provider: 'provider',
  type: 'type',
  receivedAt: 'receivedAt',
  /** Written by versions before the audit archive (`storeEnvelopes`); read, never written. */
  envelope: 'envelope',
  subject: 'subject',
  messageId: 'messageId',
} as const;

export const RecordStatus = {
  InProgress: 'INPROGRESS',
  Completed: 'COMPLETED',
} as const;

/** Environment of the example consumer; the CDK stack sets the same name. */
export const ConsumerEnvNames = {
  tableName: 'CONSUMER_TABLE_NAME',
  retentionDays: 'CONSUMER_RETENTION_DAYS',
} as const;

/** Outcome names, as logged, counted in metrics and sent as `status`. */
export const Outcome = {
  Accepted: 'accepted',
  Duplicate: 'duplicate',
  Ignored: 'ignored',
  Rejected: 'rejected',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  MethodNotAllowed: 'method_not_allowed',
  InProgress: 'in_progress',
  Conflict: 'conflict',
  TooLarge: 'too_large',
  Retry: 'retry',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];
