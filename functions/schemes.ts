import type { Env } from './core/config.js';
import { type NoOptions, OptionReader, parseNoOptions } from './core/options.js';
import type { ProviderAdapter, RouteMatch } from './core/provider.js';
import { type Clock, secretEnvName, secretsFromVariable, webhookPath } from './core/scheme.js';
import { createGithubAdapter, type GithubOptions } from './github/adapter.js';
import { createHmacAdapter, type HmacOptions, parseHmacOptions } from './hmac/adapter.js';
import type { AnyProviderAdapter } from './registry.js';
import { createShopifyAdapter, type ShopifyOptions } from './shopify/adapter.js';
import { createSigmaAdapter, SIGMA_ROUTE_PREFIX, SigmaEnvNames } from './sigma/adapter.js';
import { sigmateAdapter } from './sigmate/adapter.js';
import {
  createSignifydAdapter,
  SIGNIFYD_FORWARD_TEST_EVENTS_ENV,
  SIGNIFYD_SECRET_ENV,
} from './signifyd/adapter.js';
import {
  createStandardWebhooksAdapter,
  parseStandardWebhooksOptions,
  type StandardWebhooksOptions,
} from './standard-webhooks/adapter.js';
import { createStripeAdapter, parseStripeOptions, type StripeOptions } from './stripe/adapter.js';

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

/** What building an adapter may use besides its options. */
export interface AdapterContext {
  /**
   * The function's environment: read only by the seed schemes under their own names, for
   * their contract flags (`SIGMA_ALLOW_LEGACY_SHA256`, `SIGNIFYD_FORWARD_TEST_EVENTS`)
   * when the entry does not set the option.
   */
  readonly env?: Env | undefined;
  /** The clock of timestamp checks; tests inject it. */
  readonly now?: Clock | undefined;
}

/** A scheme: how to check an entry's options and what a provider of it is. All pure. */
export interface Scheme<TOptions> {
  /**
   * Checks an entry's options (its keys but `name` and `scheme`); throws
   * {@link ProviderDeclarationError} whose one-line message names `entry`.
   */
  parseOptions(raw: Readonly<Record<string, unknown>>, entry: string): TOptions;
  /** The provider's adapter: its `provider` is `name`. */
  createAdapter(name: string, options: TOptions, context?: AdapterContext): AnyProviderAdapter;
  /** Its API Gateway route paths. */
  routes(name: string): string[];
  /** The local (`npm start`) variables that hold its secrets. */
  secretEnvNames(name: string): string[];
  /** Values for those variables when they are unset (printed by `npm start`); never secret. */
  demoSecrets(name: string): Record<string, string>;
}

/** `demo-<variable>`, lower-case with dashes: the seed's local demo values follow this rule. */
function demoValue(variable: string): string {
  return `demo-${variable.toLowerCase().replaceAll('_', '-')}`;
}

const oneRoute = (name: string) => [webhookPath(name)];

/** A scheme whose secret is `<NAME>_WEBHOOK_SECRET` alone. */
function declaredSecret(toDemo: (value: string) => string = (value) => value) {
  return {
    secretEnvNames: (name: string) => [secretEnvName(name)],
    demoSecrets: (name: string) => ({
      [secretEnvName(name)]: toDemo(demoValue(secretEnvName(name))),
    }),
  };
}

/**
 * A seed adapter (which knows only its own name) serving a declared name: the provider,
 * its route and its local variable `<NAME>_WEBHOOK_SECRET` change; verification, keys and
 * the Secrets Manager JSON stay. Under its own name the seed adapter is returned as is.
 */
function underName<TSecrets>(
  seed: ProviderAdapter<TSecrets>,
  name: string,
  matchRoute: (path: string) => RouteMatch | undefined,
  fromList: ((values: string[]) => TSecrets) | undefined,
): ProviderAdapter<TSecrets> {
  if (name === seed.provider) return seed;
  const variable = secretEnvName(name);
  return {
    ...seed,
    provider: name,
    matchRoute,
    secretsFromEnv: (env) =>
      secretsFromVariable(env, variable, (json) => seed.secretsFromJson(json), fromList),
  };
}

/**
 * A seed's flag: the entry's option when set; otherwise, under the seed's own name only,
 * the contract's variable as today's deployments set it.
 */
function seedFlag(
  name: string,
  scheme: SchemeName,
  variable: string,
  option: boolean | undefined,
  env: Env | undefined,
): Env {
  if (option !== undefined) return { [variable]: String(option) };
  return name === scheme ? { [variable]: env?.[variable] } : {};
}

function flagOption<K extends string>(key: K) {
  return (raw: Readonly<Record<string, unknown>>, entry: string) => {
    const reader = new OptionReader(raw, entry);
    const value = reader.boolean(key);
    reader.done();
    return { [key]: value } as { readonly [P in K]?: boolean | undefined };
  };
}

