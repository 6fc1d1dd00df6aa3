import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
