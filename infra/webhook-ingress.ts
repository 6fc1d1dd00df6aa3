import { Annotations, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  ApiMapping,
  CfnApiMapping,
  type CfnStage,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type HttpStage,
  LogGroupLogDestination,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import {
  type Grant,
  type IGrantable,
  PolicyStatement,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  ApplicationLogLevel,
  Function as LambdaFunction,
  LoggingFormat,
  SystemLogLevel,
} from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { AaaaRecord, ARecord, type IHostedZone, RecordTarget } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties } from 'aws-cdk-lib/aws-route53-targets';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ProviderDeclarationError } from '../functions/core/errors.js';
import { RecordAttributes } from '../functions/core/names.js';
import { type ProviderName, ProviderNames } from '../functions/provider-names.js';
import {
  type ProviderDeclaration,
  parseProviders,
  SEED_PROVIDERS,
} from '../functions/providers.js';
import type { SchemeName } from '../functions/schemes.js';
import { ARCHIVE_PREFIX, IngressArchive } from './archive.js';
import {
  checkSettings,
  DefaultSettings,
  type IngressSettings,
  propName,
  strictestRetention,
  type ThrottledRoute,
} from './config.js';
import { IngressEdge } from './edge.js';
import { ExampleConsumer } from './example-consumer.js';
import { bundledCode } from './lambda-code.js';
import { IngressMonitoring } from './monitoring.js';
import { addIngressOutputs } from './outputs.js';
import { type DeployedProvider, deployedProviders } from './providers.js';
import { IngressLogQueries } from './queries.js';
import { functionLogAndRole, KEY_DATA_ACTIONS, WebhookFunction } from './webhook-function.js';

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

/** A custom domain for provider URLs that survive a re-creation of the stack. */
export interface CustomDomainProps {
  /** e.g. `webhooks.example.com`. */
  readonly domainName: string;
  /** An existing ACM certificate for it, in the stack's region. */
  readonly certificate: ICertificate;
  /** Creates A and AAAA alias records there; unset: point a CNAME at `domainTarget` yourself. */
  readonly hostedZone?: IHostedZone;
  /**
   * API mapping path, e.g. `ingress` → `https://webhooks.example.com/ingress/webhooks/…`.
   * The functions get it as `WEBHOOK_PATH_PREFIX` and take it off the path before routing.
   */
  readonly mappingPath?: string;
}

/**
 * Properties of {@link WebhookIngress}; every one is optional and every default is
 * production-safe. The plain values are those of the shipped app's CDK context
 * (README, Deploy); ARNs are replaced by constructs.
 */
export interface WebhookIngressProps
  extends Partial<
    Omit<
      IngressSettings,
      'alarmTopicArn' | 'kmsKeyArn' | 'customDomain' | 'exampleConsumer' | 'providers'
    >
  > {
  /**
   * The providers to serve, each `{ name, scheme, …options }` (README, "Add a provider"),
   * or a seed provider's name alone (`'sigmate'`); default the three seed providers.
   */
  readonly providers?: readonly (ProviderName | ProviderEntry)[];
  /** Alarms also notify this existing topic (it must let CloudWatch publish, and its key too). */
  readonly alarmTopic?: ITopic;
  /**
   * Customer-managed key for the table, queues, secrets and log groups; default AWS-owned
   * and AWS-managed keys. A key created in the same app gets the CloudWatch Logs statement
   * it needs; an imported key must already allow `logs.<region>.amazonaws.com` (README).
   */
  readonly encryptionKey?: IKey;
  readonly customDomain?: CustomDomainProps;
  /** Deploy the example SQS consumer (functions/example-consumer/) on every queue. */
  readonly exampleConsumer?: boolean;
  /**
   * Create the stack outputs: the webhook URLs to paste into the providers' dashboards,
   * and what the operator CLI reads with `--stack` (infra/outputs.ts). Default true.
   */
  readonly outputs?: boolean;
}

/** The CLI's reads and writes on one queue (tail, redrive, replay, status). */
const OPERATOR_QUEUE_ACTIONS = [
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:SendMessage',
];
/** The CLI's reads of the idempotency table (find, replay, status). */
const OPERATOR_TABLE_ACTIONS = [
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  // Settling archive lines written before the archiver settled them (cli/archive.ts).
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
];
/**
 * Searching the functions' log groups (find, the runbook's queries). Reading a Logs
 * Insights query's results (`logs:GetQueryResults`) cannot be scoped to a log group in
 * IAM, so it is left to the operator's own policy (README, IAM for operators).
 */
