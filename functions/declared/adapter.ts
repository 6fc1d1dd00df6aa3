/**
 * A declared provider's adapter, built from its `providers` entry: the function side of
 * functions/schemes.ts (which infra/ imports without the adapters and their SDK).
 */
import type { Env } from '../core/config.js';
import { secretEnvName, webhookPath } from '../core/declaration.js';
import type { ProviderAdapter, RouteMatch } from '../core/provider.js';
import { type Clock, exactRoute, secretsFromVariable } from '../core/scheme.js';
import { createGithubAdapter } from '../github/adapter.js';
import { createHmacAdapter } from '../hmac/adapter.js';
import { type ProviderDeclaration, providerFromEnv } from '../providers.js';
import type { AnyProviderAdapter } from '../registry.js';
import type { SchemeName, SchemeOptions } from '../schemes.js';
import { createShopifyAdapter } from '../shopify/adapter.js';
import { createSigmaAdapter } from '../sigma/adapter.js';
import { SIGMA_ROUTE_PREFIX, SigmaEnvNames } from '../sigma/names.js';
import { sigmateAdapter } from '../sigmate/adapter.js';
import { createSignifydAdapter } from '../signifyd/adapter.js';
import { SIGNIFYD_FORWARD_TEST_EVENTS_ENV } from '../signifyd/names.js';
import { createStandardWebhooksAdapter } from '../standard-webhooks/adapter.js';
import { createStripeAdapter } from '../stripe/adapter.js';

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

/** How each scheme builds its adapter from a declaration. */
const factories: {
  readonly [S in SchemeName]: (
    name: string,
    options: SchemeOptions[S],
    context: AdapterContext,
  ) => AnyProviderAdapter;
} = {
  sigma(name, options, { env }) {
    const flag = SigmaEnvNames.allowLegacySha256;
    const seed = createSigmaAdapter(seedFlag(name, 'sigma', flag, options.allowLegacySha256, env));
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
  sigmate: (name) =>
    underName(sigmateAdapter, name, exactRoute(name), (values) =>
      sigmateAdapter.secretsFromJson({ webhookSecrets: values }),
    ),
  signifyd(name, options, { env }) {
    const flag = SIGNIFYD_FORWARD_TEST_EVENTS_ENV;
    const seed = createSignifydAdapter(
      seedFlag(name, 'signifyd', flag, options.forwardTestEvents, env),
    );
    return underName(seed, name, exactRoute(name), (values) =>
      seed.secretsFromJson({ apiKeys: values }),
    );
  },
  'standard-webhooks': (name, options, { now }) =>
    createStandardWebhooksAdapter(name, options, now),
  github: (name, options, { now }) => createGithubAdapter(name, options, now),
  stripe: (name, options, { now }) => createStripeAdapter(name, options, now),
  shopify: (name, options, { now }) => createShopifyAdapter(name, options, now),
  hmac: (name, options, { now }) => createHmacAdapter(name, options, now),
};

/** The adapter serving a declaration. Pure: nothing is read from AWS. */
export function createProviderAdapter(
  declaration: ProviderDeclaration,
  context: AdapterContext = {},
): AnyProviderAdapter {
  // The union pairs each scheme with its options; TypeScript cannot follow the lookup.
  const build = factories[declaration.scheme] as (typeof factories)['hmac'];
  return build(declaration.name, declaration.options as never, context);
}

/** A declared provider's adapter from its function's environment (cold start). */
export function adapterFromEnv(env: Env): AnyProviderAdapter {
  return createProviderAdapter(providerFromEnv(env), { env });
}
