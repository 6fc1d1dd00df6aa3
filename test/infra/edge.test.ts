import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnApiMapping } from 'aws-cdk-lib/aws-apigatewayv2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ContextKeys,
  DefaultSettings,
  SettingsError,
  UnknownSettingError,
} from '../../infra/config.js';
import { readSettings, settingsFromContext } from '../../infra/context.js';
import {
  canonicalCidr,
  catchAllParents,
  EdgeResponses,
  edgePathPattern,
  edgeRuleNames,
} from '../../infra/edge.js';
import { addIngressStack } from '../../infra/ingress-app.js';
import { PACKAGE_ROOT as PROJECT_ROOT } from '../../infra/lambda-code.js';
import { EDGE_RATE_LIMITED_ALARM } from '../../infra/monitoring.js';
import { deployedProviders } from '../../infra/providers.js';
import { EVERY_OPTION } from './contexts.js';

/*
 * Edge protection (issue 20, item 8): off by default (the HTTP API, as before); on, a REST
 * API behind a regional AWS WAF web ACL serves the same routes with the same functions,
 * limiting each source per provider and enforcing the source allowlists before a request
 * reaches the provider's throttle. Templates without bundling, each passing cdk-nag.
 */
type Json = Record<string, unknown>;
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const providers = deployedProviders();

function synth(context: Record<string, unknown>) {
  const app = new App({ context: { ...NO_BUNDLING, ...context } });
  const stack = addIngressStack(app);
  const template = Template.fromStack(stack);
  const props = (type: string) =>
    Object.values(template.findResources(type)).map((r) => r.Properties as Json);
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  return { app, stack, template, props, outputs, id };
}
const nag = (app: App) =>
  new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(app)
    .violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`);

/** `https://<rest api>.execute-api.<region>.<suffix>/<stage><path>`, as CloudFormation joins it. */
const restUrl = (restApiId: string, stage: string, suffix: string) => ({
  'Fn::Join': [
    '',
    [
      'https://',
      { Ref: restApiId },
      '.execute-api.',
      { Ref: 'AWS::Region' },
      '.',
      { Ref: 'AWS::URLSuffix' },
      `/${stage}${suffix}`,
    ],
  ],
});

describe('edge: the WAF path pattern', () => {
  const matches = (paths: string[], uri: string) => new RegExp(edgePathPattern(paths)).test(uri);

  it('matches a provider URL wherever the API is mounted, with or without a trailing slash', () => {
    for (const uri of [
      '/webhooks/sigmate',
      '/prod/webhooks/sigmate',
      '/ingress/webhooks/sigmate',
      '/hooks/v1/webhooks/sigmate/',
    ]) {
      expect(matches(['/webhooks/sigmate'], uri), uri).toBe(true);
    }
  });

  it('takes a path parameter as one segment, and does not match another provider', () => {
    const sigma = ['/webhooks/sigma/{product}'];
    expect(matches(sigma, '/prod/webhooks/sigma/aml')).toBe(true);
    expect(matches(sigma, '/prod/webhooks/sigma/aml/x')).toBe(false);
    expect(matches(sigma, '/prod/webhooks/sigmate')).toBe(false);
    expect(matches(['/webhooks/sigmate'], '/prod/webhooks/sigmate-eu')).toBe(false);
    expect(matches(['/webhooks/sigmate'], '/prod/webhooks/sigmatex')).toBe(false);
  });

  it('joins several paths into one expression and escapes what a name may hold', () => {
    expect(edgePathPattern(['/webhooks/a-b', '/webhooks/c/{x}'])).toBe(
      '/(?:webhooks/a\\-b|webhooks/c/[^/]+)/?$',
    );
  });
});

describe('edge: IP sets take canonical CIDR ranges', () => {
  it.each([
    ['203.0.113.7/24', '203.0.113.0/24', 'IPV4'],
    ['198.51.100.7', '198.51.100.7/32', 'IPV4'],
    ['10.1.2.3/8', '10.0.0.0/8', 'IPV4'],
    ['2001:db8::1/48', '2001:db8:0:0:0:0:0:0/48', 'IPV6'],
    ['2001:DB8:abcd:12:ff::1/64', '2001:db8:abcd:12:0:0:0:0/64', 'IPV6'],
    ['::ffff:192.0.2.1/128', '0:0:0:0:0:ffff:c000:201/128', 'IPV6'],
  ])('%s → %s', (range, cidr, version) => {
    expect(canonicalCidr(range)).toEqual({ cidr, version });
  });

  it('refuses /0 (WAF does) and what is not an address', () => {
    expect(() => canonicalCidr('0.0.0.0/0')).toThrow(/prefix 1 to 32/);
    expect(() => canonicalCidr('example.com/24')).toThrow(/not a CIDR range/);
  });
});

