import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryIo } from '../../cli/io.js';
import { projectProviders } from '../../cli/providers.js';
import { send } from '../../cli/send.js';
import { localTarget, routePaths } from '../../cli/target.js';
import type { EventDescription } from '../../functions/core/provider.js';
import { createProviderAdapter } from '../../functions/declared/adapter.js';
import {
  type ProviderDeclaration,
  providerDemoSecrets,
  providerEntry,
  SEED_PROVIDERS,
} from '../../functions/providers.js';
import { described, received, verdict } from '../unit/schemes/support.js';
import { cli, DECLARED_PROVIDERS } from './cli-support.js';

const DECLARED = DECLARED_PROVIDERS;
const named = (name: string) =>
  DECLARED.find((declaration) => declaration.name === name) as ProviderDeclaration;
const NOWHERE = 'http://127.0.0.1:9';

/** `.local/endpoints.json` as `npm start` writes it for `providers` (queues nowhere). */
function endpointsFor(api: string, providers: readonly ProviderDeclaration[], withEntries = true) {
  const names = providers.map((declaration) => declaration.name);
  return {
    api,
    region: 'us-east-1',
    dynamodb: NOWHERE,
    sqs: NOWHERE,
    table: 't',
    queues: Object.fromEntries(names.map((name) => [name, `${NOWHERE}/q/${name}`])),
    deadLetterQueues: Object.fromEntries(names.map((name) => [name, `${NOWHERE}/d/${name}`])),
    ...(withEntries
      ? {
          providers: Object.fromEntries(
            providers.map((declaration) => [declaration.name, providerEntry(declaration)]),
          ),
        }
      : {}),
  };
}

/**
 * A stand-in ingress on loopback: each provider's real adapter verifies and keys what
 * arrives (with `npm start`'s demo secrets), and answers as the contract says — accepted,
 * duplicate with the first id, ignored, or the one 401.
 */
async function verifyingIngress(providers: readonly ProviderDeclaration[]) {
  const served = providers.map((declaration) => {
    const adapter = createProviderAdapter(declaration);
    return { adapter, secrets: adapter.secretsFromEnv(providerDemoSecrets(declaration)) };
  });
  const seen = new Map<string, string>();
  const answers: {
    provider: string;
    status: string;
    key?: string;
    headers?: Record<string, string>;
    body?: Buffer;
  }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
      );
      const delivery = received({ path, headers, body: Buffer.concat(chunks) });
      const answer = (code: number, body: Record<string, unknown>) => {
        response.writeHead(code, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      const match = served.find(({ adapter }) => adapter.matchRoute(path) !== undefined);
      if (!match) return answer(404, { status: 'not_found' });
      const provider = String(match.adapter.provider);
      if (verdict(match.adapter, match.secrets, delivery) !== undefined) {
        answers.push({ provider, status: 'rejected' });
        return answer(401, { status: 'rejected', reason: 'invalid signature' });
      }
      let description: ReturnType<typeof described>;
      try {
        description = described(match.adapter, delivery);
      } catch {
        answers.push({ provider, status: 'rejected' });
        return answer(400, { status: 'rejected', reason: 'unusable' });
      }
      if (description.kind === 'ignored') {
        answers.push({ provider, status: 'ignored' });
        return answer(200, { status: 'ignored', reason: description.reason });
      }
      const key = `${provider}#${(description as EventDescription).idempotencyKey}`;
      const first = seen.get(key);
      answers.push({
        provider,
        status: first ? 'duplicate' : 'accepted',
        key,
        headers,
        body: delivery.body,
      });
      if (first) return answer(200, { status: 'duplicate', id: first });
      const id = randomUUID();
      seen.set(key, id);
      return answer(200, { status: 'accepted', id });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    server,
  };
}

