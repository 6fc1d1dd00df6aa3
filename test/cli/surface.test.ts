import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { indentJson, oneLine } from '../../cli/format.js';
import { MemoryIo, progressBar } from '../../cli/io.js';
import { run, VERSION } from '../../cli/program.js';
import { markSynthetic } from '../../cli/send.js';
import { cli, runNode, runProcess } from './cli-support.js';

/** Runs a file the npm scripts run, as `node tools/run-ts.mjs <file> …`. */
const runScript = (args: string[]) => runNode(['tools/run-ts.mjs', ...args]);

const nodeMajor = (file: string) =>
  Number(/^v(\d+)/.exec(execFileSync(file, ['--version'], { encoding: 'utf8' }))?.[1]);

/** A Node older than 24 on this machine (the system one, on these machines), if any. */
const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((file) => {
  try {
    return nodeMajor(file) < 24;
  } catch {
    return false;
  }
});
/** The CLI runs on Node 22 too: only an older one gets its line. */
const tooOldForCli = oldNode !== undefined && nodeMajor(oldNode) < 22;

describe('setup: an unsupported Node gets one clear line', () => {
  it.runIf(oldNode)('from npm start (Node 24), with the fix', async () => {
    const run = await runProcess(oldNode ?? '', ['tools/run-ts.mjs', 'local/start.ts']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^webhook-ingress: needs Node\.js 24 or newer, but this is Node \d+\.\d+\.\d+ .*run: npm rebuild node\)\n$/,
    );
  });

  it.runIf(tooOldForCli)('from the CLI (Node 22)', async () => {
    const run = await runProcess(oldNode ?? '', ['bin/webhook-ingress.mjs', 'status']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^webhook-ingress: needs Node\.js 22 or newer, but this is Node \d+\.\d+\.\d+ /,
    );
  });
});

describe('cli: views keep the provider’s digits', () => {
  it('indents JSON text without re-serialising numbers or strings', () => {
    const text =
      '{"a":12345678901234567890,"b":1.10,"c":[],"d":{},"e":"x\\"},{[y","f":[1e400,-0.0]}';
    expect(indentJson(text)).toBe(
      [
        '{',
        '  "a": 12345678901234567890,',
        '  "b": 1.10,',
        '  "c": [],',
        '  "d": {},',
        '  "e": "x\\"},{[y",',
        '  "f": [',
        '    1e400,',
        '    -0.0',
        '  ]',
        '}',
      ].join('\n'),
    );
    expect(JSON.parse(indentJson(text))).toEqual(JSON.parse(text));
  });
});

describe('cli: send marks its samples synthetic', () => {
  it('appends "synthetic": true to a sample body, and the views flag it', () => {
    expect(markSynthetic('{"id":"x","n":1.10}')).toBe('{"id":"x","n":1.10,"synthetic":true}');
    expect(markSynthetic('{}')).toBe('{"synthetic":true}');
    const body = `{"version":1,"id":"e","provider":"sigmate","type":"signal.fired","idempotencyKey":"k","receivedAt":"t","payload":${markSynthetic('{"id":"k"}')}}`;
    expect(oneLine({ messageId: 'm', body, receiveCount: 1 })).toMatch(/\[synthetic\]$/);
  });
});

