import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Architecture, Code, Runtime } from 'aws-cdk-lib/aws-lambda';

/**
 * Every Lambda bundle the package ships, by asset name, with the source it is built from.
 * `npm run build` (tools/build.ts) bundles each entry once, from the locked dependency
 * tree, into `lib/assets/<name>/`; the construct deploys that folder as it is, so the
 * bytes the tests and the bench run are the bytes a user deploys.
 */
export const LambdaBundles = {
  sigma: 'functions/sigma/handler.ts',
  sigmate: 'functions/sigmate/handler.ts',
  signifyd: 'functions/signifyd/handler.ts',
  'not-found': 'functions/not-found/handler.ts',
  archiver: 'functions/archiver/handler.ts',
  'example-consumer': 'functions/example-consumer/handler.ts',
  /** Every provider but a seed under its own name: its declaration is `WEBHOOK_PROVIDER`. */
  declared: 'functions/declared/handler.ts',
} as const;

export type LambdaBundle = keyof typeof LambdaBundles;

/**
 * The file inside each asset folder; Lambda finds it from the handler `index.handler`. A
 * CommonJS `.js` with no `package.json` beside it: the runtime `require`s it (in the
 * repository, `lib/package.json` says `"type": "commonjs"`).
 */
export const BUNDLE_FILE = 'index.js';

/**
 * `NODE_OPTIONS` of every function: stack traces through the bundle's source map. Node
 * reads and parses the map when it loads the bundle, so its size is part of the cold
 * start (tools/bundling.ts keeps it small; docs/decisions.md §21).
 */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
export const LAMBDA_ARCHITECTURE = Architecture.ARM_64;

/**
 * The package's root: this file is `infra/lambda-code.ts` in the repository and is
 * bundled into `lib/index.js` when packed, one folder down either way.
 */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the prebuilt bundles are, in the repository and in an installed package alike. */
export const ASSETS_DIR = path.join(PACKAGE_ROOT, 'lib', 'assets');

/** The prebuilt bundle of one function is missing: the package was not built. */
export class MissingBundleError extends Error {
  constructor(bundle: LambdaBundle, folder: string) {
    super(
      `webhook-ingress: the prebuilt Lambda bundle "${bundle}" is missing (${folder}). ` +
        'In a clone of the repository run `npm run build`; an installed package always ships it.',
    );
    this.name = 'MissingBundleError';
  }
}

/** The folder of one prebuilt bundle; throws MissingBundleError when it was never built. */
export function bundleFolder(bundle: LambdaBundle): string {
  const folder = path.join(ASSETS_DIR, bundle);
  if (!existsSync(path.join(folder, BUNDLE_FILE))) throw new MissingBundleError(bundle, folder);
  return folder;
}

/** Code, handler, runtime and architecture every function of the package shares. */
export function bundledCode(bundle: LambdaBundle) {
  return {
    code: Code.fromAsset(bundleFolder(bundle)),
    handler: 'index.handler',
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
  };
}
