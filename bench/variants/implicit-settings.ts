/** `variant:implicit-settings`: ours with only region, credentials and endpoint given; the rest from the SDK's loaders (see tuning.ts). */
import { sigmateWithout } from './tuning.js';

export const handler = sigmateWithout('settings');
