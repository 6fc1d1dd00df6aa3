import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * The one esbuild configuration of the Lambda bundles: `npm run build` makes the
 * package's prebuilt bundles with it, and the bench builds its baselines and variants
 * with it, so they are compared like for like.
 */
export const LAMBDA_ESBUILD_TARGET = 'node24';

/** ESM bundles need `require` for the few CommonJS dependencies that call it. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);";

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

/** The esbuild options of every Lambda bundle (tools/build.ts), and of the bench's subjects. */
export function lambdaEsbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: LAMBDA_ESBUILD_TARGET,
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    banner: { js: ESM_REQUIRE_BANNER },
    // Bundle the AWS SDK too: a pinned, tree-shaken copy instead of the runtime's.
    external: [],
    metafile: true,
    legalComments: 'none',
    alias: { ...BUNDLE_ALIASES },
  };
}
