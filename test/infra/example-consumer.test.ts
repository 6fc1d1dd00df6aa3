import { randomUUID } from 'node:crypto';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { envelopeKey, ProcessedEvents } from '../../functions/example-consumer/dedupe.js';
import { addIngressStack } from '../../infra/ingress-app.js';
import type { WebhookIngressStack } from '../../infra/stack.js';
import { localClients } from '../../local/ingress.js';
import { ensureIdempotencyTable } from '../../local/resources.js';

describe('infra: example consumer wiring', () => {
  let app: App;
  let stack: WebhookIngressStack;
  let template: Template;

  beforeAll(() => {
    // Template assertions only: skip bundling here (stack.test.ts checks the assets).
    app = new App({ context: { exampleConsumer: 'true', 'aws:cdk:bundling-stacks': [] } });
    stack = addIngressStack(app);
    template = Template.fromStack(stack);
  });

  it('reads every provider queue with partial batch failures', () => {
    // The archiver's mapping batches by its own rules (test/infra/archive.test.ts).
    const mappings = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping'),
    ).filter((m) => !JSON.stringify(m.Properties.EventSourceArn).includes('ArchiveQueue'));
    expect(mappings).toHaveLength(stack.providers.size);
    for (const mapping of mappings) {
      expect(mapping.Properties).toMatchObject({
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('runs within the queues visibility timeout six times over', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const consumer = functions.find((fn) =>
      JSON.stringify(fn.Properties.Environment ?? {}).includes('CONSUMER_TABLE_NAME'),
    );
    expect(consumer?.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    expect(consumer?.Properties.Timeout * 6).toBeLessThanOrEqual(60);
  });

  it('still passes cdk-nag AwsSolutions', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('is off by default', () => {
    const plain = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const defaults = Template.fromStack(addIngressStack(plain));
    // Only the archiver's: one per archive queue (a provider's each, and the shared one).
    defaults.resourceCountIs('AWS::Lambda::EventSourceMapping', 4);
  });
});

describe('example consumer: dedupe by idempotencyKey', () => {
  let events: ProcessedEvents;
  // Now, not a fixed past instant: DynamoDB Local's TTL sweep deletes records whose
  // `expiration` has passed, which would turn a done event into a new one mid-test.
  let clock = Date.now();

  beforeAll(async () => {
    const { dynamodb } = localClients(inject('emulators'));
    const table = `consumer-${randomUUID().slice(0, 8)}`;
    await ensureIdempotencyTable(dynamodb, table);
    events = new ProcessedEvents(dynamodb, table, 86_400, () => clock);
  });

  const envelope = (key: string) =>
    JSON.stringify({ version: 1, provider: 'sigmate', idempotencyKey: key, payload: {} });

  it('processes a new event, then drops its redelivery once done', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000)).toBe('process');
    await events.complete(key);
    expect(await events.claim(key, 10_000)).toBe('done');
  });

  it('leaves an event being processed to its consumer until the lease runs out', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000)).toBe('process');
    expect(await events.claim(key, 10_000)).toBe('busy');
    clock += 10_001;
    expect(await events.claim(key, 10_000)).toBe('process');
  });

  it('processes the event again after a failure released it', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000)).toBe('process');
    await events.release(key);
    expect(await events.claim(key, 10_000)).toBe('process');
  });

  it('keys by provider and idempotencyKey together', async () => {
    const id = randomUUID();
    const first = envelopeKey(envelope(id));
    await events.claim(first, 10_000);
    await events.complete(first);
    expect(await events.claim({ provider: 'signifyd', idempotencyKey: id }, 10_000)).toBe(
      'process',
    );
  });

  it('processes a replay of an event done before the replay was sent, once per replay', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000)).toBe('process');
    await events.complete(key);
    clock += 60_000;
    // The operator replays it a minute later: processed again, although the event is done.
    const replay = { replay: true, sentAt: clock - 10 };
    expect(await events.claim(key, 10_000, replay)).toBe('process');
    await events.complete(key);
    clock += 5;
    // Copies of that replay (SQS at least once, an SDK resend after a lost answer): the
    // event it is, processed since they were sent — dropped, whatever their message ids.
    expect(await events.claim(key, 10_000, replay)).toBe('done');
    expect(await events.claim(key, 10_000, { ...replay, sentAt: replay.sentAt + 4 })).toBe('done');
    // A plain redelivery never is processed again; a later replay is.
    expect(await events.claim(key, 10_000)).toBe('done');
    clock += 60_000;
    expect(await events.claim(key, 10_000, { replay: true, sentAt: clock - 1 })).toBe('process');
  });

  it('leaves a replay of an event being processed to the consumer holding it', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000)).toBe('process');
    expect(await events.claim(key, 10_000, { replay: true, sentAt: clock + 1 })).toBe('busy');
  });

  it('drops a replay that carries no send time, as any copy of a done event', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000)).toBe('process');
    await events.complete(key);
    expect(await events.claim(key, 10_000, { replay: true })).toBe('done');
  });

  it('refuses a message that is not an envelope', () => {
    expect(() => envelopeKey('{"provider":"sigmate"}')).toThrow('idempotencyKey');
    expect(() => envelopeKey('not json')).toThrow();
  });
});