describe('cli: the providers a local ingress serves, from its endpoints file', () => {
  let dir: string;
  const write = async (name: string, content: unknown) => {
    const file = join(dir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-providers-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves the providers the file lists, each with its queues and its demo secret', async () => {
    const file = await write('endpoints.json', endpointsFor(NOWHERE, DECLARED));
    const target = await localTarget(file, { STRIPE_US_WEBHOOK_SECRET: 'whsec_mine' });
    expect(Object.values(target.providers)).toEqual(DECLARED);
    expect(target.queues.billing).toEqual({
      queue: `${NOWHERE}/q/billing`,
      deadLetterQueue: `${NOWHERE}/d/billing`,
    });
    // npm start's demo values for what is unset; what the caller set wins.
    expect(target.signingEnv).toMatchObject({
      ...providerDemoSecrets(named('billing')),
      ...providerDemoSecrets(named('sigma-eu')),
      SIGMA_API_KEY: 'demo-sigma-api-key',
      STRIPE_US_WEBHOOK_SECRET: 'whsec_mine',
    });
    target.close();
  });

  it('a file written before providers were configuration serves the seeds its queues name', async () => {
    const file = await write('old.json', endpointsFor(NOWHERE, SEED_PROVIDERS, false));
    const target = await localTarget(file, {});
    expect(Object.values(target.providers)).toEqual(SEED_PROVIDERS);
    target.close();
  });

  it('refuses a provider the ingress does not serve (exit 2), listing those it does', async () => {
    const file = await write('served.json', endpointsFor(NOWHERE, DECLARED));
    const served = DECLARED.map((declaration) => declaration.name).join(', ');
    for (const argv of [
      ['send', 'stripe'],
      ['tail', '-p', 'github,stripe'],
      ['find', 'stripe', 'evt_1'],
      ['redrive', 'stripe', '--dry-run'],
      ['replay', 'stripe', '--since', '1h', '--dry-run'],
    ]) {
      const run = await cli([...argv, '--endpoints', file]);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr).toEqual([
        `webhook-ingress: unknown provider "stripe" (this ingress serves ${served})`,
      ]);
    }
  });

  it.each([
    [
      'an entry of an unknown scheme',
      { providers: { pay: { name: 'pay', scheme: 'strpe' } } },
      /bad\.json providers\.pay "pay": unknown scheme "strpe"/,
    ],
    [
      'an entry under another name',
      { providers: { pay: { name: 'gh', scheme: 'github' } } },
      /bad\.json providers\.pay: names "gh"/,
    ],
    [
      'a provider without queues',
      { providers: { zed: { name: 'zed', scheme: 'github' } } },
      /names no queue or dead-letter queue for zed/,
    ],
    [
      'a queue that names no seed',
      { queues: { zed: 'q' }, providers: undefined },
      /bad\.json queues\.zed "zed": unknown scheme "zed"/,
    ],
  ])('refuses a file with %s (exit 3), naming it', async (_what, change, message) => {
    const file = await write('bad.json', { ...endpointsFor(NOWHERE, DECLARED), ...change });
    const run = await cli(['status', '--endpoints', file]);
    expect(run.code).toBe(3);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(message);
  });

  it('lists every served route: a Sigma provider under its name, one per product', () => {
    expect(routePaths([named('sigma-eu'), named('stripe-us')])).toEqual([
      '/webhooks/sigma-eu/transaction-monitoring',
      '/webhooks/sigma-eu/aml',
      '/webhooks/sigma-eu/cdd',
      '/webhooks/stripe-us',
    ]);
  });

  it('a bare URL serves the providers of the project’s cdk.json, else the seeds', async () => {
    const project = await mkdtemp(join(dir, 'project-'));
    expect(projectProviders(project)).toEqual({
      sigma: SEED_PROVIDERS[0],
      sigmate: SEED_PROVIDERS[1],
      signifyd: SEED_PROVIDERS[2],
    });
    const providers = [{ name: 'pay', scheme: 'stripe' }];
    await writeFile(join(project, 'cdk.json'), JSON.stringify({ context: { providers } }));
    expect(Object.keys(projectProviders(project))).toEqual(['pay']);
    await writeFile(
      join(project, 'cdk.json'),
      JSON.stringify({ context: { providers: [{ name: 'pay', scheme: 'strpe' }] } }),
    );
    expect(() => projectProviders(project)).toThrow(
      /cdk.json: context "providers"\[0\] "pay": unknown scheme "strpe"/,
    );
  });
});

