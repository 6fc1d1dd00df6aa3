import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { identicalBurst, loadRun } from '../support/faults.js';
import { startTestIngress, type TestIngress } from '../support/harness.js';
import { fixtureEnv, registeredFixtures } from '../support/providers.js';

describe('reliability: concurrency on the emulators', () => {
  const emulators = inject('emulators');
  let ingress: TestIngress;
  beforeAll(async () => {
    ingress = await startTestIngress({ env: fixtureEnv() });
  });
  afterAll(async () => {
    await ingress?.stop();
  });

  it('enqueues exactly one message for 50 identical deliveries sent at once over HTTP', async () => {
    for (const fixture of registeredFixtures()) {
      const delivery = fixture.event(`burst-${Date.now()}`);
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          ingress.post(delivery.path, delivery.body, Object.fromEntries(delivery.headers)),
        ),
      );
      const statuses = answers.map((answer) => `${answer.status} ${String(answer.json.status)}`);
      expect(statuses.filter((status) => status === '200 accepted')).toHaveLength(1);
      expect(
        statuses.every((status) =>
          ['200 accepted', '200 duplicate', '409 in_progress'].includes(status),
        ),
      ).toBe(true);
      const ids = new Set(answers.filter((a) => a.status === 200).map((a) => a.json.id));
      expect(ids.size).toBe(1);
      expect(await ingress.drain(fixture.provider)).toHaveLength(1);
    }
  });

  it('enqueues exactly one message for 50 identical in-process invocations at once', async () => {
    const result = await identicalBurst(emulators, 50);
    expect(result.onQueue).toBe(1);
    expect(result.badRedeliveries).toBe(0);
    expect(result.stuckClaims).toBe(0);
  });

  it('puts exactly the unique events on the queues in a 10 000-delivery run with 20 % redeliveries', async () => {
    const result = await loadRun(emulators, {
      deliveries: 10_000,
      concurrency: 32,
      redeliveryRate: 0.2,
    });
    const summary = JSON.stringify(result);
    expect(result.unique, summary).toBe(8_000);
    expect(result.onQueue, summary).toBe(result.unique);
    expect(result.acknowledged, summary).toBe(result.unique);
    expect(result.lost, summary).toBe(0);
    expect(result.duplicates, summary).toBe(0);
    expect(result.stuckClaims, summary).toBe(0);
  }, 120_000);
});
