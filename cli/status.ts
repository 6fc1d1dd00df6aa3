import { DescribeTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CliError, fromAwsError } from './errors.js';
import type { Io } from './io.js';
import { type QueueDepth, queueDepth } from './queue.js';
import { queuesOf, routePaths, type StoreTarget } from './target.js';

export interface StatusReport {
  readonly target: string;
  readonly routes: Record<string, string>;
  readonly queues: Record<string, { queue: QueueDepth; deadLetterQueue: QueueDepth }>;
  readonly table: { name: string; items: number; exact: boolean };
  /** Local only: the answers the ingress gave since npm start (GET /health), or why not. */
  readonly answers?: Record<string, Record<string, number>> | { unavailable: string } | undefined;
}

async function localAnswers(
  target: StoreTarget,
): Promise<Record<string, Record<string, number>> | { unavailable: string }> {
  const url = target.urlFor('/health');
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { answers?: Record<string, Record<string, number>> };
    if (!response.ok || !body.answers) return { unavailable: `${url} answered ${response.status}` };
    return body.answers;
  } catch {
    return { unavailable: `no answer from ${url} (is npm start running?)` };
  }
}

export interface StatusOptions {
  /** Count the table's items with a scan (the default locally); else DescribeTable's estimate. */
  readonly exact?: boolean | undefined;
  readonly json?: boolean | undefined;
}

/** `status`: the endpoints, each queue's depth (visible, in flight, DLQ) and the table's size. */
export async function status(
  target: StoreTarget,
  options: StatusOptions,
  io: Io,
): Promise<StatusReport> {
  const { dynamodb, sqs } = target.clients();
  const routes: Record<string, string> = {};
  const providers = Object.keys(target.providers);
  for (const path of routePaths(Object.values(target.providers))) {
    try {
      routes[path] = target.urlFor(path);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      routes[path] = '(no output)';
    }
  }
  const exact = options.exact ?? target.kind === 'local';
  let queues: StatusReport['queues'];
  let items = 0;
  try {
    const entries = await Promise.all(
      providers.map(async (provider) => {
        const urls = queuesOf(target, provider);
        const depths = {
          queue: await queueDepth(sqs, urls.queue),
          deadLetterQueue: await queueDepth(sqs, urls.deadLetterQueue),
        };
        return [provider, depths] as const;
      }),
    );
    queues = Object.fromEntries(entries);
    if (exact) {
      let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
      do {
        const page = await dynamodb.send(
          new ScanCommand({
            TableName: target.table,
            Select: 'COUNT',
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        items += page.Count ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } else {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: target.table }));
      items = Table?.ItemCount ?? 0;
    }
  } catch (error) {
    throw fromAwsError(error, `reading the status of ${target.description}`);
  }
  const answers = target.kind === 'local' ? await localAnswers(target) : undefined;
  const report: StatusReport = {
    target: target.description,
    routes,
    queues,
    table: { name: target.table, items, exact },
    ...(answers ? { answers } : {}),
  };
  if (options.json) {
    io.out(JSON.stringify(report, null, 2));
    return report;
  }
  io.out(`target  ${target.description}`);
  io.out('');
  io.out('endpoints');
  for (const [path, url] of Object.entries(routes))
    io.out(`  POST ${url}${url.endsWith(path) ? '' : `  (${path})`}`);
  io.out('');
  // A column as wide as the longest provider name (a declared name has up to 32 characters).
  const width = Math.max(8, ...providers.map((provider) => provider.length));
  const columns = ['visible', 'in flight', 'delayed', 'DLQ', 'DLQ held'];
  io.out(`${'queues'.padEnd(width + 2)}${columns.map((title) => title.padStart(10)).join('')}`);
  for (const [provider, { queue, deadLetterQueue }] of Object.entries(queues)) {
    const cells = [
      queue.visible,
      queue.inFlight,
      queue.delayed,
      deadLetterQueue.visible,
      deadLetterQueue.inFlight,
    ];
    io.out(`  ${provider.padEnd(width)}${cells.map((cell) => String(cell).padStart(10)).join('')}`);
  }
  io.out('');
  io.out(
    `table   ${target.table}: ${items} item(s)${exact ? '' : ' (DescribeTable estimate, refreshed about every 6 hours; --exact scans)'}`,
  );
  if (answers) {
    io.out('');
    if ('unavailable' in answers) io.out(`answers   ${answers.unavailable}`);
    else {
      io.out('answers since npm start (the local stand-in for the dashboard’s outcome metrics)');
      const rows = Object.entries(answers).flatMap(([provider, byLabel]) =>
        Object.entries(byLabel).map(
          ([label, count]) => `  ${provider.padEnd(width)}  ${label.padEnd(26)} ${count}`,
        ),
      );
      for (const row of rows.length > 0 ? rows : ['  (none yet)']) io.out(row);
    }
  } else {
    io.out('');
    io.out(
      `metrics   the dashboard webhook-ingress-<stage> in CloudWatch (namespace WebhookIngress)`,
    );
  }
  return report;
}
