/**
 * A loopback HTTP server that answers DynamoDB (JSON 1.0) and SQS (JSON protocol)
 * the way AWS does, so the whole SDK stack — serialisation, SigV4 signing, retries,
 * response parsing and SQS's MD5 check — runs in the benchmarks, with no network.
 * It counts requests per action. It is a benchmark instrument, not a test double:
 * conditions are evaluated only as far as the ingress and the Powertools baseline need.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';

type AttributeValue = { S?: string; N?: string; BOOL?: boolean; NULL?: boolean } & Record<
  string,
  unknown
>;
type Item = Record<string, AttributeValue>;

interface ExpressionContext {
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/** Requests seen, by `Service.Action`. */
export type CallCounts = Record<string, number>;

export interface LoopbackAws {
  readonly endpoint: string;
  readonly server: Server;
  /** A copy of the request counts so far. */
  counts(): CallCounts;
  /** Delay before answering SendMessage, to hold a claim open (in-flight measurements). */
  sqsDelayMs: number;
  /** Number of stored items, over every table. */
  size(): number;
  close(): Promise<void>;
}

class ConditionFailed extends Error {}

// --- Condition expressions: a tokenizer and a recursive-descent evaluator ----------------

const TOKEN = /\s*(attribute_not_exists|attribute_exists|AND|OR|NOT|<>|<=|>=|[=<>(),]|[#:][\w]+)/y;

function tokenize(text: string): string[] {
  const expression = text.trim();
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expression.length) {
    const match = TOKEN.exec(expression);
    if (!match?.[1]) throw new Error(`unsupported expression: ${expression}`);
    tokens.push(match[1]);
  }
  return tokens;
}

function scalar(value: AttributeValue | undefined): string | number | boolean | undefined {
  if (value === undefined) return undefined;
  if (value.N !== undefined) return Number(value.N);
  if (value.S !== undefined) return value.S;
  if (value.BOOL !== undefined) return value.BOOL;
  return JSON.stringify(value);
}

function evaluateCondition(expression: string, item: Item | undefined, ctx: ExpressionContext) {
  const tokens = tokenize(expression);
  let at = 0;
  const next = () => tokens[at++] ?? '';
  const peek = () => tokens[at] ?? '';
  const operand = (token: string) =>
    token.startsWith('#')
      ? scalar(item?.[ctx.names[token] ?? ''])
      : scalar(ctx.values[token] ?? undefined);

  function primary(): boolean {
    const token = next();
    if (token === '(') {
      const value = or();
      next();
      return value;
    }
    if (token === 'NOT') return !primary();
    if (token === 'attribute_exists' || token === 'attribute_not_exists') {
      next();
      const name = ctx.names[next()] ?? '';
      next();
      const exists = item?.[name] !== undefined;
      return token === 'attribute_exists' ? exists : !exists;
    }
    const left = operand(token);
    const op = next();
    const right = operand(next());
    if (left === undefined || right === undefined) return false;
    switch (op) {
      case '=':
        return left === right;
      case '<>':
        return left !== right;
      case '<':
        return left < right;
      case '<=':
        return left <= right;
      case '>':
        return left > right;
      case '>=':
        return left >= right;
      default:
        throw new Error(`unsupported operator ${op}`);
    }
  }
  function and(): boolean {
    let value = primary();
    while (peek() === 'AND') {
      next();
      const right = primary();
      value = value && right;
    }
    return value;
  }
  function or(): boolean {
    let value = and();
    while (peek() === 'OR') {
      next();
      const right = and();
      value = value || right;
    }
    return value;
  }
  return or();
}

function applyUpdate(expression: string, item: Item, ctx: ExpressionContext): void {
  for (const clause of expression.split(/\s+(?=SET\s|REMOVE\s)/)) {
    const [verb, ...rest] = clause.trim().split(/\s+/);
    const body = rest.join(' ');
    for (const part of body.split(',')) {
      if (verb === 'SET') {
        const [name = '', value = ''] = part.split('=').map((side) => side.trim());
        const attribute = ctx.values[value];
        if (attribute) item[ctx.names[name] ?? name] = attribute;
      } else if (verb === 'REMOVE') {
        delete item[ctx.names[part.trim()] ?? part.trim()];
      }
    }
  }
}

// --- DynamoDB -------------------------------------------------------------------------

interface DynamoRequest {
  TableName: string;
  Item?: Item;
  Key?: Item;
  ConditionExpression?: string;
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
  ReturnValues?: string;
  ReturnValuesOnConditionCheckFailure?: string;
}

/** The table's hash key is whatever attribute the first item names `id`, as in the stack. */
const HASH_KEY = 'id';

function keyOf(item: Item | undefined): string {
  return JSON.stringify(item?.[HASH_KEY] ?? null);
}

function dynamo(tables: Map<string, Map<string, Item>>, action: string, input: DynamoRequest) {
  let table = tables.get(input.TableName);
  if (!table) {
    table = new Map();
    tables.set(input.TableName, table);
  }
  const ctx = {
    names: input.ExpressionAttributeNames ?? {},
    values: input.ExpressionAttributeValues ?? {},
  };
  const key = keyOf(input.Item ?? input.Key);
  const existing = table.get(key);
  const check = () => {
    if (input.ConditionExpression && !evaluateCondition(input.ConditionExpression, existing, ctx)) {
      throw Object.assign(new ConditionFailed(), {
        item: input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? existing : undefined,
      });
    }
  };
  switch (action) {
    case 'PutItem':
      check();
      table.set(key, input.Item ?? {});
      return input.ReturnValues === 'ALL_OLD' && existing ? { Attributes: existing } : {};
    case 'UpdateItem': {
      check();
      const item: Item = { ...(existing ?? input.Key ?? {}) };
      if (input.UpdateExpression) applyUpdate(input.UpdateExpression, item, ctx);
      table.set(key, item);
      return input.ReturnValues === 'ALL_NEW' ? { Attributes: item } : {};
    }
    case 'DeleteItem':
      check();
      table.delete(key);
      return {};
    case 'GetItem':
      return existing ? { Item: existing } : {};
    default:
      throw new Error(`unsupported DynamoDB action ${action}`);
  }
}

// --- SQS --------------------------------------------------------------------------------

interface SqsAttribute {
  DataType: string;
  StringValue?: string;
}

function lengthPrefixed(hash: ReturnType<typeof createHash>, value: string | Buffer): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  hash.update(length).update(bytes);
}

