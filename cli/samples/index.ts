import type { ProviderDeclaration } from '../../functions/providers.js';
import { githubSampler } from './github.js';
import { hmacSampler } from './hmac.js';
import { shopifySampler } from './shopify.js';
import { sigmaSampler } from './sigma.js';
import { sigmateSampler } from './sigmate.js';
import { signifydSampler } from './signifyd.js';
import { standardWebhooksSampler } from './standard-webhooks.js';
import { stripeSampler } from './stripe.js';
import type { ProviderSampler } from './types.js';

export type { Delivery, ProviderSampler, SampleOptions, SigningOptions } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: each sampler keeps its own secret type inside.
type AnySampler = ProviderSampler<any>;

/** How `send` plays a served provider: by its scheme, under its name. */
export function samplerFor(declaration: ProviderDeclaration): AnySampler {
  switch (declaration.scheme) {
    case 'sigma':
      return sigmaSampler(declaration.name);
    case 'sigmate':
      return sigmateSampler(declaration.name);
    case 'signifyd':
      return signifydSampler(declaration.name);
    case 'standard-webhooks':
      return standardWebhooksSampler(declaration);
    case 'github':
      return githubSampler(declaration);
    case 'stripe':
      return stripeSampler(declaration);
    case 'shopify':
      return shopifySampler(declaration);
    case 'hmac':
      return hmacSampler(declaration);
  }
}

/** The seed providers' samplers, under their own names. */
export const samplers = {
  sigma: sigmaSampler(),
  sigmate: sigmateSampler(),
  signifyd: signifydSampler(),
} as const;
