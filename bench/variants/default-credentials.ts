/** `variant:default-credentials`: ours with the SDK's default credential chain instead of `fromEnv()` (see tuning.ts). */
import { sigmateWithout } from './tuning.js';

export const handler = sigmateWithout('credentials');
