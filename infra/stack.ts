import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { RecordAttributes } from '../functions/core/idempotency.js';
import type { ProviderName } from '../functions/registry.js';
import type { IngressSettings } from './config.js';
import { ExampleConsumer } from './example-consumer.js';
import { IngressMonitoring } from './monitoring.js';
import { type DeployedProvider, deployedProviders } from './providers.js';
import { WebhookFunction } from './webhook-function.js';

/** SQS's largest message: the envelope of a body at the size limit still fits. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * How long a received message stays invisible to other consumers: a consumer must
 * finish (or extend) within it. Lambda consumers: at least 6 × the function timeout.
 */
export const QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(60);
/** Unconsumed events wait this long; the dead-letter queue keeps failures longer. */
export const QUEUE_RETENTION = Duration.days(4);
export const DEAD_LETTER_RETENTION = Duration.days(14);
/** Receives before a message moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

/**
 * The method of every webhook route. ANY, not POST: the contract answers other methods
 * `405 method_not_allowed` with `Allow: POST`, and only the function can say that.
 */
export const ROUTE_METHOD = HttpMethod.ANY;

/** JSON access log line: who called which route, and what the integration answered. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
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
  }),
);

/** What the stack built for one provider. */
export interface ProviderResources {
  readonly deployment: DeployedProvider;
  readonly fn: WebhookFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly secret: Secret;
}

export interface WebhookIngressStackProps extends StackProps {
  readonly settings: IngressSettings;
  /** Defaults to every provider registered in functions/registry.ts. */
  readonly providers?: readonly DeployedProvider[];
}

/**
 * The webhook ingress: one HTTP API, a function per provider, the idempotency table,
 * a queue and dead-letter queue per provider, a secret per provider, the dashboard
 * and alarms, and optionally an example consumer.
 */
export class WebhookIngressStack extends Stack {
  readonly api: HttpApi;
  readonly apiStage: HttpStage;
  readonly table: Table;
  readonly providers = new Map<ProviderName, ProviderResources>();
  readonly monitoring: IngressMonitoring;

  constructor(scope: Construct, id: string, props: WebhookIngressStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const providers = props.providers ?? deployedProviders();
    Tags.of(this).add('service', 'webhook-ingress');
    Tags.of(this).add('stage', settings.stageName);

    for (const provider of providers) {
      if (settings.idempotencyRetentionDays < provider.adapter.minRetentionDays) {
        throw new Error(
          `idempotencyRetentionDays must be at least ${provider.adapter.minRetentionDays} for ${provider.provider}, which retries that long`,
        );
      }
    }

    this.table = new Table(this, 'IdempotencyTable', {
      partitionKey: { name: RecordAttributes.key, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: RecordAttributes.expiration,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: settings.logRetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // No CORS: providers are servers, not browsers.
    this.api = new HttpApi(this, 'Api', {
      apiName: `webhook-ingress-${settings.stageName}`,
      description: 'Webhook ingress: Sigma, Sigmate and Signifyd',
      createDefaultStage: false,
    });
    this.apiStage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: settings.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });

    for (const deployment of providers) {
      this.providers.set(deployment.provider, this.addProvider(deployment, settings));
    }
    // Any other path reaches a provider function too, whose pipeline answers the contract's
    // `404 {"status":"not_found"}` instead of API Gateway's own body without a status.
    const [fallback] = this.providers.values();
    if (fallback) {
      new HttpRoute(this.api, 'NotFoundRoute', {
        httpApi: this.api,
        routeKey: HttpRouteKey.DEFAULT,
        integration: new HttpLambdaIntegration('NotFoundIntegration', fallback.fn),
      });
    }

    this.monitoring = new IngressMonitoring(this, 'Monitoring', {
      stageName: settings.stageName,
      apiStage: this.apiStage,
      providers: [...this.providers.values()].map((resources) => ({
        provider: resources.deployment.provider,
        title: resources.deployment.title,
        fn: resources.fn,
        queue: resources.queue,
        deadLetterQueue: resources.deadLetterQueue,
      })),
      alarmEmail: settings.alarmEmail,
      unauthorizedAlarmThreshold: settings.unauthorizedAlarmThreshold,
      oldestMessageAlarmSeconds: settings.oldestMessageAlarmSeconds,
    });

    if (settings.exampleConsumer) {
      new ExampleConsumer(this, 'ExampleConsumer', {
        queues: [...this.providers.values()].map((resources) => resources.queue),
        logRetention: settings.logRetentionDays,
        retentionDays: settings.idempotencyRetentionDays,
      });
    }

    new CfnOutput(this, 'ApiEndpoint', {
      value: this.api.apiEndpoint,
      description: 'Base URL of the webhook API',
    });
    new CfnOutput(this, 'IdempotencyTableName', { value: this.table.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    this.suppressFindings();
  }

  private addProvider(deployment: DeployedProvider, settings: IngressSettings): ProviderResources {
    const { title } = deployment;
    const deadLetterQueue = new Queue(this, `${title}DeadLetterQueue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
    });
    const queue = new Queue(this, `${title}Queue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_RETENTION,
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
    });
    const fn = new WebhookFunction(this, `${title}Function`, {
      provider: deployment.provider,
      table: this.table,
      queue,
      secret,
      maxBodyBytes: settings.maxBodyBytes,
      retentionDays: settings.idempotencyRetentionDays,
      storeEnvelopes: settings.storeEnvelopes,
      sourceAllowlist: settings.sourceAllowlists[deployment.provider] ?? [],
      flags: deployment.flags(settings),
      logRetention: settings.logRetentionDays,
    });
    const integration = new HttpLambdaIntegration(`${title}Integration`, fn);
    for (const path of deployment.routes) {
      this.api.addRoutes({ path, methods: [ROUTE_METHOD], integration });
    }

    for (const url of deployment.urls) {
      new CfnOutput(this, url.output, {
        value: `${this.api.apiEndpoint}${url.path}`,
        description: `${title}: paste into ${url.pasteInto}`,
      });
    }
    new CfnOutput(this, `${title}QueueUrl`, { value: queue.queueUrl });
    new CfnOutput(this, `${title}QueueArn`, { value: queue.queueArn });
    new CfnOutput(this, `${title}DeadLetterQueueUrl`, { value: deadLetterQueue.queueUrl });
    new CfnOutput(this, `${title}DeadLetterQueueArn`, { value: deadLetterQueue.queueArn });
    new CfnOutput(this, `${title}SecretName`, {
      value: secret.secretName,
      description: `JSON: ${deployment.secretShape}`,
    });
    return { deployment, fn, queue, deadLetterQueue, secret };
  }

  /** Every cdk-nag finding this design accepts, each with the reason a reviewer reads. */
  private suppressFindings(): void {
    for (const { secret } of this.providers.values()) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The values are issued by the providers (Sigma, Sigmate, Signifyd dashboards); Secrets Manager cannot rotate them. Rotation is manual and overlap-safe: the secret holds old and new values at once (see the README).',
      });
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Callers are the providers, which cannot present IAM, Cognito or JWT credentials. Every request is authenticated by the provider signature (HMAC over the raw request), verified in the function before anything is stored; optional source allowlists add a network check.',
    });
  }
}
