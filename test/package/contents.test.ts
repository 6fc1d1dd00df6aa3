import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLE_FILE, LambdaBundles } from '../../infra/lambda-code.js';
import { REPO, run, succeeded, userEnv } from './consumer-app.js';

/*
 * "npm install leaves git status clean, nothing generated is tracked, the tarball is what a
 * user reads" (issue 19), proved piece by piece rather than by a fresh clone's install.
 */

const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).split('\n').filter(Boolean);

/** Paths package.json points a user at: main, types, bin, exports and typesVersions. */
function referencedPaths(manifest: Record<string, unknown>): string[] {
  const paths: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === 'string') paths.push(value.replace(/^\.\//, ''));
    else if (Array.isArray(value)) value.forEach(collect);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  for (const field of ['main', 'types', 'bin', 'exports', 'typesVersions'])
    collect(manifest[field]);
  return [...new Set(paths)].sort();
}

describe('the repository: what is tracked and what is packed', () => {
  it('tracks nothing the build or the tools generate, nothing it ignores', () => {
    const generated = ['lib', 'cdk.out', '.local', ':(glob)**/dynamodb-local-metadata.json'];
    expect(git('ls-files', '--', ...generated)).toEqual([]);
    // A tracked file that .gitignore matches is one a build would rewrite.
    expect(git('ls-files', '--cached', '--ignored', '--exclude-standard')).toEqual([]);
    for (const path of [
      'lib/index.js',
      `lib/assets/sigmate/${BUNDLE_FILE}`,
      'dynamodb-local-metadata.json',
      'local/dynamodb-local-metadata.json',
    ]) {
      expect(git('check-ignore', '--no-index', path)).toEqual([path]);
    }
  });

  it('has the lock file npm install would write (npm install --package-lock-only changes nothing)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-ingress-lock-'));
    try {
      for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
        copyFileSync(join(REPO, file), join(dir, file));
      }
      succeeded(
        await run(
          'npm',
          [
            'install',
            '--package-lock-only',
            '--ignore-scripts',
            '--prefer-offline',
            '--no-audit',
            '--no-fund',
          ],
          { cwd: dir, env: userEnv(dirname(process.execPath)) },
        ),
        'npm install --package-lock-only',
      );
      expect(readFileSync(join(dir, 'package-lock.json'), 'utf8')).toBe(
        readFileSync(join(REPO, 'package-lock.json'), 'utf8'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('packs lib/, the bin, the README, the changelog and package.json, and nothing else', async () => {
    const packed = succeeded(
      await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: REPO,
        env: userEnv(dirname(process.execPath)),
      }),
      'npm pack --dry-run',
    );
    const [result] = JSON.parse(packed.stdout) as { files: { path: string }[] }[];
    const files = (result?.files ?? []).map((file) => file.path).sort();
    const outside = files.filter(
      (path) =>
        !path.startsWith('lib/') &&
        !['bin/webhook-ingress.mjs', 'README.md', 'CHANGELOG.md', 'package.json'].includes(path),
    );
    expect(outside).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    // Every entry point package.json names is in the tarball, and every prebuilt function.
    const missing = [
      ...referencedPaths(manifest),
      'lib/package.json',
      ...Object.keys(LambdaBundles).map((bundle) => `lib/assets/${bundle}/${BUNDLE_FILE}`),
    ].filter((path) => !files.includes(path));
    expect(missing).toEqual([]);
    // Only the declarations of the two entries' graphs; no test, bench or tool sources.
    expect(files.filter((path) => path.endsWith('.ts') && !path.startsWith('lib/types/'))).toEqual(
      [],
    );
  }, 60_000);

  it('declares its types against aws-cdk-lib and constructs only: no Lambda, SDK, esbuild or Node types', () => {
    const declarations = readdirSync(join(REPO, 'lib', 'types'), { recursive: true })
      .map(String)
      .filter((path) => path.endsWith('.d.ts'));
    expect(declarations).toContain(join('infra', 'index.d.ts'));
    const imported = new Set<string>();
    for (const path of declarations) {
      const source = readFileSync(join(REPO, 'lib', 'types', path), 'utf8');
      // Triple-slash references count; TSDoc examples and other comments do not.
      const references = source.match(/^\/\/\/ <reference [^>]*>/gm) ?? [];
      const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      for (const [, name] of `${references.join('\n')}\n${code}`.matchAll(
        /(?:from |import\(|reference (?:types|path)=)["']([^"']+)["']/g,
      )) {
        if (name && !name.startsWith('.')) imported.add(name.split('/')[0] ?? name);
      }
    }
    expect([...imported].sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });
});
