/*
 * Support for the package tests: the repository packed as npm would publish it, fresh CDK
 * apps that install the tarball as a user's app would, `npm start` of this repository, and
 * a CloudFormation endpoint that answers DescribeStacks from an app's synthesized template.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type Dirent, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { freePort } from '../../local/emulators.js';
import type { LocalEndpoints } from '../../local/ingress.js';
import { type Ran, run } from '../support/process.js';

export { type Ran, run };

export const REPO = resolve(import.meta.dirname, '../..');

export interface RepoManifest {
  readonly name: string;
  readonly version: string;
  readonly devDependencies: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
}
export const repoManifest = JSON.parse(
  readFileSync(join(REPO, 'package.json'), 'utf8'),
) as RepoManifest;

/** The version of a dev dependency this repository pins (the apps install the same). */
export function pinned(name: string): string {
  const version = repoManifest.devDependencies[name];
  if (!version) throw new Error(`package.json pins no ${name}`);
  return version;
}

/**
 * Variables of npm run, vitest and this repository's tools, not of a user's shell.
 * WEBHOOK_LOCAL_DIR would move the CLI's default .local/ that the tests look for;
 * CDK_VALIDATION (vitest.config.ts) would skip the validation the apps' synth must run.
 */
const RUNNER_VARIABLE =
  /^(npm_.*|VITEST.*|TINYPOOL.*|INIT_CWD|NODE_OPTIONS|NODE_ENV|TEST|WEBHOOK_LOCAL_DIR|CDK_VALIDATION)$/;

/**
 * The environment a user's shell would give a child: none of the variables `npm run`
 * exports (npm_config_* would configure the app's npm), and no node_modules/.bin of this
 * repository on PATH (its esbuild, tsx or tsc must not be found by an app). `nodeDir`
 * first on PATH picks the Node that runs npm, npx and the app's scripts.
 */
export function userEnv(nodeDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!RUNNER_VARIABLE.test(key)) env[key] = value;
  }
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => entry && !entry.includes(`${sep}node_modules${sep}`));
  return {
    ...env,
    PATH: [nodeDir, ...path].join(delimiter),
    // The CDK CLI asks the network for notices and sends telemetry: neither exists in CI.
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    ...extra,
  };
}

/** Throws with the output when a run failed. */
export function succeeded(ran: Ran, what: string): Ran {
  if (ran.code !== 0) {
    throw new Error(
      `${what} exited ${ran.code}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}`,
    );
  }
  return ran;
}

/**
 * `npm pack` of this repository into `dir`; resolves to the tarball's path. Scripts are
 * skipped: `npm test` has just run `npm run build`, which is all `prepare` does.
 */
export async function packRepository(dir: string): Promise<string> {
  for (const built of ['lib/index.js', 'lib/cli.mjs', 'lib/consumer.js', 'lib/assets/sigmate']) {
    if (!existsSync(join(REPO, built))) {
      throw new Error(`${built} is missing: run npm run build first (npm test does)`);
    }
  }
  const packed = succeeded(
    await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: REPO,
      env: userEnv(dirname(process.execPath)),
    }),
    'npm pack',
  );
  const [result] = JSON.parse(packed.stdout) as { filename: string }[];
  if (!result) throw new Error(`npm pack printed no result: ${packed.stdout}`);
  return join(dir, result.filename);
}

/** A user's app in its own folder, run on the Node found in `nodeDir`. */
export class ConsumerApp {
  constructor(
    readonly dir: string,
    readonly nodeDir: string,
  ) {}

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return userEnv(this.nodeDir, extra);
  }

  /** Writes the app's files (paths relative to its folder). */
  async write(files: Record<string, string>): Promise<void> {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(this.dir, path)), { recursive: true });
      await writeFile(join(this.dir, path), text);
    }
  }

  /** `npm install` from the npm cache first, as CI does with a warm cache. */
  async install(extraArgs: readonly string[] = []): Promise<void> {
    succeeded(
      await this.npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...extraArgs]),
      `npm install in ${this.dir}`,
    );
  }

  npm(args: readonly string[], extra: Record<string, string> = {}): Promise<Ran> {
    return run('npm', args, { cwd: this.dir, env: this.env(extra) });
  }

  npx(args: readonly string[], extra: Record<string, string> = {}): Promise<Ran> {
    return run('npx', ['--no-install', ...args], { cwd: this.dir, env: this.env(extra) });
  }

  /** Runs the Node that `npm run` and `npx` use in this app (its own `node` package, if any). */
  node(args: readonly string[], extra: Record<string, string> = {}): Promise<Ran> {
    const own = join(this.dir, 'node_modules', '.bin', 'node');
    return run(existsSync(own) ? own : join(this.nodeDir, 'node'), args, {
      cwd: this.dir,
      env: this.env(extra),
    });
  }

  json<T>(path: string): T {
    return JSON.parse(readFileSync(join(this.dir, path), 'utf8')) as T;
  }
}

