import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { createProviderAdapter } from '../../../functions/declared/adapter.js';
import {
  parseProviders,
  providerMinRetentionDays,
  providerSecretShape,
} from '../../../functions/providers.js';
import { EVERY_SCHEME } from './support.js';

describe('declarations: what infra/ may import', () => {
  it('functions/providers.ts loads no package and no adapter: the construct bundles it as is', async () => {
    const { metafile } = await build({
      entryPoints: ['functions/providers.ts'],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
    });
    const imports = Object.values(metafile.outputs).flatMap((output) =>
      output.imports.map((entry) => entry.path),
    );
    expect(imports.filter((path) => !path.startsWith('node:'))).toEqual([]);
    const sources = Object.keys(metafile.inputs);
    expect(
      sources.filter((path) => /adapter\.ts$|core\/(secrets|aws|scheme)\.ts$/.test(path)),
    ).toEqual([]);
  });

  it("says what each provider's adapter says: retention and secret shape", () => {
    for (const declaration of parseProviders([
      ...EVERY_SCHEME,
      { ...EVERY_SCHEME.at(-1), name: 'acme-fast', minRetentionDays: 2 },
    ])) {
      const adapter = createProviderAdapter(declaration);
      expect(providerMinRetentionDays(declaration), declaration.name).toBe(
        adapter.minRetentionDays,
      );
      expect(providerSecretShape(declaration), declaration.name).toBe(adapter.secretShape);
    }
  });
});
