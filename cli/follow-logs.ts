import { CliError, fromAwsError, UsageError } from './errors.js';
import type { ShownMessage } from './format.js';
import { type Io, showLine } from './io.js';

/**
 * The one log line each webhook request writes (Powertools Logger, message
 * `webhook`), accepted events only. CloudWatch Logs filters it server-side, so a
 * follow reads a few bytes per event and never touches the queue.
 */
export const ACCEPTED_FILTER_PATTERN = '{ $.message = "webhook" && $.outcome = "accepted" }';

/** A page of log events, as CloudWatch Logs FilterLogEvents answers. */
export interface LogEventsPage {
  readonly events: readonly { eventId?: string; timestamp?: number; message?: string }[];
  readonly nextToken?: string | undefined;
}

/** The one CloudWatch Logs call a follow needs; the SDK client's `FilterLogEvents`. */
export type FilterLogEvents = (input: {
  logGroupName: string;
  filterPattern: string;
  startTime: number;
  nextToken?: string | undefined;
}) => Promise<LogEventsPage>;

interface WebhookLine {
  provider?: string;
  type?: string;
  key?: string;
  subject?: string;
  id?: string;
  messageId?: string;
}

function parseLine(message: string | undefined): WebhookLine | undefined {
  try {
    const value: unknown = JSON.parse(message ?? '');
    return typeof value === 'object' && value !== null ? (value as WebhookLine) : undefined;
  } catch {
    return undefined;
  }
}

export interface FollowLogsOptions {
  readonly providers: readonly string[];
  readonly format: 'pretty' | 'oneline' | 'json';
  readonly max?: number | undefined;
  readonly durationMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly clock?: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly pollMs?: number;
  readonly render: (format: 'pretty' | 'oneline' | 'json', message: ShownMessage) => string;
}

/**
 * `tail --follow` on a stack: polls FilterLogEvents on each function's log group
 * for accepted events since it started, and shows each once: the log line's facts. It
 * reads nothing else — the envelope is in the audit archive, a minute or two later.
 */
export async function followLogs(
  groups: Record<string, string>,
  filter: FilterLogEvents,
  options: FollowLogsOptions,
  io: Io,
): Promise<{ shown: number; perProvider: Record<string, number>; outputClosed: boolean }> {
  const clock = options.clock ?? Date.now;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const deadline = clock() + (options.durationMs ?? Number.POSITIVE_INFINITY);
  const startTime = clock();
  const seen = new Set<string>();
  const perProvider: Record<string, number> = {};
  let shown = 0;
  let outputClosed = false;
  io.err(
    `following ${options.providers.join(', ')}: accepted events from the functions’ logs (Ctrl-C to stop)`,
  );
  try {
    while (!options.signal?.aborted && clock() < deadline && shown < max && !outputClosed) {
      for (const provider of options.providers) {
        const logGroupName = groups[provider];
        if (!logGroupName) continue;
        let nextToken: string | undefined;
        do {
          const page = await filter({
            logGroupName,
            filterPattern: ACCEPTED_FILTER_PATTERN,
            startTime,
            nextToken,
          });
          nextToken = page.nextToken;
          for (const event of page.events) {
            if (shown >= max || outputClosed) break;
            const id = event.eventId ?? `${event.timestamp}:${event.message}`;
            if (seen.has(id)) continue;
            seen.add(id);
            const line = parseLine(event.message);
            if (!line) continue;
            const message = messageFor(line, event.message ?? '', event.timestamp);
            if (!(await showLine(io, options.render(options.format, message)))) {
              outputClosed = true;
              break;
            }
            shown += 1;
            perProvider[provider] = (perProvider[provider] ?? 0) + 1;
          }
        } while (nextToken && !outputClosed && shown < max);
      }
      if (shown < max && !outputClosed)
        await options.sleep(options.pollMs ?? 2_000, options.signal);
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw fromAwsError(error, 'reading the functions’ logs');
  }
  if (!outputClosed) io.err(`${shown} event(s) shown; nothing was received from the queues`);
  return { shown, perProvider, outputClosed };
}

/**
 * The log line as an envelope-shaped summary (its facts, then the line itself). The line
 * has no time of its own: CloudWatch's event time is when the function wrote it.
 */
function messageFor(line: WebhookLine, raw: string, timestamp: number | undefined): ShownMessage {
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // parseLine already refused anything that is not JSON.
  }
  return {
    messageId: line.messageId ?? '',
    receiveCount: 0,
    body: JSON.stringify({
      provider: line.provider,
      type: line.type,
      id: line.id,
      idempotencyKey: line.key,
      receivedAt: timestamp === undefined ? undefined : new Date(timestamp).toISOString(),
      ...(line.subject ? { subject: line.subject } : {}),
      ...(line.messageId ? { messageId: line.messageId } : {}),
      shown: 'the function’s log line (the envelope itself is in the audit archive)',
      log: parsed,
    }),
  };
}

/**
 * FilterLogEvents through `@aws-sdk/client-cloudwatch-logs` when it is installed.
 * It is not a dependency of this project yet, so it is loaded by name at run time.
 */
export async function cloudWatchLogsFilter(
  region: string | undefined,
  profile: string | undefined,
  groups: Record<string, string>,
): Promise<{ filter: FilterLogEvents; close: () => void }> {
  const name = '@aws-sdk/client-cloudwatch-logs';
  let module: {
    CloudWatchLogsClient: new (
      config: object,
    ) => {
      send(command: unknown): Promise<LogEventsPage>;
      destroy(): void;
    };
    FilterLogEventsCommand: new (input: object) => unknown;
  };
  try {
    module = (await import(name)) as typeof module;
  } catch {
    const commands = Object.values(groups)
      .map(
        (group) => `aws logs tail ${group} --follow --filter-pattern '${ACCEPTED_FILTER_PATTERN}'`,
      )
      .join(' ; ');
    throw new UsageError(
      `tail --follow on a stack reads the functions' logs and needs ${name}, not installed here (npm install -D ${name}); meanwhile, with the AWS CLI: ${commands}`,
    );
  }
  const client = new module.CloudWatchLogsClient({
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
  });
  return {
    filter: (input) => client.send(new module.FilterLogEventsCommand(input)),
    close: () => client.destroy(),
  };
}
