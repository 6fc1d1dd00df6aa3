import { existsSync, lstatSync, mkdirSync, realpathSync, renameSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIngressOutputs } from '../../cli/stack-outputs.js';
import { WebhookIngress } from '../../infra/index.js';
import { parseOutputTag } from '../../infra/output-tags.js';
import { queueUrlOf } from '../../local/endpoints.js';
import { commonJsApp, esmApp } from './apps.js';
import {
  type CfnTemplate,
  ConsumerApp,
  describeStacksEndpoint,
  filesUnder,
  functionCodeKeys,
  type LocalIngressProcess,
  packagesIn,
  packRepository,
  type Ran,
  repoManifest,
  startRepositoryIngress,
  succeeded,
} from './consumer-app.js';

/*
 * The package as a user gets it (issue 19): `npm pack` of this repository, installed from
 * the tarball into two fresh CDK apps with nothing else of ours, compiled with plain tsc
 * and synthesized by the CDK CLI, with no bundler, tsx, Docker or AWS SDK in either:
 * - a CommonJS app on TypeScript 5 and Node 22, its packages then laid out as pnpm does
 *   (the package symlinked from node_modules/.pnpm), with a vitest test of its stack;
 * - an ESM app on TypeScript 7 and Node 24, npm's hoisted layout, in a folder whose path
 *   has spaces.
 * The installed CLI runs against `npm start` of this repository and, with `--stack`,
 * against the ESM app's own synthesized stack. Install, compile and synth run once
 * (beforeAll and memoized steps); the tests check one property each.
 */

const TYPESCRIPT_5 = '5.9.3';
const TYPESCRIPT_7 = '~7.0.2';
/** What the apps must not need: a bundler, a TypeScript runner, Docker, the AWS SDK. */
const FORBIDDEN_PACKAGE =
  /^(esbuild|@esbuild\/.*|tsx|@aws-sdk\/.*|@smithy\/.*|docker.*|dockerode)$/;
/** The CDK CLI's own line about cdk.json lacking the recommended flags: not a warning of ours. */
const FEATURE_FLAGS_NOTICE =
  /^\d+ feature flags are not configured\. Run 'cdk flags --unstable=flags' to learn more\.$/;

let work: string;
let tarball: string;
let cjs: ConsumerApp;
let esm: ConsumerApp;
let started: LocalIngressProcess[] = [];

/** One step of an app, run once however many tests need it. */
function once<T>(step: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= step();
    return result;
  };
}

const compileCjs = once(async () => succeeded(await cjs.npx(['tsc']), 'tsc (CommonJS app)'));
const compileEsm = once(async () => succeeded(await esm.npx(['tsc']), 'tsc (ESM app)'));

/** `cdk synth` as a user runs it, failing on any deprecated API (JSII_DEPRECATED=fail). */
async function synth(
  app: ConsumerApp,
  compile: () => Promise<Ran>,
): Promise<{ ran: Ran; template: CfnTemplate; validation: ValidationReport }> {
  await compile();
  const ran = succeeded(
    await app.npx(['cdk', 'synth', '--quiet', '--no-notices'], { JSII_DEPRECATED: 'fail' }),
    `cdk synth in ${app.dir}`,
  );
  return {
    ran,
    template: app.json<CfnTemplate>('cdk.out/Payments.template.json'),
    validation: app.json<ValidationReport>('cdk.out/validation-report.json'),
  };
}

/** cdk.out/validation-report.json: aws-cdk-lib's built-in CloudFormation validation. */
interface ValidationReport {
  readonly pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
}

/**
 * Validation found nothing: every plugin that reported (CloudFormation Validate, and the
 * construct annotations under cdk init's flags) succeeded with no violation. A plugin
 * with nothing to say, not even a suppressed finding, is left out of the report.
 */
function expectValidated(validation: ValidationReport): void {
  for (const { pluginName, conclusion, violations } of validation.pluginReports) {
    expect({ pluginName, conclusion, violations }).toEqual({
      pluginName,
      conclusion: 'success',
      violations: [],
    });
  }
}

