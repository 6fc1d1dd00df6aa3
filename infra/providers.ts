import { type ProviderName, ProviderNames } from '../functions/provider-names.js';
import { SigmaEnvNames, SigmaProducts } from '../functions/sigma/names.js';
import { SIGNIFYD_FORWARD_TEST_EVENTS_ENV } from '../functions/signifyd/names.js';
import type { IngressSettings } from './config.js';

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
  /** PascalCase, for construct ids and output names. */
  readonly title: string;
  /**
   * The shortest idempotency retention that outlasts the provider's retries: the
   * adapter's own `minRetentionDays` (test/infra/providers.test.ts keeps them equal).
   */
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
  /** Provider-specific environment flags. */
  flags(settings: IngressSettings): Record<string, string>;
}

/** The Sigma products, each with its own URL. */
export const SIGMA_PRODUCTS = SigmaProducts;

// Flag names exactly as the adapters read them.
const SIGMA_LEGACY_FLAG = SigmaEnvNames.allowLegacySha256;
const SIGNIFYD_TEST_EVENTS_FLAG = SIGNIFYD_FORWARD_TEST_EVENTS_ENV;

const pascal = (text: string) =>
  text.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());

/** Every provider the contract knows; the stack deploys those the registry serves. */
export const ProviderDeployments: Readonly<Record<ProviderName, ProviderDeployment>> = {
  sigma: {
    provider: 'sigma',
    title: 'Sigma',
    minRetentionDays: 7,
    routes: ['/webhooks/sigma/{product}'],
    urls: SIGMA_PRODUCTS.map((product) => ({
      output: `Sigma${pascal(product)}WebhookUrl`,
      path: `/webhooks/sigma/${product}`,
      pasteInto: `My Account → API & Webhooks → Webhooks → ${product} webhook URL`,
    })),
    // An unknown random businessId: an HMAC over it cannot be forged.
    secretPlaceholder: {
      template: {
        credentials: [{ apiKey: 'REPLACE_WITH_API_KEY', apiSecret: 'REPLACE_WITH_API_SECRET' }],
      },
      generatedKey: 'businessId',
    },
    secretShape:
      '{"credentials":[{"apiKey":"API_KEY","apiSecret":"API_SECRET"}],"businessId":"BUSINESS_ID"}',
    flags: (settings) => ({ [SIGMA_LEGACY_FLAG]: String(settings.sigmaAllowLegacySha256) }),
  },
  sigmate: {
    provider: 'sigmate',
    title: 'Sigmate',
    minRetentionDays: 1,
    routes: ['/webhooks/sigmate'],
    urls: [
      {
        output: 'SigmateWebhookUrl',
        path: '/webhooks/sigmate',
        pasteInto: '/dashboard/delivery → Webhook card → URL',
      },
    ],
    secretPlaceholder: { template: {}, generatedKey: 'webhookSecrets' },
    secretShape: '{"webhookSecrets":["WEBHOOK_SECRET"]}',
    flags: () => ({}),
  },
  signifyd: {
    provider: 'signifyd',
    title: 'Signifyd',
    minRetentionDays: 5,
    routes: ['/webhooks/signifyd'],
    urls: [
      {
        output: 'SignifydWebhookUrl',
        path: '/webhooks/signifyd',
        pasteInto: 'Settings → Notifications (Webhooks): one URL for every topic',
      },
    ],
    secretPlaceholder: { template: {}, generatedKey: 'apiKeys' },
    secretShape: '{"apiKeys":["TEAM_API_KEY"]}',
    flags: (settings) => ({
      [SIGNIFYD_TEST_EVENTS_FLAG]: String(settings.signifydForwardTestEvents),
    }),
  },
};

/** A provider the stack deploys, with its deployment details. */
export type DeployedProvider = ProviderDeployment;

/** The providers this build serves, in a stable order. */
export function deployedProviders(): DeployedProvider[] {
  return ProviderNames.map((provider) => ProviderDeployments[provider]);
}
