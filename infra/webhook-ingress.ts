import { Annotations, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  type DomainName,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  ApplicationLogLevel,
  Function as LambdaFunction,
  LoggingFormat,
  SystemLogLevel,
} from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RecordAttributes } from '../functions/core/names.js';
import type { ProviderName } from '../functions/provider-names.js';
import { IngressArchive } from './archive.js';
import type { IngressSettings, ThrottledRoute } from './config.js';
import { addCustomDomain } from './custom-domain.js';
import { IngressEdge } from './edge.js';
import { ExampleConsumer } from './example-consumer.js';
import { allowLogsToUseKey } from './key-grants.js';
import { bundledCode } from './lambda-code.js';
import { IngressMonitoring } from './monitoring.js';
import { grantOperatorAccess } from './operator-grants.js';
import { addIngressOutputs } from './outputs.js';
import {
  type CustomDomainProps,
  declaredProviders,
  type ProviderEntry,
  resolveSettings,
  type WebhookIngressProps,
} from './props.js';

export type { CustomDomainProps, ProviderEntry, WebhookIngressProps };

import { type DeployedProvider, deployedProviders } from './providers.js';
import { IngressLogQueries } from './queries.js';
import { functionLogAndRole, WebhookFunction } from './webhook-function.js';

/** SQS's largest message: the envelope of a body at the size limit still fits. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * How long a received message stays invisible to other consumers: a consumer must
 * finish (or extend) within it. Lambda consumers: at least 6 × the function timeout.
 */
export const QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(60);
/**
 * Dead letters are kept SQS's maximum. SQS expires a message by its first enqueue time,
 * also on the dead-letter queue: a message gets 14 days minus its time on the queue there.
 */
export const DEAD_LETTER_RETENTION = Duration.days(14);
/** Receives before a message moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;
/** The not-found function's memory: it computes nothing. */
export const NOT_FOUND_FUNCTION_MEMORY_MB = 128;

/**
 * The method of every webhook route. ANY, not POST: the contract answers other methods
 * `405 method_not_allowed` with `Allow: POST`, and only the function can say that.
 */
export const ROUTE_METHOD = HttpMethod.ANY;

/** The access log's fields: who called which route, and what the integration answered. */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
};

/** The HTTP API's JSON access log line. */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS));

/** What the ingress built for one provider. */
export interface ProviderResources {
  readonly deployment: DeployedProvider;
  readonly fn: WebhookFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly secret: Secret;
  /** API Gateway route keys of the provider's URLs, e.g. `ANY /webhooks/sigmate`. */
  readonly routeKeys: readonly string[];
}

/** One URL to paste into a provider's dashboard, on the custom domain when there is one. */
export interface WebhookUrlOutput {
  readonly provider: ProviderName;
  /** The shipped stack's CloudFormation output name, e.g. `SigmateWebhookUrl`. */
  readonly output: string;
  readonly url: string;
  readonly description: string;
}

/**
 * The webhook ingress as one construct: an HTTP API, a function per provider, the
 * idempotency table, a queue and dead-letter queue per provider, a secret per provider,
 * alarms, a dashboard and saved log queries. `new WebhookIngress(this, 'Ingress')` is a
 * production deployment; wire consumers with {@link queue} and {@link grantConsumeEvents}.
 */
/** Id of the synth warning a configuration that still sets `storeEnvelopes` gets. */
export const STORE_ENVELOPES_RETIRED = 'webhook-ingress:storeEnvelopesRetired';

