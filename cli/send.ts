import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAmbiguousFailure } from '../functions/core/aws.js';
import { CliError, ExitCode, UnavailableError, UsageError } from './errors.js';
import { jsonForTerminal, printable } from './format.js';
import { type Io, progressBar } from './io.js';
import { servedProvider } from './providers.js';
import { uuidOf } from './samples/declared.js';
import {
  type Delivery,
  type SampleOptions,
  type SigningOptions,
  samplerFor,
} from './samples/index.js';
import { requireSafeTransport, type Target } from './target.js';

export interface SendOptions {
  /** A provider the target serves, by name. */
  readonly provider: string;
  readonly product?: string | undefined;
  readonly topic?: string | undefined;
  readonly apiVersion?: 2 | 3 | undefined;
  readonly checkpoint?: string | undefined;
  /** Send this file's bytes instead of generated samples. */
  readonly file?: string | undefined;
  readonly count: number;
  readonly concurrency: number;
  /** Share of the deliveries that are redeliveries of an earlier one, 0 ≤ r < 1. */
  readonly duplicates: number;
  readonly badSignature?: boolean | undefined;
  readonly testPing?: boolean | undefined;
  /** Print every answer, not only the counts. */
  readonly verbose?: boolean | undefined;
  /** Print the report as one JSON object on stdout, and nothing else there. */
  readonly json?: boolean | undefined;
  /** Asked with the URL once every flag and secret checked out, before anything is sent. */
  readonly confirm?: ((url: string) => Promise<void>) | undefined;
  readonly requestTimeoutMs?: number | undefined;
  readonly now?: () => Date;
  readonly uuid?: () => string;
  /** Uniform in [0, 1): picks which events are redelivered. */
  readonly random?: () => number;
}

/** An answer the flags predict: status code and body `status` (any of several). */
export interface Expectation {
  readonly statusCode: number;
  readonly status: readonly string[];
}

export interface SendReport {
  readonly sent: number;
  /** Deliveries that got no answer (a timeout, a reset): not sent again. */
  readonly unknown: number;
  readonly unique: number;
  readonly redeliveries: number;
  /** `"200 accepted"` → how many. */
  readonly counts: Record<string, number>;
  readonly unexpected: number;
  /** Envelope ids of the events accepted in this run. */
  readonly acceptedIds: readonly string[];
  readonly exitCode: ExitCode;
}

interface Job {
  readonly index: number;
  /** The event's body: a redelivery sends its original's bytes. */
  readonly body: Buffer;
  /** Signs the delivery when it is sent (a scheme with a timestamp signs the time of sending). */
  readonly sign: () => Delivery;
  readonly expect: Expectation;
  /** For a redelivery: the original, whose answer's `id` it must repeat. */
  readonly original?: Job;
  answerId?: string;
}

interface Answer {
  readonly statusCode: number;
  readonly status: string;
  readonly id?: string | undefined;
  readonly text: string;
}

function isJsonObject(bytes: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Marks a sample body as the CLI's own: `"synthetic": true` as its last field, so
 * the envelope's payload tells a consumer (and `tail`) it is not the provider's.
 * A `--file` is sent as its exact bytes, unmarked.
 */
export function markSynthetic(body: string): string {
  const trimmed = body.trimEnd();
  if (!trimmed.endsWith('}')) return body;
  const inner = trimmed.slice(0, -1).trimEnd();
  return `${inner}${inner.endsWith('{') ? '' : ','}"synthetic":true}`;
}

/** What the flags say the ingress must answer. */
export function predict(
  options: Pick<SendOptions, 'badSignature' | 'testPing' | 'file'>,
  redelivery: boolean,
  validJson = true,
): Expectation {
  if (options.badSignature) return { statusCode: 401, status: ['rejected'] };
  if (!validJson) return { statusCode: 400, status: ['rejected'] };
  if (options.testPing) return { statusCode: 200, status: ['ignored'] };
  if (redelivery) return { statusCode: 200, status: ['duplicate'] };
  // A file's event may have been sent before this run.
  return { statusCode: 200, status: options.file ? ['accepted', 'duplicate'] : ['accepted'] };
}

/** A delivery that went out and got no answer: the ingress may have accepted it. */
class UnknownOutcome extends Error {
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options);
    this.name = 'UnknownOutcome';
  }
}

/**
 * The functions' classification ({@link isAmbiguousFailure}) of a failed `fetch`, plus
 * the two ways fetch fails before a request leaves: a port the Fetch standard blocks,
 * and a connection that never opened (undici's connect timeout).
 */
function sentWithoutAnswer(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause?.code === 'UND_ERR_CONNECT_TIMEOUT' || cause?.message === 'bad port') return false;
  return isAmbiguousFailure(cause ?? error);
}

