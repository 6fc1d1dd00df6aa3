import { App } from 'aws-cdk-lib';
import { addIngressStack } from './ingress-app.js';

// `npx cdk synth` / `npx cdk deploy` (cdk.json: `npx tsx infra/app.ts`).
const app = new App();
addIngressStack(app);
app.synth();
