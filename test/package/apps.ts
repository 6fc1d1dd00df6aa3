/*
 * The two CDK apps a user would write around the package, file by file. Each is modelled
 * on what `cdk init app --language typescript` (aws-cdk 2.1148.1) generates: its tsconfig
 * options and, in the CommonJS app, its cdk.json feature flags. Neither installs
 * @types/node: the package's declarations must not need it.
 */
import { CURRENTLY_RECOMMENDED_FLAGS, NEW_PROJECT_DEFAULT_CONTEXT } from 'aws-cdk-lib/cx-api';
import { pinned } from './consumer-app.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The dependencies every app declares: the tarball, its two peers, and the CDK CLI. */
function cdkDependencies(tarball: string) {
  return {
    dependencies: {
      'webhook-ingress': `file:${tarball}`,
      'aws-cdk-lib': pinned('aws-cdk-lib'),
      constructs: pinned('constructs'),
    },
    devDependencies: { 'aws-cdk': pinned('aws-cdk') },
  };
}

/** `cdk init`'s compiler options (strict, noImplicitReturns, …) that both apps keep. */
const CDK_INIT_COMPILER_OPTIONS = {
  target: 'ES2022',
  lib: ['es2022'],
  declaration: true,
  strict: true,
  noImplicitAny: true,
  strictNullChecks: true,
  noImplicitThis: true,
  alwaysStrict: true,
  noUnusedLocals: false,
  noUnusedParameters: false,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: false,
  inlineSourceMap: true,
  inlineSources: true,
  experimentalDecorators: true,
  strictPropertyInitialization: false,
  // cdk init sets it, and aws-cdk-lib's own declarations need it under the stricter
  // options; ours are checked without it in the ESM app's tsconfig.check.json.
  skipLibCheck: true,
  types: [],
};

/** A consumer Lambda of the queue, on `webhook-ingress/consumer` (the same source in both apps). */
const CONSUMER_HANDLER = `import { dedupeKey, type Envelope, EnvelopeError, parseEnvelope } from 'webhook-ingress/consumer';

interface SqsRecord {
  readonly messageId: string;
  readonly body: string;
}

type SigmatePayload = { readonly id: string; readonly signal_type: string };

export async function handler(event: { readonly Records: readonly SqsRecord[] }) {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  const processed: string[] = [];
  for (const record of event.Records) {
    try {
      const envelope: Envelope<SigmatePayload> = parseEnvelope<SigmatePayload>(record.body);
      processed.push(\`\${dedupeKey(envelope)} \${envelope.type} \${envelope.payload.signal_type}\`);
    } catch (error) {
      // Not an envelope: set it aside rather than retry it.
      if (error instanceof EnvelopeError) processed.push(\`rejected: \${error.message}\`);
      else batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures, processed };
}
`;

/**
 * CommonJS, TypeScript 5 (`module: commonjs`, so Node10 resolution: `types` and
 * `typesVersions`), Node 22, `node bin/app.js` under `cdk synth`, cdk init's feature flags,
 * and a vitest test of the stack. The alarms warning is acknowledged, as the README says.
 */
export function commonJsApp(tarball: string, typescript: string): Record<string, string> {
  const { dependencies, devDependencies } = cdkDependencies(tarball);
  return {
    'package.json': json({
      name: 'payments-cjs',
      version: '0.1.0',
      private: true,
      scripts: { build: 'tsc', test: 'vitest run', cdk: 'cdk' },
      dependencies,
      devDependencies: {
        ...devDependencies,
        typescript,
        vitest: pinned('vitest'),
        node: '22',
      },
    }),
    'tsconfig.json': json({
      compilerOptions: { ...CDK_INIT_COMPILER_OPTIONS, module: 'commonjs' },
      include: ['bin', 'lib', 'consumer'],
      exclude: ['node_modules', 'cdk.out'],
    }),
    'cdk.json': json({
      app: 'node bin/app.js',
      context: { ...NEW_PROJECT_DEFAULT_CONTEXT, ...CURRENTLY_RECOMMENDED_FLAGS },
    }),
    'bin/app.ts': `#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { PaymentsStack } from '../lib/payments-stack';

const app = new App();
new PaymentsStack(app, 'Payments');
`,
    'lib/payments-stack.ts': `import { Annotations, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { ALARMS_NOTIFY_NOBODY, WebhookIngress } from 'webhook-ingress';

export class PaymentsStack extends Stack {
  readonly ingress: WebhookIngress;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.ingress = new WebhookIngress(this, 'Ingress');
    // Our alarms are routed from another stack.
    Annotations.of(this.ingress).acknowledgeWarning(ALARMS_NOTIFY_NOBODY, 'paged by the platform stack');

    const consumer = new LambdaFunction(this, 'SigmateConsumer', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
      timeout: Duration.seconds(10),
    });
    consumer.addEventSource(new SqsEventSource(this.ingress.queue('sigmate'), { reportBatchItemFailures: true }));

    const auditor = new Role(this, 'Auditor', { assumedBy: new AccountRootPrincipal() });
    this.ingress.grantConsumeEvents(auditor);
  }
}
`,
    'consumer/handler.ts': CONSUMER_HANDLER,
    'test/payments-stack.test.ts': `import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PaymentsStack } from '../lib/payments-stack';

describe('PaymentsStack', () => {
  const template = Template.fromStack(new PaymentsStack(new App(), 'Payments'));

  it('feeds the Sigmate queue to our consumer, with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^SigmateConsumer') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('serves the providers behind one HTTP API, each with a queue and a dead-letter queue', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    expect(Object.keys(template.findResources('AWS::SQS::Queue')).length).toBeGreaterThanOrEqual(6);
  });
});
`,
  };
}

