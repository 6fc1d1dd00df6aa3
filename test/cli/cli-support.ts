import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MemoryIo } from '../../scripts/cli/io.js';
import { run } from '../../scripts/cli/program.js';
import type { LocalEndpoints } from '../../scripts/local/ingress.js';

/** A temporary endpoints.json for a test ingress, as `npm start` would write it. */
export async function writeEndpoints(
  endpoints: LocalEndpoints,
): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
  const file = join(dir, 'endpoints.json');
  await writeFile(file, JSON.stringify(endpoints));
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs the CLI in-process; resolves to its exit code and what it printed. */
export async function cli(
  argv: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const io = new MemoryIo();
  const code = await run(argv, { io, env });
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** The project folder, where npm scripts and the bin run. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/** Runs `node <args>` in the project folder, as an npm script or the bin would. */
export function runNode(args: string[]) {
  return runProcess(process.execPath, args);
}

/** Runs a program in the project folder; resolves to its exit code and output. */
export function runProcess(
  file: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(file, args, {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
