/**
 * `npx tsx bench/profile.ts [--subject ours:sigmate] [--runs 10] [--warm]`: CPU profiles of
 * fresh cold inits (bench/probe.mjs under `node --cpu-prof`, import → first answer against
 * the loopback endpoint), or with `--warm` of whole warm probes, with the samples
 * attributed by package through the bundle's source map. Prints a table; keeps the
 * profiles for DevTools. Never part of `npm test` or `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, realpath } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { bundle, projectRoot, subjects } from './bundles.js';
import { startLoopbackAws } from './loopback-aws.js';
import { lambdaEnv } from './measure.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const program = new Command()
  .option('--subject <name>', 'subject of bench/bundles.ts', 'ours:sigmate')
  .option('--runs <n>', 'fresh processes', '10')
  .option('--interval-us <n>', 'sampling interval', '100')
  .option('--warm', 'profile a warm probe (2,000 accepted + 2,000 duplicates) instead');

/** The package of a source path (as bench/bundles.ts names bundle contributors). */
function owner(path: string): string {
  const parts = path.split('/').filter((part) => part !== '..' && part !== '.');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return parts.slice(0, -1).join('/') || path;
  const scope = parts[at + 1] ?? '';
  return scope.startsWith('@') ? `${scope}/${parts[at + 2] ?? ''}` : scope;
}

/** Where a sampled frame's time goes: a package of the bundle, a part of Node, or V8. */
function categorise(frame: ProfileNode['callFrame'], bundleUrl: string, map: SourceMap) {
  if (frame.url === bundleUrl) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
      originalSource?: string;
    };
    return entry.originalSource ? owner(entry.originalSource) : 'bundle (unmapped)';
  }
  if (frame.url.startsWith('node:internal/deps/')) {
    return `node: ${frame.url.split('/')[2] ?? frame.url}`;
  }
  if (frame.url.startsWith('node:')) {
    // Compiling the bundle and Node's own lazily loaded modules, named apart from the loaders.
    const compile = /^compile/.test(frame.functionName) ? ` ${frame.functionName}` : '';
    return `node: ${frame.url.replace('node:internal/', '').split('/').slice(0, 2).join('/')}${compile}`;
  }
  if (frame.url.endsWith('probe.mjs')) return 'bench probe';
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  return frame.url;
}

async function main() {
  program.parse();
  const flags = program.opts<Record<string, string>>();
  const warm = Boolean(program.opts().warm);
  const subject = subjects().find((item) => item.name === flags.subject);
  if (!subject) throw new Error(`no subject ${flags.subject}`);
  const built = await bundle(subject);
  const map = new SourceMap(JSON.parse(await readFile(`${built.file}.map`, 'utf8')));
  // Node names the module by its real path (node_modules may be a link).
  const bundleUrl = pathToFileURL(await realpath(built.file)).href;
  const loopback = await startLoopbackAws();
  const dir = await mkdtemp(join(tmpdir(), 'bench-profile-'));
  const totals = new Map<string, number>();
  let windowUs = 0;
  const runs = Number(flags.runs);
  for (let run = 0; run < runs; run += 1) {
    const out = join(dir, String(run));
    const child = spawn(
      process.execPath,
      [
        '--cpu-prof',
        `--cpu-prof-dir=${out}`,
        `--cpu-prof-interval=${flags.intervalUs}`,
        join(projectRoot, 'bench', 'probe.mjs'),
        built.file,
        warm ? 'warm' : 'cold',
      ],
      {
        env: lambdaEnv(loopback.endpoint, {
          BENCH_WARM_EVENTS: '2000',
          BENCH_WARMUP_EVENTS: '500',
        }),
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
    );
    const message = await new Promise<Record<string, number>>((done, fail) => {
      child.on('message', (value) => {
        const { type, name } = value as { type: string; name?: string };
        if (type === 'mark') child.send({ ack: name });
        else done(value as Record<string, number>);
      });
      child.once('exit', (code) => fail(new Error(`probe exited ${code}`)));
    });
    await new Promise((done) => child.once('exit', done));
    const [file] = await readdir(out);
    const profile = JSON.parse(await readFile(join(out, file ?? ''), 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const start = warm ? 0 : (message.startUs ?? 0);
    const end = warm ? Number.POSITIVE_INFINITY : (message.answeredUs ?? 0);
    windowUs += warm ? 0 : end - start;
    let at = profile.startTime;
    for (let i = 0; i < profile.samples.length; i += 1) {
      at += profile.timeDeltas[i] ?? 0;
      const duration = profile.timeDeltas[i + 1] ?? 0;
      if (at < start || at > end) continue;
      const node = nodes.get(profile.samples[i] ?? -1);
      if (!node) continue;
      const name = categorise(node.callFrame, bundleUrl, map);
      totals.set(name, (totals.get(name) ?? 0) + duration);
    }
  }
  await loopback.close();
  const sampled = [...totals.values()].reduce((a, b) => a + b, 0);
  const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]);
  const ms = (us: number) => (us / runs / 1000).toFixed(1);
  process.stdout.write(
    `${subject.name}: ${runs} ${warm ? 'warm probes' : `cold inits, import → first answer ${ms(windowUs)} ms (mean)`}, sampled ${ms(sampled)} ms each\n` +
      `profiles: ${dir}\n\n| where | ms per ${warm ? 'probe' : 'cold init'} | share |\n| --- | --- | --- |\n`,
  );
  for (const [name, us] of rows.slice(0, 40)) {
    process.stdout.write(`| ${name} | ${ms(us)} | ${((us / sampled) * 100).toFixed(1)} % |\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
