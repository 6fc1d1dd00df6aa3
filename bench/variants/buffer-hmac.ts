/** `variant:buffer-hmac`: ours with the SDK's `Sha256` (Buffer-key HMAC) instead of `KeyObjectSha256` (see tuning.ts). */
import { sigmateWithout } from './tuning.js';

export const handler = sigmateWithout('sha256');