describe('cli: progress on a terminal', () => {
  it('shows rate, ETA and the running error count, on stderr only', () => {
    const writes: string[] = [];
    const io = Object.assign(new MemoryIo(), { progress: (text: string) => writes.push(text) });
    let now = 0;
    const tick = progressBar(io, 100, 'sigmate', () => now);
    now = 2_000;
    tick(50, 3);
    expect(writes.at(-1)).toMatch(/sigmate \[#{10}\.{10}\] 50\/100 · 25\/s · ETA 2s · 3 errors/);
    now = 4_000;
    tick(100, 3);
    expect(writes.at(-1)).toBe('\n');
    expect(io.stdout).toEqual([]);
  });

  it('draws nothing when stderr is not a terminal', () => {
    const io = new MemoryIo();
    progressBar(io, 100, 'sigmate')(50, 0);
    expect(io.stderr).toEqual([]);
  });
});

describe('cli: flags', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  afterAll(() => cloudFormation.restore());

  it('--version prints the package version', async () => {
    const run = await cli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: [VERSION] });
  });

  it('refuses --env-file (Node’s own flag) and names --secrets-file', async () => {
    const run = await cli(['send', 'sigmate', '--env-file', 'x.env']);
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual([
      'webhook-ingress: --env-file is Node’s own flag (Node reads the file before the CLI does): use --secrets-file FILE',
    ]);
  });

  it.each([
    [['tail', '--wait', '21'], /--wait <seconds>.*expected a whole number from 0 to 20/],
    [['tail', '--max', '101'], /--max is at most 100 without --follow/],
    [['tail', '--for', '5'], /--for needs --follow/],
    [['tail', '--json', '--oneline'], /exclude each other/],
    [['tail', '--dlq', '--follow'], /--follow shows events as they are accepted/],
    [['send', 'sigmate', '-c', '0'], /expected a whole number from 1 to 256/],
    [['send', 'sigmate', '--timeout', 'soon'], /--timeout <ms>.*expected a whole number/],
    [['status', '--stack', 'bad name!'], /expected a CloudFormation stack name/],
    [['status', '--stack', 's', '--region', 'Ireland'], /expected an AWS region/],
    [['find', 'sigmate', '  '], /find needs an identifier/],
    [['tail', '-p', ','], /--provider <names>.*expected provider names/],
    [['tail', '-p', 'Stripe_EU'], /"Stripe_EU" is not a provider name/],
    [['send', 'pay!'], /"pay!" is not a provider name/],
  ])('%j is a one-line usage error', async (argv, message) => {
    const run = await cli([...argv, '--endpoints', '/no/such/endpoints.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(/^webhook-ingress: /);
    expect(run.stderr[0]).toMatch(message);
  });

  it('through the bin: --env-file gets the CLI’s own line, --secrets-file is read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    const file = join(dir, 'sigmate.env');
    await writeFile(file, 'SIGMATE_WEBHOOK_SECRET=from-the-file\n');
    try {
      const target = ['--target', 'http://127.0.0.1:9', '--yes'];
      const envFile = await runNode([
        'bin/webhook-ingress.mjs',
        'send',
        'sigmate',
        '--env-file',
        file,
        ...target,
      ]);
      expect(envFile.code).toBe(2);
      expect(envFile.stderr).toMatch(
        /^webhook-ingress: --env-file is Node’s own flag .* use --secrets-file FILE\n$/,
      );
      const secrets = await runNode([
        'bin/webhook-ingress.mjs',
        'send',
        'sigmate',
        '--secrets-file',
        file,
        ...target,
      ]);
      // Signed with the file's secret and sent: nothing listens there.
      expect(secrets.code).toBe(5);
      expect(secrets.stderr).toMatch(/could not reach http:\/\/127\.0\.0\.1:9\/webhooks\/sigmate/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('asks before sending to a deployed target, and refuses without a terminal', async () => {
    const env = { SIGMATE_WEBHOOK_SECRET: 'x' };
    const refused = await cli(['send', 'sigmate', '--target', 'http://127.0.0.1:9'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toEqual([
      'webhook-ingress: refusing to send 1 signed sigmate delivery to http://127.0.0.1:9/webhooks/sigmate (http://127.0.0.1:9) without confirmation: stdin is not a terminal (pass --yes)',
    ]);
    const io = new MemoryIo({ answers: ['n'] });
    const declined = await run(['send', 'sigmate', '--target', 'http://127.0.0.1:9', '-n', '3'], {
      io,
      env,
    });
    expect(declined).toBe(1);
    expect(io.stderr).toEqual([
      'send 3 signed sigmate deliveries to http://127.0.0.1:9/webhooks/sigmate (http://127.0.0.1:9)? [y/N] ',
      'webhook-ingress: not confirmed: nothing was done',
    ]);
    // Confirmed: it goes ahead (and finds nothing listening there).
    const yes = await cli(['send', 'sigmate', '--target', 'http://127.0.0.1:9', '--yes'], env);
    expect(yes.code).toBe(5);
  });

  it('names the profile when AWS refuses the credentials', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('The SSO session has expired'), { name: 'ExpiredToken' }));
    const run = await cli(['status', '--stack', 's', '--region', 'eu-west-1', '--profile', 'ops']);
    expect(run.code).toBe(4);
    expect(run.stderr).toEqual([
      'webhook-ingress: AWS refused the credentials while reading stack "s": ExpiredToken: The SSO session has expired (profile "ops": aws sso login --profile ops, or check ~/.aws/config)',
    ]);
  });

  it('soak and reliability refuse a flag that is not a number, before starting anything', async () => {
    const [soak, reliability, both] = await Promise.all([
      runScript(['local/soak.ts', '--concurrency', 'abc']),
      runScript(['local/reliability.ts', '--deliveries', 'abc']),
      runScript(['local/reliability.ts', '--write', '--out', '/tmp/r.md']),
    ]);
    expect(soak.code).toBe(1);
    expect(soak.stderr).toMatch(
      /^soak: option '--concurrency <n>' argument 'abc' is invalid\. expected a whole number/,
    );
    expect(reliability.code).toBe(1);
    expect(reliability.stderr).toMatch(/^reliability: option '--deliveries <n>' argument 'abc'/);
    expect(both.stderr).toMatch(/^reliability: pass --write or --out, not both/);
  });
});
