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

/** A fake queue URL of the mocked stacks below. */
export const stackQueueUrl = (name: string) => `https://sqs.eu-west-1.amazonaws.com/1/${name}`;

/** DescribeStacks' answer for a stack with every output the CLI reads (for aws-sdk-client-mock). */
export function describeStacksAnswer(name: string, extra: [string, string][] = []) {
  const outputs: [string, string][] = [
    ['ApiEndpoint', 'https://abc.execute-api.eu-west-1.amazonaws.com'],
    ['IdempotencyTableName', 'ingress-table'],
    ...['Sigma', 'Sigmate', 'Signifyd'].flatMap((title): [string, string][] => [
      [`${title}QueueUrl`, stackQueueUrl(title)],
      [`${title}DeadLetterQueueUrl`, stackQueueUrl(`${title}-dlq`)],
    ]),
    ...extra,
  ];
  return {
    Stacks: [
      {
        StackName: name,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: outputs.map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}