const sigma: Scheme<SigmaSchemeOptions> = {
  parseOptions: flagOption('allowLegacySha256'),
  createAdapter(name, options, context = {}) {
    const seed = createSigmaAdapter(
      seedFlag(
        name,
        'sigma',
        SigmaEnvNames.allowLegacySha256,
        options.allowLegacySha256,
        context.env,
      ),
    );
    const prefix = `${webhookPath(name)}/`;
    return underName(
      seed,
      name,
      (path) =>
        path.startsWith(prefix)
          ? seed.matchRoute(`${SIGMA_ROUTE_PREFIX}${path.slice(prefix.length)}`)
          : undefined,
      // Key, secret and business id do not fit a comma list: the variable holds the JSON.
      undefined,
    );
  },
  routes: (name) => [`${webhookPath(name)}/{product}`],
  secretEnvNames: (name) =>
    name === 'sigma'
      ? [SigmaEnvNames.apiKey, SigmaEnvNames.apiSecret, SigmaEnvNames.businessId]
      : [secretEnvName(name)],
  demoSecrets(name) {
    if (name === 'sigma') {
      const names = [SigmaEnvNames.apiKey, SigmaEnvNames.apiSecret, SigmaEnvNames.businessId];
      return Object.fromEntries(names.map((variable) => [variable, demoValue(variable)]));
    }
    const base = demoValue(name.toUpperCase());
    return {
      [secretEnvName(name)]: JSON.stringify({
        credentials: [{ apiKey: `${base}-api-key`, apiSecret: `${base}-api-secret` }],
        businessId: `${base}-business-id`,
      }),
    };
  },
};

const sigmate: Scheme<SigmateSchemeOptions> = {
  parseOptions: parseNoOptions,
  createAdapter: (name) =>
    underName(
      sigmateAdapter,
      name,
      (path) => (path === webhookPath(name) ? {} : undefined),
      (values) => sigmateAdapter.secretsFromJson({ webhookSecrets: values }),
    ),
  routes: oneRoute,
  // The contract's SIGMATE_WEBHOOK_SECRET is also `<NAME>_WEBHOOK_SECRET` of "sigmate".
  ...declaredSecret(),
};

const signifyd: Scheme<SignifydSchemeOptions> = {
  parseOptions: flagOption('forwardTestEvents'),
  createAdapter(name, options, context = {}) {
    const seed = createSignifydAdapter(
      seedFlag(
        name,
        'signifyd',
        SIGNIFYD_FORWARD_TEST_EVENTS_ENV,
        options.forwardTestEvents,
        context.env,
      ),
    );
    return underName(
      seed,
      name,
      (path) => (path === webhookPath(name) ? {} : undefined),
      (values) => seed.secretsFromJson({ apiKeys: values }),
    );
  },
  routes: oneRoute,
  secretEnvNames: (name) => [name === 'signifyd' ? SIGNIFYD_SECRET_ENV : secretEnvName(name)],
  demoSecrets(name) {
    const variable = name === 'signifyd' ? SIGNIFYD_SECRET_ENV : secretEnvName(name);
    return { [variable]: demoValue(variable) };
  },
};

/** Every scheme, by the name a `providers` entry gives in `scheme`. */
export const schemes: { readonly [S in SchemeName]: Scheme<SchemeOptions[S]> } = {
  sigma,
  sigmate,
  signifyd,
  'standard-webhooks': {
    parseOptions: parseStandardWebhooksOptions,
    createAdapter: (name, options, context = {}) =>
      createStandardWebhooksAdapter(name, options, context.now),
    routes: oneRoute,
    ...declaredSecret((value) => `whsec_${Buffer.from(value).toString('base64')}`),
  },
  github: {
    parseOptions: parseNoOptions,
    createAdapter: (name, options, context = {}) => createGithubAdapter(name, options, context.now),
    routes: oneRoute,
    ...declaredSecret(),
  },
  stripe: {
    parseOptions: parseStripeOptions,
    createAdapter: (name, options, context = {}) => createStripeAdapter(name, options, context.now),
    routes: oneRoute,
    ...declaredSecret((value) => `whsec_${value}`),
  },
  shopify: {
    parseOptions: parseNoOptions,
    createAdapter: (name, options, context = {}) =>
      createShopifyAdapter(name, options, context.now),
    routes: oneRoute,
    ...declaredSecret(),
  },
  hmac: {
    parseOptions: parseHmacOptions,
    createAdapter: (name, options, context = {}) => createHmacAdapter(name, options, context.now),
    routes: oneRoute,
    ...declaredSecret(),
  },
};

/** True when `value` names a scheme. */
export function isSchemeName(value: unknown): value is SchemeName {
  return typeof value === 'string' && (SchemeNames as readonly string[]).includes(value);
}
