import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { Key } from 'aws-cdk-lib/aws-kms';
import { HostedZone } from 'aws-cdk-lib/aws-route53';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { ProviderName } from '../functions/provider-names.js';
import { providerEntry } from '../functions/providers.js';
import type { IngressSettings } from './config.js';
import {
  type ProviderEntry,
  type ProviderResources,
  WebhookIngress,
  type WebhookIngressProps,
} from './webhook-ingress.js';

export interface WebhookIngressStackProps extends StackProps {
  readonly settings: IngressSettings;
  /** Overrides the settings' providers: seed names, or `{ name, scheme, …options }` entries. */
  readonly providers?: WebhookIngressProps['providers'];
}

/** The construct's props from the app's plain settings: ARNs become imported constructs. */
export function propsFromSettings(
  scope: Construct,
  settings: IngressSettings,
): WebhookIngressProps {
  const { alarmTopicArn, kmsKeyArn, customDomain, providers, ...plain } = settings;
  const domain = customDomain;
  return {
    ...plain,
    providers: providers.map((declaration) => providerEntry(declaration) as ProviderEntry),
    ...(alarmTopicArn
      ? { alarmTopic: Topic.fromTopicArn(scope, 'AlarmTopic', alarmTopicArn) }
      : {}),
    ...(kmsKeyArn ? { encryptionKey: Key.fromKeyArn(scope, 'EncryptionKey', kmsKeyArn) } : {}),
    ...(domain
      ? {
          customDomain: {
            domainName: domain.domainName,
            certificate: Certificate.fromCertificateArn(
              scope,
              'Certificate',
              domain.certificateArn,
            ),
            ...(domain.hostedZone
              ? {
                  hostedZone: HostedZone.fromHostedZoneAttributes(scope, 'HostedZone', {
                    hostedZoneId: domain.hostedZone.id,
                    zoneName: domain.hostedZone.name,
                  }),
                }
              : {}),
            ...(domain.mappingPath ? { mappingPath: domain.mappingPath } : {}),
          },
        }
      : {}),
  };
}

/**
 * The shipped app's stack (`npx cdk deploy`): a {@link WebhookIngress} configured from the
 * app's context. The construct creates the outputs (infra/outputs.ts).
 */
export class WebhookIngressStack extends Stack {
  readonly ingress: WebhookIngress;

  constructor(scope: Construct, id: string, props: WebhookIngressStackProps) {
    super(scope, id, props);
    const { settings } = props;
    Tags.of(this).add('service', 'webhook-ingress');
    Tags.of(this).add('stage', settings.stageName);

    // Id `Default` leaves the construct out of logical ids: a stack deployed before the
    // construct existed updates in place instead of replacing its table, queues and secrets.
    this.ingress = new WebhookIngress(this, 'Default', {
      ...propsFromSettings(this, settings),
      ...(props.providers ? { providers: props.providers } : {}),
    });
  }

  /** Shorthand for the construct's per-provider resources. */
  get providers(): ReadonlyMap<ProviderName, ProviderResources> {
    return this.ingress.providers;
  }
}
