/** `variant:signer-per-request`: ours with a `SignatureV4` per request (no `signer` option) (see tuning.ts). */
import { sigmateWithout } from './tuning.js';

export const handler = sigmateWithout('signer');
