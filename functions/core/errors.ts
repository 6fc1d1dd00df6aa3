/**
 * The one error hierarchy of the ingress. Each request-level error carries the
 * outcome it maps to; the HTTP status is chosen in one place, `respond.ts`.
 */

/** Base class of every error the ingress raises on purpose. */
export class WebhookIngressError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WebhookIngressError';
  }
}

/** Configuration is missing or malformed; raised at cold start so the function fails fast. */
export class ConfigurationError extends WebhookIngressError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/**
 * An entry of the `providers` list (CDK context, construct props, or a function's
 * declaration) cannot be served. The message is one line naming the entry, e.g.
 * `providers[2] "acme-pay": unknown scheme "strpe"`; `entry` is that label.
 */
export class ProviderDeclarationError extends ConfigurationError {
  constructor(
    readonly entry: string,
    readonly problem: string,
  ) {
    super(`${entry}: ${problem}`);
    this.name = 'ProviderDeclarationError';
  }
}

/** A request the ingress refuses: each subclass names the contract's answer. */
export class RequestRejectedError extends WebhookIngressError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RequestRejectedError';
  }
}

/** No route (or no Sigma product) matches the path. */
export class RouteNotFoundError extends RequestRejectedError {
  constructor() {
    super('no such webhook route');
    this.name = 'RouteNotFoundError';
  }
}

/** The route exists but only accepts POST. */
export class MethodNotAllowedError extends RequestRejectedError {
  constructor(readonly method: string) {
    super(`method ${method} is not allowed`);
    this.name = 'MethodNotAllowedError';
  }
}

/** The body is larger than the configured limit. */
export class PayloadTooLargeError extends RequestRejectedError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`body of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** The caller's address is outside the provider's configured allowlist. */
export class SourceForbiddenError extends RequestRejectedError {
  constructor() {
    super('source address is not allowed');
    this.name = 'SourceForbiddenError';
  }
}

/**
 * Signature missing, malformed or wrong. The `detail` is for logs only and never
 * reaches the caller: every signature failure gets the same answer.
 */
export class SignatureVerificationError extends RequestRejectedError {
  constructor(readonly detail: SignatureFailure) {
    super('signature verification failed');
    this.name = 'SignatureVerificationError';
  }
}

export const SignatureFailure = {
  Missing: 'missing',
  Malformed: 'malformed',
  Mismatch: 'mismatch',
  PublicTestKeyOnRealTopic: 'public_test_key_on_real_topic',
  /** Signed, but its timestamp is outside the scheme's tolerance: a replay, or a skewed clock. */
  StaleTimestamp: 'stale_timestamp',
} as const;
export type SignatureFailure = (typeof SignatureFailure)[keyof typeof SignatureFailure];

/** Verified but unusable: not JSON, or a field the key needs is missing. */
export class InvalidPayloadError extends RequestRejectedError {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidPayloadError';
  }
}

/** Another delivery of the same event holds an unexpired claim. */
export class EventInProgressError extends RequestRejectedError {
  constructor(readonly retryAfterSeconds: number) {
    super('the same event is being processed by a concurrent delivery');
    this.name = 'EventInProgressError';
  }
}

/** The idempotency key was already seen with a different body. */
export class IdempotencyConflictError extends RequestRejectedError {
  constructor() {
    super('the idempotency key was seen with a different body');
    this.name = 'IdempotencyConflictError';
  }
}

export interface DependencyErrorOptions extends ErrorOptions {
  /**
   * The request may have been applied: it was sent and no answer came back (a timeout,
   * an abort, a reset connection). Definite failures, where AWS answered with an error
   * or the connection never opened, are not ambiguous.
   */
  readonly ambiguous?: boolean;
}

/** A dependency (DynamoDB, SQS, the secret store) failed; the provider should retry. */
export class DependencyError extends WebhookIngressError {
  readonly ambiguous: boolean;

  constructor(
    readonly dependency: 'dynamodb' | 'sqs' | 'secrets',
    message: string,
    options: DependencyErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'DependencyError';
    this.ambiguous = options.ambiguous === true;
  }
}

/**
 * A provider's secret cannot be used as stored: not JSON, or not the documented shape.
 * The message names the secret and the problem, never a value: it is logged.
 */
export class SecretMisconfiguredError extends DependencyError {
  constructor(
    readonly secretId: string,
    readonly problem: string,
    readonly expectedShape: string,
  ) {
    super('secrets', `secret ${secretId}: ${problem}; expected ${expectedShape}`);
    this.name = 'SecretMisconfiguredError';
  }
}
