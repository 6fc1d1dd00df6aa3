import { randomUUID } from 'node:crypto';
import { archiveAttributesOf, fitsOneMessage, type RequestOrigin } from './archive-attributes.js';
import { Budget, type InvocationContext } from './budget.js';

export { archiveAttributesOf, Budget, type InvocationContext, type RequestOrigin };

import type { SourceAllowlist } from './cidr.js';
import { sha256Hex } from './crypto.js';
import { buildEnvelope, SQS_MAX_MESSAGE_BYTES, sqsSafeText } from './envelope.js';
import {
  DependencyError,
  EventInProgressError,
  IdempotencyConflictError,
  InvalidPayloadError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  SignatureFailure,
  SignatureVerificationError,
  SourceForbiddenError,
} from './errors.js';
import { type HttpResult, normaliseEvent, type WebhookRequest } from './http.js';
import type { IdempotencyStore } from './idempotency.js';
import type { ProviderAdapter, RouteMatch, Verification } from './provider.js';
import type { EnvelopeAttributes, EventPublisher, MessageAttributes } from './publisher.js';
import { type Answer, accepted, answerForError, duplicate, ignored, Outcome } from './respond.js';
import type { SecretSource } from './secrets.js';

/** Structured log sink; Powertools Logger fits it. */
export interface Log {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface PipelineDependencies<TSecrets> {
  readonly adapter: ProviderAdapter<TSecrets>;
  readonly secrets: SecretSource<TSecrets>;
  readonly store: IdempotencyStore;
  readonly publisher: EventPublisher;
  /**
   * The audit archive's queue: every event is sent here first, then to the consumer's
   * queue, and acknowledged only when both sends succeeded. Unset: no archive.
   */
  readonly archive?: EventPublisher | undefined;
  /** The request's one log line; CloudWatch derives the metrics from it (infra/request-metrics.ts). */
  readonly log: Log;
  readonly maxBodyBytes: number;
  readonly retentionDays: number;
  /** Claim lease when the invocation's remaining time is unknown. */
  readonly leaseSeconds: number;
  readonly sourceAllowlist?: SourceAllowlist | undefined;
  /** A custom domain's API mapping path, taken off request paths before routing. */
  readonly pathPrefix?: string | undefined;
  readonly now?: () => number;
  readonly newId?: () => string;
}

export type WebhookHandler = (event: unknown, context?: InvocationContext) => Promise<HttpResult>;

/**
 * Time kept back from the invocation's budget: the claim and the enqueue are
 * aborted this long before Lambda would kill the invocation, leaving room to
 * release the claim and answer `503 retry` instead of timing out.
 */
export const RESERVE_FOR_RELEASE_MS = 750;
/** Time kept back for the last call (completion or release) and the answer itself. */
export const RESERVE_FOR_ANSWER_MS = 250;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** In `u` mode a surrogate class matches only unpaired surrogates: text that is not valid Unicode. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The log line's fields, filled in as the request moves through the steps. */
type Notes = Record<string, unknown>;

/** A verified event, described and wrapped, ready to be claimed and enqueued. */
export interface DescribedEvent {
  readonly kind: 'event';
  readonly recordKey: string;
  readonly idempotencyKey: string;
  readonly envelopeId: string;
  readonly envelope: string;
  /**
   * SHA-256 of the envelope, written on the claim when the archive is on: the archiver
   * ties an archived attempt to the record by it (a record with this envelope id and
   * other content is not the attempt the record names).
   */
  readonly envelopeDigest: string | undefined;
  readonly attributes: EnvelopeAttributes;
  readonly bodySha256: string;
  readonly type: string;
  readonly subject: string | undefined;
  readonly product: string | undefined;
  readonly receivedAt: string;
}

/** Step 2 — route: the provider's route (404), then method (405), size (413), source (403). */
export function route<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  request: WebhookRequest,
): RouteMatch {
  const match = deps.adapter.matchRoute(request.path);
  if (match === undefined) throw new RouteNotFoundError();
  if (request.method !== 'POST') throw new MethodNotAllowedError(request.method);
  if (request.body.length > deps.maxBodyBytes) {
    throw new PayloadTooLargeError(request.body.length, deps.maxBodyBytes);
  }
  if (deps.sourceAllowlist && !deps.sourceAllowlist.allows(request.sourceIp)) {
    throw new SourceForbiddenError();
  }
  return match;
}

