import { decodeBase64Digest, decodeHexDigest, hmacSha256, matchesAny } from '../core/crypto.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  SECRET_LIST_SHAPE,
  secretEnvName,
} from '../core/declaration.js';
import {
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../core/errors.js';
import type { WebhookRequest } from '../core/http.js';
import { type ProviderAdapter, subjectOf } from '../core/provider.js';
import {
  bodyEventType,
  type Clock,
  checkFreshness,
  eventKey,
  exactRoute,
  header,
  headerEventType,
  readTimestamp,
  type SecretList,
  secretListFromJson,
  secretListFromValues,
  secretsFromVariable,
} from '../core/scheme.js';
import {
  HMAC_DEFAULT_MIN_RETENTION_DAYS,
  type HmacEncoding,
  type HmacOptions,
  type HmacSchemeSpec,
  type HmacTypeSource,
  SIGNED_BODY,
  SIGNED_TIMESTAMP,
} from './options.js';

/** The digest in a signature header, or undefined when it is not the configured shape. */
function decodeDigest(text: string, encoding: HmacEncoding): Buffer | undefined {
  return encoding === 'hex' ? decodeHexDigest(text) : decodeBase64Digest(text);
}

function ownField(body: Record<string, unknown>, field: string): unknown {
  return Object.hasOwn(body, field) ? body[field] : undefined;
}

function eventType(
  source: HmacTypeSource,
  request: WebhookRequest,
  body: Record<string, unknown>,
): string {
  if ('value' in source) return source.value;
  if ('header' in source) {
    const value = header(request, source.header);
    if (value !== undefined) return headerEventType(value, `header "${source.header}"`);
    if (source.default !== undefined) return source.default;
    throw new InvalidPayloadError(`header "${source.header}" is required`);
  }
  const value = bodyEventType(ownField(body, source.field)) ?? source.default;
  if (value === undefined) {
    throw new InvalidPayloadError(`field "${source.field}" must be a non-empty string`);
  }
  return value;
}

/**
 * An HMAC-SHA256 provider from a {@link HmacSchemeSpec}: the engine of `hmac`, `github`
 * and `shopify`. Verifies the raw bytes against every live secret in constant time,
 * then the timestamp (when there is one), so a stale but genuine delivery is told apart
 * in the logs; either way the answer is the same 401.
 */
export function createHmacSchemeAdapter(
  name: string,
  spec: HmacSchemeSpec,
  now: Clock = Date.now,
): ProviderAdapter<SecretList> {
  const prefix = spec.prefix ?? '';
  const template = spec.signedPayload ?? SIGNED_BODY;
  const signedPrefix = template.slice(0, template.length - SIGNED_BODY.length);
  const tolerance = spec.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const variable = secretEnvName(name);
  const subjectFields =
    spec.subjectFields ?? ('field' in spec.key ? [spec.key.field] : ([] as const));

  return {
    provider: name,
    minRetentionDays: spec.minRetentionDays ?? HMAC_DEFAULT_MIN_RETENTION_DAYS,
    matchRoute: exactRoute(name),
    secretShape: SECRET_LIST_SHAPE,

    secretsFromEnv(env) {
      return secretsFromVariable(
        env,
        variable,
        (json) => secretListFromJson(json),
        (values) => secretListFromValues(values),
      );
    },

    secretsFromJson(value) {
      return secretListFromJson(value);
    },

    verify(request, secrets) {
      const value = header(request, spec.signatureHeader);
      if (value === undefined) throw new SignatureVerificationError(SignatureFailure.Missing);
      const received = value.startsWith(prefix)
        ? decodeDigest(value.slice(prefix.length), spec.encoding)
        : undefined;
      if (received === undefined) throw new SignatureVerificationError(SignatureFailure.Malformed);
      let signed: Buffer = request.body;
      let timestamp: number | undefined;
      if (spec.timestampHeader !== undefined) {
        const text = header(request, spec.timestampHeader);
        timestamp = readTimestamp(text);
        signed = Buffer.concat([
          Buffer.from(signedPrefix.replace(SIGNED_TIMESTAMP, `${text}`)),
          signed,
        ]);
      } else if (signedPrefix !== '') {
        signed = Buffer.concat([Buffer.from(signedPrefix), signed]);
      }
      const expected = secrets.secrets.map((secret) => hmacSha256(secret, signed));
      if (!matchesAny(expected, received)) {
        throw new SignatureVerificationError(SignatureFailure.Mismatch);
      }
      if (timestamp !== undefined) checkFreshness(timestamp, now(), tolerance);
      return {};
    },

    describe({ request, body, bodySha256 }) {
      const type = eventType(spec.type, request, body);
      const source = spec.key;
      const key =
        'header' in source
          ? eventKey(header(request, source.header), `header "${source.header}"`)
          : 'field' in source
            ? eventKey(ownField(body, source.field), `field "${source.field}"`)
            : bodySha256;
      return {
        kind: 'event',
        type,
        idempotencyKey: spec.keyPerType ? `${type}:${key}` : key,
        subject: subjectOf(body, subjectFields),
      };
    },
  };
}

/** The `hmac` scheme: {@link createHmacSchemeAdapter} from validated {@link HmacOptions}. */
export function createHmacAdapter(
  name: string,
  options: HmacOptions,
  now: Clock = Date.now,
): ProviderAdapter<SecretList> {
  return createHmacSchemeAdapter(name, options, now);
}
