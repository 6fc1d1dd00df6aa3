import { anyMatches, decodeHexDigest, hmacSha256 } from '../core/crypto.js';
import { DEFAULT_TOLERANCE_SECONDS, secretEnvName } from '../core/declaration.js';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../core/errors.js';
import { type ProviderAdapter, subjectOf } from '../core/provider.js';
import {
  bodyEventType,
  type Clock,
  checkFreshness,
  eventKey,
  exactRoute,
  header,
  objectAt,
  readTimestamp,
  type SecretList,
  secretListFromJson,
  secretListFromValues,
  secretsFromVariable,
} from '../core/scheme.js';
import {
  STRIPE_MIN_RETENTION_DAYS,
  STRIPE_SECRET_PREFIX,
  STRIPE_SECRET_SHAPE,
  type StripeOptions,
} from './options.js';

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';
/** More signatures than this in one header is not a secret roll: refused as malformed. */
const MAX_SIGNATURES = 16;

function checkSecret(secret: string, label: string): void {
  if (!secret.startsWith(STRIPE_SECRET_PREFIX) || secret.length === STRIPE_SECRET_PREFIX.length) {
    throw new ConfigurationError(`${label} must be a Stripe endpoint secret (whsec_…)`);
  }
}

/** `t=…,v1=…,v1=…,v0=…`: the one timestamp and the `v1` signatures; other schemes are ignored. */
function parseSignatureHeader(value: string): { timestamp: string; signatures: Buffer[] } {
  const timestamps: string[] = [];
  const signatures: Buffer[] = [];
  const items = value.split(',');
  for (const item of items) {
    const equals = item.indexOf('=');
    if (equals < 0) continue;
    const name = item.slice(0, equals).trim();
    const text = item.slice(equals + 1).trim();
    if (name === 't') timestamps.push(text);
    if (name !== 'v1') continue;
    // A malformed v1 counts as one that does not match; only a valid one can accept.
    const digest = decodeHexDigest(text);
    if (digest !== undefined) signatures.push(digest);
  }
  const [timestamp] = timestamps;
  if (timestamps.length !== 1 || timestamp === undefined || signatures.length === 0) {
    throw new SignatureVerificationError(SignatureFailure.Malformed);
  }
  if (signatures.length > MAX_SIGNATURES) {
    throw new SignatureVerificationError(SignatureFailure.Malformed);
  }
  return { timestamp, signatures };
}

/**
 * Stripe (docs.stripe.com, "Verify webhook signatures"): `Stripe-Signature:
 * t=<unix seconds>,v1=<hex>` with one `v1` per live endpoint secret while a secret rolls;
 * the HMAC-SHA256 of `<t>.<raw body>` keyed with the secret exactly as shown (`whsec_…`).
 * `t` further than the tolerance from now, either way → 401. Key and type: the event's
 * `id` and `type` from the (signed) body.
 */
export function createStripeAdapter(
  name: string,
  options: StripeOptions = {},
  now: Clock = Date.now,
): ProviderAdapter<SecretList> {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const variable = secretEnvName(name);
  return {
    provider: name,
    minRetentionDays: STRIPE_MIN_RETENTION_DAYS,
    matchRoute: exactRoute(name),
    secretShape: STRIPE_SECRET_SHAPE,

    secretsFromEnv(env) {
      return secretsFromVariable(
        env,
        variable,
        (json) => secretListFromJson(json, checkSecret),
        (values) => secretListFromValues(values, checkSecret),
      );
    },

    secretsFromJson(value) {
      return secretListFromJson(value, checkSecret);
    },

    verify(request, secrets) {
      const value = header(request, STRIPE_SIGNATURE_HEADER);
      if (value === undefined) throw new SignatureVerificationError(SignatureFailure.Missing);
      const { timestamp, signatures } = parseSignatureHeader(value);
      const seconds = readTimestamp(timestamp);
      const signed = Buffer.concat([Buffer.from(`${timestamp}.`), request.body]);
      const expected = secrets.secrets.map((secret) => hmacSha256(secret, signed));
      if (!anyMatches(expected, signatures)) {
        throw new SignatureVerificationError(SignatureFailure.Mismatch);
      }
      checkFreshness(seconds, now(), tolerance);
      return {};
    },

    describe({ body }) {
      const type = bodyEventType(body.type);
      if (type === undefined)
        throw new InvalidPayloadError('field "type" must be a non-empty string');
      const object = objectAt(body, 'data', 'object');
      return {
        kind: 'event',
        type,
        idempotencyKey: eventKey(body.id, 'field "id"'),
        subject: object === undefined ? undefined : subjectOf(object, ['id']),
      };
    },
  };
}
