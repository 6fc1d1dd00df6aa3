import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../functions/core/config.js';
import { addIngressStack } from '../../infra/ingress-app.js';
import { EVERY_OPTION, KMS_KEY_ARN, PAGER_TOPIC_ARN } from './contexts.js';

/*
 * Each deployment option, on (all at once) and off (the defaults), on templates synthesized
 * without bundling (stack.test.ts checks the bundles), each passing cdk-nag.
 */
type Json = Record<string, unknown>;
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function synth(context: Record<string, unknown>) {
  const app = new App({ context: { ...NO_BUNDLING, ...context } });
  const stack = addIngressStack(app);
  const template = Template.fromStack(stack);
  const all = (type: string) => Object.values(template.findResources(type)) as Json[];
  const props = (type: string) => all(type).map((r) => r.Properties as Json);
  return { app, stack, template, all, props };
}

let on: ReturnType<typeof synth>;
let off: ReturnType<typeof synth>;
beforeAll(() => {
  on = synth(EVERY_OPTION);
  off = synth({});
});

const providerFunctions = (s: ReturnType<typeof synth>) =>
  s
    .props('AWS::Lambda::Function')
    .filter((fn) => JSON.stringify(fn.Environment ?? {}).includes(EnvNames.tableName));
const nag = (app: App) =>
  new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(app)
    .violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`);

describe('infra options: every option on', () => {
  it('names the stack after the stage', () => {
    expect(on.stack.stackName).toBe('WebhookIngress-staging');
  });

  it('puts the custom domain in front of the API, with alias records and a mapping path', () => {
    on.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'webhooks.example.com',
      DomainNameConfigurations: [
        Match.objectLike({
          CertificateArn: EVERY_OPTION.certificateArn,
          SecurityPolicy: 'TLS_1_2',
        }),
      ],
    });
    on.template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiMappingKey: 'ingress',
      Stage: Match.anyValue(),
    });
    const records = on.props('AWS::Route53::RecordSet');
    expect(records.map((r) => r.Type).sort()).toEqual(['A', 'AAAA']);
    for (const record of records) {
      expect(record).toMatchObject({
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        Name: 'webhooks.example.com.',
      });
    }
  });

  it('tells each function the mapping path, and prints the custom-domain URLs', () => {
    for (const fn of providerFunctions(on)) {
      expect((fn.Environment as { Variables: Json }).Variables[EnvNames.pathPrefix]).toBe(
        '/ingress',
      );
    }
    const outputs = on.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.SigmateWebhookUrl?.Value).toBe(
      'https://webhooks.example.com/ingress/webhooks/sigmate',
    );
    expect(outputs.SigmaAmlWebhookUrl?.Value).toBe(
      'https://webhooks.example.com/ingress/webhooks/sigma/aml',
    );
    expect(outputs.WebhookBaseUrl?.Value).toBe('https://webhooks.example.com/ingress');
    expect(outputs).toHaveProperty('CustomDomainTarget');
    expect(outputs).toHaveProperty('ApiEndpoint');
  });

  it('encrypts the table, queues, secrets and every log group with the customer key', () => {
    expect(on.props('AWS::DynamoDB::Table')[0]).toMatchObject({
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: KMS_KEY_ARN },
    });
    const queues = on.props('AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThan(0);
    for (const queue of queues) expect(queue.KmsMasterKeyId).toBe(KMS_KEY_ARN);
    for (const secret of on.props('AWS::SecretsManager::Secret')) {
      expect(secret.KmsKeyId).toBe(KMS_KEY_ARN);
    }
    const logGroups = on.props('AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThan(4);
    for (const group of logGroups) expect(group.KmsKeyId).toBe(KMS_KEY_ARN);
  });

  it('lets every function (and the example consumer) use the key', () => {
    const roles = [...on.stack.providers.values()].map(({ fn }) => fn.functionRole);
    for (const role of roles) {
      const policy = role.node.tryFindChild('DefaultPolicy') as unknown as { document: unknown };
      const text = JSON.stringify(on.stack.resolve(policy.document));
      expect(text).toContain('kms:Decrypt');
      expect(text).toContain('kms:GenerateDataKey');
      expect(text).toContain(KMS_KEY_ARN);
    }
    const consumerPolicies = on
      .props('AWS::IAM::Policy')
      .filter((p) => JSON.stringify(p).includes('sqs:ReceiveMessage'));
    expect(consumerPolicies.length).toBeGreaterThan(0);
    for (const p of consumerPolicies) expect(JSON.stringify(p)).toContain('kms:Decrypt');
  });

  it('keeps queued events 14 days and deduplicates for 10', () => {
    for (const { queue } of on.stack.providers.values()) {
      const resource = on.template.toJSON().Resources[
        on.stack.getLogicalId(queue.node.defaultChild as never)
      ] as { Properties: Json };
      expect(resource.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
    }
    for (const fn of providerFunctions(on)) {
      expect((fn.Environment as { Variables: Json }).Variables[EnvNames.retentionDays]).toBe('10');
    }
  });

  it('throttles the stage, one provider and unknown paths each with its own limits', () => {
    const stage = on.props('AWS::ApiGatewayV2::Stage')[0] as Json;
    expect(stage.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
    });
    expect(stage.RouteSettings).toEqual({
      'ANY /webhooks/sigmate': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      $default: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 20 },
    });
    const stageResource = Object.values(on.template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const sigmateRoute = Object.entries(on.template.findResources('AWS::ApiGatewayV2::Route')).find(
      ([, r]) => (r.Properties as Json).RouteKey === 'ANY /webhooks/sigmate',
    )?.[0];
    expect(stageResource?.DependsOn).toContain(sigmateRoute);
  });

  it('reserves concurrency for the one provider that asked', () => {
    const reserved = providerFunctions(on).map((fn) => fn.ReservedConcurrentExecutions);
    expect(reserved.filter((r) => r !== undefined)).toEqual([20]);
  });

  it('notifies both the e-mail topic and the existing pager topic, and does not warn', () => {
    const alarms = on.props('AWS::CloudWatch::Alarm');
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toHaveLength(2);
      expect(alarm.AlarmActions).toContain(PAGER_TOPIC_ARN);
    }
    expect(
      Annotations.fromStack(on.stack).findWarning('*', Match.stringLikeRegexp('NOTIFY NOBODY')),
    ).toEqual([]);
  });

  it('passes the provider flags, allowlist, body limit and consumer through; no envelope storage', () => {
    const envs = providerFunctions(on).map(
      (fn) => (fn.Environment as { Variables: Json }).Variables,
    );
    expect(envs.every((env) => env[EnvNames.maxBodyBytes] === '500000')).toBe(true);
    // storeEnvelopes is retired: set in these contexts, it reaches no function and warns.
    expect(envs.every((env) => !('WEBHOOK_STORE_ENVELOPES' in env))).toBe(true);
    expect(
      Annotations.fromStack(on.stack).findWarning(
        '*',
        Match.stringLikeRegexp('storeEnvelopes is retired'),
      ),
    ).toHaveLength(1);
    expect(envs.filter((env) => env[EnvNames.sourceAllowlist] === '203.0.113.0/24')).toHaveLength(
      1,
    );
    on.template.resourcePropertiesCountIs(
      'AWS::Lambda::EventSourceMapping',
      { FunctionResponseTypes: ['ReportBatchItemFailures'], BatchSize: 10 },
      on.stack.providers.size,
    );
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(nag(on.app)).toEqual([]);
  });
});

describe('infra options: defaults (every option off)', () => {
  it('has no custom domain, mapping or DNS record, and the execute-api URLs', () => {
    off.template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    off.template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 0);
    off.template.resourceCountIs('AWS::Route53::RecordSet', 0);
    const outputs = off.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.SigmateWebhookUrl?.Value)).toContain('/webhooks/sigmate');
    expect(JSON.stringify(outputs.SigmateWebhookUrl?.Value)).toContain('ApiEndpoint');
    expect(outputs).not.toHaveProperty('CustomDomainTarget');
    expect(JSON.stringify(outputs.WebhookBaseUrl?.Value)).toContain('ApiEndpoint');
  });

  it('uses AWS-owned and AWS-managed keys only', () => {
    off.template.resourceCountIs('AWS::KMS::Key', 0);
    expect(off.props('AWS::DynamoDB::Table')[0]?.SSESpecification).toBeUndefined();
    for (const queue of off.props('AWS::SQS::Queue')) {
      expect(queue).toMatchObject({ SqsManagedSseEnabled: true });
      expect(queue.KmsMasterKeyId).toBeUndefined();
    }
    for (const secret of off.props('AWS::SecretsManager::Secret'))
      expect(secret.KmsKeyId).toBeUndefined();
    for (const group of off.props('AWS::Logs::LogGroup')) expect(group.KmsKeyId).toBeUndefined();
  });

  it('warns loudly at synth that the alarms notify nobody, and leaves them without actions', () => {
    const warnings = Annotations.fromStack(off.stack).findWarning(
      '*',
      Match.stringLikeRegexp('THE ALARMS NOTIFY NOBODY'),
    );
    expect(warnings).toHaveLength(1);
    for (const alarm of off.props('AWS::CloudWatch::Alarm'))
      expect(alarm.AlarmActions).toBeUndefined();
  });

  it('reserves no concurrency and throttles only unknown paths below the stage default', () => {
    for (const fn of providerFunctions(off))
      expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    expect(off.props('AWS::ApiGatewayV2::Stage')[0]?.RouteSettings).toEqual({
      $default: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(nag(off.app)).toEqual([]);
  });
});