async function post(url: string, delivery: Delivery, timeoutMs: number): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
      // A redirect would carry the signature (Sigma's is a constant credential) elsewhere.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (cause?.code ?? (error as Error).message);
    // Sent, and no answer (a timeout, a reset): the functions' rule — never sent again.
    if (sentWithoutAnswer(error)) throw new UnknownOutcome(reason, { cause: error });
    throw new UnavailableError(`could not reach ${url}: ${reason}`, { cause: error });
  }
  const text = await response.text();
  if (response.status >= 300 && response.status < 400) {
    const location = printable(response.headers.get('location') ?? '(no location)');
    return {
      statusCode: response.status,
      status: '(redirect)',
      text: `${response.status} redirect to ${location}: not followed (the signature is never sent on; point --target at the final URL)`,
    };
  }
  let status = '(not JSON)';
  let id: string | undefined;
  try {
    const body = JSON.parse(text) as { status?: unknown; id?: unknown };
    status = typeof body.status === 'string' ? body.status : '(no status)';
    id = typeof body.id === 'string' ? body.id : undefined;
  } catch {
    // Reported as `(not JSON)`, which no expectation matches.
  }
  return { statusCode: response.status, status, id, text };
}

function matches(job: Job, answer: Answer): boolean {
  if (answer.statusCode !== job.expect.statusCode) return false;
  if (!job.expect.status.includes(answer.status)) return false;
  // A redelivery must point at the envelope its original was given.
  const firstId = job.original?.answerId;
  if (answer.status === 'duplicate' && firstId !== undefined && answer.id !== firstId) return false;
  return true;
}

/**
 * `send`: plays the provider — builds realistic deliveries, signs them as the
 * provider does, posts them with bounded concurrency, and compares every answer
 * with what the flags predict. Redeliveries go out only after their original was
 * answered, as a provider's retries do, so each must be answered `duplicate`.
 */
