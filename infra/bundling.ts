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
  };
}