export class WebhookIngress extends Construct {
  /** The settings in force (defaults merged with the props). */
  readonly settings: IngressSettings;
  /** The HTTP API; undefined with `edgeProtection`, where {@link edge}'s REST API serves. */
  readonly api: HttpApi | undefined;
  readonly apiStage: HttpStage | undefined;
  /** The REST API and WAF web ACL of `edgeProtection` (infra/edge.ts); undefined when off. */
  readonly edge: IngressEdge | undefined;
  /** The execute-api base URL of whichever API serves the routes (REST: with its stage). */
  readonly apiEndpoint: string;
  readonly table: Table;
  readonly providers = new Map<ProviderName, ProviderResources>();
  readonly notFoundFunction: LambdaFunction;
  readonly monitoring: IngressMonitoring;
  readonly logQueries: IngressLogQueries;
  readonly encryptionKey: IKey | undefined;
  readonly domainName: DomainName | undefined;
  /** `https://…` the providers call: the custom domain (and mapping path) when set. */
  readonly baseUrl: string;
  readonly webhookUrls: readonly WebhookUrlOutput[];
  readonly exampleConsumer: ExampleConsumer | undefined;
  /**
   * The audit archive (queues, archiver, bucket, Glue table). Always there: with `archive`
   * off the functions stop sending to it, and its bucket stays readable and its queues drain.
   */
  readonly archive: IngressArchive;
  /** Per provider: its queue, dead-letter queue, function and secret (also `provider(p)`). */
  readonly queues: Readonly<Partial<Record<ProviderName, Queue>>>;
  readonly deadLetterQueues: Readonly<Partial<Record<ProviderName, Queue>>>;
  readonly functions: Readonly<Partial<Record<ProviderName, WebhookFunction>>>;
  readonly secrets: Readonly<Partial<Record<ProviderName, Secret>>>;

