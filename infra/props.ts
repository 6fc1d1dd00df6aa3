import { Token } from 'aws-cdk-lib';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IHostedZone } from 'aws-cdk-lib/aws-route53';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { ProviderDeclarationError } from '../functions/core/errors.js';
import { type ProviderName, ProviderNames } from '../functions/provider-names.js';
import {
  type ProviderDeclaration,
  parseProviders,
  SEED_PROVIDERS,
} from '../functions/providers.js';
import type { SchemeName } from '../functions/schemes.js';
import {
  checkSettings,
  DefaultSettings,
  type IngressSettings,
  propName,
  strictestRetention,
} from './config.js';

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
export function declaredProviders(
  entries: readonly (ProviderName | ProviderEntry)[] | undefined,
): ProviderDeclaration[] {
  if (entries === undefined) return [...SEED_PROVIDERS];
  const declarations = parseProviders(
    entries.map((entry) =>
      typeof entry === 'string' && (ProviderNames as readonly string[]).includes(entry)
        ? { name: entry, scheme: entry }
        : entry,
    ),
    PROVIDERS_PROP,
  );
  checkProviderCount(declarations, PROVIDERS_PROP);
  return declarations;
}

/**
 * Providers one ingress can hold: each adds about 36 CloudFormation resources to the 37
 * every ingress has, and a stack holds 500 (README, "Add a provider").
 */
export const MAX_PROVIDERS = 12;

/** Refuses a list one stack cannot hold, in one line, before CDK's own error at synth. */
export function checkProviderCount(providers: readonly ProviderDeclaration[], list: string): void {
  if (providers.length > MAX_PROVIDERS) {
    throw new ProviderDeclarationError(
      list,
      `lists ${providers.length} providers; one WebhookIngress holds at most ${MAX_PROVIDERS} (each adds about 36 CloudFormation resources, and a stack holds 500): put the others in a second WebhookIngress, in another stack`,
    );
  }
}

/** How errors name the construct's `providers` prop. */
const PROVIDERS_PROP = 'WebhookIngress prop "providers"';

/** Defaults merged with the props, checked as a whole; throws SettingsError naming the prop. */
export function resolveSettings(
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
