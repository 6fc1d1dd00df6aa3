import { isIP } from 'node:net';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  type MethodDeploymentOptions,
  MethodLoggingLevel,
  RestApi,
  type Stage,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnIPSet, CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { EdgeRateWindow, RouteThrottle } from './config.js';

/*
 * Edge protection (docs/decisions.md, "Edge protection"): API Gateway HTTP APIs cannot be
 * associated with AWS WAF, so when it is on, a REST API (payload 1.0, which the functions
 * already normalise) serves the same routes with the same functions, and a regional WAF
 * web ACL on its stage limits each source per provider and refuses sources outside a
 * provider's allowlist — before API Gateway counts the request against the provider's
 * throttle. Same region as the stack, so no us-east-1 web ACL and no origin to bypass.
 */

/** One provider's URLs behind the edge. */
export interface EdgeRoute {
  readonly provider: string;
  /** PascalCase, for construct ids, WAF rule names and metric names. */
  readonly title: string;
  /** API route paths, e.g. `/webhooks/sigma/{product}`. */
  readonly paths: readonly string[];
  readonly fn: IFunction;
  /** Requests one source may send to these paths per window. */
  readonly rateLimit: number;
  /** CIDR ranges allowed to call these paths; empty: any source. */
  readonly allowlist: readonly string[];
  /** The provider's own API Gateway throttle, when it has one. */
  readonly throttle: RouteThrottle | undefined;
}

export interface IngressEdgeProps {
  readonly stageName: string;
  readonly description: string;
  readonly routes: readonly EdgeRoute[];
  /** Every other path: the contract's 404. */
  readonly notFound: IFunction;
  /** The stage's throttle of every method without its own. */
  readonly throttle: RouteThrottle;
  /** Unknown paths' own, lower throttle (the HTTP API's `default` route). */
  readonly notFoundThrottle: RouteThrottle | undefined;
  readonly rateWindowSeconds: EdgeRateWindow;
  readonly accessLogs: ILogGroup;
  /** The HTTP API's access log fields, kept alike so the same queries read both. */
  readonly accessLogFields: Readonly<Record<string, string>>;
}

/** The bodies WAF answers with: JSON with a `status`, like every answer of the ingress. */
export const EdgeResponses = {
  forbidden: { status: 403, body: '{"status":"forbidden"}' },
  throttled: { status: 429, body: '{"status":"throttled"}' },
} as const;

/** WAF rule (and metric) names of one provider. */
export const edgeRuleNames = (title: string) => ({
  allowlist: `${title}SourceAllowlist`,
  rate: `${title}PerSourceRate`,
});

/**
 * The REST API's access log line: the HTTP API's fields (REST has no `$context.routeKey`:
 * method and resource instead), plus what WAF decided.
 */
export function edgeAccessLogFormat(fields: Readonly<Record<string, string>>): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      ...fields,
      routeKey: '$context.httpMethod $context.resourcePath',
      wafStatus: '$context.waf.status',
      wafError: '$context.waf.error',
    }),
  );
}

/**
 * A regular expression that matches the URI paths API Gateway routes to these route
 * paths, wherever the API is mounted (`/<stage>/…` on execute-api, `/<mapping>/…` or `/…`
 * on a custom domain): `{param}` is one segment, a trailing slash is allowed. Run after
 * WAF's URL_DECODE and NORMALIZE_PATH, so encoded or doubled slashes do not slip past.
 */
export function edgePathPattern(paths: readonly string[]): string {
  const one = (path: string) =>
    path
      .split('/')
      .filter(Boolean)
      .map((segment) =>
        /^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&'),
      )
      .join('/');
  const alternatives = paths.map(one);
  const body = alternatives.length === 1 ? alternatives[0] : `(?:${alternatives.join('|')})`;
  return `/${body}/?$`;
}

/** `{proxy+}` below a resource path (`/` is the root). */
const proxyPath = (parent: string) => `${parent === '/' ? '' : parent}/{proxy+}`;

/**
 * The resources that get a `{proxy+}` to the not-found function, so that every path no
 * provider serves, however deep, gets the contract's 404: the root and every resource on
 * the way to a route, except those with a path parameter below them (a resource takes
 * one variable child only; the parameter's own resource gets the proxy instead).
 */
