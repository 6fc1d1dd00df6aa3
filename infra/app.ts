import { App } from 'aws-cdk-lib';
import { ProviderDeclarationError } from '../functions/core/errors.js';
import { SettingsError, UnknownSettingError } from './config.js';
import { addIngressStack } from './ingress-app.js';

// `npx cdk synth` / `npx cdk deploy` (cdk.json: `npx tsx infra/app.ts`).
const app = new App();
try {
  addIngressStack(app);
} catch (error) {
  // A setting the operator typed: one line naming it, no stack trace.
  if (
    error instanceof SettingsError ||
    error instanceof UnknownSettingError ||
    error instanceof ProviderDeclarationError
  ) {
    process.stderr.write(`webhook-ingress: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
app.synth();