/**
 * Step 3 — verify the signature over the raw bytes (401). Cached secrets may predate a
 * rotation, so a mismatch looks once more (rate-limited by the source).
 */
export async function verify<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  request: WebhookRequest,
  match: RouteMatch,
  budget: Budget,
): Promise<Verification> {
  const secrets = await budget.run(RESERVE_FOR_RELEASE_MS, (options) => deps.secrets.get(options));
  try {
    return deps.adapter.verify(request, secrets, match);
  } catch (error) {
    if (!(error instanceof SignatureVerificationError)) throw error;
    if (error.detail !== SignatureFailure.Mismatch) throw error;
    // A refetch that fails throws its DependencyError: the answer is 503, and the
    // provider's retry (signed with a rotated secret) can still be verified.
    const fresh = await budget.run(RESERVE_FOR_RELEASE_MS, (options) =>
      deps.secrets.refresh(options),
    );
    if (fresh === undefined) throw error;
    return deps.adapter.verify(request, fresh, match);
  }
}

function parseJsonObject(body: Buffer): { text: string; value: Record<string, unknown> } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new InvalidPayloadError('body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidPayloadError('body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidPayloadError('body is not a JSON object');
  }
  return { text, value: value as Record<string, unknown> };
}

/**
 * Step 4 — describe: parse the verified body (400), let the adapter name and key it, and
 * wrap it in the contract's envelope. An event SQS could never carry is refused here
 * with a definitive `400`, before anything is claimed.
 */
export function describe<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  request: WebhookRequest,
  match: RouteMatch,
  verification: Verification,
  receivedAt: string,
  envelopeId: string,
): DescribedEvent | { readonly kind: 'ignored'; readonly type: string; readonly reason: string } {
  const { adapter } = deps;
  const { text, value } = parseJsonObject(request.body);
  const bodySha256 = sha256Hex(request.body);
  const description = adapter.describe({
    request,
    route: match,
    verification,
    body: value,
    bodySha256,
  });
  if (description.kind === 'ignored') return description;
  // DynamoDB and SQS take only well-formed Unicode: a key holding a lone surrogate (say a
  // `"\ud800"` escape in a Sigmate id) could never be recorded, so it is refused for good.
  if (LONE_SURROGATE.test(description.idempotencyKey)) {
    throw new InvalidPayloadError('the event id is not valid Unicode');
  }
  const envelope = buildEnvelope(
    {
      id: envelopeId,
      provider: adapter.provider,
      type: description.type,
      product: description.product,
      idempotencyKey: description.idempotencyKey,
      receivedAt,
      test: description.test,
    },
    text,
  );
  const attributes = {
    provider: sqsSafeText(adapter.provider),
    type: sqsSafeText(description.type),
  };
  if (!fitsOneMessage(envelope, attributes)) {
    throw new InvalidPayloadError(
      `the event is larger than the queue's ${SQS_MAX_MESSAGE_BYTES}-byte message limit`,
    );
  }
  return {
    kind: 'event',
    recordKey: `${adapter.provider}#${description.idempotencyKey}`,
    idempotencyKey: description.idempotencyKey,
    envelopeId,
    envelope,
    envelopeDigest: deps.archive === undefined ? undefined : sha256Hex(envelope),
    attributes,
    bodySha256,
    // The record keeps the type as the queue attribute carries it: SQS- and DynamoDB-safe.
    type: attributes.type,
    subject: description.subject === undefined ? undefined : sqsSafeText(description.subject),
    product: description.product,
    receivedAt,
  };
}

/**
 * Step 5 — claim the key in DynamoDB (409 in progress or conflict, 200 duplicate). A
 * claim whose answer was lost may have been written: it is released (only if it is
 * ours), so the provider's retry is not kept waiting for the lease.
 */
