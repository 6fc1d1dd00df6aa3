import { type Env, readBoolean } from '../core/config.js';
import { decodeBase64Digest, hmacSha256, matchesAny } from '../core/crypto.js';
import {
  ConfigurationError,
  InvalidPayloadError,
  SignatureFailure,
  SignatureVerificationError,
} from '../core/errors.js';
import type { WebhookRequest } from '../core/http.js';
import { type ProviderAdapter, subjectOf } from '../core/provider.js';
import { secretList } from '../core/secrets.js';
import { SIGNIFYD_FORWARD_TEST_EVENTS_ENV } from './names.js';

export { SIGNIFYD_FORWARD_TEST_EVENTS_ENV };

/** Body fields that name what a Signifyd event is about, in order of preference. */
export const SIGNIFYD_SUBJECT_FIELDS = ['caseId', 'signifydId', 'orderId'] as const;

/** Signifyd team API keys; several are live during a rotation. */
export interface SignifydSecrets {
  readonly apiKeys: readonly string[];
}

export const SIGNIFYD_ROUTE = '/webhooks/signifyd';
/** Header names, lower-case as the core normalises them. */
export const SignifydHeaders = {
  v2Signature: 'x-signifyd-sec-hmac-sha256',
  v2Topic: 'x-signifyd-topic',
  v3Signature: 'signifyd-sec-hmac-sha256',
  v3Topic: 'signifyd-topic',
  v3Checkpoint: 'signifyd-checkpoint',
} as const;
export const SIGNIFYD_SECRET_ENV = 'SIGNIFYD_API_KEY';
/** The dashboard's "Test" button signs with this published key: it proves nothing. */
export const SIGNIFYD_PUBLIC_TEST_KEY = 'ABCDE';
export const SIGNIFYD_TEST_TOPIC = 'cases/test';
export const SIGNIFYD_TEST_REASON = 'signifyd test webhook';
// Signifyd retries a failed delivery up to 15 times over about four days.
const MIN_RETENTION_DAYS = 5;
const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

function header(request: WebhookRequest, name: string): string | undefined {
  const value = request.headers[name]?.trim();
  return value ? value : undefined;
}

/**
 * The event type: the topic (v2 or v3 header), else the v3 checkpoint. Throws
 * {@link InvalidPayloadError} when there is none, the two topic headers disagree,
 * or the value is outside a safe character set.
 */
export function signifydEventType(request: WebhookRequest): string {
  const v2 = header(request, SignifydHeaders.v2Topic);
  const v3 = header(request, SignifydHeaders.v3Topic);
  if (v2 !== undefined && v3 !== undefined && v2 !== v3) {
    throw new InvalidPayloadError('headers "x-signifyd-topic" and "signifyd-topic" disagree');
  }
  const type = v2 ?? v3 ?? header(request, SignifydHeaders.v3Checkpoint);
  if (type === undefined) {
    throw new InvalidPayloadError('a topic or checkpoint header is required');
  }
  if (!EVENT_TYPE.test(type)) {
    throw new InvalidPayloadError('the topic or checkpoint is not a valid event type');
  }
  return type;
}

/** True only when the request unambiguously names the dashboard's test topic. */
function isTestTopic(request: WebhookRequest): boolean {
  try {
    return signifydEventType(request) === SIGNIFYD_TEST_TOPIC;
  } catch {
    return false;
  }
}

function apiKeys(value: unknown, name: string): string[] {
  const keys = secretList(value, name);
  // A team key equal to the public one would let anyone sign every topic.
  if (keys.includes(SIGNIFYD_PUBLIC_TEST_KEY)) {
    throw new ConfigurationError(`${name} must not contain the public test key`);
  }
  return keys;
}

/**
 * Signifyd: the base64 HMAC-SHA256 of the raw body keyed with the team API key,
 * in `X-SIGNIFYD-SEC-HMAC-SHA256` (API v2) or `SIGNIFYD-SEC-HMAC-SHA256` (v3);
 * type = topic, else v3 checkpoint; key = type + SHA-256 of the body. The
 * dashboard's `cases/test` ping is signed with the public key `ABCDE` and is
 * answered `ignored`; any other topic signed with it is refused.
 *
 * Reads its one flag, {@link SIGNIFYD_FORWARD_TEST_EVENTS_ENV}, from `env`;
 * throws {@link ConfigurationError} when it is malformed.
 */
