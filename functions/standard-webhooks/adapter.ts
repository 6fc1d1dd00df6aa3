import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { anyMatches, decodeBase64, decodeBase64Digest, hmacSha256 } from '../core/crypto.js';
import { DEFAULT_TOLERANCE_SECONDS, secretEnvName } from '../core/declaration.js';
import {
  ConfigurationError,
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
  objectAt,
  readTimestamp,
  secretListFromJson,
  secretsFromVariable,
} from '../core/scheme.js';
import {
  STANDARD_WEBHOOKS_MIN_RETENTION_DAYS,
  STANDARD_WEBHOOKS_SECRET_SHAPE,
  type StandardWebhooksOptions,
} from './options.js';

/** A provider's live keys: several during a rotation, symmetric and asymmetric alike. */
export interface StandardWebhooksSecrets {
  /** `v1`: the base64-decoded part of each `whsec_…` secret. */
  readonly hmacKeys: readonly Buffer[];
  /** `v1a`: each `whpk_…` ed25519 public key. */
  readonly publicKeys: readonly KeyObject[];
}

export const StandardWebhooksPrefixes = {
  secret: 'whsec_',
  publicKey: 'whpk_',
  /** The sender's private key: never ours to hold. */
  privateKey: 'whsk_',
} as const;
/** The type of an event whose body has no string `type` (the spec only recommends one). */
export const STANDARD_WEBHOOKS_DEFAULT_TYPE = 'webhook';
/** More entries than this in one signature header is not a rotation: refused as malformed. */
const MAX_SIGNATURES = 16;
const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The three headers, all from the spec's `webhook-*` set or all from Svix's `svix-*` set. */
function standardHeaders(request: WebhookRequest) {
  const set = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].some(
    (name) => header(request, name) !== undefined,
  )
    ? 'webhook'
    : 'svix';
  return {
    idHeader: `${set}-id`,
    id: header(request, `${set}-id`),
    timestamp: header(request, `${set}-timestamp`),
    signature: header(request, `${set}-signature`),
  };
}

function keyBytes(text: string, label: string): Buffer {
  const bytes = BASE64.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (bytes.length === 0) throw new ConfigurationError(`${label} is not base64 after its prefix`);
  return bytes;
}

/** One configured value: a `whsec_` secret or a `whpk_` public key, told apart by prefix. */
function addKey(
  keys: { hmacKeys: Buffer[]; publicKeys: KeyObject[] },
  text: string,
  label: string,
) {
  const { secret, publicKey, privateKey } = StandardWebhooksPrefixes;
  if (text.startsWith(secret)) {
    keys.hmacKeys.push(keyBytes(text.slice(secret.length), label));
  } else if (text.startsWith(publicKey)) {
    const raw = keyBytes(text.slice(publicKey.length), label);
    if (raw.length !== ED25519_PUBLIC_KEY_BYTES) {
      throw new ConfigurationError(`${label} is not a 32-byte ed25519 public key`);
    }
    keys.publicKeys.push(
      createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
        format: 'jwk',
      }),
    );
  } else if (text.startsWith(privateKey)) {
    throw new ConfigurationError(
      `${label} is a private signing key (whsk_…): store the sender's public key (whpk_…)`,
    );
  } else {
    throw new ConfigurationError(`${label} must be a whsec_… secret or a whpk_… public key`);
  }
}

function toSecrets(values: readonly string[], field: string): StandardWebhooksSecrets {
  const keys = { hmacKeys: [] as Buffer[], publicKeys: [] as KeyObject[] };
  values.forEach((value, index) => {
    addKey(keys, value, `${field}[${index}]`);
  });
  return keys;
}

/** The signature header's entries this scheme knows: `v1,<base64>` and `v1a,<base64>`. */
function parseSignatures(value: string): { v1: Buffer[]; v1a: Buffer[] } {
  const entries = value.split(' ').filter((entry) => entry !== '');
  if (entries.length > MAX_SIGNATURES) {
    throw new SignatureVerificationError(SignatureFailure.Malformed);
  }
  const v1: Buffer[] = [];
  const v1a: Buffer[] = [];
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    const version = entry.slice(0, comma);
    const text = entry.slice(comma + 1);
    // Unknown versions are skipped, as the spec asks; a malformed entry is one that cannot match.
    const bytes =
      comma < 0
        ? undefined
        : version === 'v1'
          ? decodeBase64Digest(text)
          : version === 'v1a'
            ? decodeBase64(text, ED25519_SIGNATURE_BYTES)
            : undefined;
    if (bytes !== undefined) (version === 'v1' ? v1 : v1a).push(bytes);
  }
  if (v1.length + v1a.length === 0)
    throw new SignatureVerificationError(SignatureFailure.Malformed);
  return { v1, v1a };
}

/** Any `v1a` signature made by any of the public keys. Every pair is checked. */
function anyEd25519(content: Buffer, keys: readonly KeyObject[], signatures: Buffer[]): boolean {
  let matched = false;
  for (const key of keys) {
    for (const signature of signatures) {
      matched = verifySignature(null, content, key, signature) || matched;
    }
  }
  return matched;
}

/**
 * Standard Webhooks 1.0 (standardwebhooks.com), and Svix, which sends the same under
 * `svix-*` names: the content `<id>.<timestamp>.<raw body>` signed `v1` (base64
 * HMAC-SHA256 keyed with the decoded `whsec_` secret) and/or `v1a` (base64 ed25519,
 * checked with a `whpk_` public key); any one valid signature of the space-separated
 * list accepts. A timestamp further than the tolerance from now → 401. Key `webhook-id`;
 * type the body's `type` where it is a string.
 */
export function createStandardWebhooksAdapter(
  name: string,
  options: StandardWebhooksOptions = {},
  now: Clock = Date.now,
): ProviderAdapter<StandardWebhooksSecrets> {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const variable = secretEnvName(name);
  const fromJson = (value: unknown) => toSecrets(secretListFromJson(value).secrets, 'secrets');
  return {
    provider: name,
    minRetentionDays: STANDARD_WEBHOOKS_MIN_RETENTION_DAYS,
    matchRoute: exactRoute(name),
    secretShape: STANDARD_WEBHOOKS_SECRET_SHAPE,

    secretsFromEnv(env) {
      return secretsFromVariable(env, variable, fromJson, (values) =>
        toSecrets(values, 'the list'),
      );
    },

    secretsFromJson: fromJson,

    verify(request, secrets) {
      const { id, timestamp, signature } = standardHeaders(request);
      if (id === undefined || signature === undefined) {
        throw new SignatureVerificationError(SignatureFailure.Missing);
      }
      const seconds = readTimestamp(timestamp);
      const { v1, v1a } = parseSignatures(signature);
      const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), request.body]);
      const hmacMatch =
        v1.length > 0 &&
        anyMatches(
          secrets.hmacKeys.map((key) => hmacSha256(key, content)),
          v1,
        );
      const ed25519Match = v1a.length > 0 && anyEd25519(content, secrets.publicKeys, v1a);
      if (!hmacMatch && !ed25519Match) {
        throw new SignatureVerificationError(SignatureFailure.Mismatch);
      }
      checkFreshness(seconds, now(), tolerance);
      return {};
    },

    describe({ request, body }) {
      const { idHeader, id } = standardHeaders(request);
      const data = objectAt(body, 'data');
      return {
        kind: 'event',
        type: bodyEventType(body.type) ?? STANDARD_WEBHOOKS_DEFAULT_TYPE,
        idempotencyKey: eventKey(id, `header "${idHeader}"`),
        subject: data === undefined ? undefined : subjectOf(data, ['id']),
      };
    },
  };
}