const OPERATOR_LOG_ACTIONS = ['logs:StartQuery', 'logs:FilterLogEvents'];

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
    checkTitles(deployments);
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

    this.domainName = props.customDomain ? this.addCustomDomain(props.customDomain) : undefined;
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
    const stack = Stack.of(this);
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['cloudformation:DescribeStacks'],
        resources: [stack.stackId],
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: OPERATOR_QUEUE_ACTIONS,
        resources: this.allQueues(true).map((queue) => queue.queueArn),
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sqs:StartMessageMoveTask', 'sqs:ListMessageMoveTasks'],
        resources: [...this.providers.values()].map((p) => p.deadLetterQueue.queueArn),
      }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({ actions: OPERATOR_TABLE_ACTIONS, resources: [this.table.tableArn] }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: OPERATOR_LOG_ACTIONS,
        resources: [...this.providers.values()].map(({ fn }) => fn.functionLogGroup.logGroupArn),
      }),
    );
    {
      // Replay and find read the archive, and the buckets it replaced: list and get under
      // the prefix; nothing else.
      const buckets = [this.archive.bucket, ...this.archive.previousBuckets];
      principal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: buckets.map((bucket) => bucket.bucketArn),
          conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}/*`] } },
        }),
      );
      principal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: buckets.map((bucket) => bucket.arnForObjects(`${ARCHIVE_PREFIX}/*`)),
        }),
      );
      if (Construct.isConstruct(principal)) {
        const bucketId = stack.getLogicalId(this.archive.bucket.node.defaultChild as CfnBucket);
        Validations.of(principal).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${ARCHIVE_PREFIX}/*]`,
          reason:
            'Replay and find read archive objects whose keys the archiver derives per batch (provider=…/date=…/<hash>.jsonl.gz): GetObject must cover the archive prefix, and grants nothing else (no put, no delete).',
        });
      }
      // The archive's queues: look, never write or delete. An operator who could send to
      // the archive queue could forge audit records, and one who could delete could drop
      // them before the archiver writes them; redriving its dead letters is an
      // administrator's act (docs/runbook.md#archive-dead-letters).
      principal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          resources: this.archive.allQueues().map((queue) => queue.queueArn),
        }),
      );
      principal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility'],
          resources: [this.archive.deadLetterQueue.queueArn],
        }),
      );
    }
    this.encryptionKey?.grant(grantee, ...KEY_DATA_ACTIONS);
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

  private addCustomDomain(domain: CustomDomainProps): DomainName {
    const domainName = new DomainName(this, 'CustomDomain', {
      domainName: domain.domainName,
      certificate: domain.certificate,
      securityPolicy: SecurityPolicy.TLS_1_2,
    });
    const mappingPath = domain.mappingPath?.replace(/^\/+|\/+$/g, '');
    if (this.api && this.apiStage) {
      new ApiMapping(this, 'CustomDomainMapping', {
        api: this.api,
        domainName,
        stage: this.apiStage,
        ...(mappingPath ? { apiMappingKey: mappingPath } : {}),
      });
    } else if (this.edge) {
      // The same domain maps the REST API's stage (a regional domain takes REST and HTTP
      // APIs alike). The same construct path as the HTTP API's mapping keeps its logical id,
      // so switching edge protection on or off updates the mapping in place.
      new CfnApiMapping(new Construct(this, 'CustomDomainMapping'), 'Resource', {
        apiId: this.edge.api.restApiId,
        domainName: domainName.name,
        stage: this.edge.stage.stageName,
        ...(mappingPath ? { apiMappingKey: mappingPath } : {}),
      });
    }
    if (domain.hostedZone) {
      const target = RecordTarget.fromAlias(
        new ApiGatewayv2DomainProperties(
          domainName.regionalDomainName,
          domainName.regionalHostedZoneId,
        ),
      );
      const zone = domain.hostedZone;
      new ARecord(this, 'CustomDomainAliasRecord', { zone, recordName: domain.domainName, target });
      new AaaaRecord(this, 'CustomDomainAliasRecordIpv6', {
        zone,
        recordName: domain.domainName,
        target,
      });
    }
    return domainName;
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

/** What `providers` may list: a declaration `{ name, scheme, …options }`. */
export interface ProviderEntry {
  readonly name: string;
  readonly scheme: SchemeName;
  readonly [option: string]: unknown;
}