export function catchAllParents(paths: readonly string[]): string[] {
  const children = new Map<string, Set<string>>([['/', new Set()]]);
  for (const path of paths) {
    const parts = path.split('/').filter(Boolean);
    parts.forEach((part, index) => {
      const parent = index === 0 ? '/' : `/${parts.slice(0, index).join('/')}`;
      const self = `/${parts.slice(0, index + 1).join('/')}`;
      children.set(parent, (children.get(parent) ?? new Set()).add(part));
      if (!children.has(self)) children.set(self, new Set());
    });
  }
  return [...children]
    .filter(([, parts]) => ![...parts].some((part) => part.startsWith('{')))
    .map(([path]) => path);
}

/**
 * A CIDR range as AWS WAF wants it: the network address (host bits cleared) and the
 * prefix length. `203.0.113.7/24` → `203.0.113.0/24`, a bare address → `/32` or `/128`.
 */
export function canonicalCidr(range: string): { cidr: string; version: 'IPV4' | 'IPV6' } {
  const [address = '', prefixText] = range.trim().split('/');
  const family = isIP(address);
  if (family === 0) throw new Error(`"${range}" is not a CIDR range`);
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > bits) {
    throw new Error(`"${range}" is not a CIDR range AWS WAF accepts (prefix 1 to ${bits})`);
  }
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  if (family === 4) {
    const value = address.split('.').reduce((sum, part) => (sum << 8n) | BigInt(part), 0n) & mask;
    const parts = [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n));
    return { cidr: `${parts.join('.')}/${prefix}`, version: 'IPV4' };
  }
  const value = ipv6ToBigInt(address) & mask;
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16),
  );
  return { cidr: `${groups.join(':')}/${prefix}`, version: 'IPV6' };
}

