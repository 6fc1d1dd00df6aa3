/**
 * `npm run build` (also run by `npm install` in a clone, by `npm pack` and before tests
 * and the bench): everything the package ships, into `lib/`.
 *
 * - `lib/assets/<name>/`: each Lambda bundle, built once from the locked dependency tree
 *   (infra/lambda-code.ts lists them). The construct deploys these folders as they are.
 * - `lib/index.js`: the construct library, CommonJS, for CDK apps of either module kind.
 * - `lib/consumer.js`: the envelope type's helpers for consumers, no dependency.
 * - `lib/cli.mjs`: the operator CLI with its dependencies bundled in.
 * - `lib/types/`: the declarations of the two library entries.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { BUNDLE_FILE, type LambdaBundle, LambdaBundles } from '../infra/lambda-code.js';
import { lambdaEsbuildOptions } from './bundling.js';

const root = resolve(import.meta.dirname, '..');
const lib = join(root, 'lib');

/** The oldest Node the library and the CLI support (package.json `engines`). */
const NODE_TARGET = 'node22';
/** The only packages the construct library may leave to the app: its peer dependencies. */
const LIBRARY_PEERS = ['aws-cdk-lib', 'constructs'];

/** `import.meta.url` in a CommonJS bundle: the bundle's own file. */
const IMPORT_META_URL_SHIM = {
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
};

async function lambdaBundle(name: LambdaBundle): Promise<void> {
  const folder = join(lib, 'assets', name);
  await rm(folder, { recursive: true, force: true });
  await build({
    ...lambdaEsbuildOptions(join(root, LambdaBundles[name]), join(folder, BUNDLE_FILE)),
    absWorkingDir: root,
    metafile: false,
    logLevel: 'warning',
  });
}

/** Package names a bundle left external, from its metafile. */
function externalPackages(metafile: Metafile): Set<string> {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || path.startsWith('node:')) continue;
      const parts = path.split('/');
      names.add(path.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? path));
    }
  }
  return names;
}

async function commonJsLibrary(entry: string, outfile: string, allowed: string[]) {
  const options: BuildOptions = {
    entryPoints: [join(root, entry)],
    outfile: join(lib, outfile),
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: NODE_TARGET,
    format: 'cjs',
    packages: 'external',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    ...IMPORT_META_URL_SHIM,
  };
  const { metafile } = await build(options);
  if (!metafile) throw new Error(`esbuild gave no metafile for ${entry}`);
  const unexpected = [...externalPackages(metafile)].filter((name) => !allowed.includes(name));
  if (unexpected.length > 0) {
    throw new Error(
      `${entry} imports ${unexpected.join(', ')} at run time; the package declares only ${allowed.join(', ') || 'nothing'}`,
    );
  }
}

async function cli(): Promise<void> {
  await build({
    entryPoints: [join(root, 'cli/main.ts')],
    outfile: join(lib, 'cli.mjs'),
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: NODE_TARGET,
    format: 'esm',
    mainFields: ['module', 'main'],
    // The SDK's CommonJS parts call `require` for Node's own modules.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'warning',
  });
}

function declarations(): void {
  const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json exited ${tsc.status}`);
}

const started = performance.now();
await rm(join(lib, 'types'), { recursive: true, force: true });
await mkdir(lib, { recursive: true });
// The compiled library is CommonJS whatever the repository's own `type` says.
await writeFile(join(lib, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
await Promise.all([
  ...(Object.keys(LambdaBundles) as LambdaBundle[]).map(lambdaBundle),
  commonJsLibrary('infra/index.ts', 'index.js', LIBRARY_PEERS),
  commonJsLibrary('consumer/index.ts', 'consumer.js', []),
  cli(),
]);
declarations();
process.stdout.write(
  `webhook-ingress: built lib/ in ${Math.round(performance.now() - started)} ms\n`,
);
