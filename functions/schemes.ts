/**
 * The schemes a `providers` entry may name, as declarations: how each checks its
 * options and what a provider of it is (routes, local variables, secret, retention).
 * No runtime dependency — the construct (infra/) and `npm start` import it; the
 * functions build adapters from the same declarations (functions/declared/adapter.ts).
 */
import { SECRET_LIST_SHAPE, secretEnvName, webhookPath } from './core/declaration.js';
import {
  type NoOptions,
  OptionReader,
  parseNoOptions,
  parseToleranceOptions,
} from './core/options.js';
import { GITHUB_SPEC, type GithubOptions } from './github/spec.js';
import {
  HMAC_DEFAULT_MIN_RETENTION_DAYS,
  type HmacOptions,
  parseHmacOptions,
} from './hmac/options.js';
import { SHOPIFY_SPEC, type ShopifyOptions } from './shopify/spec.js';
import { SigmaEnvNames } from './sigma/names.js';
import {
  STANDARD_WEBHOOKS_MIN_RETENTION_DAYS,
  STANDARD_WEBHOOKS_SECRET_SHAPE,
  type StandardWebhooksOptions,
} from './standard-webhooks/options.js';
import {
  STRIPE_MIN_RETENTION_DAYS,
  STRIPE_SECRET_SHAPE,
  type StripeOptions,
} from './stripe/options.js';

/** Every scheme a `providers` entry may name. */
export const SchemeNames = [
  'sigma',
  'sigmate',
  'signifyd',
  'standard-webhooks',
  'github',
  'stripe',
  'shopify',
  'hmac',
] as const;
export type SchemeName = (typeof SchemeNames)[number];

/** Sigma's one option: accept the docs' Python sample's plain SHA-256 (off by default). */
export interface SigmaSchemeOptions {
  readonly allowLegacySha256?: boolean | undefined;
}
/** Signifyd's one option: forward team-key-signed `cases/test` deliveries (off by default). */
export interface SignifydSchemeOptions {
  readonly forwardTestEvents?: boolean | undefined;
}
export type SigmateSchemeOptions = NoOptions;

/** Each scheme's validated options, as {@link Scheme.parseOptions} returns them. */
export interface SchemeOptions {
  sigma: SigmaSchemeOptions;
  sigmate: SigmateSchemeOptions;
  signifyd: SignifydSchemeOptions;
  'standard-webhooks': StandardWebhooksOptions;
  github: GithubOptions;
  stripe: StripeOptions;
  shopify: ShopifyOptions;
  hmac: HmacOptions;
}

/**
 * The secret's placeholder for a new deployment: a JSON template plus one key that
 * Secrets Manager fills with a random value, so nothing anyone knows verifies until the
 * operator puts the real secret.
 */
export interface SecretPlaceholder {
  readonly template: Record<string, unknown>;
  readonly generatedKey: string;
}

/** A scheme as configuration sees it. Every function here is pure. */
export interface Scheme<TOptions> {
  /**
   * Checks an entry's options (its keys but `name` and `scheme`); throws
   * {@link ProviderDeclarationError} whose one-line message names `entry`.
   */
  parseOptions(raw: Readonly<Record<string, unknown>>, entry: string): TOptions;
  /** Its API Gateway route paths. */
  routes(name: string): string[];
  /** The local (`npm start`) variables that hold its secrets. */
  secretEnvNames(name: string): string[];
  /** Values for those variables when they are unset (printed by `npm start`); never secret. */
  demoSecrets(name: string): Record<string, string>;
  /** The shortest idempotency retention that outlasts the sender's retries (= the adapter's). */
  minRetentionDays(options: TOptions): number;
  /** The Secrets Manager JSON, with placeholders (= the adapter's `secretShape`). */
  readonly secretShape: string;
  readonly secretPlaceholder: SecretPlaceholder;
}

// The seeds' own values, as their adapters hold them (test/unit/schemes/declarations.test.ts
// keeps the two equal): the adapters load the AWS SDK, which this module must not.
const SIGMATE_SECRET_SHAPE = '{"webhookSecrets":["…"]}';
const SIGNIFYD_SECRET_ENV = 'SIGNIFYD_API_KEY';
const SIGMA_VARIABLES = [SigmaEnvNames.apiKey, SigmaEnvNames.apiSecret, SigmaEnvNames.businessId];

/** `demo-<variable>`, lower-case with dashes: the seeds' local demo values follow this rule. */
function demoValue(variable: string): string {
  return `demo-${variable.toLowerCase().replaceAll('_', '-')}`;
}

const oneRoute = (name: string) => [webhookPath(name)];

/** What a scheme whose secret is `<NAME>_WEBHOOK_SECRET` alone shares. */
function declaredSecret(toDemo: (value: string) => string = (value) => value) {
  return {
    routes: oneRoute,
    secretEnvNames: (name: string) => [secretEnvName(name)],
    demoSecrets: (name: string) => ({
      [secretEnvName(name)]: toDemo(demoValue(secretEnvName(name))),
    }),
  };
}

/** A `{"secrets":[…]}` scheme's placeholder: one random, unknown secret. */
const LIST_PLACEHOLDER: SecretPlaceholder = { template: {}, generatedKey: 'secrets' };

