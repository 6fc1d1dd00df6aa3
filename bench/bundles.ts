/** Builds each measured function with the stack's own esbuild options and sizes it. */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_ALIASES, lambdaEsbuildOptions } from '../tools/bundling.js';

export const projectRoot = resolve(import.meta.dirname, '..');
export const outRoot = join(projectRoot, 'node_modules', '.cache', 'webhook-ingress', 'bench');
/**
 * Powertools Idempotency's DynamoDB layer needs `@aws-sdk/util-dynamodb` (a peer dependency
 * users install). Until the project lists it, the bench also looks in this folder: extract
 * `npm pack @aws-sdk/util-dynamodb` into `<here>/node_modules/@aws-sdk/util-dynamodb`.
 */
export const fallbackModules = join(
  projectRoot,
  'node_modules',
  '.cache',
  'webhook-ingress',
  'bench-deps',
  'node_modules',
);

/** A function the bench measures. `kind` decides how it is compared. */
export interface Subject {
  readonly name: string;
  readonly kind: 'ours' | 'baseline' | 'floor' | 'variant';
  readonly entry: string;
  readonly description: string;
  /** esbuild aliases of a variant (ours always gets the stack's own). */
  readonly alias?: Readonly<Record<string, string>>;
}

export interface Contributor {
  readonly name: string;
  readonly bytes: number;
}

export interface BuiltBundle extends Subject {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly top: Contributor[];
}

/** Every subject: ours per provider present, the baseline, the floor, and measured variants. */
export function subjects(): Subject[] {
  const list: Subject[] = [];
  for (const provider of ['sigmate', 'sigma', 'signifyd']) {
    const entry = join(projectRoot, 'functions', provider, 'handler.ts');
    if (existsSync(entry)) {
      list.push({
        name: `ours:${provider}`,
        kind: 'ours',
        entry,
        description: `functions/${provider}/handler.ts`,
      });
    }
  }
  list.push(
    {
      name: 'baseline',
      kind: 'baseline',
      entry: join(projectRoot, 'bench', 'baselines', 'powertools-handler.ts'),
      description: 'SDK v3 + Powertools Idempotency/Logger + hand HMAC',
    },
    {
      name: 'floor',
      kind: 'floor',
      entry: join(projectRoot, 'bench', 'baselines', 'floor-handler.ts'),
      description: 'HMAC only, no AWS calls',
    },
    {
      name: 'variant:sdk-only',
      kind: 'variant',
      entry: join(projectRoot, 'bench', 'variants', 'sdk-only.ts'),
      description: 'floor + SDK v3 DynamoDB and SQS clients, one call each',
    },
    ...tuningVariants(),
  );
  return list;
}

/** Ours with one tuning of the SDK clients left out each (bench/variants/tuning.ts). */
function tuningVariants(): Subject[] {
  const { '@aws-sdk/credential-provider-node': _chain, ...withoutChainStub } = BUNDLE_ALIASES;
  const variant = (name: string, description: string, alias = BUNDLE_ALIASES): Subject => ({
    name: `variant:${name}`,
    kind: 'variant',
    entry: join(projectRoot, 'bench', 'variants', `${name}.ts`),
    description,
    alias,
  });
  return [
    variant(
      'all-tuned',
      'control: ours with every tuning, its clients built by the variant helper',
    ),
    {
      name: 'variant:no-stubs',
      kind: 'variant',
      entry: join(projectRoot, 'functions', 'sigmate', 'handler.ts'),
      description: 'ours built without the SDK module stand-ins (no esbuild aliases)',
      alias: {},
    },
    variant(
      'default-credentials',
      "ours on the SDK's default credential chain (no fromEnv(), no chain stand-in)",
      withoutChainStub,
    ),
    variant('signer-per-request', 'ours without the cached signer (a SignatureV4 per request)'),
    variant('buffer-hmac', "ours on the SDK's Sha256 (Buffer-key HMAC), not KeyObjectSha256"),
    variant('sdk-logger', "ours with the SDK's default NoOpLogger, not the quiet logger"),
    variant(
      'implicit-settings',
      "ours given only region, credentials, endpoint; the SDK's loaders do the rest",
    ),
    variant('untuned', 'ours on new XClient({})-style clients: nothing tuned, no stand-ins', {}),
  ];
}

/** Package (or project folder) a metafile input belongs to. */
function owner(path: string): string {
  const parts = path.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at >= 0) {
    const scope = parts[at + 1] ?? '';
    return scope.startsWith('@') ? `${scope}/${parts[at + 2] ?? ''}` : scope;
  }
  return parts.slice(0, -1).join('/') || path;
}

function contributors(metafile: Metafile, limit: number): Contributor[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = owner(input);
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, limit);
}

/** Bundles one subject exactly as the CDK stack would, into the bench's cache folder. */
export async function bundle(subject: Subject): Promise<BuiltBundle> {
  const dir = join(outRoot, subject.name.replace(/[^a-z0-9-]/gi, '-'));
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  // nodePaths only widens where a missing package is looked up; the output options are the stack's.
  const options = lambdaEsbuildOptions(subject.entry, file);
  // The stand-ins for SDK modules are ours: the baseline is built as its users build it,
  // with the default credential chain it relies on. A subject may name its own aliases.
  const alias = subject.kind === 'ours' ? options.alias : subject.alias;
  const result = await build({
    ...options,
    alias: alias ?? {},
    nodePaths: [fallbackModules],
    logLevel: 'silent',
  });
  const code = await readFile(file);
  return {
    ...subject,
    file,
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    top: result.metafile ? contributors(result.metafile, 8) : [],
  };
}

export function displayPath(file: string): string {
  return relative(projectRoot, file);
}