export async function claim<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  event: DescribedEvent,
  budget: Budget,
  now: number,
  notes: Notes,
): Promise<Answer | undefined> {
  let result: Awaited<ReturnType<IdempotencyStore['claim']>>;
  try {
    result = await budget.run(RESERVE_FOR_RELEASE_MS, (options) =>
      deps.store.claim(
        {
          recordKey: event.recordKey,
          bodyHash: event.bodySha256,
          envelopeId: event.envelopeId,
          provider: deps.adapter.provider,
          type: event.type,
          receivedAt: event.receivedAt,
          now,
          leaseMs: budget.leaseMs(deps.leaseSeconds * 1000),
          retentionSeconds: deps.retentionDays * 86_400,
          subject: event.subject,
          envelopeDigest: event.envelopeDigest,
        },
        options,
      ),
    );
  } catch (error) {
    if (error instanceof DependencyError && error.ambiguous) {
      notes.ambiguous = true;
      await release(deps, event, budget);
    }
    throw error;
  }
  if (result.kind === 'duplicate') {
    notes.id = result.envelopeId;
    return duplicate(result.envelopeId);
  }
  if (result.kind === 'in_progress') throw new EventInProgressError(result.retryAfterSeconds);
  if (result.kind === 'conflict') throw new IdempotencyConflictError();
  return undefined;
}

/** Drops our own claim; a failure is logged and left to the lease. */
async function release<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  event: DescribedEvent,
  budget: Budget,
): Promise<void> {
  await budget
    .run(RESERVE_FOR_ANSWER_MS, (options) =>
      deps.store.release(event.recordKey, event.envelopeId, options),
    )
    .catch((releaseError: unknown) => {
      // The lease still expires on its own; the provider's retry waits for it.
      deps.log.warn('claim release failed', {
        key: event.idempotencyKey,
        error: describeError(releaseError),
      });
    });
}

/**
 * Step 6 — archive, then enqueue on SQS. The archive record goes first (a SendMessage to
 * the archive queue), the consumer's envelope second, so an archive that cannot take the
 * event is exactly like an SQS failure: nothing reached the consumer, the claim is
 * released, `503`, and the provider's retry goes through. Had the two sends run
 * concurrently, every failed archive send after a successful enqueue would have put one
 * more copy on the consumer queue — a duplicate for a definite failure, outside the
 * contract's bound, repeated on every retry while the archive stayed down. In this order
 * a failure of the enqueue leaves the archive a record of an attempt that was not
 * acknowledged (same `idempotencyKey`, its own `envelopeId`); readers group by key.
 */
export async function enqueue<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  event: DescribedEvent,
  archiveAttributes: MessageAttributes | undefined,
  budget: Budget,
  notes: Notes,
): Promise<string | undefined> {
  let step: 'archive' | 'enqueue' = 'archive';
  try {
    if (deps.archive !== undefined && archiveAttributes !== undefined) {
      await archive(deps.archive, event, archiveAttributes, budget);
    }
    step = 'enqueue';
    const { messageId } = await budget.run(RESERVE_FOR_RELEASE_MS, (options) =>
      deps.publisher.publish(event.envelope, event.attributes, options),
    );
    return messageId;
  } catch (error) {
    // Which send failed, for the log line: an archive failure left nothing on the queue.
    notes.failedStep = step;
    if (error instanceof DependencyError && error.ambiguous) notes.ambiguous = true;
    await release(deps, event, budget);
    throw error;
  }
}

/** Step 6a — archive: one SendMessage of the envelope, with its metadata, to the archive queue. */
export async function archive(
  archiveQueue: EventPublisher,
  event: DescribedEvent,
  attributes: MessageAttributes,
  budget: Budget,
): Promise<void> {
  await budget.run(RESERVE_FOR_RELEASE_MS, (options) =>
    archiveQueue.publish(event.envelope, attributes, options),
  );
}

/**
 * Step 7 — complete the claim. The event is on the queue, so a failure here still
 * answers 200: the claim expires with its lease, and a later redelivery may enqueue the
 * event again, which `idempotencyKey` covers.
 */
