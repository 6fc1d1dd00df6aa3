/** `variant:sdk-logger`: ours with the SDK's default `NoOpLogger` instead of the quiet logger (see tuning.ts). */
import { sigmateWithout } from './tuning.js';

export const handler = sigmateWithout('logger');