describe('edge: every unknown path reaches the not-found function', () => {
  it('puts a {proxy+} under the root and every resource on the way, except beside a parameter', () => {
    expect(
      catchAllParents([
        '/webhooks/sigma/{product}',
        '/webhooks/sigmate',
        '/webhooks/signifyd',
      ]).sort(),
    ).toEqual(
      [
        '/',
        '/webhooks',
        '/webhooks/sigma/{product}',
        '/webhooks/sigmate',
        '/webhooks/signifyd',
      ].sort(),
    );
  });
});

describe('edge: settings', () => {
  const from = (context: Record<string, unknown>) =>
    readSettings((key) => context[key], { days: 7, provider: 'Sigma' });

  it('is off by default, with a per-source limit of 600 a minute', () => {
    expect(DefaultSettings).toMatchObject({
      edgeProtection: false,
      edgeRateLimit: 600,
      edgeRateLimits: {},
      edgeRateWindowSeconds: 60,
    });
  });

  it('reads the switch, the limit, a provider limit and the window from the context', () => {
    expect(
      from({
        [ContextKeys.edgeProtection]: 'true',
        [ContextKeys.edgeRateLimit]: '300',
        [`${ContextKeys.edgeRateLimitPrefix}sigmate`]: '1200',
        [ContextKeys.edgeRateWindowSeconds]: '120',
      }),
    ).toMatchObject({
      edgeProtection: true,
      edgeRateLimit: 300,
      edgeRateLimits: { sigmate: 1200 },
      edgeRateWindowSeconds: 120,
    });
  });

  it.each([
    [
      { [ContextKeys.edgeRateLimit]: '5' },
      'context "edgeRateLimit" must be a whole number from 10',
    ],
    [
      { [`${ContextKeys.edgeRateLimitPrefix}signifyd`]: '9' },
      'context "edgeRateLimit.signifyd" must be a whole number from 10',
    ],
    [{ [ContextKeys.edgeRateWindowSeconds]: '90' }, 'one of 60, 120, 300, 600'],
    [
      { [ContextKeys.edgeProtection]: 'true', 'sourceAllowlist.sigma': '0.0.0.0/0' },
      'context "sourceAllowlist.sigma" must be ranges narrower than /0',
    ],
  ])('refuses %o in one line naming the key', (context, message) => {
    expect(() => from(context)).toThrow(SettingsError);
    expect(() => from(context)).toThrow(message);
  });

  it('knows the keys, and suggests the closest for a typo', () => {
    const app = new App({ context: { edgeProtectoin: 'true' } });
    expect(() => settingsFromContext(app.node)).toThrow(UnknownSettingError);
    expect(() => settingsFromContext(app.node)).toThrow('did you mean "edgeProtection"?');
    const known = new App({ context: { 'edgeRateLimit.sigma': '50', edgeRateWindowSeconds: 60 } });
    expect(() => settingsFromContext(known.node)).not.toThrow();
  });
});

describe('edge protection off (the default)', () => {
  let off: ReturnType<typeof synth>;
  beforeAll(() => {
    off = synth({ alarmEmail: 'ops@example.com' });
  });

  it('keeps the HTTP API and creates no REST API, web ACL or IP set', () => {
    off.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    off.template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
    off.template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    off.template.resourceCountIs('AWS::WAFv2::IPSet', 0);
    off.template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    expect(off.stack.ingress.edge).toBeUndefined();
    expect(off.outputs).not.toHaveProperty('EdgeWebAclArn');
    expect(JSON.stringify(off.outputs.SigmateWebhookUrl?.Value)).toContain('/webhooks/sigmate');
  });
});

