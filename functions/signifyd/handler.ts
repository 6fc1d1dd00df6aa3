import { createLambdaHandler } from '../core/lambda.js';
import { createSignifydAdapter } from './adapter.js';

/** Signifyd webhooks, API v2 and v3: `POST /webhooks/signifyd`. */
export const handler = createLambdaHandler(createSignifydAdapter(process.env), process.env);