  constructor(scope: Construct, id: string, props: WebhookIngressProps = {}) {
    super(scope, id);
    const declarations = declaredProviders(props.providers);
    const deployments = deployedProviders(declarations);
    this.settings = resolveSettings(props, declarations);
    const settings = this.settings;
    this.encryptionKey = props.encryptionKey;
    const key = props.encryptionKey;
    if (key) allowLogsToUseKey(this, key);

    this.table = new Table(this, 'IdempotencyTable', {
      partitionKey: { name: RecordAttributes.key, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: RecordAttributes.expiration,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(key ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: key } : {}),
    });

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: settings.logRetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(key ? { encryptionKey: key } : {}),
    });
    // No CORS: providers are servers, not browsers. With edge protection the REST API of
    // infra/edge.ts serves the same routes instead (HTTP APIs cannot take a WAF web ACL).
    this.api = settings.edgeProtection
      ? undefined
      : new HttpApi(this, 'Api', {
          apiName: `webhook-ingress-${settings.stageName}`,
          description: 'Webhook ingress: Sigma, Sigmate and Signifyd',
          createDefaultStage: false,
        });
    this.apiStage = this.api?.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });

    // Kept with the archive off: removing it would leave its bucket out of every tool's
    // reach and what waits on its queues undelivered (retained resources, orphaned).
    this.archive = new IngressArchive(this, 'Archive', {
      stageName: settings.stageName,
      providers: deployments.map((d) => d.provider),
      retentionDays: settings.archiveRetentionDays,
      objectLock: settings.archiveObjectLock,
      objectLockEnabled: settings.archiveObjectLockEnabled,
      previousBuckets: settings.archivePreviousBuckets,
      accessLogging: settings.archiveAccessLogging,
      logRetention: settings.logRetentionDays,
      encryptionKey: key,
      table: this.table,
      idempotencyRetentionDays: settings.idempotencyRetentionDays,
    });
    if (settings.storeEnvelopes) {
      Annotations.of(this).addWarningV2(
        STORE_ENVELOPES_RETIRED,
        settings.archive
          ? 'storeEnvelopes is retired and has no effect: replay and find read the audit archive (see the README, "Archive and audit"). Remove the setting.'
          : 'storeEnvelopes is retired and has no effect, and the archive is off: new deliveries are not archived, so `webhook-ingress replay` cannot resend them. Turn the archive on (archive=true) to keep deliveries for replay and audit.',
      );
    }

    const pathPrefix = props.customDomain?.mappingPath
      ? `/${props.customDomain.mappingPath.replace(/^\/+|\/+$/g, '')}`
      : undefined;
    for (const deployment of deployments) {
      this.providers.set(deployment.provider, this.addProvider(deployment, pathPrefix));
    }

    // Every other path: the contract's 404 JSON from a function that can touch nothing
    // (docs/decisions.md §10), instead of API Gateway's own body without a status.
    const notFound = functionLogAndRole(this, 'NotFoundFunction', settings.logRetentionDays, key);
    this.notFoundFunction = new LambdaFunction(this, 'NotFoundFunction', {
      ...bundledCode('not-found'),
      description: 'Webhook ingress: 404 not_found for every unknown path',
      memorySize: NOT_FOUND_FUNCTION_MEMORY_MB,
      timeout: Duration.seconds(3),
      logGroup: notFound.logGroup,
      role: notFound.role,
      // No START/END/REPORT lines either: the API access log already has each request.
      loggingFormat: LoggingFormat.JSON,
      systemLogLevelV2: SystemLogLevel.WARN,
      applicationLogLevelV2: ApplicationLogLevel.WARN,
    });
    if (this.api) {
      const notFoundRoute = new HttpRoute(this.api, 'NotFoundRoute', {
        httpApi: this.api,
        routeKey: HttpRouteKey.DEFAULT,
        integration: new HttpLambdaIntegration('NotFoundIntegration', this.notFoundFunction),
      });
      this.throttleRoutes('default', [{ route: notFoundRoute, key: HttpRouteKey.DEFAULT.key }]);
    }
    this.edge = settings.edgeProtection
      ? new IngressEdge(this, 'Edge', {
          stageName: settings.stageName,
          description: 'Webhook ingress behind AWS WAF: per-source rate limits, source allowlists',
          routes: [...this.providers.values()].map(({ deployment, fn }) => ({
            provider: deployment.provider,
            title: deployment.title,
            paths: deployment.routes,
            fn,
            rateLimit: settings.edgeRateLimits[deployment.provider] ?? settings.edgeRateLimit,
            allowlist: settings.sourceAllowlists[deployment.provider] ?? [],
            throttle: settings.routeThrottles[deployment.provider],
          })),
          notFound: this.notFoundFunction,
          throttle: settings.throttle,
          notFoundThrottle: settings.routeThrottles.default,
          rateWindowSeconds: settings.edgeRateWindowSeconds,
          accessLogs,
          accessLogFields: ACCESS_LOG_FIELDS,
        })
      : undefined;
    this.apiEndpoint = this.edge?.endpoint ?? this.api?.apiEndpoint ?? '';

    const byProvider = <T>(pick: (resources: ProviderResources) => T) =>
      Object.fromEntries([...this.providers].map(([name, r]) => [name, pick(r)])) as Partial<
        Record<ProviderName, T>
      >;
    this.queues = byProvider((r) => r.queue);
    this.deadLetterQueues = byProvider((r) => r.deadLetterQueue);
    this.functions = byProvider((r) => r.fn);
    this.secrets = byProvider((r) => r.secret);

    this.domainName = props.customDomain ? addCustomDomain(this, props.customDomain) : undefined;
    this.baseUrl = this.domainName
      ? `https://${props.customDomain?.domainName}${pathPrefix ?? ''}`
      : this.apiEndpoint;
    this.webhookUrls = [...this.providers.values()].flatMap(({ deployment }) =>
      deployment.urls.map((url) => ({
        provider: deployment.provider,
        output: url.output,
        url: `${this.baseUrl}${url.path}`,
        description: `${deployment.title}: paste into ${url.pasteInto}`,
      })),
    );

    this.monitoring = new IngressMonitoring(this, 'Monitoring', {
      stageName: settings.stageName,
      apiStage: this.apiStage ?? (this.edge as IngressEdge).stage,
      providers: [...this.providers.values()].map((resources) => ({
        provider: resources.deployment.provider,
        title: resources.deployment.title,
        fn: resources.fn,
        queue: resources.queue,
        deadLetterQueue: resources.deadLetterQueue,
      })),
      alarmEmail: settings.alarmEmail,
      alarmTopic: props.alarmTopic,
      unauthorizedAlarmThreshold: settings.unauthorizedAlarmThreshold,
      oldestMessageAlarmSeconds: settings.oldestMessageAlarmSeconds,
      archive: this.archive,
      edge: this.edge,
    });
    this.logQueries = new IngressLogQueries(this, 'LogQueries', {
      stageName: settings.stageName,
      logGroups: [...this.providers.values()].map(({ fn }) => fn.functionLogGroup),
    });

    this.exampleConsumer = props.exampleConsumer
      ? new ExampleConsumer(this, 'ExampleConsumer', {
          queues: [...this.providers.values()].map((resources) => resources.queue),
          logRetention: settings.logRetentionDays,
          retentionDays: settings.idempotencyRetentionDays,
          encryptionKey: key,
        })
      : undefined;
    this.acknowledgeFindings();
    if (props.outputs !== false) addIngressOutputs(this);
  }

  /** A provider's resources; throws if this ingress does not serve it. */
  provider(provider: ProviderName): ProviderResources {
    const resources = this.providers.get(provider);
    if (!resources) throw new Error(`this WebhookIngress does not serve ${provider}`);
    return resources;
  }

  /** The queue a provider's envelopes arrive on. */
  queue(provider: ProviderName): Queue {
    return this.provider(provider).queue;
  }

  /** Where messages go after {@link MAX_RECEIVE_COUNT} receives. */
  deadLetterQueue(provider: ProviderName): Queue {
    return this.provider(provider).deadLetterQueue;
  }

  /** A provider's function. */
  function(provider: ProviderName): WebhookFunction {
    return this.provider(provider).fn;
  }

  /** A provider's verification secret (retained on `cdk destroy`). */
  secret(provider: ProviderName): Secret {
    return this.provider(provider).secret;
  }

  /**
   * Lets a consumer receive, delete and extend messages of one provider's queue (or every
   * provider's), and decrypt them under a customer key. An `SqsEventSource` grants the
   * same by itself; use this for consumers that poll.
   */
  grantConsumeEvents(grantee: IGrantable, provider?: ProviderName): Grant[] {
    const queues = provider ? [this.queue(provider)] : this.allQueues(false);
    return queues.map((queue) => queue.grantConsumeMessages(grantee));
  }

  /**
   * What the operator CLI needs against this deployment (`--stack`): read the stack's
   * outputs, read and move messages on every queue and dead-letter queue (tail, redrive,
   * replay), read the idempotency table (find, replay, status), query the functions'
   * logs, use the customer key. It never reads a provider secret: `send` takes secrets
   * from the operator's environment.
   */
  grantOperator(grantee: IGrantable): void {
    grantOperatorAccess(this, grantee);
  }

  private allQueues(withDeadLetters: boolean): Queue[] {
    return [...this.providers.values()].flatMap((p) =>
      withDeadLetters ? [p.queue, p.deadLetterQueue] : [p.queue],
    );
  }

  private addProvider(
    deployment: DeployedProvider,
    pathPrefix: string | undefined,
  ): ProviderResources {
    const { title } = deployment;
    const settings = this.settings;
    const key = this.encryptionKey;
    const encryption = key
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key }
      : { encryption: QueueEncryption.SQS_MANAGED };
    const deadLetterQueue = new Queue(this, `${title}DeadLetterQueue`, {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
    });
    const queue = new Queue(this, `${title}Queue`, {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(queueRetentionDays(settings)),
      visibilityTimeout: QUEUE_VISIBILITY_TIMEOUT,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    const secret = new Secret(this, `${title}Secret`, {
      secretName: `webhook-ingress/${settings.stageName}/${deployment.provider}`,
      description: `${title} webhook verification secret. JSON: ${deployment.secretShape} (lists hold several values during a rotation). Set it with aws secretsmanager put-secret-value.`,
      // A random value the operator replaces; the template holds no secret.
      generateSecretString: {
        secretStringTemplate: JSON.stringify(deployment.secretPlaceholder.template),
        generateStringKey: deployment.secretPlaceholder.generatedKey,
        excludePunctuation: true,
        passwordLength: 48,
      },
      // Sigmate shows its secret once: `cdk destroy` must not take the only copy with it.
      removalPolicy: RemovalPolicy.RETAIN,
      ...(key ? { encryptionKey: key } : {}),
    });
    const fn = new WebhookFunction(this, `${title}Function`, {
      provider: deployment.provider,
      bundle: deployment.bundle,
      table: this.table,
      queue,
      secret,
      maxBodyBytes: settings.maxBodyBytes,
      retentionDays: settings.idempotencyRetentionDays,
      sourceAllowlist: settings.sourceAllowlists[deployment.provider] ?? [],
      flags: deployment.flags(settings),
      logRetention: settings.logRetentionDays,
      encryptionKey: key,
      reservedConcurrency: settings.reservedConcurrency[deployment.provider],
      pathPrefix,
      // Its own archive queue, and only while the archive is on.
      archiveQueue: settings.archive ? this.archive.queueFor(deployment.provider) : undefined,
    });
    // With edge protection the REST API wires the routes (infra/edge.ts), once every
    // provider is here.
    const api = this.api;
    if (api) {
      const integration = new HttpLambdaIntegration(`${title}Integration`, fn);
      const routes = deployment.routes.flatMap((path) =>
        api
          .addRoutes({ path, methods: [ROUTE_METHOD], integration })
          .map((route) => ({ route, key: `${ROUTE_METHOD} ${path}` })),
      );
      this.throttleRoutes(deployment.provider, routes);
    }
    return {
      deployment,
      fn,
      queue,
      deadLetterQueue,
      secret,
      routeKeys: deployment.routes.map((path) => `${ROUTE_METHOD} ${path}`),
    };
  }

  /**
   * Per-route limits on top of the stage's default (which API Gateway applies to each
   * route separately): a provider's own, or the low `default` one for unknown paths.
   */
  private throttleRoutes(
    owner: ThrottledRoute,
    routes: readonly { readonly route: HttpRoute; readonly key: string }[],
  ): void {
    const limit = this.settings.routeThrottles[owner];
    if (!limit || !this.apiStage) return;
    const stage = this.apiStage.node.defaultChild as CfnStage;
    for (const { route, key } of routes) {
      stage.routeSettings = {
        // A JSON property: CloudFormation's own PascalCase names, passed through as is.
        ...((stage.routeSettings ?? {}) as Record<string, unknown>),
        [key]: { ThrottlingRateLimit: limit.rateLimit, ThrottlingBurstLimit: limit.burstLimit },
      };
      // Route settings name the route: the stage can only be updated once it exists.
      stage.node.addDependency(route);
    }
  }

  /** Every cdk-nag finding this design accepts, each with the reason a reviewer reads. */
  private acknowledgeFindings(): void {
    for (const { secret } of this.providers.values()) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The values are issued by the providers (Sigma, Sigmate, Signifyd dashboards); Secrets Manager cannot rotate them. Rotation is manual and overlap-safe: the secret holds old and new values at once (see the README).',
      });
    }
    if (this.api) {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Callers are the providers, which cannot present IAM, Cognito or JWT credentials. Every request is authenticated by the provider signature (HMAC over the raw request), verified in the function before anything is stored; optional source allowlists add a network check.',
      });
    }
  }
}

/** The queues' retention: at least the deduplication retention (checked), by default equal. */
export function queueRetentionDays(settings: IngressSettings): number {
  return settings.queueRetentionDays ?? settings.idempotencyRetentionDays;
}
