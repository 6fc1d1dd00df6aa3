import { describe, expect, it } from 'vitest';
import { providerAdapters } from '../../functions/registry.js';
import { deployedProviders } from '../../infra/providers.js';

describe('infra: providers', () => {
  it("deploys each provider with its adapter's own minimum retention", () => {
    for (const deployment of deployedProviders()) {
      const adapter = providerAdapters[deployment.provider]({});
      expect(deployment.minRetentionDays, deployment.provider).toBe(adapter.minRetentionDays);
    }
  });
});
