import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TAIL_MAX } from '../../cli/tail.js';
import { cli, type LocalCli, PROJECT_ROOT, startLocalCli, stopLocalCli } from './cli-support.js';

const readme = readFileSync(resolve(PROJECT_ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  engines?: { node?: string };
};

describe('README: what it says the CLI and npm do is what they do', () => {
  let local: LocalCli;
  beforeAll(async () => {
    local = await startLocalCli();
  });
  afterAll(() => stopLocalCli(local ?? {}));

  it('the quick tour: tail shows the number of events the README says', async () => {
    const tour = /`npx webhook-ingress (send sigma [^`]+)`\s*\(([^)]*)\)/.exec(readme);
    expect(tour, 'the tour names a send command and what tail then shows').not.toBeNull();
    const claimed = /`tail` shows (?:the )?(\d+)/.exec(tour?.[2] ?? '');
    expect(claimed, tour?.[2]).not.toBeNull();
    const send = (tour?.[1] ?? '').split(/\s+/);
    expect((await cli([...send, '--endpoints', local.endpoints.file])).code).toBe(0);
    const tail = await cli([
      'tail',
      '-p',
      'sigma',
      '--oneline',
      '--endpoints',
      local.endpoints.file,
    ]);
    expect(tail.stdout).toHaveLength(DEFAULT_TAIL_MAX);
    expect(Number(claimed?.[1])).toBe(tail.stdout.length);
  });

  it('the local archive listing with the AWS CLI gives it the credentials it insists on', () => {
    const line = readme.split('\n').find((text) => /\baws .*--endpoint-url .* s3 ls /.test(text));
    expect(line, 'the README lists the local archive with aws s3 ls').toBeDefined();
    expect(line).toMatch(/AWS_ACCESS_KEY_ID=\S+/);
    expect(line).toMatch(/AWS_SECRET_ACCESS_KEY=\S+/);
    expect(line).toMatch(/AWS_(DEFAULT_)?REGION=\S+/);
  });

  it('says why npm install on an older Node prints EBADENGINE, with the range package.json asks for', () => {
    expect(readme).toMatch(/EBADENGINE/);
    const range = pkg.engines?.node;
    expect(
      range,
      'package.json has an engines range (else the README paragraph is wrong)',
    ).toBeDefined();
    expect(readme).toContain(`\`"node": "${range}"\``);
  });
});
