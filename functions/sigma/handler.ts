import { createLambdaHandler } from '../core/lambda.js';
import { createSigmaAdapter } from './adapter.js';

/** Sigma webhooks: `POST /webhooks/sigma/{transaction-monitoring|aml|cdd}`. */
export const handler = createLambdaHandler(createSigmaAdapter(process.env), process.env);
