import { EnvNames } from '../functions/core/config.js';
import type { ProviderName } from '../functions/provider-names.js';
import {
  type ProviderDeclaration,
  providerMinRetentionDays,
  providerRoutes,
  providerSecretPlaceholder,
  providerSecretShape,
  providerTitle,
  SEED_PROVIDERS,
  serialiseProvider,
} from '../functions/providers.js';
import type { SchemeName } from '../functions/schemes.js';
import { SigmaEnvNames, SigmaProducts } from '../functions/sigma/names.js';
import { SIGNIFYD_FORWARD_TEST_EVENTS_ENV } from '../functions/signifyd/names.js';
import type { IngressSettings } from './config.js';
import type { LambdaBundle } from './lambda-code.js';

/** One URL to paste into a provider's dashboard. */
export interface WebhookUrl {
  /** CloudFormation output name. */
  readonly output: string;
  /** Path under the API's base URL. */
  readonly path: string;
  /** Where it goes, in the provider's own words. */
  readonly pasteInto: string;
}

/** What the stack needs to know about a provider beyond its adapter. */
export interface ProviderDeployment {
  readonly provider: ProviderName;
  /** The entry it was declared by (`{ name, scheme, …options }`). */
  readonly declaration: ProviderDeclaration;
  /** PascalCase, for construct ids and output names. */
  readonly title: string;
  /** The prebuilt bundle its function runs. */
  readonly bundle: LambdaBundle;
  /** The shortest idempotency retention that outlasts the provider's retries. */
  readonly minRetentionDays: number;
  /** API Gateway route paths served by the provider's function. */
  readonly routes: readonly string[];
  readonly urls: readonly WebhookUrl[];
  /**
   * The secret's placeholder: a JSON template plus one key that Secrets Manager fills
   * with a random value, so nothing anyone knows verifies until the operator sets it.
   */
  readonly secretPlaceholder: {
    readonly template: Record<string, unknown>;
    readonly generatedKey: string;
  };
  /** The documented secret JSON, as shown in the README (values to replace). */
  readonly secretShape: string;
  /** The function's provider-specific environment. */
  flags(settings: IngressSettings): Record<string, string>;
}

/** The Sigma products, each with its own URL. */
export const SIGMA_PRODUCTS = SigmaProducts;

/** Where each scheme's URL goes, in the sender's own words. */
const PASTE_INTO: Readonly<Record<SchemeName, string>> = {
  sigma: 'My Account → API & Webhooks → Webhooks',
  sigmate: '/dashboard/delivery → Webhook card → URL',
  signifyd: 'Settings → Notifications (Webhooks): one URL for every topic',
  'standard-webhooks': "the sender's webhook endpoint settings (Svix: Endpoints → Add Endpoint)",
  github: 'Settings → Webhooks → Add webhook → Payload URL (content type application/json)',
  stripe: 'Developers → Webhooks → Add endpoint → Endpoint URL',
  shopify: 'Settings → Notifications → Webhooks → Create webhook (JSON), or the app config',
  hmac: "the sender's webhook settings",
};

export { providerTitle };

/**
 * A seed provider's flags under its own name: the entry's option when it sets one (as
 * `npm start` reads it), else the global setting (`sigmaAllowLegacySha256`,
 * `signifydForwardTestEvents`).
 */
function seedFlags(
  declaration: ProviderDeclaration,
  settings: IngressSettings,
): Record<string, string> {
  if (declaration.scheme !== declaration.name) return {};
  if (declaration.scheme === 'sigma') {
    const allow = declaration.options.allowLegacySha256 ?? settings.sigmaAllowLegacySha256;
    return { [SigmaEnvNames.allowLegacySha256]: String(allow) };
  }
  if (declaration.scheme === 'signifyd') {
    const forward = declaration.options.forwardTestEvents ?? settings.signifydForwardTestEvents;
    return { [SIGNIFYD_FORWARD_TEST_EVENTS_ENV]: String(forward) };
  }
  return {};
}

/**
 * A seed provider under its own name runs its own bundle (the bytes the bench measures);
 * every other provider, seed schemes under other names included, runs the declared bundle,
 * which reads its declaration from `WEBHOOK_PROVIDER`.
 */
function bundleOf(declaration: ProviderDeclaration): LambdaBundle {
  const { name, scheme } = declaration;
  return name === scheme && (scheme === 'sigma' || scheme === 'sigmate' || scheme === 'signifyd')
    ? scheme
    : 'declared';
}

/** What the construct deploys for one declared provider. */
export function providerDeployment(declaration: ProviderDeclaration): ProviderDeployment {
  const { name, scheme } = declaration;
  const title = providerTitle(name);
  const bundle = bundleOf(declaration);
  const pasteInto = PASTE_INTO[scheme];
  const urls: WebhookUrl[] =
    scheme === 'sigma'
      ? SIGMA_PRODUCTS.map((product) => ({
          output: `${title}${providerTitle(product)}WebhookUrl`,
          path: `/webhooks/${name}/${product}`,
          pasteInto: `${pasteInto} → ${product} webhook URL`,
        }))
      : [{ output: `${title}WebhookUrl`, path: `/webhooks/${name}`, pasteInto }];
  const placeholder = providerSecretPlaceholder(declaration);
  return {
    provider: name,
    declaration,
    title,
    bundle,
    minRetentionDays: providerMinRetentionDays(declaration),
    routes: providerRoutes(declaration),
    urls,
    secretPlaceholder: {
      template: { ...placeholder.template },
      generatedKey: placeholder.generatedKey,
    },
    secretShape: providerSecretShape(declaration),
    flags: (settings) => ({
      ...seedFlags(declaration, settings),
      ...(bundle === 'declared' ? { [EnvNames.provider]: serialiseProvider(declaration) } : {}),
    }),
  };
}

/** A provider the stack deploys, with its deployment details. */
export type DeployedProvider = ProviderDeployment;

/** The providers of a list (default the seed providers), in its order. */
export function deployedProviders(
  declarations: readonly ProviderDeclaration[] = SEED_PROVIDERS,
): DeployedProvider[] {
  return declarations.map(providerDeployment);
}
