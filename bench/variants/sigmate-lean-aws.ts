/**
 * Measured alternative (not deployed yet): the Sigmate handler wired exactly like
 * functions/core/lambda.ts — Powertools Logger, EMF recorder, Secrets Manager when
 * configured — but on the lean SigV4 JSON client (functions/core/aws/) instead of SDK v3.
 */
import { createLeanLambdaHandler } from '../../functions/core/aws/lambda-lean.js';
import { sigmateAdapter } from '../../functions/sigmate/adapter.js';

export const handler = createLeanLambdaHandler(sigmateAdapter, process.env);
