import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib/core';
import { describe, expect, it } from 'vitest';
import { TargetNotFoundError, UsageError } from '../../cli/errors.js';
import { readIngressOutputs } from '../../cli/stack-outputs.js';
import { SEED_PROVIDERS } from '../../functions/providers.js';
import { WebhookIngress } from '../../infra/webhook-ingress.js';
import { describeStacksAnswer, stackQueueUrl } from './cli-support.js';

/**
 * A user's own stack, and its outputs as DescribeStacks would give them: a literal value as
 * it is, a value CloudFormation resolves (a Ref, a GetAtt) as a stand-in.
 */
function userStack(ingressIds: string[], props = {}) {
  const stack = new Stack(new App(), 'Payments');
  const ingresses = ingressIds.map((id) => new WebhookIngress(stack, id, props));
  const template = Template.fromStack(stack).toJSON() as {
    Outputs?: Record<string, { Value: unknown; Description?: string }>;
  };
  const outputs = Object.entries(template.Outputs ?? {}).map(([OutputKey, output]) => ({
    OutputKey,
    OutputValue:
      typeof output.Value === 'string' ? output.Value : `value:${JSON.stringify(output.Value)}`,
    ...(output.Description ? { Description: output.Description } : {}),
  }));
  const ref = (element: { node: { defaultChild?: unknown } }) =>
    `value:${JSON.stringify({ Ref: stack.getLogicalId(element.node.defaultChild as CfnElement) })}`;
  return { stack, ingresses, outputs, ref };
}

describe('cli --stack: the outputs the construct creates in a user’s stack', () => {
  it('finds the table, each served provider’s queues and log group, and the archive', () => {
    const { ingresses, outputs, ref } = userStack(['Ingress'], {
      providers: ['sigmate', 'signifyd'],
    });
    const ingress = ingresses[0] as WebhookIngress;
    const read = readIngressOutputs('Payments', outputs);
    expect(read.ingress).toBe('Payments/Ingress');
    expect(Object.keys(read.queues).sort()).toEqual(['sigmate', 'signifyd']);
    expect(read.table).toBe(ref(ingress.table));
    for (const provider of ['sigmate', 'signifyd'] as const) {
      expect(read.queues[provider]).toEqual({
        queue: ref(ingress.queue(provider)),
        deadLetterQueue: ref(ingress.deadLetterQueue(provider)),
      });
      expect(read.logGroups[provider]).toBe(ref(ingress.function(provider).functionLogGroup));
    }
    expect(read.archive).toEqual({
      bucket: ref(ingress.archive?.bucket as never),
      prefix: 'events',
    });
    expect(read.baseUrl).toMatch(/"ApiEndpoint"/);
  });

  it('reads the providers the construct serves from its provider outputs, declared ones too', () => {
    const providers = [
      'sigmate',
      { name: 'clerk', scheme: 'standard-webhooks', toleranceSeconds: 120 },
      { name: 'stripe-eu', scheme: 'stripe' },
    ];
    const { ingresses, outputs, ref } = userStack(['Ingress'], { providers });
    const ingress = ingresses[0] as WebhookIngress;
    const read = readIngressOutputs('Payments', outputs);
    expect(Object.values(read.providers)).toEqual([
      SEED_PROVIDERS[1],
      { name: 'clerk', scheme: 'standard-webhooks', options: { toleranceSeconds: 120 } },
      { name: 'stripe-eu', scheme: 'stripe', options: {} },
    ]);
    expect(read.queues['stripe-eu']).toEqual({
      queue: ref(ingress.queue('stripe-eu')),
      deadLetterQueue: ref(ingress.deadLetterQueue('stripe-eu')),
    });
    expect(read.logGroups.clerk).toBe(ref(ingress.function('clerk').functionLogGroup));
  });

  it('asks which ingress when a stack holds two, and takes --ingress by name or path', () => {
    const { outputs } = userStack(['Eu', 'Us']);
    expect(() => readIngressOutputs('Payments', outputs)).toThrow(UsageError);
    expect(() => readIngressOutputs('Payments', outputs)).toThrow(
      'stack "Payments" holds several webhook ingresses (Payments/Eu, Payments/Us): pick one with --ingress PATH',
    );
    expect(readIngressOutputs('Payments', outputs, 'Us').ingress).toBe('Payments/Us');
    expect(readIngressOutputs('Payments', outputs, 'Payments/Eu').ingress).toBe('Payments/Eu');
    expect(() => readIngressOutputs('Payments', outputs, 'Asia')).toThrow(TargetNotFoundError);
  });

  it('says what to do when the stack has no ingress outputs', () => {
    const { outputs } = userStack(['Ingress'], { outputs: false });
    expect(outputs).toEqual([]);
    expect(() => readIngressOutputs('Payments', outputs)).toThrow(/no webhook-ingress outputs/);
  });
});

describe('cli --stack: the providers a stack serves, from its provider outputs', () => {
  const outputsOf = (providers?: Record<string, unknown>[]) =>
    describeStacksAnswer('s', [], providers ? { providers } : {}).Stacks[0]?.Outputs ?? [];
  const DECLARED = [
    { name: 'sigmate', scheme: 'sigmate' },
    { name: 'pay-eu', scheme: 'stripe', toleranceSeconds: 600 },
    {
      name: 'acme',
      scheme: 'hmac',
      signatureHeader: 'x-acme-signature',
      encoding: 'hex',
      key: { header: 'x-acme-delivery' },
      type: { value: 'acme.event' },
    },
  ];

  it('reads each provider’s entry as configuration spells it, with its queues', () => {
    const read = readIngressOutputs('s', outputsOf(DECLARED));
    expect(Object.keys(read.providers)).toEqual(['sigmate', 'pay-eu', 'acme']);
    expect(read.providers['pay-eu']).toEqual({
      name: 'pay-eu',
      scheme: 'stripe',
      options: { toleranceSeconds: 600 },
    });
    expect(read.providers.acme?.options).toMatchObject({ type: { value: 'acme.event' } });
    expect(Object.keys(read.queues)).toEqual(['sigmate', 'pay-eu', 'acme']);
    expect(read.queues['pay-eu']).toEqual({
      queue: stackQueueUrl('pay-eu'),
      deadLetterQueue: stackQueueUrl('pay-eu-dlq'),
    });
    expect(read.logGroups.acme).toBe('acme-logs');
  });

  it('a stack deployed before provider outputs serves the seeds its queues name', () => {
    const read = readIngressOutputs('s', outputsOf());
    expect(Object.values(read.providers)).toEqual(SEED_PROVIDERS);
  });

  it.each([
    ['not JSON', '{"name":"pay-eu"', 'stack "s" provider output pay-eu for s/Default is not JSON'],
    [
      'an unknown scheme',
      JSON.stringify({ name: 'pay-eu', scheme: 'strpe' }),
      /^stack "s" provider output pay-eu "pay-eu": unknown scheme "strpe" \(one of/,
    ],
    [
      'another provider’s entry',
      JSON.stringify({ name: 'acme', scheme: 'stripe' }),
      'stack "s" provider output pay-eu: names "acme"',
    ],
  ])('refuses a provider output that is %s, naming it (exit 3)', (_what, value, message) => {
    const outputs = outputsOf(DECLARED).map((output) =>
      output.OutputKey === 'Providerpay-eu' ? { ...output, OutputValue: value } : output,
    );
    expect(() => readIngressOutputs('s', outputs)).toThrow(TargetNotFoundError);
    expect(() => readIngressOutputs('s', outputs)).toThrow(message);
  });
});
