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
  let clock = 1_700_000_000_000;

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

  it('processes a replay of an event already done, once per replay message', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000, { messageId: 'm-1' })).toBe('process');
    await events.complete(key);
    // docs/cli.md: a replay is processed again, although the event is done.
    expect(await events.claim(key, 10_000, { messageId: 'm-2', replay: true })).toBe('process');
    await events.complete(key);
    // SQS delivering that same replay message again: dropped.
    expect(await events.claim(key, 10_000, { messageId: 'm-2', replay: true })).toBe('done');
    // A second replay is processed again; a plain redelivery never is.
    expect(await events.claim(key, 10_000, { messageId: 'm-1' })).toBe('done');
    expect(await events.claim(key, 10_000, { messageId: 'm-3', replay: true })).toBe('process');
  });

  it('leaves a replay of an event being processed to the consumer holding it', async () => {
    const key = envelopeKey(envelope(randomUUID()));
    expect(await events.claim(key, 10_000, { messageId: 'm-1' })).toBe('process');
    expect(await events.claim(key, 10_000, { messageId: 'm-2', replay: true })).toBe('busy');
  });

  it('refuses a message that is not an envelope', () => {
    expect(() => envelopeKey('{"provider":"sigmate"}')).toThrow('idempotencyKey');
    expect(() => envelopeKey('not json')).toThrow();
  });
});
