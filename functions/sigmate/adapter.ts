import { decodeHexDigest, hmacSha256, matchesAny } from '../core/crypto.js';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../core/errors.js';
import type { ProviderAdapter } from '../core/provider.js';
import { secretList } from '../core/secrets.js';

/** Sigmate's webhook secrets; several are live during a rotation. */
export interface SigmateSecrets {
  readonly webhookSecrets: readonly string[];
}

export const SIGMATE_ROUTE = '/webhooks/sigmate';
export const SIGMATE_SIGNATURE_HEADER = 'x-sigmate-signature';
export const SIGMATE_EVENT_HEADER = 'x-sigmate-event';
export const SIGMATE_SECRET_ENV = 'SIGMATE_WEBHOOK_SECRET';
/** Sigmate's v1 sends only this event type; it is the fallback when the header is absent. */
export const SIGMATE_DEFAULT_EVENT = 'signal.fired';
const MAX_ID_LENGTH = 512;
const EVENT_TYPE = /^[A-Za-z0-9._:/-]{1,128}$/;

/**
 * Sigmate: `X-Sigmate-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body
 * with the webhook secret; event type in `X-Sigmate-Event`; key = body `id`.
 */
export const sigmateAdapter: ProviderAdapter<SigmateSecrets> = {
  provider: 'sigmate',
  // Sigmate retries 3 times within seconds; the contract's 7-day default is far above that.
  minRetentionDays: 1,

  matchRoute(path) {
    return path === SIGMATE_ROUTE ? {} : undefined;
  },

  secretsFromEnv(env) {
    const value = env[SIGMATE_SECRET_ENV];
    if (value === undefined) throw new ConfigurationError(`${SIGMATE_SECRET_ENV} is not set`);
    return { webhookSecrets: secretList(value, SIGMATE_SECRET_ENV) };
  },

  secretShape: '{"webhookSecrets":["…"]}',

  secretsFromJson(value) {
    if (typeof value !== 'object' || value === null) {
      throw new ConfigurationError('the Sigmate secret must be a JSON object');
    }
    const record = value as Record<string, unknown>;
    return { webhookSecrets: secretList(record.webhookSecrets, 'webhookSecrets') };
  },

  verify(request, secrets) {
    const header = request.headers[SIGMATE_SIGNATURE_HEADER];
    if (header === undefined || header === '') {
      throw new SignatureVerificationError(SignatureFailure.Missing);
    }
    const received = header.startsWith('sha256=') ? decodeHexDigest(header.slice(7)) : undefined;
    if (received === undefined) throw new SignatureVerificationError(SignatureFailure.Malformed);
    const expected = secrets.webhookSecrets.map((secret) => hmacSha256(secret, request.body));
    if (!matchesAny(expected, received)) {
      throw new SignatureVerificationError(SignatureFailure.Mismatch);
    }
    return {};
  },

  describe({ request, body }) {
    const id = body.id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidPayloadError('field "id" must be a non-empty string');
    }
    if (id.length > MAX_ID_LENGTH) {
      throw new InvalidPayloadError(`field "id" is longer than ${MAX_ID_LENGTH} characters`);
    }
    const type = request.headers[SIGMATE_EVENT_HEADER]?.trim() || SIGMATE_DEFAULT_EVENT;
    if (!EVENT_TYPE.test(type)) {
      throw new InvalidPayloadError('header "x-sigmate-event" is not a valid event type');
    }
    return { kind: 'event', type, idempotencyKey: id, subject: id };
  },
};
