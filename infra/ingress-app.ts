import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromContext } from './context.js';
import { WebhookIngressStack } from './stack.js';

/**
 * Adds the ingress stack, configured from the app's CDK context, with cdk-nag's
 * AwsSolutions checks as a policy validation: an unacknowledged finding fails the synth.
 * Unknown context keys and invalid values throw SettingsError / UnknownSettingError; a bad
 * `providers` list throws ProviderDeclarationError.
 */
export function addIngressStack(app: App): WebhookIngressStack {
  const settings = settingsFromContext(app.node);
  // Environment-agnostic: synthesizes offline, with no credentials and no context lookups.
  const stack = new WebhookIngressStack(app, `WebhookIngress-${settings.stageName}`, {
    settings,
    description: `Webhook ingress (${settings.stageName}): API Gateway → Lambda → DynamoDB idempotency → SQS`,
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return stack;
}
