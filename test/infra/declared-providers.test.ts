import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../functions/core/config.js';
import { ProviderDeclarationError } from '../../functions/core/errors.js';
import { parseProviders } from '../../functions/providers.js';
import { addIngressStack } from '../../infra/ingress-app.js';
import { PACKAGE_ROOT } from '../../infra/lambda-code.js';
import type { WebhookIngressStack } from '../../infra/stack.js';
import { WebhookIngress } from '../../infra/webhook-ingress.js';

type Json = Record<string, unknown>;

/** The example: three declared providers beside the seed providers. */
const DECLARED = [
  { name: 'sigma', scheme: 'sigma' },
  { name: 'sigmate', scheme: 'sigmate' },
  { name: 'signifyd', scheme: 'signifyd' },
  { name: 'clerk', scheme: 'standard-webhooks' },
  { name: 'github', scheme: 'github' },
  { name: 'stripe-eu', scheme: 'stripe', toleranceSeconds: 300 },
];

let stack: WebhookIngressStack;
let template: Template;
let app: App;

beforeAll(() => {
  // The context as cdk.json holds it: a JSON list (`-c providers='[…]'` gives a string).
  app = new App({ context: { providers: DECLARED } });
  stack = addIngressStack(app);
  template = Template.fromStack(stack);
});

const functionOf = (provider: string) => {
  const fn = stack.ingress.function(provider);
  return template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)] as {
    Properties: Json & { Environment: { Variables: Record<string, unknown> } };
  };
};