function ipv6ToBigInt(address: string): bigint {
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes its two 16-bit groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  let text = address;
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${address.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((sum, group) => (sum << 16n) | BigInt(`0x${group || '0'}`), 0n);
}

/**
 * The REST API, its stage and the regional WAF web ACL on it. Every path that no provider
 * serves reaches the not-found function, under the `default` throttle.
 */
export class IngressEdge extends Construct {
  readonly api: RestApi;
  readonly stage: Stage;
  readonly webAcl: CfnWebACL;
  /** `https://<id>.execute-api.<region>.amazonaws.com/<stage>`: routes are appended to it. */
  readonly endpoint: string;
  /** The WAF metric name of the web ACL (CloudWatch `AWS/WAFV2`, dimension `WebACL`). */
  readonly metricName: string;

  constructor(scope: Construct, id: string, props: IngressEdgeProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const routePaths = props.routes.flatMap((route) => route.paths);
    const catchAlls = catchAllParents(routePaths);
    // Per-method throttles, decided before the stage is made (it renders them at once).
    const methodOptions: Record<string, MethodDeploymentOptions> = {};
    const throttleOf = (limit: RouteThrottle): MethodDeploymentOptions => ({
      throttlingRateLimit: limit.rateLimit,
      throttlingBurstLimit: limit.burstLimit,
    });
    for (const route of props.routes) {
      if (!route.throttle) continue;
      for (const path of route.paths) methodOptions[`${path}/*`] = throttleOf(route.throttle);
    }
    if (props.notFoundThrottle) {
      methodOptions['//*'] = throttleOf(props.notFoundThrottle);
      for (const parent of catchAlls) {
        methodOptions[`${proxyPath(parent)}/*`] = throttleOf(props.notFoundThrottle);
      }
    }

    this.api = new RestApi(this, 'Api', {
      restApiName: `webhook-ingress-${props.stageName}`,
      description: props.description,
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // Every body reaches the function base64-encoded, so signatures are checked over the
      // exact bytes whatever the content type (as the HTTP API hands them over).
      binaryMediaTypes: ['*/*'],
      // REST API logging needs the account's API Gateway CloudWatch role (one per region).
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deploy: true,
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new LogGroupLogDestination(props.accessLogs),
        accessLogFormat: edgeAccessLogFormat(props.accessLogFields),
        // Errors only, never request or response data: bodies and signatures stay out.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        methodOptions,
      },
    });

    for (const route of props.routes) {
      const integration = new LambdaIntegration(route.fn, { allowTestInvoke: false });
      for (const path of route.paths) {
        this.api.root.resourceForPath(path).addMethod('ANY', integration);
      }
    }
    const notFound = new LambdaIntegration(props.notFound, { allowTestInvoke: false });
    this.api.root.addMethod('ANY', notFound);
    for (const parent of catchAlls) {
      this.api.root
        .resourceForPath(parent)
        .addProxy({ defaultIntegration: notFound, anyMethod: true });
    }

    // RestApi adds an output of its own URL; the stack's ApiEndpoint output is the one.
    this.api.node.tryRemoveChild('Endpoint');
    this.stage = this.api.deploymentStage;
    this.endpoint = `https://${this.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${props.stageName}`;
    this.metricName = `webhook-ingress-${props.stageName}-edge`;
    this.webAcl = this.createWebAcl(props);
    new CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    this.acknowledgeFindings();
  }

  private createWebAcl(props: IngressEdgeProps): CfnWebACL {
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    const rules: CfnWebACL.RuleProperty[] = [];
    for (const route of props.routes) {
      const names = edgeRuleNames(route.title);
      const onRoute: CfnWebACL.StatementProperty = {
        regexMatchStatement: {
          regexString: edgePathPattern(route.paths),
          fieldToMatch: { uriPath: {} },
          textTransformations: [
            { priority: 0, type: 'URL_DECODE' },
            { priority: 1, type: 'NORMALIZE_PATH' },
          ],
        },
      };
      const sets = this.ipSets(route);
      if (sets.length > 0) {
        const allowed: CfnWebACL.StatementProperty[] = sets.map((set) => ({
          ipSetReferenceStatement: { arn: set.attrArn },
        }));
        rules.push({
          name: names.allowlist,
          priority: rules.length,
          action: {
            block: { customResponse: { responseCode: 403, customResponseBodyKey: 'forbidden' } },
          },
          statement: {
            andStatement: {
              statements: [
                onRoute,
                {
                  notStatement: {
                    statement:
                      allowed.length === 1
                        ? (allowed[0] as CfnWebACL.StatementProperty)
                        : { orStatement: { statements: allowed } },
                  },
                },
              ],
            },
          },
          visibilityConfig: visibility(names.allowlist),
        });
      }
      rules.push({
        name: names.rate,
        priority: rules.length,
        action: {
          block: {
            customResponse: {
              responseCode: 429,
              customResponseBodyKey: 'throttled',
              responseHeaders: [{ name: 'retry-after', value: String(props.rateWindowSeconds) }],
            },
          },
        },
        statement: {
          rateBasedStatement: {
            limit: route.rateLimit,
            evaluationWindowSec: props.rateWindowSeconds,
            aggregateKeyType: 'IP',
            scopeDownStatement: onRoute,
          },
        },
        visibilityConfig: visibility(names.rate),
      });
    }
    return new CfnWebACL(this, 'WebAcl', {
      name: this.metricName,
      description: 'Webhook ingress: per-source rate limits and source allowlists per provider',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      customResponseBodies: Object.fromEntries(
        Object.entries(EdgeResponses).map(([key, { body }]) => [
          key,
          { contentType: 'APPLICATION_JSON', content: body },
        ]),
      ),
      rules,
      visibilityConfig: visibility(this.metricName),
    });
  }

  /** One IP set per address family the provider's allowlist uses. */
  private ipSets(route: EdgeRoute): CfnIPSet[] {
    const byVersion = new Map<'IPV4' | 'IPV6', string[]>();
    for (const range of route.allowlist) {
      const { cidr, version } = canonicalCidr(range);
      byVersion.set(version, [...new Set([...(byVersion.get(version) ?? []), cidr])]);
    }
    return [...byVersion].map(
      ([version, addresses]) =>
        new CfnIPSet(this, `${route.title}Allowlist${version === 'IPV4' ? 'V4' : 'V6'}`, {
          scope: 'REGIONAL',
          ipAddressVersion: version,
          addresses,
          description: `Source ranges allowed to call ${route.provider}: sourceAllowlist.${route.provider}`,
        }),
    );
  }

  private acknowledgeFindings(): void {
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Webhook bodies are verified against the provider signature over the raw bytes and then validated by the function; an API Gateway request model would reject nothing the function does not, and would parse bodies before the signature is checked.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Callers are the providers, which cannot present IAM, Cognito or JWT credentials. Every request is authenticated by the provider signature, verified in the function; the web ACL rate limits each source and enforces the source allowlists.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'No Cognito user pool: the callers are webhook providers authenticated by their signatures (see AwsSolutions-APIG4).',
      },
    );
    const role = this.api.node.tryFindChild('CloudWatchRole');
    if (role) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level logging role: AWS's managed policy is the documented one, and REST API access logs cannot be written without it.",
      });
    }
  }
}