/**
 * ESM (`"type": "module"`), TypeScript 7 with `module: nodenext` and stricter options than
 * cdk init's, Node 24, no feature flags in cdk.json (the smallest app the README describes).
 * `check/require-mode.cts` requires both entries in CommonJS mode; `tsconfig.check.json`
 * type-checks both entries under bundler resolution without skipLibCheck.
 */
export function esmApp(tarball: string, typescript: string): Record<string, string> {
  const { dependencies, devDependencies } = cdkDependencies(tarball);
  const compilerOptions = {
    ...CDK_INIT_COMPILER_OPTIONS,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noPropertyAccessFromIndexSignature: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
  };
  return {
    'package.json': json({
      name: 'payments-esm',
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: { build: 'tsc', cdk: 'cdk' },
      dependencies,
      devDependencies: { ...devDependencies, typescript },
    }),
    'tsconfig.json': json({
      compilerOptions,
      include: ['bin', 'lib', 'consumer', 'check/require-mode.cts'],
      exclude: ['node_modules', 'cdk.out'],
    }),
    'tsconfig.check.json': json({
      compilerOptions: {
        ...compilerOptions,
        module: 'preserve',
        moduleResolution: 'bundler',
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['check/bundler.ts'],
    }),
    'cdk.json': json({ app: 'node bin/app.js' }),
    'bin/app.ts': `import { App } from 'aws-cdk-lib';
import { PaymentsStack } from '../lib/payments-stack.js';

const app = new App();
new PaymentsStack(app, 'Payments');
`,
    'lib/payments-stack.ts': `import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { WebhookIngress, type WebhookIngressProps } from 'webhook-ingress';

export class PaymentsStack extends Stack {
  readonly ingress: WebhookIngress;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const settings: WebhookIngressProps = { alarmEmail: 'payments-oncall@example.com' };
    this.ingress = new WebhookIngress(this, 'Ingress', settings);

    const poller = new Role(this, 'SignifydPoller', { assumedBy: new AccountRootPrincipal() });
    this.ingress.grantConsumeEvents(poller, 'signifyd');
    // An output of the app's own, untagged: the CLI's --stack must pass over it.
    new CfnOutput(this, 'PollerQueueUrl', { value: this.ingress.queue('signifyd').queueUrl });
  }
}
`,
    'consumer/handler.ts': CONSUMER_HANDLER,
    'check/require-mode.cts': `import ingress = require('webhook-ingress');
import consumer = require('webhook-ingress/consumer');

const loaded: string = [typeof ingress.WebhookIngress, typeof consumer.parseEnvelope].join(' ');
export = { loaded };
`,
    'check/bundler.ts': `import { Stack } from 'aws-cdk-lib';
import { WebhookIngress, type WebhookIngressProps } from 'webhook-ingress';
import { dedupeKey, type Envelope, parseEnvelope } from 'webhook-ingress/consumer';

const props: WebhookIngressProps = { providers: ['sigmate'], maxBodyBytes: 65_536 };
export const ingress = new WebhookIngress(new Stack(), 'Ingress', props);
export const key = (body: string): string => dedupeKey(parseEnvelope(body) satisfies Envelope);
`,
  };
}