/** SQS's documented MD5 of message attributes (names sorted, length-prefixed, transport byte). */
export function md5OfAttributes(attributes: Record<string, SqsAttribute>): string {
  const hash = createHash('md5');
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name];
    if (!attribute) continue;
    lengthPrefixed(hash, name);
    lengthPrefixed(hash, attribute.DataType);
    hash.update(Buffer.from([1]));
    lengthPrefixed(hash, attribute.StringValue ?? '');
  }
  return hash.digest('hex');
}

// --- Server -----------------------------------------------------------------------------

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    'x-amz-crc32': String(crc32(text)),
  });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

/** Starts the loopback endpoint on 127.0.0.1 (a free port). */
export async function startLoopbackAws(): Promise<LoopbackAws> {
  const counts: CallCounts = {};
  const tables = new Map<string, Map<string, Item>>();
  const state = { sqsDelayMs: 0 };

  const server = createServer((request, response) => {
    void (async () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const [service = '', action = ''] = target.split('.');
      const input = (await readJson(request)) as Record<string, unknown>;
      const name = service.startsWith('DynamoDB')
        ? `DynamoDB.${action}`
        : service === 'AmazonSQS'
          ? `SQS.${action}`
          : `unknown.${target}`;
      counts[name] = (counts[name] ?? 0) + 1;
      if (name.startsWith('DynamoDB.')) {
        try {
          reply(response, 200, dynamo(tables, action, input as unknown as DynamoRequest));
        } catch (error) {
          if (!(error instanceof ConditionFailed)) throw error;
          const item = (error as ConditionFailed & { item?: Item }).item;
          reply(response, 400, {
            __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
            message: 'The conditional request failed',
            ...(item ? { Item: item } : {}),
          });
        }
        return;
      }
      if (name === 'SQS.SendMessage') {
        if (state.sqsDelayMs > 0) {
          await new Promise((done) => setTimeout(done, state.sqsDelayMs));
        }
        const body = String(input.MessageBody ?? '');
        const attributes = input.MessageAttributes as Record<string, SqsAttribute> | undefined;
        reply(response, 200, {
          MessageId: randomUUID(),
          MD5OfMessageBody: createHash('md5').update(body, 'utf8').digest('hex'),
          ...(attributes && Object.keys(attributes).length > 0
            ? { MD5OfMessageAttributes: md5OfAttributes(attributes) }
            : {}),
        });
        return;
      }
      reply(response, 400, {
        __type: 'UnknownOperationException',
        message: `not served: ${target}`,
      });
    })().catch((error: unknown) => {
      reply(response, 500, { __type: 'InternalServerError', message: String(error) });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    counts: () => ({ ...counts }),
    get sqsDelayMs() {
      return state.sqsDelayMs;
    },
    set sqsDelayMs(value: number) {
      state.sqsDelayMs = value;
    },
    size: () => [...tables.values()].reduce((sum, table) => sum + table.size, 0),
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** Difference of two count snapshots, by action, zeros dropped. */
export function diffCounts(after: CallCounts, before: CallCounts): CallCounts {
  const out: CallCounts = {};
  for (const [name, value] of Object.entries(after)) {
    const delta = value - (before[name] ?? 0);
    if (delta !== 0) out[name] = delta;
  }
  return out;
}
