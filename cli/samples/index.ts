import { type ProviderName, ProviderNames } from '../../functions/registry.js';
import { UsageError } from '../errors.js';
import { sigmaSampler } from './sigma.js';
import { sigmateSampler } from './sigmate.js';
import { signifydSampler } from './signifyd.js';
import type { ProviderSampler } from './types.js';

export type { Delivery, ProviderSampler, SampleOptions, SigningOptions } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: each sampler keeps its own secret type inside.
export const samplers: Record<ProviderName, ProviderSampler<any>> = {
  sigma: sigmaSampler,
  sigmate: sigmateSampler,
  signifyd: signifydSampler,
};

/** The provider named on the command line; throws UsageError for anything else. */
export function parseProvider(name: string): ProviderName {
  const lower = name.toLowerCase();
  if (!(ProviderNames as readonly string[]).includes(lower)) {
    throw new UsageError(`unknown provider "${name}" (expected ${ProviderNames.join(', ')})`);
  }
  return lower as ProviderName;
}