const synthCjs = once(() => synth(cjs, compileCjs));
const synthEsm = once(() => synth(esm, compileEsm));

/** The ESM app's tsconfig.check.json: bundler resolution, strictest options, no skipLibCheck. */
const checkDeclarations = once(async () => {
  await compileEsm();
  return esm.npx(['tsc', '-p', 'tsconfig.check.json']);
});

/**
 * The CommonJS app's own test of its stack. vitest rather than Jest + ts-jest: 36 packages
 * (about 11 s from a warm npm cache here) against 197 (about 25 s), and vite 8 bundles
 * with rolldown, so the app still has no esbuild. The template's CloudFormation validation
 * (9 s of CPU) is left to the app's cdk synth.
 */
const testCjs = once(async () => {
  await synthCjs();
  return cjs.npx(['vitest', 'run'], { JSII_DEPRECATED: 'fail', CDK_VALIDATION: 'false' });
});

/** The same construct synthesized in this repository, from its sources and its own lib/assets. */
const repositoryTemplate = once(async () => {
  const outdir = join(work, 'repository.out');
  // The built-in CloudFormation validation (off in tests: vitest.config.ts) is the apps' synth's.
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  new WebhookIngress(new Stack(app, 'Payments'), 'Ingress');
  return app.synth().getStackByName('Payments').template as CfnTemplate;
});

/**
 * Rearranges an npm install the way pnpm lays packages out: the package a real folder
 * under node_modules/.pnpm with its peers linked beside it, node_modules/<name> a relative
 * symlink to it. The construct must find its assets from its real path.
 */
function linkAsPnpmDoes(appDir: string, name: string, peers: readonly string[]): void {
  const modules = join(appDir, 'node_modules');
  const store = join(modules, '.pnpm', `${name}@${repoManifest.version}`, 'node_modules');
  mkdirSync(store, { recursive: true });
  renameSync(join(modules, name), join(store, name));
  symlinkSync(relative(modules, join(store, name)), join(modules, name));
  for (const peer of peers) symlinkSync(relative(store, join(modules, peer)), join(store, peer));
}

/** Non-empty, trimmed lines of a program's output. */
const lines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/**
 * `npm start` of this repository, started once. Its DynamoDB Local must answer within 30 s;
 * on a machine busy with the apps' compiles (CI runners, shared hosts) a cold JVM can miss
 * that, so a start that fails is tried once more before the tests that need it fail.
 */
let ingressStarting: Promise<LocalIngressProcess> | undefined;
function localIngress(): Promise<LocalIngressProcess> {
  const start = async (attempt: number) => {
    const running = await startRepositoryIngress(join(work, `local-${attempt}`));
    started.push(running);
    return running;
  };
  ingressStarting ??= start(1).catch(() => start(2));
  return ingressStarting;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'webhook-ingress-package-'));
  tarball = await packRepository(work);
  cjs = new ConsumerApp(join(work, 'payments-cjs'), dirname(process.execPath));
  esm = new ConsumerApp(join(work, 'my payments app', 'payments esm'), dirname(process.execPath));
  await cjs.write(commonJsApp(tarball, TYPESCRIPT_5));
  await esm.write(esmApp(tarball, TYPESCRIPT_7));
  await Promise.all([cjs.install(), esm.install()]);
  linkAsPnpmDoes(cjs.dir, 'webhook-ingress', ['aws-cdk-lib', 'constructs']);
  // The apps build, and npm start boots, side by side; each test awaits what it checks.
  for (const step of [synthCjs, synthEsm, localIngress, checkDeclarations, testCjs]) {
    step().catch(() => {});
  }
}, 600_000);

