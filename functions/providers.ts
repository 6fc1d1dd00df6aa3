/**
 * The providers served, as configuration: the `providers` list of the CDK context (or
 * the construct's props), each entry `{ "name", "scheme", …options }`. One parser checks
 * it for `cdk synth`, `npm start` and — entry by entry — each function at cold start.
 * No runtime dependency: infra/ imports it; functions/declared/adapter.ts builds the
 * adapters.
 */
import { type Env, EnvNames } from './core/config.js';
import { ProviderDeclarationError } from './core/errors.js';
import { quote } from './core/options.js';
import {
  isSchemeName,
  type SchemeName,
  SchemeNames,
  type SchemeOptions,
  type SecretPlaceholder,
  schemes,
} from './schemes.js';

/** One provider to serve: its name (route, queue, secret, envelope `provider`), scheme and options. */
export type ProviderDeclaration = {
  readonly [S in SchemeName]: {
    readonly name: string;
    readonly scheme: S;
    readonly options: SchemeOptions[S];
  };
}[SchemeName];

/** Lowercase letters, digits and `-`, starting with a letter, at most 32 characters (the contract). */
export const PROVIDER_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Names the contract allows that the deployment already uses for something else, with why:
 * a provider by one of these names would collide with it.
 */
export const RESERVED_PROVIDER_NAMES: Readonly<Record<string, string>> = {
  default: 'it names the throttle of unknown paths (throttleRateLimit.default)',
  archive: "its outputs would collide with the audit archive's (ArchiveQueueUrl)",
  'not-found': 'its function would collide with the catch-all NotFoundFunction',
};

/** Name shapes the deployment uses for its own resources, with why. */
const RESERVED_NAME_PATTERNS: readonly { test: RegExp; why: string }[] = [
  {
    test: /^archive-/,
    why: 'names starting "archive-" are the audit archive\'s (its queues and outputs)',
  },
  { test: /-dlq$/, why: 'names ending "-dlq" are the dead-letter queues\' under npm start' },
];

/**
 * `sigmate` → `Sigmate`, `stripe-eu` → `StripeEu`: the form of a name in the deployment's
 * construct ids, output names and WAF rule names.
 */
export function providerTitle(name: string): string {
  return name
    .split('-')
    .map((part) => `${part.slice(0, 1).toUpperCase()}${part.slice(1)}`)
    .join('');
}

/**
 * What follows a provider's title in the ids the deployment derives from it (infra/):
 * a name whose title is another's plus the start of one of these would make one of its
 * ids another's (`pay` and `pay-dead-letter`: `PayDeadLetterQueue`).
 */
export const PROVIDER_ID_SUFFIXES = [
  'Queue',
  'QueueUrl',
  'QueueArn',
  'DeadLetterQueue',
  'DeadLetterQueueUrl',
  'DeadLetterQueueArn',
  'Secret',
  'SecretName',
  'Function',
  'FunctionLogGroup',
  'FunctionRole',
  'Integration',
  'LogGroupName',
  'Provider',
  'WebhookUrl',
  'TransactionMonitoringWebhookUrl',
  'AmlWebhookUrl',
  'CddWebhookUrl',
  'ArchiveQueueUrl',
  'SourceAllowlist',
  'AllowlistV4',
  'AllowlistV6',
  'PerSourceRate',
  'EdgeRateLimitedAlarm',
] as const;

/**
 * Why two names cannot be served side by side, or undefined: one title (`a-b`, `a--b`),
 * or an id of one that is an id of the other.
 */
function titleClash(name: string, other: string): string | undefined {
  const mine = providerTitle(name);
  const theirs = providerTitle(other);
  if (mine === theirs) return `its resource names (${mine}…) are also ${quote(other)}'s`;
  if (!mine.startsWith(theirs)) return undefined;
  const rest = mine.slice(theirs.length);
  for (const suffix of PROVIDER_ID_SUFFIXES) {
    if (PROVIDER_ID_SUFFIXES.includes(`${rest}${suffix}` as never)) {
      return `its ${mine}${suffix} would be ${quote(other)}'s ${theirs}${rest}${suffix}: rename one`;
    }
  }
  return undefined;
}

/** What is served without a `providers` list: the three seed providers under their own names. */
export const SEED_PROVIDERS: readonly ProviderDeclaration[] = Object.freeze(
  (['sigma', 'sigmate', 'signifyd'] as const).map((name) =>
    Object.freeze({ name, scheme: name, options: Object.freeze({}) }),
  ),
);

const ENTRY_SHAPE = '{"name": "…", "scheme": "…", …options}';

function label(list: string, index: number, name?: string): string {
  return `${list}[${index}]${name === undefined ? '' : ` ${quote(name)}`}`;
}

/**
 * Checks one entry; `entry` names it in errors (e.g. `providers[2]`, then with its name).
 * Throws {@link ProviderDeclarationError}.
 */