describe('cli send: every scheme against adapters that verify it', () => {
  let ingress: Awaited<ReturnType<typeof verifyingIngress>>;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    ingress = await verifyingIngress(DECLARED);
    dir = await mkdtemp(join(tmpdir(), 'cli-send-schemes-'));
    file = join(dir, 'endpoints.json');
    await writeFile(file, JSON.stringify(endpointsFor(ingress.url, DECLARED)));
  });
  afterAll(async () => {
    await new Promise<void>((done) => ingress?.server.close(() => done()));
    await rm(dir, { recursive: true, force: true });
  });

  it.each(DECLARED.map((declaration) => [declaration.name, declaration.scheme]))(
    '%s (%s): new events accepted, redeliveries duplicate, wrong signatures 401',
    async (name) => {
      const before = ingress.answers.length;
      const run = await cli([
        'send',
        name,
        '-n',
        '8',
        '--duplicates',
        '0.5',
        '--json',
        '--endpoints',
        file,
      ]);
      expect(run.code, run.stderr.join('\n')).toBe(0);
      const report = JSON.parse(run.stdout.join('\n'));
      expect(report).toMatchObject({
        provider: name,
        unique: 4,
        redeliveries: 4,
        counts: { '200 accepted': 4, '200 duplicate': 4 },
        unexpected: 0,
      });
      const mine = ingress.answers.slice(before);
      expect(new Set(mine.map((answer) => answer.key)).size).toBe(4);
      expect(new Set(mine.map((answer) => answer.provider))).toEqual(new Set([name]));
      const bad = await cli(['send', name, '-n', '2', '--bad-signature', '--endpoints', file]);
      expect(bad.code).toBe(0);
      expect(bad.stdout.join('\n')).toMatch(/401 rejected\s+2/);
    },
  );

  it('a redelivery is its original’s bytes and ids, signed at the time it is sent', async () => {
    const target = await localTarget(file, {});
    let calls = 0;
    // A clock one second further on each time it is read: plan, then each signature.
    const now = () => new Date(Date.now() + 1000 * calls++);
    const before = ingress.answers.length;
    const report = await send(
      target,
      { provider: 'stripe-us', count: 2, duplicates: 0.5, concurrency: 1, now },
      new MemoryIo(),
    );
    target.close();
    expect(report.counts).toEqual({ '200 accepted': 1, '200 duplicate': 1 });
    const [original, redelivery] = ingress.answers.slice(before);
    expect(redelivery?.body?.equals(original?.body ?? Buffer.alloc(0))).toBe(true);
    expect(redelivery?.key).toBe(original?.key);
    const t = (answer: typeof original) =>
      Number(/t=(\d+)/.exec(answer?.headers?.['stripe-signature'] ?? '')?.[1]);
    expect(t(redelivery)).toBeGreaterThan(t(original));
  });

  it('a Sigma provider under another name: its products on its own route', async () => {
    const run = await cli(['send', 'sigma-eu', '--product', 'aml', '--json', '--endpoints', file]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.join('\n')).url).toBe(`${ingress.url}/webhooks/sigma-eu/aml`);
  });

  it('a Signifyd provider under another name: the dashboard test ping is ignored', async () => {
    const run = await cli(['send', 'fraud-eu', '--test-ping', '--endpoints', file]);
    expect(run.code).toBe(0);
    expect(run.stdout.join('\n')).toMatch(/200 ignored\s+1/);
  });

  it('a file sent twice is one event, whatever the scheme keys on', async () => {
    const payload = join(dir, 'event.json');
    await writeFile(payload, '{"id":"evt_file_1","type":"invoice.paid","data":{"id":"in_1"}}');
    for (const name of ['billing', 'github', 'stripe-us', 'shop', 'ledger']) {
      const first = await cli([
        'send',
        name,
        '--file',
        payload,
        '-n',
        '2',
        '--json',
        '--endpoints',
        file,
      ]);
      const again = await cli(['send', name, '--file', payload, '--json', '--endpoints', file]);
      expect(JSON.parse(first.stdout.join('\n')).counts, name).toEqual({
        '200 accepted': 1,
        '200 duplicate': 1,
      });
      expect(JSON.parse(again.stdout.join('\n')).counts, name).toEqual({ '200 duplicate': 1 });
    }
  });

  it('a deployed target has no demo secrets: the variable to set is named', async () => {
    const run = await cli(['send', 'stripe-us', '--target', ingress.url, '--yes']);
    // A bare URL serves the project's cdk.json providers: here, the seeds.
    expect(run.code).toBe(2);
    expect(run.stderr[0]).toMatch(
      /unknown provider "stripe-us" \(this ingress serves sigma, sigmate, signifyd\)/,
    );
    const missing = await cli(['send', 'sigmate', '--target', ingress.url, '--yes']);
    expect(missing.stderr[0]).toMatch(
      /SIGMATE_WEBHOOK_SECRET is not set: export it or pass --secrets-file/,
    );
  });
});
