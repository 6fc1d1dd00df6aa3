/** `variant:untuned`: ours with `new DynamoDBClient({})`-style clients, nothing tuned (see tuning.ts). */
import { sigmateWithout } from './tuning.js';

export const handler = sigmateWithout('all');