export function parseProviderEntry(raw: unknown, entry: string): ProviderDeclaration {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProviderDeclarationError(
      entry,
      `must be an object ${ENTRY_SHAPE}, not ${quote(raw)}`,
    );
  }
  const { name, scheme, ...options } = raw as Record<string, unknown>;
  if (name === undefined) throw new ProviderDeclarationError(entry, '"name" is missing');
  if (typeof name !== 'string' || !PROVIDER_NAME.test(name)) {
    throw new ProviderDeclarationError(
      entry,
      `name ${quote(name)} must be lowercase letters, digits and "-", start with a letter, at most 32 characters`,
    );
  }
  const named = `${entry} ${quote(name)}`;
  const reserved = RESERVED_PROVIDER_NAMES[name];
  if (reserved !== undefined) {
    throw new ProviderDeclarationError(named, `the name is reserved: ${reserved}`);
  }
  const pattern = RESERVED_NAME_PATTERNS.find(({ test }) => test.test(name));
  if (pattern !== undefined) {
    throw new ProviderDeclarationError(named, `the name is reserved: ${pattern.why}`);
  }
  if (scheme === undefined) {
    throw new ProviderDeclarationError(
      named,
      `"scheme" is missing (one of ${SchemeNames.join(', ')})`,
    );
  }
  if (!isSchemeName(scheme)) {
    throw new ProviderDeclarationError(
      named,
      `unknown scheme ${quote(scheme)} (one of ${SchemeNames.join(', ')})`,
    );
  }
  // Each scheme's parser narrows its own options; the pairing is what the union says.
  return {
    name,
    scheme,
    options: schemes[scheme].parseOptions(options, named),
  } as ProviderDeclaration;
}

/**
 * Checks the `providers` list: unset (undefined or null) serves {@link SEED_PROVIDERS};
 * a string is parsed as JSON (`cdk synth -c providers='[…]'`). Refuses a bad or repeated
 * name, an unknown scheme, a missing or unknown option and two providers claiming one
 * route or local variable, each with a {@link ProviderDeclarationError} whose one-line
 * message names the entry. `list` names the setting in messages.
 */
export function parseProviders(raw: unknown, list = 'providers'): ProviderDeclaration[] {
  if (raw === undefined || raw === null) return [...SEED_PROVIDERS];
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ProviderDeclarationError(list, 'is not JSON');
    }
  }
  if (!Array.isArray(value)) {
    throw new ProviderDeclarationError(list, `must be a list of ${ENTRY_SHAPE}`);
  }
  if (value.length === 0) {
    throw new ProviderDeclarationError(
      list,
      'lists no provider (leave it out to serve sigma, sigmate and signifyd)',
    );
  }
  const declarations = value.map((entry, index) => parseProviderEntry(entry, label(list, index)));
  // Names are unique and hold no `/`, so today's routes cannot collide unless a name
  // repeats; the claims are checked anyway, so a scheme with other routes stays safe.
  const claimed = new Map<string, string>();
  declarations.forEach((declaration, index) => {
    const entry = label(list, index, declaration.name);
    const claims = [
      ['name', declaration.name],
      ...providerRoutes(declaration).map((route) => ['route', route]),
      ...providerSecretEnvNames(declaration).map((variable) => ['variable', variable]),
    ];
    for (const [kind, claim] of claims) {
      const owner = claimed.get(`${kind} ${claim}`);
      if (owner !== undefined) {
        throw new ProviderDeclarationError(
          entry,
          kind === 'name' ? `repeats the name of ${owner}` : `${kind} ${claim} is also ${owner}'s`,
        );
      }
      claimed.set(`${kind} ${claim}`, entry);
    }
    for (const other of declarations.slice(0, index)) {
      const clash =
        titleClash(declaration.name, other.name) ?? titleClash(other.name, declaration.name);
      if (clash !== undefined) throw new ProviderDeclarationError(entry, clash);
    }
  });
  return declarations;
}

/** The entry as configuration spells it, `{ name, scheme, …options }`, without unset options. */
export function providerEntry(declaration: ProviderDeclaration): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({ name: declaration.name, scheme: declaration.scheme, ...declaration.options }),
  );
}

/** The declaration as the value of {@link EnvNames.provider} on the provider's function. */
export function serialiseProvider(declaration: ProviderDeclaration): string {
  return JSON.stringify(providerEntry(declaration));
}

/** Reads a function's own declaration from {@link EnvNames.provider}; throws ConfigurationError. */
export function providerFromEnv(env: Env): ProviderDeclaration {
  const text = env[EnvNames.provider]?.trim();
  if (!text) throw new ProviderDeclarationError(EnvNames.provider, 'is not set');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProviderDeclarationError(EnvNames.provider, 'is not JSON');
  }
  return parseProviderEntry(value, EnvNames.provider);
}

/** API Gateway route paths: `/webhooks/<name>` (Sigma: `/webhooks/<name>/{product}`). */
export function providerRoutes(declaration: ProviderDeclaration): string[] {
  return schemes[declaration.scheme].routes(declaration.name);
}

/**
 * The local variables holding the provider's secrets: `<NAME>_WEBHOOK_SECRET`, or for a
 * seed scheme under its own name the contract's variables.
 */
export function providerSecretEnvNames(declaration: ProviderDeclaration): string[] {
  return schemes[declaration.scheme].secretEnvNames(declaration.name);
}

/** Demo values for those variables, for `npm start` to fill in (and print) when unset. */
export function providerDemoSecrets(declaration: ProviderDeclaration): Record<string, string> {
  return schemes[declaration.scheme].demoSecrets(declaration.name);
}

/** The shortest idempotency retention that outlasts the provider's retries, in days. */
export function providerMinRetentionDays(declaration: ProviderDeclaration): number {
  const scheme = schemes[declaration.scheme] as (typeof schemes)['hmac'];
  return scheme.minRetentionDays(declaration.options as never);
}

/** The provider's Secrets Manager JSON, with placeholders, for the secret's description. */
export function providerSecretShape(declaration: ProviderDeclaration): string {
  return schemes[declaration.scheme].secretShape;
}

/** The provider's secret as a new deployment creates it (see {@link SecretPlaceholder}). */
export function providerSecretPlaceholder(declaration: ProviderDeclaration): SecretPlaceholder {
  return schemes[declaration.scheme].secretPlaceholder;
}
