import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { RecordAttributes } from '../functions/core/idempotency.js';

/**
 * The idempotency record's attribute names. `subject` (the provider's own
 * identifier) and `messageId` (the SQS message id, set on completion) are newer
 * than some records: code reading them copes with their absence.
 */
export const Attr = { ...RecordAttributes, subject: 'subject', messageId: 'messageId' } as const;

/** One idempotency record, as the operator sees it. */
export interface EventRecord {
  /** The table key, `<provider>#<idempotencyKey>`. */
  readonly key: string;
  readonly provider: string;
  readonly idempotencyKey: string;
  readonly status: string;
  readonly envelopeId: string | undefined;
  readonly type: string | undefined;
  readonly receivedAt: string | undefined;
  readonly subject: string | undefined;
  readonly messageId: string | undefined;
  /** TTL, epoch seconds. */
  readonly expiration: number | undefined;
}

export function toEventRecord(item: Record<string, AttributeValue>): EventRecord {
  const key = item[Attr.key]?.S ?? '';
  const split = key.indexOf('#');
  const number = item[Attr.expiration]?.N;
  return {
    key,
    provider: item[Attr.provider]?.S ?? key.slice(0, Math.max(0, split)),
    idempotencyKey: key.slice(split + 1),
    status: item[Attr.status]?.S ?? '',
    envelopeId: item[Attr.envelopeId]?.S,
    type: item[Attr.type]?.S,
    receivedAt: item[Attr.receivedAt]?.S,
    subject: item[Attr.subject]?.S,
    messageId: item[Attr.messageId]?.S,
    expiration: number === undefined ? undefined : Number(number),
  };
}

/** One record by its key: a consistent GetItem (one read unit for a record this size). */
export async function readRecord(
  dynamodb: DynamoDBClient,
  table: string,
  provider: string,
  idempotencyKey: string,
): Promise<EventRecord | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: table,
      Key: { [Attr.key]: { S: `${provider}#${idempotencyKey}` } },
      ConsistentRead: true,
    }),
  );
  return Item ? toEventRecord(Item) : undefined;
}

export interface ScanFilter {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/** Every record matching `filter`. A Scan reads (and bills) the whole table, filter or not. */
export async function scanRecords(
  dynamodb: DynamoDBClient,
  table: string,
  filter: ScanFilter,
  options: { consistent?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<{ records: EventRecord[]; scanned: number }> {
  const records: EventRecord[] = [];
  let scanned = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: filter.expression,
        ExpressionAttributeNames: filter.names,
        ExpressionAttributeValues: filter.values,
        ...(options.consistent ? { ConsistentRead: true } : {}),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
    scanned += page.ScannedCount ?? 0;
    records.push(...(page.Items ?? []).map(toEventRecord));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { records, scanned };
}