export function createSignifydAdapter(env: Env = {}): ProviderAdapter<SignifydSecrets> {
  const forwardTestEvents = readBoolean(env, SIGNIFYD_FORWARD_TEST_EVENTS_ENV, false);
  return {
    provider: 'signifyd',
    minRetentionDays: MIN_RETENTION_DAYS,

    matchRoute(path) {
      return path === SIGNIFYD_ROUTE ? {} : undefined;
    },

    secretsFromEnv(variables) {
      const value = variables[SIGNIFYD_SECRET_ENV];
      if (value === undefined) throw new ConfigurationError(`${SIGNIFYD_SECRET_ENV} is not set`);
      return { apiKeys: apiKeys(value, SIGNIFYD_SECRET_ENV) };
    },

    secretShape: '{"apiKeys":["…"]}',

    secretsFromJson(value) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ConfigurationError('the Signifyd secret must be a JSON object');
      }
      return { apiKeys: apiKeys((value as Record<string, unknown>).apiKeys, 'apiKeys') };
    },

    verify(request, secrets) {
      // Either generation's header may carry the signature; if both come, each must be
      // well-formed and one match suffices (Signifyd computes the same HMAC for both).
      const present = [
        header(request, SignifydHeaders.v2Signature),
        header(request, SignifydHeaders.v3Signature),
      ].filter((value) => value !== undefined);
      if (present.length === 0) throw new SignatureVerificationError(SignatureFailure.Missing);
      const received = present.map(decodeBase64Digest);
      const digests = received.filter((digest) => digest !== undefined);
      if (digests.length !== received.length) {
        throw new SignatureVerificationError(SignatureFailure.Malformed);
      }
      const team = secrets.apiKeys.map((key) => hmacSha256(key, request.body));
      const publicKey = [hmacSha256(SIGNIFYD_PUBLIC_TEST_KEY, request.body)];
      // Every comparison runs, whichever matches: no early exit on a secret-dependent result.
      let teamMatch = false;
      let publicMatch = false;
      for (const digest of digests) {
        teamMatch = matchesAny(team, digest) || teamMatch;
        publicMatch = matchesAny(publicKey, digest) || publicMatch;
      }
      if (teamMatch) return {};
      if (!publicMatch) throw new SignatureVerificationError(SignatureFailure.Mismatch);
      // Decided here as well as in describe(), so an ABCDE-signed body on a real topic is
      // answered 401 even when it is not JSON.
      if (!isTestTopic(request)) {
        throw new SignatureVerificationError(SignatureFailure.PublicTestKeyOnRealTopic);
      }
      return { publicTestKey: true };
    },

    describe({ request, verification, body, bodySha256 }) {
      let type: string;
      try {
        type = signifydEventType(request);
      } catch (error) {
        // The public key authorises one answer only: `ignored` for the test topic.
        if (verification.publicTestKey) {
          throw new SignatureVerificationError(SignatureFailure.PublicTestKeyOnRealTopic);
        }
        throw error;
      }
      if (type === SIGNIFYD_TEST_TOPIC) {
        if (forwardTestEvents && !verification.publicTestKey) {
          return {
            kind: 'event',
            type,
            idempotencyKey: `${type}:${bodySha256}`,
            subject: subjectOf(body, SIGNIFYD_SUBJECT_FIELDS),
            test: true,
          };
        }
        return { kind: 'ignored', type, reason: SIGNIFYD_TEST_REASON };
      }
      if (verification.publicTestKey) {
        throw new SignatureVerificationError(SignatureFailure.PublicTestKeyOnRealTopic);
      }
      return {
        kind: 'event',
        type,
        idempotencyKey: `${type}:${bodySha256}`,
        subject: subjectOf(body, SIGNIFYD_SUBJECT_FIELDS),
      };
    },
  };
}
