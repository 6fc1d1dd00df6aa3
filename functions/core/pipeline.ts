import { randomUUID } from 'node:crypto';
import type { SourceAllowlist } from './cidr.js';
import { sha256Hex } from './crypto.js';
import { buildEnvelope } from './envelope.js';
import {
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
import type { CallOptions, IdempotencyStore } from './idempotency.js';
import type { ProviderAdapter, RouteMatch, Verification } from './provider.js';
import type { EventPublisher } from './publisher.js';
import { type Answer, accepted, answerForError, duplicate, ignored, Outcome } from './respond.js';
import type { SecretSource } from './secrets.js';

/** The part of the Lambda context the pipeline uses. */
export interface InvocationContext {
  getRemainingTimeInMillis?(): number;
}

/** Structured log sink; Powertools Logger fits it. */
export interface Log {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** One finished request, for metrics. */
export interface RequestRecord {
  readonly provider: string;
  readonly outcome: Outcome;
  readonly reason: string | undefined;
  readonly statusCode: number;
  readonly latencyMs: number;
}

/** Receives one record per request (EMF metrics in AWS). */
export interface OutcomeRecorder {
  record(record: RequestRecord): void;
}

export interface PipelineDependencies<TSecrets> {
  readonly adapter: ProviderAdapter<TSecrets>;
  readonly secrets: SecretSource<TSecrets>;
  readonly store: IdempotencyStore;
  readonly publisher: EventPublisher;
  readonly log: Log;
  readonly metrics?: OutcomeRecorder | undefined;
  readonly maxBodyBytes: number;
  readonly retentionDays: number;
  /** Claim lease when the invocation's remaining time is unknown. */
  readonly leaseSeconds: number;
  readonly sourceAllowlist?: SourceAllowlist | undefined;
  /** Keep the envelope in the idempotency record (for replay). */
  readonly storeEnvelopes?: boolean | undefined;
  /** A custom domain's API mapping path, taken off request paths before routing. */
  readonly pathPrefix?: string | undefined;
  readonly now?: () => number;
  readonly newId?: () => string;
}

export type WebhookHandler = (event: unknown, context?: InvocationContext) => Promise<HttpResult>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Time kept back from the invocation's budget: the claim and the enqueue are
 * aborted this long before Lambda would kill the invocation, leaving room to
 * release the claim and answer `503 retry` instead of timing out.
 */
export const RESERVE_FOR_RELEASE_MS = 750;
/** Time kept back for the last call (completion or release) and the answer itself. */
export const RESERVE_FOR_ANSWER_MS = 250;

/** Envelopes up to this size are kept in the record for replay; DynamoDB items stop at 400 KB. */
export const MAX_STORED_ENVELOPE_BYTES = 350_000;

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
 * The provider-agnostic pipeline: route (404), method (405), size (413), source
 * allowlist (403), signature (401), payload (400), then claim in DynamoDB,
 * enqueue to SQS and complete — acknowledging only once SQS has the event.
 */
export function createWebhookHandler<TSecrets>(
  deps: PipelineDependencies<TSecrets>,
): WebhookHandler {
  const { adapter, log } = deps;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  const retentionSeconds = deps.retentionDays * 86_400;

  async function verify(request: WebhookRequest, route: RouteMatch): Promise<Verification> {
    const secrets = await deps.secrets.get();
    try {
      return adapter.verify(request, secrets, route);
    } catch (error) {
      // Cached secrets may predate a rotation: look once more (rate-limited by the source).
      if (!(error instanceof SignatureVerificationError)) throw error;
      if (error.detail !== SignatureFailure.Mismatch) throw error;
      const fresh = await deps.secrets.refresh().catch(() => undefined);
      if (fresh === undefined) throw error;
      return adapter.verify(request, fresh, route);
    }
  }

  async function process(
    request: WebhookRequest,
    context: InvocationContext | undefined,
    started: number,
    note: (fields: Record<string, unknown>) => void,
  ): Promise<Answer> {
    const route = adapter.matchRoute(request.path);
    if (route === undefined) throw new RouteNotFoundError();
    if (route.product !== undefined) note({ product: route.product });
    if (request.method !== 'POST') throw new MethodNotAllowedError(request.method);
    if (request.body.length > deps.maxBodyBytes) {
      throw new PayloadTooLargeError(request.body.length, deps.maxBodyBytes);
    }
    if (deps.sourceAllowlist && !deps.sourceAllowlist.allows(request.sourceIp)) {
      throw new SourceForbiddenError();
    }
    const verification = await verify(request, route);
    const { text, value } = parseJsonObject(request.body);
    const bodySha256 = sha256Hex(request.body);
    const description = adapter.describe({ request, route, verification, body: value, bodySha256 });
    note({ type: description.type });
    if (description.kind === 'ignored') return ignored(description.reason);

    const key = description.idempotencyKey;
    note({ key });
    const recordKey = `${adapter.provider}#${key}`;
    const envelopeId = newId();
    const receivedAt = new Date(started).toISOString();
    const remaining = context?.getRemainingTimeInMillis?.();
    const budgeted = remaining !== undefined && Number.isFinite(remaining) && remaining > 0;
    // The lease outlives this invocation, so a live delivery is never overtaken.
    const leaseMs = budgeted ? remaining + 1000 : deps.leaseSeconds * 1000;
    const budgetStart = performance.now();
    /** Runs a call aborted `reserveMs` before the invocation's time runs out (real, not injected, time). */
    const within = <T>(reserveMs: number, call: (options: CallOptions) => Promise<T>) =>
      budgeted
        ? withDeadline(remaining - reserveMs - (performance.now() - budgetStart), call)
        : call({});

    const envelope = buildEnvelope(
      {
        id: envelopeId,
        provider: adapter.provider,
        type: description.type,
        product: description.product,
        idempotencyKey: key,
        receivedAt,
        test: description.test,
      },
      text,
    );
    const claim = await within(RESERVE_FOR_RELEASE_MS, (options) =>
      deps.store.claim(
        {
          recordKey,
          bodyHash: bodySha256,
          envelopeId,
          provider: adapter.provider,
          type: description.type,
          receivedAt,
          now: now(),
          leaseMs,
          retentionSeconds,
          // DynamoDB items stop at 400 KB: a larger envelope is enqueued but not kept for replay.
          envelope:
            deps.storeEnvelopes && Buffer.byteLength(envelope) <= MAX_STORED_ENVELOPE_BYTES
              ? envelope
              : undefined,
        },
        options,
      ),
    );
    if (claim.kind === 'duplicate') return duplicate(claim.envelopeId);
    if (claim.kind === 'in_progress') throw new EventInProgressError(claim.retryAfterSeconds);
    if (claim.kind === 'conflict') throw new IdempotencyConflictError();

    try {
      await within(RESERVE_FOR_RELEASE_MS, (options) =>
        deps.publisher.publish(
          envelope,
          { provider: adapter.provider, type: description.type },
          options,
        ),
      );
    } catch (error) {
      await within(RESERVE_FOR_ANSWER_MS, (options) =>
        deps.store.release(recordKey, envelopeId, options),
      ).catch((releaseError: unknown) => {
        // The lease still expires on its own; the provider's retry waits for it.
        log.warn('claim release failed', { key, error: describeError(releaseError) });
      });
      throw error;
    }
    note({ id: envelopeId });
    try {
      await within(RESERVE_FOR_ANSWER_MS, (options) =>
        deps.store.complete(recordKey, envelopeId, options),
      );
    } catch (error) {
      // The event is on the queue, so the answer is still 200. The claim expires with its
      // lease; a later redelivery may then enqueue it again, which idempotencyKey covers.
      log.warn('completion write failed after enqueue', { key, error: describeError(error) });
    }
    return accepted(envelopeId);
  }

  return async (event, context) => {
    const started = now();
    const fields: Record<string, unknown> = { provider: adapter.provider };
    const note = (more: Record<string, unknown>) => Object.assign(fields, more);
    let result: Answer;
    try {
      const request = normaliseEvent(event, { pathPrefix: deps.pathPrefix });
      note({ requestId: request.requestId, sourceIp: request.sourceIp });
      result = await process(request, context, started, note);
    } catch (error) {
      result = answerForError(error);
      if (result.outcome === Outcome.Retry) fields.error = describeError(error);
      if (error instanceof SignatureVerificationError) fields.signatureFailure = error.detail;
    }
    const latencyMs = now() - started;
    const line = {
      ...fields,
      outcome: result.outcome,
      statusCode: result.result.statusCode,
      ...(result.reason === undefined ? {} : { reason: result.reason }),
      latencyMs,
    };
    if (result.outcome === Outcome.Retry) log.error('webhook', line);
    else log.info('webhook', line);
    deps.metrics?.record({
      provider: adapter.provider,
      outcome: result.outcome,
      reason: result.reason,
      statusCode: result.result.statusCode,
      latencyMs,
    });
    return result.result;
  };
}

/**
 * Runs `call` with a signal that aborts after `ms`. A plain timer, cleared when the
 * call settles: `AbortSignal.timeout` can be collected (and never fire) while a
 * hung call holds no reference to it.
 */
async function withDeadline<T>(ms: number, call: (options: CallOptions) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error('the invocation budget ran out')),
    Math.max(1, Math.floor(ms)),
  );
  try {
    return await call({ signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
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
