import { createLambdaHandler } from '../core/lambda.js';
import { adapterFromEnv } from './adapter.js';

/**
 * Any declared provider's webhooks, whatever its scheme: the function reads its own
 * `providers` entry from `WEBHOOK_PROVIDER` at cold start and fails fast on a bad one.
 */
export const handler = createLambdaHandler(adapterFromEnv(process.env), process.env);