describe('infra: providers declared in the context', () => {
  it('gives each provider its own function, route, queue, dead-letter queue and secret', () => {
    expect([...stack.providers.keys()]).toEqual(DECLARED.map((entry) => entry.name));
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => (route.Properties as Json).RouteKey,
    );
    for (const path of ['/webhooks/clerk', '/webhooks/github', '/webhooks/stripe-eu']) {
      expect(routes).toContain(`ANY ${path}`);
    }
    for (const name of ['clerk', 'github', 'stripe-eu']) {
      const resources = stack.ingress.provider(name);
      expect(resources.queue.deadLetterQueue?.queue).toBe(resources.deadLetterQueue);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: `webhook-ingress/prod/${name}`,
      });
    }
    // Six provider functions, one per provider.
    const providerFunctions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => JSON.stringify(fn.Properties ?? {}).includes(EnvNames.tableName),
    );
    expect(providerFunctions).toHaveLength(DECLARED.length);
  });

  it('tells each declared function its declaration; the seeds keep their own bundles', () => {
    expect(
      JSON.parse(
        String(functionOf('stripe-eu').Properties.Environment.Variables[EnvNames.provider]),
      ),
    ).toEqual({ name: 'stripe-eu', scheme: 'stripe', toleranceSeconds: 300 });
    expect(functionOf('sigmate').Properties.Environment.Variables).not.toHaveProperty(
      EnvNames.provider,
    );
    expect(stack.ingress.provider('clerk').deployment.bundle).toBe('declared');
    expect(stack.ingress.provider('sigma').deployment.bundle).toBe('sigma');
  });

  it('keeps each function to its own records, queue, archive queue and secret', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const role = stack.getLogicalId(
      stack.ingress.function('github').functionRole.node.defaultChild as never,
    );
    const statements = policies
      .filter((p) => JSON.stringify((p.Properties as Json).Roles).includes(role))
      .flatMap((p) => ((p.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement);
    expect(JSON.stringify(statements)).toContain('"github#*"');
    expect(JSON.stringify(statements)).not.toMatch(/"(sigma|sigmate|signifyd|clerk|stripe-eu)#\*"/);
  });

  it('publishes each declaration for the CLI and each URL to paste', () => {
    const outputs = template.toJSON().Outputs as Record<
      string,
      { Value: unknown; Description: string }
    >;
    expect(JSON.parse(String(outputs.ClerkProvider?.Value))).toEqual({
      name: 'clerk',
      scheme: 'standard-webhooks',
    });
    expect(outputs.ClerkProvider?.Description).toMatch(/\[webhook-ingress:provider:clerk@/);
    expect(JSON.stringify(outputs.StripeEuWebhookUrl?.Value)).toContain('/webhooks/stripe-eu');
    expect(outputs.GithubWebhookUrl?.Description).toMatch(/Settings → Webhooks/);
  });

  it('passes cdk-nag', () => {
    const violations = new AwsSolutionsChecks(undefined, { verbose: true })
      .validateScope(app)
      .violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`);
    expect(violations).toEqual([]);
  });
});

describe('infra: a providers list that cannot be served', () => {
  it.each([
    [[{ name: 'stripe', scheme: 'strpe' }], /providers\[0\] "stripe": unknown scheme "strpe"/],
    [[{ name: 'Stripe', scheme: 'stripe' }], /providers\[0\]: name "Stripe" must be lowercase/],
    [
      [
        { name: 'gh', scheme: 'github' },
        { name: 'gh', scheme: 'github' },
      ],
      /providers\[1\] "gh": repeats the name of providers\[0\]/,
    ],
    [[{ name: 'acme', scheme: 'hmac' }], /providers\[0\] "acme": option .* is missing/],
  ])('refuses %j in one line naming the entry', (providers, message) => {
    const build = () => addIngressStack(new App({ context: { providers } }));
    expect(build).toThrow(ProviderDeclarationError);
    expect(build).toThrow(message);
  });

  it('exits 2 from `cdk synth` with that one line and no stack trace', async () => {
    const run = await promisify(execFile)(
      path.join(PACKAGE_ROOT, 'node_modules', '.bin', 'tsx'),
      ['infra/app.ts'],
      {
        cwd: PACKAGE_ROOT,
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify({ providers: [{ name: 'pay', scheme: 'strpe' }] }),
          CDK_OUTDIR: tmpdir(),
        },
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^webhook-ingress: providers\[0\] "pay": unknown scheme "strpe"/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  }, 30_000);
});

describe('infra: names whose derived resource names would collide', () => {
  it.each([
    [['pay', 'pay-dead-letter'], /"pay-dead-letter": its PayDeadLetterQueue would be "pay"'s/],
    [['pay', 'pay-archive'], /"pay-archive": its PayArchiveQueueUrl would be "pay"'s/],
    [['a', 'a-'], /"a-": its resource names \(A…\) are also "a"'s/],
    [['a-b', 'a--b'], /"a--b": its resource names \(AB…\) are also "a-b"'s/],
    [['archive-dead-letter'], /the name is reserved: names starting "archive-"/],
    [['pay-dlq'], /the name is reserved: names ending "-dlq"/],
  ])('refuses %j in one line, for synth and npm start alike', (names, message) => {
    const entries = names.map((name) => ({ name, scheme: 'github' }));
    expect(() => parseProviders(entries)).toThrow(message);
    expect(
      () => new WebhookIngress(new Stack(new App(), 'S'), 'I', { providers: entries as never }),
    ).toThrow(ProviderDeclarationError);
  });

  it('serves names that only share a start (two Stripe accounts)', () => {
    const entries = [
      { name: 'stripe', scheme: 'stripe' },
      { name: 'stripe-eu', scheme: 'stripe' },
      { name: 'pay', scheme: 'github' },
      { name: 'payroll', scheme: 'github' },
    ];
    expect(parseProviders(entries).map((p) => p.name)).toEqual(entries.map((e) => e.name));
    const stack = new Stack(new App(), 'S');
    new WebhookIngress(stack, 'I', { providers: entries as never });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});

describe("infra: a seed's own options", () => {
  const variables = (entry: Record<string, unknown>, props: Record<string, unknown> = {}) => {
    const stack = new Stack(new App(), 'S');
    const ingress = new WebhookIngress(stack, 'I', { ...props, providers: [entry as never] });
    const fn = ingress.function(String(entry.name));
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
    const properties = resources[stack.getLogicalId(fn.node.defaultChild as never)]?.Properties as
      | { Environment: { Variables: Record<string, string> } }
      | undefined;
    if (!properties) throw new Error('no function resource');
    return properties.Environment.Variables;
  };

  it('deploy the entry’s option, as npm start reads it, over the global setting', () => {
    expect(
      variables({ name: 'sigma', scheme: 'sigma', allowLegacySha256: true })
        .SIGMA_ALLOW_LEGACY_SHA256,
    ).toBe('true');
    expect(
      variables(
        { name: 'sigma', scheme: 'sigma', allowLegacySha256: false },
        { sigmaAllowLegacySha256: true },
      ).SIGMA_ALLOW_LEGACY_SHA256,
    ).toBe('false');
    expect(
      variables({ name: 'sigma', scheme: 'sigma' }, { sigmaAllowLegacySha256: true })
        .SIGMA_ALLOW_LEGACY_SHA256,
    ).toBe('true');
    expect(
      variables({ name: 'signifyd', scheme: 'signifyd', forwardTestEvents: true })
        .SIGNIFYD_FORWARD_TEST_EVENTS,
    ).toBe('true');
  });
});

describe('infra: how many providers one stack holds', () => {
  const list = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ name: `p${i}`, scheme: 'github' }));

  it('synthesizes 12 providers within CloudFormation’s 500 resources', () => {
    const stack = new Stack(new App(), 'S');
    new WebhookIngress(stack, 'I', { providers: list(12) as never });
    const count = Object.keys(Template.fromStack(stack).toJSON().Resources).length;
    expect(count).toBeLessThanOrEqual(500);
  });

  it('refuses a 13th in one line, at synth and from the props', () => {
    expect(() => addIngressStack(new App({ context: { providers: list(13) } }))).toThrow(
      /^providers: lists 13 providers; one WebhookIngress holds at most 12/,
    );
    expect(
      () => new WebhookIngress(new Stack(new App(), 'S'), 'I', { providers: list(13) as never }),
    ).toThrow(ProviderDeclarationError);
  });
});
