import type { Env } from './core/config.js';
import type { ProviderAdapter } from './core/provider.js';
import { ProviderNames } from './provider-names.js';
import { createSigmaAdapter } from './sigma/adapter.js';
import { sigmateAdapter } from './sigmate/adapter.js';
import { createSignifydAdapter } from './signifyd/adapter.js';

/** One of the seed providers (the operator CLI's list until it reads the served ones). */
export type ProviderName = (typeof ProviderNames)[number];
export { ProviderNames };

/** A provider adapter with its secret type erased, for code that serves every provider. */
// biome-ignore lint/suspicious/noExplicitAny: each adapter's own secret type stays checked inside it.
export type AnyProviderAdapter = ProviderAdapter<any>;

/**
 * Every provider this build serves, each built from the environment (for
 * provider-specific flags). Adding a provider is one folder and one line here.
 */
export const providerAdapters: Record<ProviderName, (env: Env) => AnyProviderAdapter> = {
  sigma: (env) => createSigmaAdapter(env),
  sigmate: () => sigmateAdapter,
  signifyd: (env) => createSignifydAdapter(env),
};

/** The adapters of every provider this build serves. */
export function availableProviders(): ProviderName[] {
  return [...ProviderNames];
}
