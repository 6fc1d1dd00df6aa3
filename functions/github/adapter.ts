import type { ProviderAdapter } from '../core/provider.js';
import type { Clock, SecretList } from '../core/scheme.js';
import { createHmacSchemeAdapter } from '../hmac/adapter.js';
import { GITHUB_SPEC, type GithubOptions } from './spec.js';

/** A GitHub webhook provider under a declared name. */
export function createGithubAdapter(
  name: string,
  _options: GithubOptions = {},
  now: Clock = Date.now,
): ProviderAdapter<SecretList> {
  return createHmacSchemeAdapter(name, GITHUB_SPEC, now);
}