afterAll(async () => {
  await ingressStarting?.catch(() => {});
  await Promise.all(started.map((running) => running.stop()));
  started = [];
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the package installed from its tarball', () => {
  it('brings no esbuild, tsx, Docker or AWS SDK package into either app, and has no dependency', () => {
    for (const app of [cjs, esm]) {
      const forbidden = packagesIn(join(app.dir, 'node_modules')).filter((name) =>
        FORBIDDEN_PACKAGE.test(name),
      );
      expect(forbidden, app.dir).toEqual([]);
    }
    const installed = esm.json<Record<string, unknown>>(
      'node_modules/webhook-ingress/package.json',
    );
    expect(installed.dependencies).toBeUndefined();
    expect(installed.optionalDependencies).toBeUndefined();
    expect(installed.peerDependencies).toEqual(repoManifest.peerDependencies);
    // Only prepare: npm runs it for a git or folder install, never for the tarball.
    const scripts = Object.keys((installed.scripts ?? {}) as object);
    expect(scripts.filter((name) => /install/.test(name))).toEqual([]);
  });

  it('is linked into the CommonJS app from node_modules/.pnpm, as pnpm does', () => {
    const linked = join(cjs.dir, 'node_modules', 'webhook-ingress');
    expect(lstatSync(linked).isSymbolicLink()).toBe(true);
    expect(relative(cjs.dir, realpathSync(linked))).toBe(
      join(
        'node_modules',
        '.pnpm',
        `webhook-ingress@${repoManifest.version}`,
        'node_modules',
        'webhook-ingress',
      ),
    );
  });

  it('compiles in a CommonJS app with plain tsc 5 (module commonjs: node10 resolution, typesVersions)', async () => {
    await compileCjs();
    expect(existsSync(join(cjs.dir, 'bin/app.js'))).toBe(true);
    expect(existsSync(join(cjs.dir, 'consumer/handler.js'))).toBe(true);
  }, 300_000);

  it('compiles in an ESM app with plain tsc 7 (nodenext, in ESM and CommonJS mode)', async () => {
    await compileEsm();
    const loaded = await esm.node([
      '-e',
      "console.log(require('./check/require-mode.cjs').loaded)",
    ]);
    expect(loaded.stdout.trim()).toBe('function function');
  }, 300_000);

  it('has declarations that pass bundler resolution and strict options without skipLibCheck', async () => {
    const checked = await checkDeclarations();
    // tsc ran to its end: clean, or with diagnostics (aws-cdk-lib's, below).
    expect(checked.code === 0 || /error TS\d+/.test(checked.stdout), checked.stderr).toBe(true);
    // aws-cdk-lib's own declarations fail without skipLibCheck (its problem, not ours):
    // only a diagnostic in this package or the app's own file fails the test.
    const ours = lines(checked.stdout).filter(
      (line) => line.includes('webhook-ingress') || line.startsWith('check/'),
    );
    expect(ours).toEqual([]);
  }, 300_000);

  it('synthesizes in the CommonJS app on Node 22: no deprecated API, no warning, CloudFormation validation clean', async () => {
    const version = await cjs.node(['-p', 'process.versions.node']);
    expect(version.stdout.trim()).toMatch(/^22\./);
    const { ran, validation } = await synthCjs();
    expect(lines(ran.stdout + ran.stderr)).toEqual([]);
    expectValidated(validation);
  }, 300_000);

  it('synthesizes in the ESM app on Node 24: no deprecated API, no warning, CloudFormation validation clean', async () => {
    const version = await esm.node(['-p', 'process.versions.node']);
    expect(version.stdout.trim()).toMatch(/^24\./);
    const { ran, validation } = await synthEsm();
    const output = lines(ran.stdout + ran.stderr).filter(
      (line) => !FEATURE_FLAGS_NOTICE.test(line),
    );
    expect(output).toEqual([]);
    expectValidated(validation);
  }, 300_000);

  it('deploys the Lambda code this repository synthesizes: the same asset hashes', async () => {
    const repository = functionCodeKeys(await repositoryTemplate());
    // Every provider, the not-found route and the archiver: five bundles of the package.
    expect(new Set(Object.values(repository)).size).toBeGreaterThanOrEqual(5);
    for (const { template } of [await synthCjs(), await synthEsm()]) {
      const app = functionCodeKeys(template);
      const shared = Object.fromEntries(Object.keys(repository).map((id) => [id, app[id]]));
      expect(shared).toEqual(repository);
    }
  }, 300_000);

  it('runs a vitest test of the stack in the CommonJS app (aws-cdk-lib/assertions)', async () => {
    const tested = succeeded(await testCjs(), 'vitest in the app');
    expect(stripVTControlCharacters(tested.stdout)).toMatch(/Tests\s+2 passed \(2\)/);
  }, 300_000);
});

