/**
 * What the scheme adapters (functions/<scheme>/adapter.ts) share: the declared
 * provider's route, header and timestamp checks, the `{"secrets":[…]}` secret and its
 * local variable, and the rules for keys and event types.
 */
import type { Env } from './config.js';
import { SECRET_LIST_SHAPE, webhookPath } from './declaration.js';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from './errors.js';
import type { WebhookRequest } from './http.js';
import type { RouteMatch } from './provider.js';
import { secretList } from './secrets.js';

/** The clock of a scheme with a timestamp: milliseconds since the epoch, injected in tests. */
export type Clock = () => number;

/** Idempotency keys and header-derived values longer than this are refused (400). */
export const MAX_KEY_LENGTH = 512;
/** Body-derived event types are cut to this length; they are labels, not evidence. */
export const MAX_TYPE_LENGTH = 256;
/** An event type taken from an unsigned header: a safe, small character set. */
const HEADER_EVENT_TYPE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
const UNIX_SECONDS = /^(0|[1-9][0-9]{0,11})$/;

/** A `matchRoute` for the one path of a declared provider. */
export function exactRoute(name: string): (path: string) => RouteMatch | undefined {
  const route = webhookPath(name);
  return (path) => (path === route ? {} : undefined);
}

/** A header's trimmed value by lower-case name; undefined when absent or blank. */
export function header(request: WebhookRequest, name: string): string | undefined {
  const value = request.headers[name]?.trim();
  return value ? value : undefined;
}

/**
 * A signed Unix-seconds timestamp, before the signature is checked. Throws
 * {@link SignatureVerificationError} (401) when it is missing or not a plain number.
 */
export function readTimestamp(text: string | undefined): number {
  if (text === undefined) throw new SignatureVerificationError(SignatureFailure.Missing);
  if (!UNIX_SECONDS.test(text)) throw new SignatureVerificationError(SignatureFailure.Malformed);
  return Number(text);
}

/**
 * Replay protection, once the signature is known to be good: `seconds` must be within
 * `toleranceSeconds` of now, either way; exactly at the edge is inside. Throws
 * {@link SignatureVerificationError} (401, the same answer as a wrong signature).
 */
export function checkFreshness(seconds: number, nowMs: number, toleranceSeconds: number): void {
  if (Math.abs(Math.floor(nowMs / 1000) - seconds) > toleranceSeconds) {
    throw new SignatureVerificationError(SignatureFailure.StaleTimestamp);
  }
}

/** The live secrets of a scheme whose secret is a list of strings. */
export interface SecretList {
  readonly secrets: readonly string[];
}

/**
 * Reads a list secret from its Secrets Manager JSON, `{"secrets":[…]}` (a single string
 * is taken as a one-item list). `check` refuses an item, naming it by position only.
 * Throws {@link ConfigurationError} whose message names fields, never values.
 */
export function secretListFromJson(
  value: unknown,
  check: (secret: string, label: string) => void = () => {},
): SecretList {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`the secret must be a JSON object ${SECRET_LIST_SHAPE}`);
  }
  return checkedList(
    secretList((value as Record<string, unknown>).secrets, 'secrets'),
    'secrets',
    check,
  );
}

/**
 * Reads a declared provider's secrets from `<NAME>_WEBHOOK_SECRET`: a comma-separated list,
 * or — for any scheme, and the only form for one whose secret is not a list — the same
 * JSON object as in Secrets Manager. Throws {@link ConfigurationError} naming the variable.
 */
export function secretsFromVariable<TSecrets>(
  env: Env,
  variable: string,
  fromJson: (value: unknown) => TSecrets,
  fromList: ((values: string[]) => TSecrets) | undefined,
): TSecrets {
  const text = env[variable]?.trim();
  if (!text) throw new ConfigurationError(`${variable} is not set`);
  try {
    if (text.startsWith('{')) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new ConfigurationError('starts with "{" but is not JSON');
      }
      return fromJson(value);
    }
    if (fromList === undefined) throw new ConfigurationError('must hold the secret as JSON');
    return fromList(secretList(text, 'the list'));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ConfigurationError(`${variable}: ${error.message}`, { cause: error });
  }
}

/** The list form of {@link secretsFromVariable} for {@link SecretList} schemes. */
export function secretListFromValues(
  values: string[],
  check: (secret: string, label: string) => void = () => {},
): SecretList {
  return checkedList(values, 'the list', check);
}

function checkedList(
  values: string[],
  field: string,
  check: (secret: string, label: string) => void,
): SecretList {
  values.forEach((secret, index) => {
    check(secret, `${field}[${index}]`);
  });
  return { secrets: values };
}

/**
 * An idempotency key from a header or a body field: a non-empty string (or a whole
 * number, as text) of at most {@link MAX_KEY_LENGTH} characters. Throws
 * {@link InvalidPayloadError} (400) naming `what`.
 */
export function eventKey(value: unknown, what: string): string {
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' && Number.isSafeInteger(value)
        ? String(value)
        : undefined;
  if (text === undefined || text.length === 0) {
    throw new InvalidPayloadError(
      `${what} must be a non-empty string or a whole number below 2^53`,
    );
  }
  if (text.length > MAX_KEY_LENGTH) {
    throw new InvalidPayloadError(`${what} is longer than ${MAX_KEY_LENGTH} characters`);
  }
  return text;
}

/**
 * An event type from a header the signature does not cover: checked against a small
 * character set, since anyone can set it. Throws {@link InvalidPayloadError} (400).
 */
export function headerEventType(text: string, what: string): string {
  if (!HEADER_EVENT_TYPE.test(text)) {
    throw new InvalidPayloadError(`${what} is not a valid event type`);
  }
  return text;
}

/** An event type from a signed body field: any non-empty string, cut to {@link MAX_TYPE_LENGTH}. */
export function bodyEventType(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0
    ? value.slice(0, MAX_TYPE_LENGTH)
    : undefined;
}

/** The JSON object at `path` under `record` (e.g. Stripe's `data.object`); undefined if any step is not one. */
export function objectAt(
  record: Record<string, unknown>,
  ...path: readonly string[]
): Record<string, unknown> | undefined {
  let current: unknown = record;
  for (const step of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, step) ? (current as Record<string, unknown>)[step] : undefined;
  }
  return typeof current === 'object' && current !== null && !Array.isArray(current)
    ? (current as Record<string, unknown>)
    : undefined;
}