export async function send(target: Target, options: SendOptions, io: Io): Promise<SendReport> {
  const declaration = servedProvider(target.providers, options.provider);
  const sampler = samplerFor(declaration);
  const signing: SigningOptions = {
    badSignature: options.badSignature,
    testPing: options.testPing,
  };
  if (!Number.isSafeInteger(options.count) || options.count < 1) {
    throw new UsageError('--count must be a whole number of at least 1');
  }
  if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) {
    throw new UsageError('--concurrency must be a whole number of at least 1');
  }
  if (!(options.duplicates >= 0 && options.duplicates < 1)) {
    throw new UsageError('--duplicates must be a ratio from 0 up to (not including) 1');
  }
  if (options.file !== undefined && options.duplicates > 0) {
    throw new UsageError(
      '--duplicates does not apply to --file: every copy of a file is one event',
    );
  }
  if (options.badSignature && options.testPing) {
    throw new UsageError('--bad-signature and --test-ping exclude each other');
  }
  if (
    declaration.scheme !== 'signifyd' &&
    (options.apiVersion !== undefined || options.checkpoint)
  ) {
    throw new UsageError('--api-version and --checkpoint are for signifyd only');
  }
  sampler.validate(
    {
      product: options.product,
      topic: options.topic,
      apiVersion: options.apiVersion,
      checkpoint: options.checkpoint,
    },
    signing,
  );

  let fileBytes: Buffer | undefined;
  if (options.file !== undefined) {
    try {
      fileBytes = await readFile(options.file);
    } catch (error) {
      throw new UsageError(`cannot read payload file ${options.file}: ${(error as Error).message}`);
    }
  }
  let secrets: unknown;
  try {
    secrets = options.testPing ? { apiKey: '' } : sampler.secretsFromEnv(target.signingEnv);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    throw new UsageError(
      `${error.message}: export it or pass --secrets-file (only the local target has demo secrets)`,
    );
  }

  const now = options.now ?? (() => new Date());
  const uuid = options.uuid ?? randomUUID;
  const random = options.random ?? Math.random;
  const unique = fileBytes ? 1 : options.count - Math.round(options.count * options.duplicates);
  const redeliveries = options.count - unique;
  const validJson = fileBytes ? isJsonObject(fileBytes) : true;

  const originals: Job[] = [];
  for (let index = 0; index < unique; index += 1) {
    const sample: SampleOptions = {
      product: options.product,
      topic: options.topic,
      apiVersion: options.apiVersion,
      checkpoint: options.checkpoint,
      sequence: index,
      now: now(),
      uuid,
      // A file is one event whenever it is sent: its id comes from its bytes.
      deliveryId: fileBytes ? uuidOf(fileBytes) : uuid(),
    };
    const body = fileBytes ?? Buffer.from(markSynthetic(sampler.sampleBody(sample)), 'utf8');
    originals.push({
      index,
      body,
      sign: () =>
        sampler.sign(body, secrets, sample, {
          ...signing,
          timestamp: Math.floor(now().getTime() / 1000),
        }),
      expect: predict(options, false, validJson),
    });
  }
  const followers = new Map<Job, Job[]>();
  for (let index = unique; index < options.count; index += 1) {
    const original = originals[Math.floor(random() * unique)] ?? originals[0];
    if (!original) break;
    // The original's bytes and ids, signed again when sent, as a provider's retry is.
    const job: Job = {
      index,
      body: original.body,
      sign: original.sign,
      expect: predict(options, true, validJson),
      original,
    };
    followers.set(original, [...(followers.get(original) ?? []), job]);
  }

  const path = originals[0]?.sign().path ?? '/';
  const url = target.urlFor(path);
  requireSafeTransport(url, 'the ingress URL');
  await options.confirm?.(url);
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const counts: Record<string, number> = {};
  const acceptedIds: string[] = [];
  const surprises: string[] = [];
  const unknown: { job: Job; reason: string; skipped: number }[] = [];
  let unexpected = 0;
  let done = 0;
  const tick = progressBar(io, options.count, `${options.provider}`);
  const started = Date.now();

  await new Promise<void>((finish, fail) => {
    const queue = [...originals];
    let inFlight = 0;
    let failed = false;
    const pump = () => {
      while (!failed && inFlight < options.concurrency && queue.length > 0) {
        const job = queue.shift() as Job;
        inFlight += 1;
        post(url, job.sign(), timeoutMs).then(
          (answer) => {
            inFlight -= 1;
            done += 1;
            job.answerId = answer.id;
            const label = `${answer.statusCode} ${answer.status}`;
            counts[label] = (counts[label] ?? 0) + 1;
            if (answer.status === 'accepted' && answer.id) acceptedIds.push(answer.id);
            if (!matches(job, answer)) {
              unexpected += 1;
              if (surprises.length < 5) {
                const expected = `${job.expect.statusCode} ${job.expect.status.join('|')}`;
                surprises.push(`#${job.index + 1}: expected ${expected}, got ${answer.text}`);
              }
            }
            if (!options.json && (options.verbose || options.count === 1))
              io.out(printable(`#${job.index + 1} ${answer.statusCode} ${answer.text}`));
            queue.push(...(followers.get(job) ?? []));
            tick(done, unexpected);
            if (inFlight === 0 && queue.length === 0) finish();
            else pump();
          },
          (error: unknown) => {
            inFlight -= 1;
            if (!(error instanceof UnknownOutcome)) {
              failed = true;
              fail(error);
              return;
            }
            // Not sent again, and neither are its redeliveries: what it got is unknown.
            const skipped = followers.get(job)?.length ?? 0;
            done += 1 + skipped;
            unknown.push({ job, reason: error.reason, skipped });
            tick(done, unexpected);
            if (inFlight === 0 && queue.length === 0) finish();
            else pump();
          },
        );
      }
      if (inFlight === 0 && queue.length === 0) finish();
    };
    pump();
  });

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const what = fileBytes ? `copies of ${options.file}` : `${options.provider} deliveries`;
  const sent = options.count - unknown.reduce((sum, item) => sum + item.skipped, 0);
  const unknowns = unknown.map(({ job, reason, skipped }) => ({
    delivery: job.index + 1,
    path,
    bodySha256: createHash('sha256').update(job.body).digest('hex'),
    reason,
    redeliveriesNotSent: skipped,
  }));
  const exitCode =
    unknown.length > 0 ? ExitCode.Ambiguous : unexpected === 0 ? ExitCode.Ok : ExitCode.Unexpected;
  if (options.json) {
    io.out(
      jsonForTerminal({
        provider: options.provider,
        url,
        sent,
        unique,
        redeliveries,
        seconds: Number(seconds),
        counts,
        unexpected,
        surprises,
        unknown: unknowns,
        acceptedIds,
        exitCode,
      }),
    );
  } else {
    io.out(
      `sent ${sent} ${what} to ${url} in ${seconds} s (${unique} unique, ${redeliveries} redeliveries)`,
    );
    for (const [label, count] of Object.entries(counts).sort()) {
      io.out(`  ${label.padEnd(24)} ${count}`);
    }
    if (unexpected === 0 && unknown.length === 0)
      io.out(`all ${options.count} answers as expected`);
  }
  if (unexpected > 0) {
    io.err(`${unexpected} of ${options.count} answers differed from what the flags predict:`);
    for (const line of surprises) io.err(`  ${line}`);
  }
  for (const item of unknowns) {
    io.err(
      `#${item.delivery} POST ${item.path}: no answer (${item.reason}): the ingress may have accepted it; not sent again (body sha256 ${item.bodySha256})${item.redeliveriesNotSent > 0 ? `; nor its ${item.redeliveriesNotSent} redelivery(ies)` : ''}`,
    );
  }
  if (unknown.length > 0) {
    io.err(
      `${unknown.length} deliver${unknown.length === 1 ? 'y' : 'ies'} got no answer: each was sent once and may or may not be on the queue (find ${options.provider} <its id> tells; the ingress answers a resend of the same bytes "duplicate" if it took the first)`,
    );
  }
  return {
    sent,
    unknown: unknown.length,
    unique,
    redeliveries,
    counts,
    unexpected,
    acceptedIds,
    exitCode,
  };
}