describe('the CLI from the package', () => {
  it('prints its version and help through npx on Node 22 and 24', async () => {
    for (const app of [cjs, esm]) {
      const version = await app.npx(['webhook-ingress', '--version']);
      expect(version.code).toBe(0);
      expect(version.stdout.trim()).toBe(repoManifest.version);
    }
    const help = await cjs.npx(['webhook-ingress', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: webhook-ingress/);
  }, 120_000);

  it('looks for the local endpoints in the app, not in the package', async () => {
    const status = await cjs.npx(['webhook-ingress', 'status']);
    expect(status.code).toBe(3);
    expect(status.stderr).toContain(join(cjs.dir, '.local', 'endpoints.json'));
  }, 60_000);

  it('sends a signed Sigmate delivery to npm start of this repository on Node 22: accepted', async () => {
    const sent = succeeded(
      await cjs.npx([
        'webhook-ingress',
        'send',
        'sigmate',
        '--endpoints',
        (await localIngress()).endpointsFile,
      ]),
      'webhook-ingress send',
    );
    expect(sent.stdout).toMatch(/200 accepted\s+1/);
  }, 60_000);

  it('works with --stack against the ESM app’s own stack and writes nothing into the package', async () => {
    const { template } = await synthEsm();
    const local = (await localIngress()).endpoints;
    // What the deployed stack's outputs would hold, by the tag the construct gave each.
    const cloudFormation = await describeStacksEndpoint('Payments', template, (_key, output) => {
      const tag = parseOutputTag(output.Description);
      const provider = tag?.provider ?? '';
      switch (tag?.fact) {
        case 'base-url':
        case 'api-endpoint':
          return local.api;
        case 'table':
          return local.table;
        case 'queue':
          return queueUrlOf(local, provider);
        case 'dead-letter-queue':
          return queueUrlOf(local, provider, 'deadLetterQueues');
        default:
          // A literal (a provider's declaration) is what CloudFormation gives back as is.
          return typeof output.Value === 'string'
            ? output.Value
            : `stand-in for ${JSON.stringify(output.Value)}`;
      }
    });
    const packageFolder = join(esm.dir, 'node_modules', 'webhook-ingress');
    const before = filesUnder(packageFolder);
    const aws = {
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
      AWS_ENDPOINT_URL_SQS: local.sqs,
      AWS_ENDPOINT_URL_DYNAMODB: local.dynamodb,
      // DynamoDB Local keeps tables per access key: npm start's.
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      SIGMATE_WEBHOOK_SECRET: 'demo-sigmate-webhook-secret',
    };
    try {
      const stack = ['--stack', 'Payments', '--region', 'us-east-1'];
      const sent = succeeded(
        await esm.npx(['webhook-ingress', 'send', 'sigmate', ...stack, '--yes'], aws),
        'send --stack',
      );
      expect(sent.stdout).toMatch(/200 accepted\s+1/);
      const tailed = succeeded(
        await esm.npx(
          ['webhook-ingress', 'tail', ...stack, '--provider', 'sigmate', '--json', '--max', '10'],
          aws,
        ),
        'tail --stack',
      );
      const bodies = lines(tailed.stdout);
      expect(bodies.length).toBeGreaterThan(0);
      expect(cloudFormation.requests.length).toBe(2);

      // The app's consumer Lambda, compiled by the app, on what the ingress enqueued.
      const event = { Records: bodies.map((body, i) => ({ messageId: String(i), body })) };
      for (const app of [cjs, esm]) {
        const handled = await app.node([
          '--input-type=module',
          '-e',
          `const { handler } = await import('./consumer/handler.js');
           process.stdout.write(JSON.stringify(await handler(${JSON.stringify(event)})));`,
        ]);
        const result = JSON.parse(handled.stdout) as { batchItemFailures: []; processed: string[] };
        expect(result.batchItemFailures).toEqual([]);
        expect(result.processed[0]).toMatch(/^sigmate#\S+ signal\.fired consensus_buy$/);
      }
    } finally {
      await cloudFormation.close();
    }
    expect(filesUnder(packageFolder)).toEqual(before);
    // tail's memory of the stack is kept where the CLI looks for its endpoints.
    expect(existsSync(join(esm.dir, '.local', 'tail-ledger.Payments.json'))).toBe(true);
  }, 180_000);

  it('reads the ingress from the outputs each app synthesized (readIngressOutputs)', async () => {
    for (const { template } of [await synthCjs(), await synthEsm()]) {
      const outputs = Object.entries(template.Outputs ?? {}).map(([OutputKey, output]) => ({
        OutputKey,
        // A literal (a provider's declaration) as it is; what CloudFormation resolves, a stand-in.
        OutputValue: typeof output.Value === 'string' ? output.Value : `value of ${OutputKey}`,
        ...(output.Description ? { Description: output.Description } : {}),
      }));
      const read = readIngressOutputs('Payments', outputs);
      expect(read.ingress).toBe('Payments/Ingress');
      expect(Object.keys(read.queues).sort()).toEqual(['sigma', 'sigmate', 'signifyd']);
      expect(Object.keys(read.providers).sort()).toEqual(['sigma', 'sigmate', 'signifyd']);
      expect(read.queues.sigmate?.queue).toMatch(/^value of IngressSigmateQueueUrl/);
      expect(read.table).toMatch(/^value of IngressIdempotencyTableName/);
      expect(read.archive?.bucket).toMatch(/^value of IngressArchiveBucketName/);
    }
  }, 300_000);
});

describe('the package as an outsider might install and use it', () => {
  it('without its peers: the CLI and the consumer entry work, the construct names what is missing', async () => {
    const peerless = new ConsumerApp(join(work, 'peerless'), esm.nodeDir);
    await peerless.write({
      'package.json': JSON.stringify({ name: 'peerless', private: true }),
    });
    await peerless.install(['--legacy-peer-deps', tarball]);
    expect(packagesIn(join(peerless.dir, 'node_modules'))).toEqual(['webhook-ingress']);
    const version = await peerless.npx(['webhook-ingress', '--version']);
    expect(version.stdout.trim()).toBe(repoManifest.version);
    const consumer = await peerless.node([
      '-p',
      "typeof require('webhook-ingress/consumer').parseEnvelope",
    ]);
    expect(consumer.stdout.trim()).toBe('function');
    const construct = await peerless.node(['-e', "require('webhook-ingress')"]);
    expect(construct.code).not.toBe(0);
    expect(construct.stderr).toContain("Cannot find module 'aws-cdk-lib/");
  }, 120_000);

  it('lets a consumer Lambda bundled as ESM (NodejsFunction, format ESM) import webhook-ingress/consumer', async () => {
    await compileEsm();
    const outfile = join(work, 'consumer-bundle', 'index.mjs');
    await build({
      entryPoints: [join(esm.dir, 'consumer', 'handler.js')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      absWorkingDir: esm.dir,
      logLevel: 'silent',
    });
    // Lambda loads the bundle as an ES module: no `require`, no `__filename`.
    const loaded = succeeded(
      await esm.node([
        '--input-type=module',
        '-e',
        `const { handler } = await import(${JSON.stringify(pathToFileURL(outfile).href)});
         const event = { Records: [{ messageId: '1', body: '{}' }] };
         process.stdout.write(JSON.stringify(await handler(event)));`,
      ]),
      'the ESM bundle',
    );
    expect(JSON.parse(loaded.stdout)).toEqual({
      batchItemFailures: [],
      processed: ['rejected: not an envelope of version 1'],
    });
  }, 60_000);
});