function flagOption<K extends string>(key: K) {
  return (raw: Readonly<Record<string, unknown>>, entry: string) => {
    const reader = new OptionReader(raw, entry);
    const value = reader.boolean(key);
    reader.done();
    return { [key]: value } as { readonly [P in K]?: boolean | undefined };
  };
}

/** Every scheme, by the name a `providers` entry gives in `scheme`. */
export const schemes: { readonly [S in SchemeName]: Scheme<SchemeOptions[S]> } = {
  sigma: {
    parseOptions: flagOption('allowLegacySha256'),
    routes: (name) => [`${webhookPath(name)}/{product}`],
    secretEnvNames: (name) => (name === 'sigma' ? [...SIGMA_VARIABLES] : [secretEnvName(name)]),
    demoSecrets(name) {
      if (name === 'sigma') {
        return Object.fromEntries(
          SIGMA_VARIABLES.map((variable) => [variable, demoValue(variable)]),
        );
      }
      // Key, secret and business id do not fit a comma list: the variable holds the JSON.
      const base = demoValue(name.toUpperCase());
      return {
        [secretEnvName(name)]: JSON.stringify({
          credentials: [{ apiKey: `${base}-api-key`, apiSecret: `${base}-api-secret` }],
          businessId: `${base}-business-id`,
        }),
      };
    },
    // Sigma retries "with exponential backoff" and publishes no horizon.
    minRetentionDays: () => 7,
    secretShape: '{"credentials":[{"apiKey":"…","apiSecret":"…"}],"businessId":"…"}',
    // An unknown random businessId: an HMAC over it cannot be forged.
    secretPlaceholder: {
      template: {
        credentials: [{ apiKey: 'REPLACE_WITH_API_KEY', apiSecret: 'REPLACE_WITH_API_SECRET' }],
      },
      generatedKey: 'businessId',
    },
  },
  sigmate: {
    parseOptions: parseNoOptions,
    // The contract's SIGMATE_WEBHOOK_SECRET is also `<NAME>_WEBHOOK_SECRET` of "sigmate".
    ...declaredSecret(),
    minRetentionDays: () => 1,
    secretShape: SIGMATE_SECRET_SHAPE,
    secretPlaceholder: { template: {}, generatedKey: 'webhookSecrets' },
  },
  signifyd: {
    parseOptions: flagOption('forwardTestEvents'),
    routes: oneRoute,
    secretEnvNames: (name) => [name === 'signifyd' ? SIGNIFYD_SECRET_ENV : secretEnvName(name)],
    demoSecrets(name) {
      const variable = name === 'signifyd' ? SIGNIFYD_SECRET_ENV : secretEnvName(name);
      return { [variable]: demoValue(variable) };
    },
    minRetentionDays: () => 5,
    secretShape: '{"apiKeys":["…"]}',
    secretPlaceholder: { template: {}, generatedKey: 'apiKeys' },
  },
  'standard-webhooks': {
    parseOptions: parseToleranceOptions,
    ...declaredSecret((value) => `whsec_${Buffer.from(value).toString('base64')}`),
    minRetentionDays: () => STANDARD_WEBHOOKS_MIN_RETENTION_DAYS,
    secretShape: STANDARD_WEBHOOKS_SECRET_SHAPE,
    // A random value has no whsec_/whpk_ prefix: refused as misconfigured (503) until set.
    secretPlaceholder: LIST_PLACEHOLDER,
  },
  github: {
    parseOptions: parseNoOptions,
    ...declaredSecret(),
    minRetentionDays: () => GITHUB_SPEC.minRetentionDays ?? HMAC_DEFAULT_MIN_RETENTION_DAYS,
    secretShape: SECRET_LIST_SHAPE,
    secretPlaceholder: LIST_PLACEHOLDER,
  },
  stripe: {
    parseOptions: parseToleranceOptions,
    ...declaredSecret((value) => `whsec_${value}`),
    minRetentionDays: () => STRIPE_MIN_RETENTION_DAYS,
    secretShape: STRIPE_SECRET_SHAPE,
    // A random value has no whsec_ prefix: refused as misconfigured (503) until set.
    secretPlaceholder: LIST_PLACEHOLDER,
  },
  shopify: {
    parseOptions: parseNoOptions,
    ...declaredSecret(),
    minRetentionDays: () => SHOPIFY_SPEC.minRetentionDays ?? HMAC_DEFAULT_MIN_RETENTION_DAYS,
    secretShape: SECRET_LIST_SHAPE,
    secretPlaceholder: LIST_PLACEHOLDER,
  },
  hmac: {
    parseOptions: parseHmacOptions,
    ...declaredSecret(),
    minRetentionDays: (options) => options.minRetentionDays ?? HMAC_DEFAULT_MIN_RETENTION_DAYS,
    secretShape: SECRET_LIST_SHAPE,
    secretPlaceholder: LIST_PLACEHOLDER,
  },
};

/** True when `value` names a scheme. */
export function isSchemeName(value: unknown): value is SchemeName {
  return typeof value === 'string' && (SchemeNames as readonly string[]).includes(value);
}
