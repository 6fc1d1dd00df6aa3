import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';

/**
 * The one esbuild configuration of the Lambda bundles: `npm run build` makes the
 * package's prebuilt bundles with it, and the bench builds its baselines and variants
 * with it, so they are compared like for like.
 */
export const LAMBDA_ESBUILD_TARGET = 'node24';

const stubs = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'functions',
  'core',
  'bundle-stubs',
);

/**
 * Modules the SDK clients import but the functions never run, replaced in the bundle by
 * small stand-ins that fail loudly if called (docs/decisions.md §13): the default
 * credential chain (its STS/SSO/SSO-OIDC clients; the functions pass `fromEnv()`), the
 * endpoint-discovery cache (discovery is off) and event-stream serde (no operation of
 * these three services streams). Tests and `npm start` run the real modules.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': path.join(stubs, 'credential-provider-node.ts'),
  '@aws-sdk/endpoint-cache': path.join(stubs, 'endpoint-cache.ts'),
  '@smithy/core/event-streams': path.join(stubs, 'event-streams.ts'),
};

/**
 * The SDK's clients import their whole package.json for one field, `version` (their user
 * agent): the bundle keeps that field alone, about 2.4 KB of JSON less per client.
 */
export const sdkPackageVersionOnly: Plugin = {
  name: 'sdk-package-version-only',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ },
      async (args) => {
        const { version } = JSON.parse(await readFile(args.path, 'utf8')) as { version?: string };
        return { contents: JSON.stringify({ version }), loader: 'json' };
      },
    );
  },
};

/**
 * The esbuild options of every Lambda bundle (tools/build.ts), and of the bench's subjects
 * (docs/decisions.md §21 has the measurements):
 *
 * - CommonJS, loaded by the runtime with `require`, its dynamic imports lowered too: Node's
 *   own modules are then required, where an `import` of `node:http` builds its ES
 *   namespace, reads every export and so loads undici, which nothing here uses (the
 *   runtime has required `node:http` already).
 * - The packages' ES builds (`mainFields`), which esbuild can tree-shake, converted.
 * - A source map without `sourcesContent`: `--enable-source-maps` reads and parses the map
 *   at load, and the sources' text was two thirds of it; stack traces map the same.
 */
export function lambdaEsbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: LAMBDA_ESBUILD_TARGET,
    format: 'cjs',
    // Left as it is, `import("node:http")` in the SDK's request handler would still build
    // that module's ES namespace (and load undici with it): lowered, it is a `require`.
    supported: { 'dynamic-import': false },
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    // Bundle the AWS SDK too: a pinned, tree-shaken copy instead of the runtime's.
    external: [],
    metafile: true,
    legalComments: 'none',
    alias: { ...BUNDLE_ALIASES },
    plugins: [sdkPackageVersionOnly],
  };
}
