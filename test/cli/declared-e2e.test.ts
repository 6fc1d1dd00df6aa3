import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProviders } from '../../functions/providers.js';
import { cli, type LocalCli, startLocalCli, stopLocalCli } from './cli-support.js';

/** The list: a Standard Webhooks, a GitHub and a Stripe provider beside the seeds. */
const PROVIDERS = parseProviders([
  { name: 'sigma', scheme: 'sigma' },
  { name: 'sigmate', scheme: 'sigmate' },
  { name: 'signifyd', scheme: 'signifyd' },
  { name: 'clerk', scheme: 'standard-webhooks' },
  { name: 'github', scheme: 'github' },
  { name: 'stripe-eu', scheme: 'stripe' },
]);
const DECLARED = ['clerk', 'github', 'stripe-eu'];

describe('cli: providers declared in configuration, end to end on a local ingress', () => {
  let local: LocalCli;
  const run = (...argv: string[]) => cli([...argv, '--endpoints', local.endpoints.file]);
  beforeAll(async () => {
    local = await startLocalCli({ providers: PROVIDERS });
  });
  afterAll(() => stopLocalCli(local ?? {}));

  it.each(DECLARED)(
    '%s: send gets accepted, each redelivery duplicate; tail and find see the events',
    async (name) => {
      const sent = await run('send', name, '-n', '6', '--duplicates', '0.5', '--json');
      expect(sent.code, sent.stderr.join('\n')).toBe(0);
      const report = JSON.parse(sent.stdout.join('\n'));
      expect(report).toMatchObject({
        provider: name,
        url: `${local.ingress.endpoints.api}/webhooks/${name}`,
        counts: { '200 accepted': 3, '200 duplicate': 3 },
        unexpected: 0,
      });

      const tailed = await run('tail', '-p', name, '--json');
      expect(tailed.code).toBe(0);
      const envelopes = tailed.stdout.map((line) => JSON.parse(line));
      expect(envelopes.map((envelope) => envelope.id).sort()).toEqual(
        [...report.acceptedIds].sort(),
      );
      for (const envelope of envelopes) {
        expect(envelope).toMatchObject({ provider: name, payload: { synthetic: true } });
      }

      const [first] = envelopes;
      const found = await run('find', name, first.id, '--json');
      expect(found.code).toBe(0);
      expect(JSON.parse(found.stdout.join('\n')).found).toMatchObject([
        { provider: name, envelopeId: first.id, idempotencyKey: first.idempotencyKey },
      ]);
      // By the provider's own id too: the key (a delivery id, Stripe's evt_…).
      const byKey = await run('find', name, first.idempotencyKey, '--json');
      expect(JSON.parse(byKey.stdout.join('\n')).found[0]).toMatchObject({
        matchedBy: 'idempotencyKey',
      });
      await local.ingress.drain(name);
    },
  );

  it('a wrong signature is refused for every declared provider, and nothing is queued', async () => {
    for (const name of DECLARED) {
      const bad = await run('send', name, '-n', '2', '--bad-signature', '--json');
      expect(bad.code).toBe(0);
      expect(JSON.parse(bad.stdout.join('\n')).counts).toEqual({ '401 rejected': 2 });
    }
    const tailed = await run('tail', '-p', DECLARED.join(','), '--oneline');
    expect(tailed.stdout).toEqual([]);
  });

  it('the seeds are served beside them as before', async () => {
    for (const name of ['sigma', 'sigmate', 'signifyd']) {
      const sent = await run('send', name, '-n', '2', '--duplicates', '0.5');
      expect(sent.code, `${name}: ${sent.stderr.join('\n')}`).toBe(0);
      await local.ingress.drain(name);
    }
  });

  it('status lists every served provider: its route and its queues', async () => {
    const status = await run('status', '--json');
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout.join('\n'));
    expect(Object.keys(report.queues)).toEqual(PROVIDERS.map((provider) => provider.name));
    for (const name of DECLARED) {
      expect(report.routes[`/webhooks/${name}`]).toBe(
        `${local.ingress.endpoints.api}/webhooks/${name}`,
      );
    }
    expect(report.answers.clerk).toMatchObject({ '200 accepted': 3, '200 duplicate': 3 });
  });

  it('refuses a provider the ingress does not serve, naming those it does', async () => {
    const unknown = await run('send', 'stripe', '-n', '1');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toEqual([
      'webhook-ingress: unknown provider "stripe" (this ingress serves sigma, sigmate, signifyd, clerk, github, stripe-eu)',
    ]);
  });
});
