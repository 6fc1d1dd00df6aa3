import { createLambdaHandler } from '../core/lambda.js';
import { sigmateAdapter } from './adapter.js';

/** Sigmate webhooks: `POST /webhooks/sigmate`. */
export const handler = createLambdaHandler(sigmateAdapter, process.env);
