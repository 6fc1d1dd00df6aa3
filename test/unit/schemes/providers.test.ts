import { afterEach, describe, expect, it, vi } from 'vitest';
import { secretEnvName } from '../../../functions/core/declaration.js';
import { ProviderDeclarationError } from '../../../functions/core/errors.js';
import { adapterFromEnv } from '../../../functions/declared/adapter.js';
import {
  type ProviderDeclaration,
  parseProviders,
  providerDemoSecrets,
  providerFromEnv,
  providerRoutes,
  providerSecretEnvNames,
  SEED_PROVIDERS,
  serialiseProvider,
} from '../../../functions/providers.js';
import { SchemeNames, schemes } from '../../../functions/schemes.js';
import { EVERY_SCHEME } from './support.js';

function failure(raw: unknown): string {
  try {
    parseProviders(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderDeclarationError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('parsed');
}

describe('providers: the list', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('serves the three seed providers when unset', () => {
    expect(parseProviders(undefined)).toEqual(SEED_PROVIDERS);
    expect(parseProviders(null)).toEqual(SEED_PROVIDERS);
    expect(SEED_PROVIDERS.map(({ name, scheme }) => `${name}:${scheme}`)).toEqual([
      'sigma:sigma',
      'sigmate:sigmate',
      'signifyd:signifyd',
    ]);
  });

  it('reads one entry per scheme, several sharing one, from a list or its JSON text', () => {
    const declarations = parseProviders(EVERY_SCHEME);
    expect(declarations.map((declaration) => declaration.scheme).sort()).toEqual(
      [...SchemeNames, 'sigma', 'stripe'].sort(),
    );
    expect(parseProviders(JSON.stringify(EVERY_SCHEME))).toEqual(declarations);
    expect(declarations.find((declaration) => declaration.name === 'stripe-eu')).toEqual({
      name: 'stripe-eu',
      scheme: 'stripe',
      options: { toleranceSeconds: 600 },
    });
  });

  it.each([
    ['text that is not JSON', '[{"name":', 'providers: is not JSON'],
    ['an object', { name: 'a', scheme: 'github' }, 'providers: must be a list'],
    ['an empty list', [], 'providers: lists no provider'],
    ['an entry that is not an object', ['github'], 'providers[0]: must be an object'],
    ['an entry without a name', [{ scheme: 'github' }], 'providers[0]: "name" is missing'],
    [
      'an upper-case name',
      [{ name: 'GitHub', scheme: 'github' }],
      'providers[0]: name "GitHub" must be lowercase',
    ],
    [
      'a name starting with a digit',
      [{ name: '1password', scheme: 'hmac' }],
      'name "1password" must be',
    ],
    [
      'a name with an underscore',
      [{ name: 'acme_pay', scheme: 'stripe' }],
      'name "acme_pay" must be',
    ],
    ['a name with a slash', [{ name: 'sigma/aml', scheme: 'github' }], 'name "sigma/aml" must be'],
    [
      'a 33-character name',
      [{ name: `a${'b'.repeat(32)}`, scheme: 'github' }],
      'at most 32 characters',
    ],
    ['a name that is not text', [{ name: 7, scheme: 'github' }], 'providers[0]: name 7 must be'],
    [
      'a reserved name',
      [{ name: 'default', scheme: 'github' }],
      'providers[0] "default": the name is reserved',
    ],
    ['an entry without a scheme', [{ name: 'gh' }], 'providers[0] "gh": "scheme" is missing'],
    [
      'an unknown scheme',
      [{ name: 'pay', scheme: 'strpe' }],
      'providers[0] "pay": unknown scheme "strpe" (one of sigma, sigmate',
    ],
    [
      'an unknown option',
      [{ name: 'pay', scheme: 'stripe', tolerance: 60 }],
      'providers[0] "pay": unknown option "tolerance" (this scheme takes "toleranceSeconds")',
    ],
    [
      'an option on a scheme without any',
      [{ name: 'gh', scheme: 'github', secret: 'x' }],
      'providers[0] "gh": unknown option "secret" (this scheme takes none)',
    ],
    [
      'a bad option value',
      [{ name: 'pay', scheme: 'stripe', toleranceSeconds: '300' }],
      'providers[0] "pay": option "toleranceSeconds" must be a whole number',
    ],
    [
      'a missing option',
      [{ name: 'acme', scheme: 'hmac', encoding: 'hex' }],
      'providers[0] "acme": option "signatureHeader" is missing',
    ],
    [
      'a bad nested option',
      [{ ...EVERY_SCHEME.at(-1), key: { header: 'x y' } }],
      'providers[0] "acme" option "key": option "header" must be a header name',
    ],
    [
      'a bad seed flag',
      [{ name: 'sigma', scheme: 'sigma', allowLegacySha256: 'yes' }],
      'providers[0] "sigma": option "allowLegacySha256" must be true or false',
    ],
  ])('refuses %s in one line naming the entry', (_name, raw, message) => {
    expect(failure(raw)).toContain(message);
  });

  it('refuses a repeated name, naming both entries', () => {
    const raw = [
      { name: 'github', scheme: 'github' },
      { name: 'stripe', scheme: 'stripe' },
      { name: 'github', scheme: 'shopify' },
    ];
    expect(failure(raw)).toBe('providers[2] "github": repeats the name of providers[0] "github"');
  });

  it('refuses two providers claiming one route (a guard: names cannot make one today)', () => {
    // Names hold no "/", so /webhooks/<a>/{product} never equals /webhooks/<b>: force a clash.
    vi.spyOn(schemes.github, 'routes').mockReturnValue(['/webhooks/sigma/{product}']);
    const raw = [
      { name: 'sigma', scheme: 'sigma' },
      { name: 'gh', scheme: 'github' },
    ];
    expect(failure(raw)).toBe(
      'providers[1] "gh": route /webhooks/sigma/{product} is also providers[0] "sigma"\'s',
    );
  });

  it('names the list as the caller does (construct props)', () => {
    try {
      parseProviders([{ name: 'x', scheme: 'nope' }], 'WebhookIngress prop "providers"');
    } catch (error) {
      expect((error as Error).message).toMatch(/^WebhookIngress prop "providers"\[0\] "x": /);
    }
    expect.assertions(1);
  });
});

describe('providers: routes and variables', () => {
  const byName = Object.fromEntries(
    parseProviders(EVERY_SCHEME).map((declaration) => [declaration.name, declaration]),
  ) as Record<string, ProviderDeclaration>;
  const of = (name: string) => byName[name] as ProviderDeclaration;

  it('routes /webhooks/<name>, and Sigma /webhooks/<name>/{product}', () => {
    expect(providerRoutes(of('stripe-eu'))).toEqual(['/webhooks/stripe-eu']);
    expect(providerRoutes(of('sigma-eu'))).toEqual(['/webhooks/sigma-eu/{product}']);
    expect(providerRoutes(of('sigma'))).toEqual(['/webhooks/sigma/{product}']);
  });

  it('spells <NAME>_WEBHOOK_SECRET upper-case with - as _', () => {
    expect(secretEnvName('stripe-eu')).toBe('STRIPE_EU_WEBHOOK_SECRET');
    expect(providerSecretEnvNames(of('acme'))).toEqual(['ACME_WEBHOOK_SECRET']);
    expect(providerSecretEnvNames(of('sigma-eu'))).toEqual(['SIGMA_EU_WEBHOOK_SECRET']);
  });

  it("keeps the contract's variables for the seed schemes under their own names", () => {
    expect(providerSecretEnvNames(of('sigma'))).toEqual([
      'SIGMA_API_KEY',
      'SIGMA_API_SECRET',
      'SIGMA_BUSINESS_ID',
    ]);
    expect(providerSecretEnvNames(of('sigmate'))).toEqual(['SIGMATE_WEBHOOK_SECRET']);
    expect(providerSecretEnvNames(of('signifyd'))).toEqual(['SIGNIFYD_API_KEY']);
  });

  it("gives every provider demo secrets its own adapter accepts (npm start's defaults)", () => {
    for (const declaration of Object.values(byName)) {
      const env = providerDemoSecrets(declaration);
      expect(Object.keys(env)).toEqual(providerSecretEnvNames(declaration));
      const adapter = adapterFromEnv({ WEBHOOK_PROVIDER: serialiseProvider(declaration), ...env });
      expect(() => adapter.secretsFromEnv(env)).not.toThrow();
    }
    // The seed's demo values are the ones npm start prints today.
    expect(providerDemoSecrets(of('sigmate'))).toEqual({
      SIGMATE_WEBHOOK_SECRET: 'demo-sigmate-webhook-secret',
    });
  });
});

describe('providers: a function reads its own entry', () => {
  it('round-trips every declaration through WEBHOOK_PROVIDER', () => {
    for (const declaration of parseProviders(EVERY_SCHEME)) {
      const env = { WEBHOOK_PROVIDER: serialiseProvider(declaration) };
      expect(providerFromEnv(env)).toEqual(declaration);
      expect(adapterFromEnv(env).provider).toBe(declaration.name);
    }
  });

  it('writes the entry as configuration spells it, without unset options', () => {
    const [stripe] = parseProviders([{ name: 'pay', scheme: 'stripe' }]);
    expect(serialiseProvider(stripe as ProviderDeclaration)).toBe(
      '{"name":"pay","scheme":"stripe"}',
    );
  });

  it.each([
    ['unset', {}, 'WEBHOOK_PROVIDER: is not set'],
    ['not JSON', { WEBHOOK_PROVIDER: '{' }, 'WEBHOOK_PROVIDER: is not JSON'],
    [
      'a bad entry',
      { WEBHOOK_PROVIDER: '{"name":"pay","scheme":"paypal"}' },
      'WEBHOOK_PROVIDER "pay": unknown scheme "paypal"',
    ],
  ])('fails fast when WEBHOOK_PROVIDER is %s', (_name, env, message) => {
    expect(() => providerFromEnv(env)).toThrow(ProviderDeclarationError);
    expect(() => providerFromEnv(env)).toThrow(message);
  });
});
