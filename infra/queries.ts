import { type ILogGroup, QueryDefinition, QueryString } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The fields of the one `webhook` log line each request writes (Powertools Logger JSON),
 * as the saved queries read them. `subject` is written only when it is not the key itself
 * (Sigmate's key is its id), so `by-subject` matches either.
 */
const LINE = 'message = "webhook"';
const FIELDS =
  '@timestamp, provider, outcome, statusCode, type, subject, key, id, messageId, reason, requestId, sourceIp, latencyMs';

/** A saved CloudWatch Logs Insights query: its name under `webhook-ingress/<stage>/` and text. */
export interface SavedQuery {
  readonly name: string;
  readonly title: string;
  readonly query: QueryString;
}

/** The saved queries of docs/runbook.md; `REPLACE_ME` is the value to look for. */
export const SavedQueries: readonly SavedQuery[] = [
  {
    name: 'by-subject',
    title:
      "Deliveries of one event by the provider's own id (Sigma transaction_id, Sigmate id, Signifyd caseId/orderId)",
    query: new QueryString({
      fields: [FIELDS],
      filterStatements: [LINE, 'subject = "REPLACE_ME" or key = "REPLACE_ME"'],
      sort: '@timestamp asc',
      limit: 200,
    }),
  },
  {
    name: 'by-idempotency-key',
    title: 'Deliveries of one idempotency key (the envelope idempotencyKey)',
    query: new QueryString({
      fields: [FIELDS],
      filterStatements: [LINE, 'key = "REPLACE_ME"'],
      sort: '@timestamp asc',
      limit: 200,
    }),
  },
  {
    name: 'by-envelope-id',
    title: 'Deliveries answered with one envelope id (a duplicate logs the first id)',
    query: new QueryString({
      fields: [FIELDS],
      filterStatements: [LINE, 'id = "REPLACE_ME"'],
      sort: '@timestamp asc',
      limit: 200,
    }),
  },
  {
    name: 'rejected-signatures-by-source-ip',
    title: '401s by source IP, provider and kind of signature failure',
    query: new QueryString({
      filterStatements: [LINE, 'statusCode = 401'],
      statsStatements: ['count(*) as rejected by sourceIp, provider, signatureFailure'],
      sort: 'rejected desc',
      limit: 100,
    }),
  },
  {
    name: 'retries-by-cause',
    title: '503 retry answers by provider, cause (dynamodb, sqs, secrets, internal) and error',
    query: new QueryString({
      filterStatements: [LINE, 'outcome = "retry"'],
      statsStatements: ['count(*) as retries by provider, reason, error.name'],
      sort: 'retries desc',
      limit: 100,
    }),
  },
  {
    name: 'ambiguous-outcomes',
    title: 'AWS calls whose outcome was unknown (timeout or abort after the request was sent)',
    query: new QueryString({
      fields: [`${FIELDS}, error.name, error.message`],
      filterStatements: [LINE, 'ispresent(ambiguous)'],
      sort: '@timestamp desc',
      limit: 200,
    }),
  },
];

/** The saved queries over the provider functions' log groups, in the console under `webhook-ingress/<stage>/`. */
export class IngressLogQueries extends Construct {
  readonly definitions: QueryDefinition[];

  constructor(
    scope: Construct,
    id: string,
    props: { readonly stageName: string; readonly logGroups: readonly ILogGroup[] },
  ) {
    super(scope, id);
    this.definitions = SavedQueries.map(
      (saved) =>
        new QueryDefinition(this, saved.name, {
          queryDefinitionName: `webhook-ingress/${props.stageName}/${saved.name}`,
          queryString: saved.query,
          logGroups: [...props.logGroups],
        }),
    );
  }
}