describe('edge protection on', () => {
  let on: ReturnType<typeof synth>;
  const ALLOWLIST_V4 = '203.0.113.7/24';
  const ALLOWLIST_V6 = '2001:db8::1/48';
  beforeAll(() => {
    on = synth({
      alarmEmail: 'ops@example.com',
      edgeProtection: 'true',
      'edgeRateLimit.sigmate': '1200',
      'throttleRateLimit.sigmate': '20',
      'throttleBurstLimit.sigmate': '40',
      'sourceAllowlist.signifyd': `${ALLOWLIST_V4},${ALLOWLIST_V6}`,
    });
  });
  const restApiId = () =>
    on.id((on.stack.ingress.edge as NonNullable<typeof on.stack.ingress.edge>).api);
  const stageId = () =>
    on.id((on.stack.ingress.edge as NonNullable<typeof on.stack.ingress.edge>).stage);

  it('replaces the HTTP API with one regional REST API that hands the functions raw bytes', () => {
    on.template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    on.template.resourceCountIs('AWS::ApiGatewayV2::Route', 0);
    on.template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    on.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'webhook-ingress-prod',
      EndpointConfiguration: { Types: ['REGIONAL'] },
      BinaryMediaTypes: ['*/*'],
    });
    expect(on.stack.ingress.api).toBeUndefined();
  });

  it('routes every provider path (ANY) to its own function and every other path to the not-found function', () => {
    const resources = on.template.findResources('AWS::ApiGateway::Resource');
    const pathOf = (logicalId: string): string => {
      const resource = resources[logicalId]?.Properties as Json | undefined;
      if (!resource) return '';
      const parent = resource.ParentId as { Ref?: string };
      return `${parent.Ref ? pathOf(parent.Ref) : ''}/${resource.PathPart}`;
    };
    const functionOf = (method: Json) =>
      JSON.stringify((method.Integration as Json).Uri).match(
        /"([A-Za-z0-9]+Function[0-9A-F]{8})"/,
      )?.[1];
    const routes = new Map<string, string | undefined>();
    for (const method of on.props('AWS::ApiGateway::Method')) {
      expect(method.HttpMethod).toBe('ANY');
      expect(method.AuthorizationType).toBe('NONE');
      expect((method.Integration as Json).Type).toBe('AWS_PROXY');
      const resource = method.ResourceId as { Ref?: string };
      routes.set(resource.Ref ? pathOf(resource.Ref) : '/', functionOf(method));
    }
    const notFound = on.id(on.stack.ingress.notFoundFunction);
    for (const { provider, routes: paths } of providers) {
      const fn = on.id(on.stack.ingress.function(provider));
      for (const p of paths) expect(routes.get(p), p).toBe(fn);
    }
    for (const catchAll of [
      '/',
      '/{proxy+}',
      '/webhooks/{proxy+}',
      '/webhooks/sigmate/{proxy+}',
      '/webhooks/sigma/{product}/{proxy+}',
    ]) {
      expect(routes.get(catchAll), catchAll).toBe(notFound);
    }
    expect(routes.size).toBe(providers.flatMap((p) => p.routes).length + 6);
  });

  it('throttles the stage, a provider with its own limit, and unknown paths at their low limit', () => {
    const [stage] = on.props('AWS::ApiGateway::Stage');
    expect(stage?.StageName).toBe('prod');
    const settings = stage?.MethodSettings as Json[];
    const limit = (resourcePath: string) =>
      settings.find((s) => s.ResourcePath === resourcePath && s.HttpMethod === '*');
    expect(limit('/*')).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    expect(limit('/~1webhooks~1sigmate')).toMatchObject({
      ThrottlingRateLimit: 20,
      ThrottlingBurstLimit: 40,
    });
    for (const catchAll of ['/', '/~1{proxy+}', '/~1webhooks~1{proxy+}']) {
      expect(limit(catchAll), catchAll).toMatchObject({
        ThrottlingRateLimit: 10,
        ThrottlingBurstLimit: 20,
      });
    }
    // Errors only: no request or response data (bodies, signatures) in execution logs.
    expect(limit('/*')).toMatchObject({ LoggingLevel: 'ERROR', DataTraceEnabled: false });
    expect(stage?.AccessLogSetting).toMatchObject({ Format: expect.stringContaining('wafStatus') });
  });

  it('attaches one regional web ACL to the stage', () => {
    on.template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    on.template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
    });
    const [association] = on.props('AWS::WAFv2::WebACLAssociation');
    expect(JSON.stringify(association?.ResourceArn)).toContain(restApiId());
    expect(JSON.stringify(association?.ResourceArn)).toContain(stageId());
  });

  it('limits each source per provider, scoped to its own URLs, with a JSON 429', () => {
    const [acl] = on.props('AWS::WAFv2::WebACL');
    const rules = (acl?.Rules ?? []) as Json[];
    for (const { provider, title, routes } of providers) {
      const rule = rules.find((r) => r.Name === edgeRuleNames(title).rate);
      expect(rule, provider).toBeDefined();
      expect(rule?.Statement).toEqual({
        RateBasedStatement: {
          AggregateKeyType: 'IP',
          EvaluationWindowSec: 60,
          Limit: provider === 'sigmate' ? 1200 : 600,
          ScopeDownStatement: {
            RegexMatchStatement: {
              FieldToMatch: { UriPath: {} },
              RegexString: edgePathPattern(routes),
              TextTransformations: [
                { Priority: 0, Type: 'URL_DECODE' },
                { Priority: 1, Type: 'NORMALIZE_PATH' },
              ],
            },
          },
        },
      });
      expect(rule?.Action).toEqual({
        Block: {
          CustomResponse: {
            ResponseCode: 429,
            CustomResponseBodyKey: 'throttled',
            ResponseHeaders: [{ Name: 'retry-after', Value: '60' }],
          },
        },
      });
    }
    expect(acl?.CustomResponseBodies).toEqual({
      forbidden: { ContentType: 'APPLICATION_JSON', Content: EdgeResponses.forbidden.body },
      throttled: { ContentType: 'APPLICATION_JSON', Content: EdgeResponses.throttled.body },
    });
    expect(JSON.parse(EdgeResponses.forbidden.body)).toEqual({ status: 'forbidden' });
  });

  it('refuses sources outside a provider allowlist before its rate rule, from canonical IP sets', () => {
    const [acl] = on.props('AWS::WAFv2::WebACL');
    const rules = (acl?.Rules ?? []) as Json[];
    const names = rules.map((r) => r.Name);
    // Only Signifyd has an allowlist.
    expect(names.filter((n) => String(n).endsWith('SourceAllowlist'))).toEqual([
      edgeRuleNames('Signifyd').allowlist,
    ]);
    expect(names.indexOf(edgeRuleNames('Signifyd').allowlist)).toBeLessThan(
      names.indexOf(edgeRuleNames('Signifyd').rate),
    );
    expect(rules.map((r) => r.Priority)).toEqual(rules.map((_, i) => i));
    const allowlist = rules.find((r) => r.Name === edgeRuleNames('Signifyd').allowlist);
    expect(allowlist?.Action).toEqual({
      Block: { CustomResponse: { ResponseCode: 403, CustomResponseBodyKey: 'forbidden' } },
    });
    const sets = on.template.findResources('AWS::WAFv2::IPSet');
    expect(
      Object.values(sets)
        .map((s) => s.Properties as Json)
        .map((p) => [p.IPAddressVersion, p.Addresses, p.Scope]),
    ).toEqual([
      ['IPV4', ['203.0.113.0/24'], 'REGIONAL'],
      ['IPV6', ['2001:db8:0:0:0:0:0:0/48'], 'REGIONAL'],
    ]);
    const statements =
      (allowlist?.Statement as { AndStatement: { Statements: Json[] } } | undefined)?.AndStatement
        .Statements ?? [];
    expect(statements[0]).toMatchObject({
      RegexMatchStatement: { RegexString: '/webhooks/signifyd/?$' },
    });
    expect(statements[1]).toEqual({
      NotStatement: {
        Statement: {
          OrStatement: {
            Statements: Object.keys(sets).map((set) => ({
              IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [set, 'Arn'] } },
            })),
          },
        },
      },
    });
    // The function keeps its own allowlist: the 403 is the same behind the edge or not.
    const signifyd = on
      .props('AWS::Lambda::Function')
      .find((fn) => JSON.stringify(fn.Environment ?? {}).includes('WEBHOOK_SOURCE_ALLOWLIST'));
    expect(JSON.stringify(signifyd?.Environment)).toContain(`${ALLOWLIST_V4},${ALLOWLIST_V6}`);
  });

  it('prints the REST API URLs (with the stage) for the providers, the endpoint and the web ACL', () => {
    for (const { urls } of providers) {
      for (const url of urls) {
        expect(on.outputs[url.output]?.Value, url.output).toEqual(
          restUrl(restApiId(), 'prod', url.path),
        );
      }
    }
    expect(on.outputs.ApiEndpoint?.Value).toEqual(restUrl(restApiId(), 'prod', ''));
    expect(on.outputs.EdgeWebAclArn?.Value).toEqual({
      'Fn::GetAtt': [on.stack.getLogicalId(on.stack.ingress.edge?.webAcl as never), 'Arn'],
    });
    // No second URL output of CDK's own: the stack's outputs are the ones to paste.
    expect(Object.keys(on.outputs).filter((name) => name.startsWith('EdgeApi'))).toEqual([]);
  });

  it('alarms when WAF rate limits a source of a provider, with a runbook section', () => {
    const alarms = on.props('AWS::CloudWatch::Alarm');
    const runbook = readFileSync(path.join(PROJECT_ROOT, 'docs/runbook.md'), 'utf8');
    expect(runbook).toMatch(new RegExp(`^### \`${EDGE_RATE_LIMITED_ALARM}\`$`, 'm'));
    for (const { provider, title } of providers) {
      const alarm = alarms.find(
        (a) => a.AlarmName === `webhook-ingress-prod-${provider}-${EDGE_RATE_LIMITED_ALARM}`,
      );
      expect(alarm, provider).toMatchObject({
        Namespace: 'AWS/WAFV2',
        MetricName: 'BlockedRequests',
        Threshold: 1,
      });
      expect(alarm?.Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'WebACL', Value: 'webhook-ingress-prod-edge' },
          { Name: 'Rule', Value: edgeRuleNames(title).rate },
        ]),
      );
      expect(String(alarm?.AlarmDescription)).toContain(
        `docs/runbook.md#${EDGE_RATE_LIMITED_ALARM}`,
      );
      expect(alarm?.AlarmActions).toHaveLength(1);
    }
    // The 5xx alarm watches the REST API's stage now.
    const api5xx = alarms.find((a) => a.AlarmName === 'webhook-ingress-prod-api-5xx');
    expect(api5xx).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5XXError' });
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(nag(on.app)).toEqual([]);
  });
});

