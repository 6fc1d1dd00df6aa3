import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * The one esbuild configuration of the Lambda bundles. The CDK stack's
 * NodejsFunction and the benchmarks both use it, so the bench measures exactly
 * what is deployed.
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

/** The esbuild command-line flags for the options the CDK has no property for. */
export function esbuildCliArgs(options: BuildOptions): Record<string, string> {
  return {
    ...(options.legalComments ? { '--legal-comments': options.legalComments } : {}),
    ...Object.fromEntries(
      Object.entries(options.alias ?? {}).map(([from, to]) => [`--alias:${from}`, to]),
    ),
  };
}

/** Plain esbuild options equal to what {@link lambdaBundling} asks CDK for. */
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
