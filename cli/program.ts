import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Env } from '../functions/core/config.js';
import { CliError, CredentialsError, ExitCode, UsageError } from './errors.js';
import { find } from './find.js';
import { oneLineErrors, ratio, wholeNumber } from './flags.js';
import { printable } from './format.js';
import { escapedMessages, type Io } from './io.js';
import { providerNameArgument, servedProvider } from './providers.js';
import { redrive } from './redrive.js';
import { replay } from './replay.js';
import { SIGMA_PRODUCTS } from './samples/sigma.js';
import { send } from './send.js';
import { status } from './status.js';
import { TAIL_MAX_LIMIT, tail } from './tail.js';
import {
  PROJECT_ROOT,
  requireStore,
  resolveTarget,
  type Target,
  type TargetOptions,
} from './target.js';

/** The package's version, for `--version`. */
export const VERSION = (
  JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

export interface RunContext {
  readonly io: Io;
  readonly env?: Env;
  /** Stops `tail --follow` (Ctrl-C in a terminal). */
  readonly signal?: AbortSignal;
}

function matching(pattern: RegExp, what: string) {
  return (text: string): string => {
    if (!pattern.test(text)) throw new InvalidArgumentError(`expected ${what}`);
    return text;
  };
}

const stackName = matching(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name');
const regionName = matching(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as eu-west-1');
const nonEmpty = matching(/\S/, 'a value');

/** What a `<provider>` argument is: checked against the target's providers once it is read. */
const PROVIDER_ARGUMENT =
  'a provider the target serves: sigma, sigmate, signifyd or a declared one';

function providerList(text: string, previous: string[] | undefined): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new InvalidArgumentError('expected provider names, comma-separated');
  const parsed = names.map((name) => {
    try {
      return providerNameArgument(name);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  });
  // Each provider once, in the order given.
  return [...new Set([...(previous ?? []), ...parsed])];
}

function withTargetOptions(command: Command, urlTarget: boolean): Command {
  if (urlTarget) {
    command.option(
      '--target <local|URL>',
      'where to send: "local" (.local/endpoints.json) or an ingress base URL (https://; http:// only to loopback); redirects are never followed',
      'local',
    );
  }
  return command
    .option('--endpoints <file>', 'local endpoints file (default: .local/endpoints.json)', nonEmpty)
    .option('--stack <name>', 'a deployed stack: read its CloudFormation outputs', stackName)
    .option(
      '--ingress <path>',
      'with --stack: which WebhookIngress, when the stack holds several (its construct id or path)',
      nonEmpty,
    )
    .option(
      '--region <region>',
      'AWS region of the stack (default: AWS_REGION / profile)',
      regionName,
    )
    .option('--profile <profile>', 'AWS named profile for the stack', nonEmpty)
    .option(
      '--secrets-file <file>',
      'KEY=VALUE file with provider secrets for a deployed target',
      nonEmpty,
    )
    .addOption(new Option('--env-file <file>').hideHelp())
    .option('-y, --yes', 'do it without asking (needed when stdin is not a terminal)');
}

/** Node reads `--env-file` itself, before the CLI does: the CLI's flag is `--secrets-file`. */
function refuseEnvFile(options: Record<string, unknown>): void {
  if (options.envFile !== undefined) {
    throw new UsageError(
      '--env-file is Node’s own flag (Node reads the file before the CLI does): use --secrets-file FILE',
    );
  }
}

function targetOptions(options: Record<string, unknown>): TargetOptions {
  return {
    target: options.target as string | undefined,
    endpoints: options.endpoints as string | undefined,
    stack: options.stack as string | undefined,
    ingress: options.ingress as string | undefined,
    region: options.region as string | undefined,
    profile: options.profile as string | undefined,
    secretsFile: options.secretsFile as string | undefined,
  };
}

/** Builds the CLI; every action records its exit code in `result`. */
export function buildProgram(context: RunContext, result: { code: number }): Command {
  // Commands' messages quote archive keys, provider identifiers and AWS errors: escaped.
  const io = escapedMessages(context.io);
  const env = context.env ?? process.env;
  const program = new Command('webhook-ingress')
    .description(
      'Operator CLI for the webhook ingress: send signed sample deliveries, tail the\n' +
        'provider queues, find an event, redrive dead letters, replay archived events,\n' +
        'show status.\n' +
        'Works against the local ingress (npm start) or a deployed stack (--stack).',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      // Commander's own text (help on several lines) is the CLI's, not a provider's.
      writeOut: (text) => context.io.out(text.replace(/\n$/, '')),
      writeErr: (text) => context.io.err(text.replace(/\n$/, '')),
      ...oneLineErrors('webhook-ingress'),
    });

  async function withTarget<T>(
    options: Record<string, unknown>,
    body: (target: Target) => Promise<T>,
  ): Promise<T> {
    refuseEnvFile(options);
    let target: Target | undefined;
    try {
      target = await resolveTarget(targetOptions(options), env);
      return await body(target);
    } catch (error) {
      if (error instanceof CredentialsError && options.stack !== undefined) {
        const profile = options.profile as string | undefined;
        throw new CredentialsError(
          `${error.message} (${profile ? `profile "${profile}": aws sso login --profile ${profile}, or check ~/.aws/config` : 'no --profile: AWS_PROFILE, the environment or ~/.aws are used'})`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      target?.close();
    }
  }

  /** Asks before a destructive or production-touching action; `--yes` answers for the operator. */
  async function confirm(options: Record<string, unknown>, action: string): Promise<void> {
    if (options.yes === true) return;
    if (!io.ask) {
      throw new UsageError(
        `refusing to ${action} without confirmation: stdin is not a terminal (pass --yes)`,
      );
    }
    const answer = (await io.ask(`${action}? [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      throw new CliError(`not confirmed: nothing was done`, ExitCode.Unexpected);
    }
  }

  withTargetOptions(
    program
      .command('send')
      .summary('sign and POST sample deliveries as the provider would')
      .description(
        'Sign and POST sample deliveries as the provider would, by its scheme; print\n' +
          'per-status counts. A scheme with a timestamp signs each delivery when it is sent.\n' +
          'Exits 1 if any answer differs from what the flags predict. Sample bodies carry\n' +
          '"synthetic": true; a deployed target asks first (--yes).',
      )
      .argument('<provider>', PROVIDER_ARGUMENT)
      .addOption(new Option('--product <product>', 'Sigma product').choices([...SIGMA_PRODUCTS]))
      .option(
        '--topic <topic>',
        'event type: Sigmate x-sigmate-event, Sigma "event", Signifyd topic, GitHub event (push, ping…), Shopify topic, Stripe or Standard Webhooks body "type", an hmac provider\'s type',
        nonEmpty,
      )
      .addOption(
        new Option('--api-version <version>', 'Signifyd API: 2 (X-SIGNIFYD-*) or 3 (SIGNIFYD-*)')
          .choices(['2', '3'])
          .argParser((text) => Number(text) as 2 | 3),
      )
      .option('--checkpoint <name>', 'Signifyd v3 checkpoint header (default CHECKOUT)', nonEmpty)
      .option('--file <payload.json>', 'send this file’s exact bytes instead of samples', nonEmpty)
      .option('-n, --count <N>', 'deliveries to send', wholeNumber(1, 1_000_000), 1)
      .option('-c, --concurrency <C>', 'requests in flight at once', wholeNumber(1, 256), 8)
      .option('--duplicates <ratio>', 'share of deliveries that are redeliveries', ratio, 0)
      .option('--bad-signature', 'sign with a wrong secret: every answer must be 401')
      .option('--test-ping', 'Signifyd dashboard test (cases/test, key ABCDE): must be ignored')
      .option('--timeout <ms>', 'per-request timeout', wholeNumber(1, 120_000), 10_000)
      .option('--json', 'the report as one JSON object on stdout')
      .option('-v, --verbose', 'print every answer'),
    true,
  ).action(async (providerName: string, options: Record<string, unknown>) => {
    const provider = providerNameArgument(providerName);
    await withTarget(options, async (target) => {
      const report = await send(
        target,
        {
          provider,
          product: options.product as string | undefined,
          topic: options.topic as string | undefined,
          apiVersion: options.apiVersion as 2 | 3 | undefined,
          checkpoint: options.checkpoint as string | undefined,
          file: options.file as string | undefined,
          count: options.count as number,
          concurrency: options.concurrency as number,
          duplicates: options.duplicates as number,
          badSignature: options.badSignature === true,
          testPing: options.testPing === true,
          verbose: options.verbose === true,
          json: options.json === true,
          requestTimeoutMs: options.timeout as number,
          ...(target.kind === 'local'
            ? {}
            : {
                confirm: (url: string) => {
                  const count = options.count as number;
                  return confirm(
                    options,
                    `send ${count} signed ${provider} deliver${count === 1 ? 'y' : 'ies'} to ${url} (${target.description})`,
                  );
                },
              }),
        },
        io,
      );
      result.code = report.exitCode;
    });
  });

  withTargetOptions(
    program
      .command('tail')
      .summary('show the envelopes on the queues, safely (--follow: new events)')
      .description(
        'Show the envelopes on the provider queues. SQS has no peek: a look is a receive,\n' +
          'which the redrive policy counts. A look holds messages 5 s at most, shows at\n' +
          `most --max (default 10, up to ${TAIL_MAX_LIMIT}) and never takes a message's last 2\n` +
          'receives: where a receive could, it shows the newest events the ingress accepted\n' +
          'instead. --follow never receives: it shows events as the ingress records them.',
      )
      .option('-p, --provider <names>', 'provider(s), comma-separated (default: all)', providerList)
      .option('--dlq', 'read the dead-letter queues instead')
      .option('--consume', 'delete the messages shown (asks first; --yes)')
      .option('-f, --follow', 'show new events as they are accepted (Ctrl-C to stop)')
      .option('--oneline', 'one line per event')
      .option('--json', 'each envelope as raw JSON, one per line')
      .option('--max <N>', 'stop after N messages', wholeNumber(1))
      .option(
        '--wait <seconds>',
        'long-poll seconds per receive (default 0 local, 1 AWS)',
        wholeNumber(0, 20),
      )
      .option('--for <seconds>', 'with --follow: stop after this long', wholeNumber(1)),
    false,
  ).action(async (options: Record<string, unknown>) => {
    if (options.oneline && options.json)
      throw new UsageError('--oneline and --json exclude each other');
    if (options.for !== undefined && !options.follow) throw new UsageError('--for needs --follow');
    if (options.follow && options.dlq && !options.consume) {
      throw new UsageError(
        '--follow shows events as they are accepted; dead letters come from consumers: run tail --dlq again',
      );
    }
    const max = options.max as number | undefined;
    if (options.consume && io.outputIsPipe && max === undefined) {
      throw new UsageError(
        'tail --consume into a pipe or a file needs --max N: it deletes each message it writes, and a reader that stops early (| head) has not read what its pipe still holds',
      );
    }
    if (!options.follow && max !== undefined && max > TAIL_MAX_LIMIT) {
      throw new UsageError(
        `--max is at most ${TAIL_MAX_LIMIT} without --follow: a longer look would hold messages past 5 s`,
      );
    }
    await withTarget(options, async (target) => {
      const store = requireStore(target, 'tail');
      const providers = (options.provider as string[] | undefined) ?? Object.keys(store.providers);
      for (const provider of providers) servedProvider(store.providers, provider);
      if (options.consume) {
        await confirm(
          options,
          `delete the messages shown from the ${providers.join(', ')} ${options.dlq ? 'dead-letter queue' : 'queue'}${providers.length > 1 ? 's' : ''} (${store.description})`,
        );
      }
      await tail(
        store,
        {
          providers,
          deadLetter: options.dlq === true,
          consume: options.consume === true,
          follow: options.follow === true,
          format: options.json ? 'json' : options.oneline ? 'oneline' : 'pretty',
          max,
          waitSeconds: options.wait as number | undefined,
          durationMs: options.for === undefined ? undefined : (options.for as number) * 1000,
          signal: context.signal,
        },
        io,
      );
    });
  });

  withTargetOptions(
    program
      .command('find')
      .summary('did an event arrive, when, and where is it now?')
      .description(
        'Did an event arrive, when, with which envelope id, and where is it now?\n' +
          'By idempotency key, envelope id or the provider’s own identifier (its subject:\n' +
          'Sigma data.transaction_id and the like, Sigmate id, Signifyd caseId/signifydId/orderId,\n' +
          'Stripe data.object.id, Standard Webhooks data.id, Shopify admin_graphql_api_id).\n' +
          'No idempotency record (expired after 7 days)? The audit archive is searched over\n' +
          '--since/--until, the last 30 days by default.',
      )
      .argument('<provider>', PROVIDER_ARGUMENT)
      .argument('<id>', 'idempotency key, envelope id or subject')
      .option('--search-queue', 'also look through the main queue (a receive, bounded as tail is)')
      .option(
        '--since <time>',
        'no record in the table: search the archive from then (default: 30 days before --until)',
        nonEmpty,
      )
      .option(
        '--until <time>',
        'no record in the table: search the archive until then (default: now)',
        nonEmpty,
      )
      .option('--max <N>', 'messages to look through per queue', wholeNumber(1, 10_000), 1_000)
      .option('--json', 'machine-readable output'),
    false,
  ).action(async (providerName: string, id: string, options: Record<string, unknown>) => {
    const provider = providerNameArgument(providerName);
    if (!id.trim()) throw new UsageError('find needs an identifier');
    await withTarget(options, async (target) => {
      servedProvider(target.providers, provider);
      const report = await find(
        requireStore(target, 'find'),
        {
          provider,
          id,
          searchQueue: options.searchQueue === true,
          searchMax: options.max as number,
          json: options.json === true,
          since: options.since as string | undefined,
          until: options.until as string | undefined,
          signal: context.signal,
        },
        io,
      );
      result.code = report.exitCode;
    });
  });

  withTargetOptions(
    program
      .command('redrive')
      .summary('move dead letters back to their queue')
      .description(
        'Move messages from a provider’s dead-letter queue back to its queue (asks first; --yes).',
      )
      .argument('<provider>', PROVIDER_ARGUMENT)
      .option('--dry-run', 'list and count what would move; move nothing')
      .option('--max <N>', 'move at most N messages', wholeNumber(1))
      .option(
        '--wait <seconds>',
        'long-poll seconds per receive (default 0 local, 1 AWS)',
        wholeNumber(0, 20),
      ),
    false,
  ).action(async (providerName: string, options: Record<string, unknown>) => {
    const provider = providerNameArgument(providerName);
    await withTarget(options, async (target) => {
      servedProvider(target.providers, provider);
      const store = requireStore(target, 'redrive');
      if (options.dryRun !== true) {
        await confirm(
          options,
          `move ${options.max === undefined ? 'every message' : `up to ${options.max} message(s)`} from the ${provider} dead-letter queue back to its queue (${store.description})`,
        );
      }
      const report = await redrive(
        store,
        {
          provider,
          dryRun: options.dryRun === true,
          max: options.max as number | undefined,
          waitSeconds: options.wait as number | undefined,
          signal: context.signal,
        },
        io,
      );
      const short = options.dryRun !== true && report.moved < report.found;
      if (report.failed > 0 || short) result.code = ExitCode.Unexpected;
      if (report.unknown > 0) result.code = ExitCode.Ambiguous;
    });
  });

  withTargetOptions(
    program
      .command('replay')
      .summary('re-enqueue archived events, marked replay')
      .description(
        'Re-enqueue acknowledged events from the audit archive (S3), one per idempotency key\n' +
          '(the attempt the idempotency record named), marked "replay": true, keeping id and\n' +
          'idempotencyKey. Deliveries never acknowledged (answered 503 until the provider gave\n' +
          'up) only with --include-unacknowledged, marked "acknowledged": false. Reads only the\n' +
          'day partitions the selection needs. A stack asks first (--yes). Exits 1 when nothing\n' +
          'matched or an event was not replayed.',
      )
      .argument('<provider>', PROVIDER_ARGUMENT)
      .option(
        '--since <time>',
        'ISO-8601 time (UTC unless it has an offset) or a duration ago (15m, 2h, 3d)',
        nonEmpty,
      )
      .option('--until <time>', 'ISO-8601 time or a duration ago (default: now)', nonEmpty)
      .option(
        '--key <idempotencyKey>',
        'only this event; alone, its idempotency record (one read) gives the day to read',
        nonEmpty,
      )
      .option(
        '--subject <id>',
        'only events about this provider identifier (needs --since)',
        nonEmpty,
      )
      .option(
        '--include-unacknowledged',
        'also recover events no attempt of which was acknowledged (the provider gave up), marked "acknowledged": false',
      )
      .option('--dry-run', 'list what would be replayed; send nothing'),
    false,
  ).action(async (providerName: string, options: Record<string, unknown>) => {
    const provider = providerNameArgument(providerName);
    await withTarget(options, async (target) => {
      servedProvider(target.providers, provider);
      const store = requireStore(target, 'replay');
      // Without a terminal to ask and without --yes, refuse before reading the archive.
      if (store.kind !== 'local' && options.dryRun !== true && options.yes !== true && !io.ask) {
        throw new UsageError(
          `refusing to replay onto the ${provider} queue (${store.description}) without confirmation: stdin is not a terminal (pass --yes)`,
        );
      }
      const report = await replay(
        store,
        {
          provider,
          since: options.since as string | undefined,
          until: options.until as string | undefined,
          key: options.key as string | undefined,
          subject: options.subject as string | undefined,
          dryRun: options.dryRun === true,
          includeUnacknowledged: options.includeUnacknowledged === true,
          signal: context.signal,
          ...(store.kind === 'local'
            ? {}
            : {
                confirm: (count: number) =>
                  confirm(
                    options,
                    `replay ${count} ${provider} event(s) onto the queue (${store.description})`,
                  ),
              }),
        },
        io,
      );
      result.code = report.exitCode;
    });
  });

  withTargetOptions(
    program
      .command('status')
      .summary('endpoints, queue depths, table size, local answer counts')
      .description(
        'Endpoints, queue depths (visible, in flight, DLQ), the table’s item count, and\n' +
          'locally the answers the ingress gave since npm start.',
      )
      .option('--exact', 'count table items with a scan (default locally)')
      .option('--json', 'machine-readable output'),
    false,
  ).action(async (options: Record<string, unknown>) => {
    await withTarget(options, (target) =>
      status(
        requireStore(target, 'status'),
        { exact: options.exact as boolean | undefined, json: options.json === true },
        io,
      ),
    );
  });

  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function run(argv: readonly string[], context: RunContext): Promise<number> {
  const result = { code: ExitCode.Ok as number };
  const program = buildProgram(context, result);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; everything else commander refuses is a usage error.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (error instanceof CliError) {
      context.io.err(printable(`webhook-ingress: ${error.message}`));
      return error.exitCode;
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    context.io.err(
      printable(
        `webhook-ingress: unexpected failure: ${message.split('\n')[0]} (a bug: please report it with the command you ran)`,
      ),
    );
    return ExitCode.Unavailable;
  }
}