describe('edge protection on, with every other option', () => {
  let all: ReturnType<typeof synth>;
  beforeAll(() => {
    all = synth({ ...EVERY_OPTION, edgeProtection: 'true' });
  });
  /** The API mapping's logical id, from the construct tree (no synth needed). */
  const mappingId = (stack: ReturnType<typeof addIngressStack>) => {
    const mapping = stack.node.findAll().find((c) => c instanceof CfnApiMapping);
    return mapping ? stack.getLogicalId(mapping as CfnApiMapping) : undefined;
  };

  it('maps the custom domain (and its path) to the REST API stage, under the same logical id', () => {
    const [mapping] = all.props('AWS::ApiGatewayV2::ApiMapping');
    const edge = all.stack.ingress.edge;
    expect(mapping).toEqual({
      ApiId: { Ref: all.id(edge?.api as never) },
      DomainName: { Ref: expect.stringMatching(/^CustomDomain/) },
      Stage: { Ref: all.id(edge?.stage as never) },
      ApiMappingKey: 'ingress',
    });
    // Switching edge protection on or off updates the mapping in place.
    const httpOnly = addIngressStack(new App({ context: { ...NO_BUNDLING, ...EVERY_OPTION } }));
    expect(Object.keys(all.template.findResources('AWS::ApiGatewayV2::ApiMapping'))).toEqual([
      mappingId(httpOnly),
    ]);
    expect(mappingId(all.stack)).toBe(mappingId(httpOnly));
    expect(all.outputs.SigmateWebhookUrl?.Value).toBe(
      'https://webhooks.example.com/ingress/webhooks/sigmate',
    );
    expect(all.outputs.WebhookBaseUrl?.Value).toBe('https://webhooks.example.com/ingress');
  });

  it('uses the window and keeps the provider allowlist of the options', () => {
    const [acl] = all.props('AWS::WAFv2::WebACL');
    const names = ((acl?.Rules ?? []) as Json[]).map((r) => r.Name);
    expect(names).toContain(edgeRuleNames('Signifyd').allowlist);
    all.template.resourceCountIs('AWS::WAFv2::IPSet', 1);
  });

  it('passes cdk-nag AwsSolutions', () => {
    expect(nag(all.app)).toEqual([]);
  });
});
