import type { WebhookRequest } from './http.js';

import type { ProviderName } from './names.js';

export type { ProviderName };

/** What a matched route carries, e.g. the Sigma product. */
export interface RouteMatch {
  readonly product?: string;
}

/** What verification learned, for the adapter's own `describe` step. */
export interface Verification {
  /** Verified with a public, well-known test key rather than a secret. */
  readonly publicTestKey?: boolean;
}

/** A verified, parsed delivery handed to the adapter to name and key. */
export interface VerifiedDelivery {
  readonly request: WebhookRequest;
  readonly route: RouteMatch;
  readonly verification: Verification;
  /** The body, parsed: always a JSON object. */
  readonly body: Record<string, unknown>;
  /** Lower-case hex SHA-256 of the raw body bytes. */
  readonly bodySha256: string;
}

/** An event to enqueue once. */
export interface EventDescription {
  readonly kind: 'event';
  readonly type: string;
  readonly product?: string;
  readonly idempotencyKey: string;
  /**
   * The provider's own identifier of what the event is about (a transaction, a case, a
   * signal), for operators looking an event up; not part of the key.
   */
  readonly subject?: string | undefined;
  /** A provider test delivery forwarded by configuration. */
  readonly test?: boolean;
}

/** A verified delivery answered `200 ignored` and never enqueued. */
export interface IgnoredDelivery {
  readonly kind: 'ignored';
  readonly type: string;
  readonly reason: string;
}

/**
 * A provider is an adapter: where its signature and event type live, how its
 * secret is shaped and how its idempotency key is derived — nothing else.
 */
export interface ProviderAdapter<TSecrets> {
  readonly provider: ProviderName;
  /** The shortest idempotency retention that outlasts the provider's retries. */
  readonly minRetentionDays: number;
  /** Undefined when the path is not one of this provider's routes. */
  matchRoute(path: string): RouteMatch | undefined;
  /** Secrets from the contract's local environment variables. Throws ConfigurationError. */
  secretsFromEnv(env: Readonly<Record<string, string | undefined>>): TSecrets;
  /**
   * Secrets from the provider's Secrets Manager JSON. Throws ConfigurationError whose
   * message names fields, never values.
   */
  secretsFromJson(value: unknown): TSecrets;
  /** The Secrets Manager JSON this provider expects, with placeholders, for error messages. */
  readonly secretShape: string;
  /** Checks the signature over the raw request; throws SignatureVerificationError. */
  verify(request: WebhookRequest, secrets: TSecrets, route: RouteMatch): Verification;
  /** Names and keys a verified delivery; throws InvalidPayloadError. */
  describe(delivery: VerifiedDelivery): EventDescription | IgnoredDelivery;
}

/** Subjects longer than this are cut: they are a lookup aid, not evidence. */
export const MAX_SUBJECT_LENGTH = 256;

/**
 * The first of `fields` in `record` that holds a non-empty string or a number, as text:
 * the provider's own identifier of what an event is about. Undefined when none does.
 * A whole number past 2^53 is skipped: JSON.parse has already rounded it (Shopify's ids
 * are that large), and a wrong id is worse than none.
 */
export function subjectOf(
  record: Record<string, unknown>,
  fields: readonly string[],
): string | undefined {
  for (const field of fields) {
    if (!Object.hasOwn(record, field)) continue;
    const value = record[field];
    const text =
      typeof value === 'string'
        ? value
        : typeof value === 'number' && !(Number.isInteger(value) && !Number.isSafeInteger(value))
          ? String(value)
          : undefined;
    if (text !== undefined && text.length > 0) return text.slice(0, MAX_SUBJECT_LENGTH);
  }
  return undefined;
}
