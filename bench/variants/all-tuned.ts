/** `variant:all-tuned`: the control, ours with every tuning but built by tuning.ts. */
import { sigmateWithout } from './tuning.js';

export const handler = sigmateWithout('none');
