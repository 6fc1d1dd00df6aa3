import { type Env, readBoolean } from '../core/config.js';
import { decodeHexDigest, hmacSha256, matchesAny, sha256 } from '../core/crypto.js';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../core/errors.js';
import { type ProviderAdapter, subjectOf } from '../core/provider.js';
import { secretList } from '../core/secrets.js';
import {
  SIGMA_ROUTE_PREFIX,
  SIGMA_SIGNATURE_HEADER,
  SigmaEnvNames,
  type SigmaProduct,
  SigmaProducts,
} from './names.js';

export {
  SIGMA_ROUTE_PREFIX,
  SIGMA_SIGNATURE_HEADER,
  SigmaEnvNames,
  type SigmaProduct,
  SigmaProducts,
};

/** Fields of `data` that name what a Sigma result is about, in order of preference. */
export const SIGMA_SUBJECT_FIELDS = [
  'transaction_id',
  'case_id',
  'search_id',
  'customer_id',
  'entity_id',
  'id',
] as const;

/** One API credential pair issued by Sigma; its concatenation keys the webhook signature. */
export interface SigmaCredential {
  readonly apiKey: string;
  readonly apiSecret: string;
}

/**
 * Sigma's verification secrets. Several credential pairs are live during a
 * rotation: Sigma's "Generate New Keys" kills the old pair at once, so the new
 * pair must be accepted before it is generated.
 */
export interface SigmaSecrets {
  readonly credentials: readonly SigmaCredential[];
  /** Usually one; a list lets a business id change without a failed delivery. */
  readonly businessIds: readonly string[];
}

const MAX_EVENT_LENGTH = 256;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** A comma-separated positional list: empty entries are refused, since they would shift the pairing. */
function positionalList(value: string | undefined, name: string): string[] {
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`${name} is not set`);
  }
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) {
    throw new ConfigurationError(`${name} has an empty entry; pairs are matched by position`);
  }
  return items;
}

function credential(value: unknown, index: number): SigmaCredential {
  const record =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const { apiKey, apiSecret } = record;
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new ConfigurationError(`credentials[${index}].apiKey must be a non-empty string`);
  }
  if (typeof apiSecret !== 'string' || apiSecret.trim() === '') {
    throw new ConfigurationError(`credentials[${index}].apiSecret must be a non-empty string`);
  }
  return { apiKey: apiKey.trim(), apiSecret: apiSecret.trim() };
}

function isProduct(value: string): value is SigmaProduct {
  return (SigmaProducts as readonly string[]).includes(value);
}

/**
 * Sigma: one route per product, `x-signature` = hex HMAC-SHA256 keyed with
 * `apiKey + apiSecret` over the businessId. The signature never covers the
 * body, so it is a bearer secret: it proves the sender knows the credentials
 * and nothing about the payload. Key = product + SHA-256 of the raw body.
 *
 * `SIGMA_ALLOW_LEGACY_SHA256=true` also accepts `SHA-256(apiKey + apiSecret +
 * businessId)`, which only the docs' Python sample computes; see docs/sigma.md.
 * Throws {@link ConfigurationError} when the flag is not a boolean.
 */
export function createSigmaAdapter(env: Env = {}): ProviderAdapter<SigmaSecrets> {
  const allowLegacy = readBoolean(env, SigmaEnvNames.allowLegacySha256, false);
  // The signature does not depend on the request: compute the accepted values once per secrets.
  const expectedBySecrets = new WeakMap<SigmaSecrets, readonly Buffer[]>();

  function expectedSignatures(secrets: SigmaSecrets): readonly Buffer[] {
    const cached = expectedBySecrets.get(secrets);
    if (cached) return cached;
    const expected: Buffer[] = [];
    for (const { apiKey, apiSecret } of secrets.credentials) {
      for (const businessId of secrets.businessIds) {
        expected.push(hmacSha256(`${apiKey}${apiSecret}`, businessId));
        if (allowLegacy) expected.push(sha256(`${apiKey}${apiSecret}${businessId}`));
      }
    }
    expectedBySecrets.set(secrets, expected);
    return expected;
  }

  return {
    provider: 'sigma',
    // Sigma retries "with exponential backoff" and publishes no horizon: keep the contract's 7 days as a floor.
    minRetentionDays: 7,

    matchRoute(path) {
      if (!path.startsWith(SIGMA_ROUTE_PREFIX)) return undefined;
      const product = path.slice(SIGMA_ROUTE_PREFIX.length);
      return isProduct(product) ? { product } : undefined;
    },

    secretsFromEnv(env) {
      const apiKeys = positionalList(env[SigmaEnvNames.apiKey], SigmaEnvNames.apiKey);
      const apiSecrets = positionalList(env[SigmaEnvNames.apiSecret], SigmaEnvNames.apiSecret);
      if (apiKeys.length !== apiSecrets.length) {
        throw new ConfigurationError(
          `${SigmaEnvNames.apiKey} has ${apiKeys.length} values and ${SigmaEnvNames.apiSecret} ` +
            `${apiSecrets.length}; they pair by position`,
        );
      }
      const businessId = env[SigmaEnvNames.businessId];
      if (businessId === undefined) {
        throw new ConfigurationError(`${SigmaEnvNames.businessId} is not set`);
      }
      return {
        credentials: apiKeys.map((apiKey, index) => ({
          apiKey,
          apiSecret: apiSecrets[index] ?? '',
        })),
        businessIds: secretList(businessId, SigmaEnvNames.businessId),
      };
    },

    secretShape: '{"credentials":[{"apiKey":"…","apiSecret":"…"}],"businessId":"…"}',

    secretsFromJson(value) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ConfigurationError('the Sigma secret must be a JSON object');
      }
      const record = value as Record<string, unknown>;
      if (!Array.isArray(record.credentials) || record.credentials.length === 0) {
        throw new ConfigurationError('credentials must be a non-empty list of {apiKey, apiSecret}');
      }
      return {
        credentials: record.credentials.map(credential),
        businessIds: secretList(record.businessId, 'businessId'),
      };
    },

    verify(request, secrets) {
      const header = request.headers[SIGMA_SIGNATURE_HEADER];
      if (header === undefined || header.trim() === '') {
        throw new SignatureVerificationError(SignatureFailure.Missing);
      }
      const received = decodeHexDigest(header.trim());
      if (received === undefined) throw new SignatureVerificationError(SignatureFailure.Malformed);
      if (!matchesAny(expectedSignatures(secrets), received)) {
        throw new SignatureVerificationError(SignatureFailure.Mismatch);
      }
      return {};
    },

    describe({ route, body, bodySha256 }) {
      const product = route.product;
      if (product === undefined || !isProduct(product)) {
        // matchRoute only yields products; anything else is a wiring bug, not a bad request.
        throw new Error(`unreachable: Sigma route without a product (${String(product)})`);
      }
      const event = body.event;
      if (typeof event !== 'string' || event.trim() === '') {
        throw new InvalidPayloadError('field "event" must be a non-empty string');
      }
      if (event.length > MAX_EVENT_LENGTH || CONTROL_CHARACTERS.test(event)) {
        throw new InvalidPayloadError('field "event" is not a valid event type');
      }
      const data = body.data;
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw new InvalidPayloadError('field "data" must be a JSON object');
      }
      return {
        kind: 'event',
        type: event,
        product,
        idempotencyKey: `${product}:${bodySha256}`,
        subject: subjectOf(data as Record<string, unknown>, SIGMA_SUBJECT_FIELDS),
      };
    },
  };
}