/**
 * The declarations of the `providers` prop: each entry checked as the context's are (a
 * seed's bare name stands for `{ name, scheme: name }`); throws ProviderDeclarationError.
 */
function declaredProviders(
  entries: readonly (ProviderName | ProviderEntry)[] | undefined,
): ProviderDeclaration[] {
  if (entries === undefined) return [...SEED_PROVIDERS];
  return parseProviders(
    entries.map((entry) =>
      typeof entry === 'string' && (ProviderNames as readonly string[]).includes(entry)
        ? { name: entry, scheme: entry }
        : entry,
    ),
    PROVIDERS_PROP,
  );
}

/** How errors name the construct's `providers` prop. */
const PROVIDERS_PROP = 'WebhookIngress prop "providers"';

/** Two names with one title would share construct ids and output names. */
function checkTitles(deployments: readonly DeployedProvider[]): void {
  const seen = new Map<string, string>();
  for (const { title, provider } of deployments) {
    const other = seen.get(title);
    if (other !== undefined) {
      throw new ProviderDeclarationError(
        `${PROVIDERS_PROP} "${provider}"`,
        `its resource names (${title}…) are also "${other}"'s: rename one`,
      );
    }
    seen.set(title, provider);
  }
}

/** Defaults merged with the props, checked as a whole; throws SettingsError naming the prop. */
function resolveSettings(
  props: WebhookIngressProps,
  providers: readonly ProviderDeclaration[],
): IngressSettings {
  const withoutUndefined = <T extends object>(value: T): Partial<T> =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
  // Only the plain settings: the constructs (topic, key, domain) are not settings.
  const {
    providers: _providers,
    alarmTopic: _alarmTopic,
    encryptionKey: _encryptionKey,
    customDomain: _customDomain,
    outputs: _outputs,
    ...plain
  } = props;
  const settings: IngressSettings = {
    ...DefaultSettings,
    ...withoutUndefined(plain),
    providers,
    routeThrottles: {
      ...DefaultSettings.routeThrottles,
      ...withoutUndefined(props.routeThrottles ?? {}),
    },
    alarmTopicArn: undefined,
    kmsKeyArn: undefined,
    customDomain: undefined,
    exampleConsumer: props.exampleConsumer ?? false,
  };
  checkSettings(settings, propName, strictestRetention(providers));
  const domain = props.customDomain;
  if (domain && !Token.isUnresolved(domain.domainName)) {
    // The same checks as the context's, on plain values only.
    checkSettings(
      {
        ...settings,
        customDomain: {
          domainName: domain.domainName,
          certificateArn: 'arn:aws:acm:us-east-1:000000000000:certificate/checked-by-acm',
          hostedZone: undefined,
          mappingPath: domain.mappingPath?.replace(/^\/+|\/+$/g, '') || undefined,
        },
      },
      propName,
      undefined,
    );
  }
  return settings;
}

/**
 * CloudWatch Logs encrypts a log group only with a key whose policy lets it. A key made
 * in this app gets the statement; an imported key's policy cannot be changed from here.
 */
function allowLogsToUseKey(scope: Construct, key: IKey): void {
  const stack = Stack.of(scope);
  const logs = new ServicePrincipal(`logs.${stack.region}.amazonaws.com`);
  const { statementAdded } = key.addToResourcePolicy(
    new PolicyStatement({
      principals: [logs],
      actions: [
        'kms:Encrypt*',
        'kms:Decrypt*',
        'kms:ReEncrypt*',
        'kms:GenerateDataKey*',
        'kms:Describe*',
      ],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  if (!statementAdded) {
    Annotations.of(scope).addInfo(
      `The imported KMS key ${key.keyArn} must let CloudWatch Logs use it (principal logs.<region>.amazonaws.com, kms:Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe*, condition kms:EncryptionContext:aws:logs:arn): see the README, Deploy, "Customer-managed key".`,
    );
  }
}
