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
import { addIngressStack } from '../../infra/ingress-app.js';
import { PACKAGE_ROOT } from '../../infra/lambda-code.js';
import type { WebhookIngressStack } from '../../infra/stack.js';
import { WebhookIngress } from '../../infra/webhook-ingress.js';

type Json = Record<string, unknown>;

/** The example: three declared providers beside the seed providers. */
export const DECLARED = [
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
    [
      [
        { name: 'a-b', scheme: 'github' },
        { name: 'a-b-', scheme: 'github' },
      ],
      /resource names \(AB…\)/,
    ],
  ])('refuses %j in one line naming the entry', (providers, message) => {
    const build = () =>
      providers.length === 2 && providers[1]?.name === 'a-b-'
        ? new WebhookIngress(new Stack(new App(), 'S'), 'Ingress', {
            providers: providers as never,
          })
        : addIngressStack(new App({ context: { providers } }));
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
