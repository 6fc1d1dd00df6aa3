import {
  DependencyError,
  EventInProgressError,
  IdempotencyConflictError,
  InvalidPayloadError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  SignatureVerificationError,
  SourceForbiddenError,
} from './errors.js';
import type { HttpResult } from './http.js';
import { Outcome } from './names.js';

export { Outcome };

/** A finished request: the HTTP answer plus what the log and metrics need. */
export interface Answer {
  readonly result: HttpResult;
  readonly outcome: Outcome;
  /** Short machine-friendly reason for rejections, e.g. `signature`, `invalid_json`. */
  readonly reason?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

function answer(
  statusCode: number,
  outcome: Outcome,
  fields: Record<string, string> = {},
  headers: Record<string, string> = {},
  reason?: string,
): Answer {
  return {
    result: {
      statusCode,
      headers: { ...JSON_HEADERS, ...headers },
      body: JSON.stringify({ status: outcome, ...fields }),
    },
    outcome,
    ...(reason === undefined ? {} : { reason }),
  };
}

export const accepted = (id: string): Answer => answer(200, Outcome.Accepted, { id });
export const duplicate = (id: string): Answer => answer(200, Outcome.Duplicate, { id });
export const ignored = (reason: string): Answer =>
  answer(200, Outcome.Ignored, { reason }, {}, reason);

/** The one body every signature failure gets, whatever failed. */
export const SIGNATURE_REJECTION_BODY = JSON.stringify({
  status: Outcome.Rejected,
  reason: 'invalid signature',
});

/**
 * Maps an error to the contract's answer. This is the only place HTTP status
 * codes of failures are chosen; anything unexpected becomes `503 retry`, so a
 * verified event is never acknowledged by accident.
 */
export function answerForError(error: unknown): Answer {
  if (error instanceof RouteNotFoundError) {
    return answer(404, Outcome.NotFound, { reason: 'no such webhook route' }, {}, 'route');
  }
  if (error instanceof MethodNotAllowedError) {
    return answer(
      405,
      Outcome.MethodNotAllowed,
      { reason: 'only POST is accepted' },
      { allow: 'POST' },
      'method',
    );
  }
  if (error instanceof PayloadTooLargeError) {
    return answer(
      413,
      Outcome.TooLarge,
      { reason: `body exceeds ${error.limit} bytes` },
      {},
      'too_large',
    );
  }
  if (error instanceof SourceForbiddenError) {
    return answer(403, Outcome.Forbidden, { reason: 'source address not allowed' }, {}, 'source');
  }
  if (error instanceof SignatureVerificationError) {
    return {
      result: { statusCode: 401, headers: { ...JSON_HEADERS }, body: SIGNATURE_REJECTION_BODY },
      outcome: Outcome.Rejected,
      reason: 'signature',
    };
  }
  if (error instanceof InvalidPayloadError) {
    return answer(400, Outcome.Rejected, { reason: error.reason }, {}, 'payload');
  }
  if (error instanceof EventInProgressError) {
    return answer(
      409,
      Outcome.InProgress,
      { reason: 'the same event is being processed; retry later' },
      { 'retry-after': String(error.retryAfterSeconds) },
      'in_progress',
    );
  }
  if (error instanceof IdempotencyConflictError) {
    return answer(
      409,
      Outcome.Conflict,
      { reason: 'this event id was already received with a different body' },
      {},
      'conflict',
    );
  }
  const dependency = error instanceof DependencyError ? error.dependency : 'internal';
  return answer(
    503,
    Outcome.Retry,
    { reason: 'temporarily unable to record the event; retry later' },
    { 'retry-after': '5' },
    dependency,
  );
}