/** Every package folder under a node_modules tree (nested ones too), by package name. */
export function packagesIn(nodeModules: string): string[] {
  const names: string[] = [];
  const visit = (folder: string) => {
    let entries: string[];
    try {
      entries = readdirSync(folder);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(join(folder, entry))) {
          names.push(`${entry}/${scoped}`);
          visit(join(folder, entry, scoped, 'node_modules'));
        }
      } else {
        names.push(entry);
        visit(join(folder, entry, 'node_modules'));
      }
    }
  };
  visit(nodeModules);
  return names;
}

/** Every file under a folder, relative to it. */
export function filesUnder(folder: string): string[] {
  return (readdirSync(folder, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1))
    .sort();
}

export interface CfnTemplate {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  readonly Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

/** Each Lambda function's S3 key (its asset's hash), by logical id. */
export function functionCodeKeys(template: CfnTemplate): Record<string, string> {
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([id, resource]) => [
        id,
        String((resource.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key),
      ])
      .sort(([left], [right]) => String(left).localeCompare(String(right))),
  );
}

/** `npm start` of this repository, on a folder and ports of its own. */
export interface LocalIngressProcess {
  readonly endpointsFile: string;
  readonly endpoints: LocalEndpoints;
  stop(): Promise<void>;
}

export async function startRepositoryIngress(localDir: string): Promise<LocalIngressProcess> {
  const child: ChildProcess = spawn('npm', ['start', '--silent'], {
    cwd: REPO,
    env: {
      ...process.env,
      WEBHOOK_LOCAL_DIR: localDir,
      PORT: '0',
      DYNAMODB_PORT: String(await freePort()),
      SQS_PORT: String(await freePort()),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  await new Promise<void>((ready, fail) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('Press Ctrl-C')) ready();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) =>
      fail(new Error(`npm start exited ${code} before it was ready:\n${text}`)),
    );
  });
  const endpointsFile = join(localDir, 'endpoints.json');
  const endpoints = JSON.parse(await readFile(endpointsFile, 'utf8')) as LocalEndpoints;
  return {
    endpointsFile,
    endpoints,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A CloudFormation endpoint (AWS_ENDPOINT_URL_CLOUDFORMATION) that answers DescribeStacks
 * for one stack with the outputs of its synthesized template: each output's key and
 * description as synthesized, its value from `deployedValue` (what CloudFormation would resolve
 * the template's `Value` to once deployed).
 */
export async function describeStacksEndpoint(
  stackName: string,
  template: CfnTemplate,
  deployedValue: (key: string, output: { Value: unknown; Description?: string }) => string,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const members = Object.entries(template.Outputs ?? {})
    .map(
      ([key, output]) =>
        `<member><OutputKey>${escapeXml(key)}</OutputKey><OutputValue>${escapeXml(deployedValue(key, output))}</OutputValue>` +
        `${output.Description ? `<Description>${escapeXml(output.Description)}</Description>` : ''}</member>`,
    )
    .join('');
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      requests.push(body);
      const params = new URLSearchParams(body);
      response.setHeader('content-type', 'text/xml');
      if (params.get('Action') !== 'DescribeStacks' || params.get('StackName') !== stackName) {
        response.statusCode = 400;
        response.end(
          '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>' +
            `<Code>ValidationError</Code><Message>Stack with id ${escapeXml(params.get('StackName') ?? '')} does not exist</Message>` +
            '</Error><RequestId>test</RequestId></ErrorResponse>',
        );
        return;
      }
      response.end(
        '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
          `<StackName>${escapeXml(stackName)}</StackName>` +
          `<StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${escapeXml(stackName)}/1</StackId>` +
          '<StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-12-01T00:00:00Z</CreationTime>' +
          `<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
          '<ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></DescribeStacksResponse>',
      );
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((closed) => server.close(() => closed())),
  };
}
