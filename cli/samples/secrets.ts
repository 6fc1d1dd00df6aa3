/**
 * The secrets `send` signs with, read from the variables the ingress reads them from
 * locally (functions/providers.ts `providerSecretEnvNames`): a comma-separated list, or
 * the same JSON object as in Secrets Manager (any value starting with `{`). `send` signs
 * with the first value that can sign, as a sender holds one secret.
 */
import { UsageError } from '../errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A variable's JSON object, or undefined when it holds a list. Throws UsageError naming it. */
function jsonObject(variable: string, text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${variable} starts with "{" but is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${variable} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function required(env: Env, variable: string): string {
  const text = env[variable]?.trim();
  if (!text) throw new UsageError(`${variable} is not set`);
  return text;
}

/**
 * The first value of `variable` that `canSign` accepts: from its comma-separated list, or
 * from the list `field` of its JSON object (e.g. `{"secrets":[…]}`) where the ingress
 * reads one (`field` undefined: the contract's seed variables, lists only). Throws
 * UsageError naming the variable, never a value; `unusable` says why none could sign.
 */
export function signingSecret(
  env: Env,
  variable: string,
  field: string | undefined,
  canSign: (value: string) => boolean = () => true,
  unusable = 'holds no secret',
): string {
  const text = required(env, variable);
  const json = field === undefined ? undefined : jsonObject(variable, text);
  let values: unknown[] = text.split(',');
  if (json !== undefined && field !== undefined) {
    const list = json[field];
    values = typeof list === 'string' ? [list] : Array.isArray(list) ? list : [];
  }
  const usable = values
    .filter((value): value is string => typeof value === 'string')
    .map((value) => value.trim())
    .find((value) => value !== '' && canSign(value));
  if (usable === undefined) {
    throw new UsageError(
      json === undefined ? `${variable} ${unusable}` : `${variable}: "${field}" ${unusable}`,
    );
  }
  return usable;
}

/** Sigma's credentials: the first key pair and the business id. */
export interface SigmaSigningSecrets {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly businessId: string;
}

/**
 * A Sigma provider's credentials from the JSON of its variable,
 * `{"credentials":[{"apiKey","apiSecret"}],"businessId"}` (the only form: three values do
 * not fit a list).
 */
export function sigmaSecretsFromJson(env: Env, variable: string): SigmaSigningSecrets {
  const json = jsonObject(variable, required(env, variable));
  const shape = '{"credentials":[{"apiKey":"…","apiSecret":"…"}],"businessId":"…"}';
  const [first] = Array.isArray(json?.credentials) ? (json.credentials as unknown[]) : [];
  const { apiKey, apiSecret } = (first ?? {}) as Record<string, unknown>;
  const businessId = json?.businessId;
  if (
    typeof apiKey !== 'string' ||
    !apiKey ||
    typeof apiSecret !== 'string' ||
    !apiSecret ||
    typeof businessId !== 'string' ||
    !businessId
  ) {
    throw new UsageError(`${variable} must hold ${shape}`);
  }
  return { apiKey, apiSecret, businessId };
}

/**
 * A secret that is not the provider's, shaped like it, for `--bad-signature`: a Standard
 * Webhooks key stays a key of its kind (so the signature is well-formed and wrong).
 */
export function wrongSecret(secret: string): string {
  for (const prefix of ['whsec_', 'whsk_']) {
    if (!secret.startsWith(prefix)) continue;
    const key = Buffer.from(secret.slice(prefix.length), 'base64');
    // An ed25519 seed must stay 32 bytes; an HMAC key may be any length.
    const wrong = prefix === 'whsk_' ? key.map((byte) => byte ^ 0xff) : Buffer.concat([key, key]);
    return `${prefix}${Buffer.from(wrong).toString('base64')}`;
  }
  return `${secret}-wrong`;
}