export async function complete<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  event: DescribedEvent,
  messageId: string | undefined,
  budget: Budget,
): Promise<void> {
  try {
    await budget.run(RESERVE_FOR_ANSWER_MS, (options) =>
      deps.store.complete(event.recordKey, event.envelopeId, messageId, options),
    );
  } catch (error) {
    deps.log.warn('completion write failed after enqueue', {
      key: event.idempotencyKey,
      error: describeError(error),
    });
  }
}

/** Steps 2 to 7 for one normalised request; throws the errors `answerForError` maps. */
async function process<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
  request: WebhookRequest,
  budget: Budget,
  started: number,
  notes: Notes,
): Promise<Answer> {
  const match = route(deps, request);
  if (match.product !== undefined) notes.product = match.product;
  const verification = await verify(deps, request, match, budget);
  const event = describe(
    deps,
    request,
    match,
    verification,
    new Date(started).toISOString(),
    (deps.newId ?? randomUUID)(),
  );
  notes.type = event.type;
  if (event.kind === 'ignored') return ignored(event.reason);
  notes.key = event.idempotencyKey;
  // Logged when it is not the key itself (Sigmate's key is its id): the by-subject query
  // matches either field, and the line stays within its bytes (docs/decisions.md §21).
  if (event.subject !== undefined && event.subject !== event.idempotencyKey) {
    notes.subject = event.subject;
  }
  const archived =
    deps.archive === undefined
      ? undefined
      : archiveAttributesOf(event, { sourceIp: request.sourceIp, requestId: request.requestId });
  const early = await claim(deps, event, budget, (deps.now ?? Date.now)(), notes);
  if (early !== undefined) return early;
  const messageId = await enqueue(deps, event, archived, budget, notes);
  notes.id = event.envelopeId;
  if (messageId !== undefined) notes.messageId = messageId;
  await complete(deps, event, messageId, budget);
  return accepted(event.envelopeId);
}

/**
 * Step 8 — answer: one log line per request. CloudWatch Logs counts the outcomes and
 * latency from it (metric filters, infra/request-metrics.ts), so the line carries no
 * metrics record of its own.
 */
function report(answer: Answer, log: Log, notes: Notes, latencyMs: number): void {
  const line = {
    ...notes,
    outcome: answer.outcome,
    statusCode: answer.result.statusCode,
    ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    latencyMs,
  };
  if (answer.outcome === Outcome.Retry) log.error('webhook', line);
  else log.info('webhook', line);
}

/**
 * The provider-agnostic pipeline, as its steps: normalise → route → verify → describe →
 * claim → archive and enqueue → complete → answer. A verified event is acknowledged only once SQS
 * has it; every failure maps to the contract's answer in `respond.ts`.
 */
export function createWebhookHandler<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
): WebhookHandler {
  const now = deps.now ?? Date.now;
  return async (event, context) => {
    const started = now();
    const budget = Budget.of(context);
    const notes: Notes = { provider: deps.adapter.provider };
    let answer: Answer;
    try {
      // Step 1 — normalise whichever API Gateway or function URL event this is.
      const request = normaliseEvent(event, { pathPrefix: deps.pathPrefix });
      notes.requestId = request.requestId;
      notes.sourceIp = request.sourceIp;
      answer = await process(deps, request, budget, started, notes);
    } catch (error) {
      answer = answerForError(error);
      if (answer.outcome === Outcome.Retry) notes.error = describeError(error);
      if (error instanceof SignatureVerificationError) notes.signatureFailure = error.detail;
    }
    report(answer, deps.log, notes, now() - started);
    return answer.result;
  };
}

/** Error name and message, and its cause's, for logs: never the request or a secret. */
export function describeError(error: unknown): Record<string, string> {
  if (!(error instanceof Error)) return { name: 'UnknownError' };
  const cause = error.cause instanceof Error ? error.cause : undefined;
  return {
    name: error.name,
    message: error.message,
    ...(cause ? { cause: `${cause.name}: ${cause.message}` } : {}),
  };
}
