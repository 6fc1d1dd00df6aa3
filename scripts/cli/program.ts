import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Env } from '../../functions/core/config.js';
import { type ProviderName, ProviderNames } from '../../functions/registry.js';
import { CliError, ExitCode } from './errors.js';
import type { Io } from './io.js';
import { redrive } from './redrive.js';
import { replay } from './replay.js';
import { parseProvider } from './samples/index.js';
import { SIGMA_PRODUCTS } from './samples/sigma.js';
import { send } from './send.js';
import { status } from './status.js';
import { tail } from './tail.js';
import { requireStore, resolveTarget, type Target, type TargetOptions } from './target.js';

export interface RunContext {
  readonly io: Io;
  readonly env?: Env;
  /** Stops `tail --follow` (Ctrl-C in a terminal). */
  readonly signal?: AbortSignal;
}

function wholeNumber(min: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    }
    return value;
  };
}

function ratio(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new InvalidArgumentError('expected a ratio from 0 up to (not including) 1, e.g. 0.2');
  }
  return value;
}

function providerList(text: string, previous: ProviderName[] | undefined): ProviderName[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const parsed = names.map((name) => {
    try {
      return parseProvider(name);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  });
  return [...(previous ?? []), ...parsed];
}

function withTargetOptions(command: Command, urlTarget: boolean): Command {
  if (urlTarget) {
    command.option(
      '--target <local|URL>',
      'where to send: "local" (.local/endpoints.json) or the base URL of an ingress',
      'local',
    );
  }
  return command
    .option('--endpoints <file>', 'local endpoints file (default: .local/endpoints.json)')
    .option('--stack <name>', 'a deployed stack: read its CloudFormation outputs')
    .option('--region <region>', 'AWS region of the stack (default: AWS_REGION / profile)')
    .option('--profile <profile>', 'AWS named profile for the stack')
    .option('--env-file <file>', 'KEY=VALUE file with provider secrets for a deployed target');
}

function targetOptions(options: Record<string, unknown>): TargetOptions {
  return {
    target: options.target as string | undefined,
    endpoints: options.endpoints as string | undefined,
    stack: options.stack as string | undefined,
    region: options.region as string | undefined,
    profile: options.profile as string | undefined,
    envFile: options.envFile as string | undefined,
  };
}

/** Builds the CLI; every action records its exit code in `result`. */
export function buildProgram(context: RunContext, result: { code: number }): Command {
  const { io } = context;
  const env = context.env ?? process.env;
  const program = new Command('webhook-ingress')
    .description(
      'Operator CLI for the webhook ingress: send signed sample deliveries, tail the\n' +
        'provider queues, redrive dead letters, replay recorded events, show status.\n' +
        'Works against the local ingress (npm start) or a deployed stack (--stack).',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    });

  async function withTarget<T>(
    options: Record<string, unknown>,
    body: (target: Target) => Promise<T>,
  ): Promise<T> {
    const target = await resolveTarget(targetOptions(options), env);
    try {
      return await body(target);
    } finally {
      target.close();
    }
  }

  withTargetOptions(
    program
      .command('send')
      .description(
        'Sign and POST sample deliveries as the provider would; print per-status counts.\n' +
          'Exits 1 if any answer differs from what the flags predict.',
      )
      .argument('<provider>', `one of ${ProviderNames.join(', ')}`)
      .addOption(new Option('--product <product>', 'Sigma product').choices([...SIGMA_PRODUCTS]))
      .option(
        '--topic <topic>',
        'event type: Sigmate x-sigmate-event, Sigma "event", Signifyd topic',
      )
      .addOption(
        new Option('--api-version <version>', 'Signifyd API: 2 (X-SIGNIFYD-*) or 3 (SIGNIFYD-*)')
          .choices(['2', '3'])
          .argParser((text) => Number(text) as 2 | 3),
      )
      .option('--checkpoint <name>', 'Signifyd v3 checkpoint header (default CHECKOUT)')
      .option('--file <payload.json>', 'send this file’s exact bytes instead of samples')
      .option('-n, --count <N>', 'deliveries to send', wholeNumber(1), 1)
      .option('-c, --concurrency <C>', 'requests in flight at once', wholeNumber(1), 8)
      .option('--duplicates <ratio>', 'share of deliveries that are redeliveries', ratio, 0)
      .option('--bad-signature', 'sign with a wrong secret: every answer must be 401')
      .option('--test-ping', 'Signifyd dashboard test (cases/test, key ABCDE): must be ignored')
      .option('--timeout <ms>', 'per-request timeout', wholeNumber(1), 10_000)
      .option('-v, --verbose', 'print every answer'),
    true,
  ).action(async (providerName: string, options: Record<string, unknown>) => {
    const provider = parseProvider(providerName);
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
          requestTimeoutMs: options.timeout as number,
        },
        io,
      );
      result.code = report.exitCode;
    });
  });

  withTargetOptions(
    program
      .command('tail')
      .description(
        'Show the envelopes on the provider queues, without consuming them unless --consume.\n' +
          'SQS has no peek: each look adds 1 to a message’s receive count.',
      )
      .option('-p, --provider <names>', 'provider(s), comma-separated (default: all)', providerList)
      .option('--dlq', 'read the dead-letter queues instead')
      .option('--consume', 'delete the messages shown')
      .option('-f, --follow', 'keep waiting for new messages (Ctrl-C to stop)')
      .option('--oneline', 'one line per event')
      .option('--json', 'each envelope as raw JSON, one per line')
      .option('--max <N>', 'stop after N messages', wholeNumber(1))
      .option(
        '--wait <seconds>',
        'long-poll seconds per receive (default 0 local, 1 AWS)',
        wholeNumber(0),
      )
      .option('--for <seconds>', 'with --follow: stop after this long', wholeNumber(1)),
    false,
  ).action(async (options: Record<string, unknown>) => {
    await withTarget(options, async (target) => {
      const store = requireStore(target, 'tail');
      await tail(
        store,
        {
          providers: (options.provider as ProviderName[] | undefined) ?? [...ProviderNames],
          deadLetter: options.dlq === true,
          consume: options.consume === true,
          follow: options.follow === true,
          format: options.json ? 'json' : options.oneline ? 'oneline' : 'pretty',
          max: options.max as number | undefined,
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
      .command('redrive')
      .description('Move messages from a provider’s dead-letter queue back to its queue.')
      .argument('<provider>', `one of ${ProviderNames.join(', ')}`)
      .option('--dry-run', 'list and count what would move; move nothing')
      .option('--max <N>', 'move at most N messages', wholeNumber(1))
      .option(
        '--wait <seconds>',
        'long-poll seconds per receive (default 0 local, 1 AWS)',
        wholeNumber(0),
      ),
    false,
  ).action(async (providerName: string, options: Record<string, unknown>) => {
    const provider = parseProvider(providerName);
    await withTarget(options, (target) =>
      redrive(
        requireStore(target, 'redrive'),
        {
          provider,
          dryRun: options.dryRun === true,
          max: options.max as number | undefined,
          waitSeconds: options.wait as number | undefined,
        },
        io,
      ),
    );
  });

  withTargetOptions(
    program
      .command('replay')
      .description(
        'Re-enqueue events the ingress recorded (envelope storage on) within its retention,\n' +
          'marked "replay": true, keeping id and idempotencyKey.',
      )
      .argument('<provider>', `one of ${ProviderNames.join(', ')}`)
      .option('--since <time>', 'ISO-8601 time or a duration ago (15m, 2h, 3d)')
      .option('--until <time>', 'ISO-8601 time or a duration ago (default: now)')
      .option('--key <idempotencyKey>', 'only this event (a direct read, no scan)')
      .option('--dry-run', 'count what would be replayed; send nothing'),
    false,
  ).action(async (providerName: string, options: Record<string, unknown>) => {
    const provider = parseProvider(providerName);
    await withTarget(options, (target) =>
      replay(
        requireStore(target, 'replay'),
        {
          provider,
          since: options.since as string | undefined,
          until: options.until as string | undefined,
          key: options.key as string | undefined,
          dryRun: options.dryRun === true,
        },
        io,
      ),
    );
  });

  withTargetOptions(
    program
      .command('status')
      .description('Endpoints, queue depths (visible, in flight, DLQ) and the table’s item count.')
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
      context.io.err(`webhook-ingress: ${error.message}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    context.io.err(`webhook-ingress: unexpected failure: ${message}`);
    return ExitCode.Unavailable;
  }
}
