/**
 * `npx webhook-ingress <command>` (bin/webhook-ingress.mjs): the operator CLI.
 * See docs/cli.md, or `npx webhook-ingress --help`.
 */
import { processIo } from './io.js';
import { run } from './program.js';

const abort = new AbortController();
process.on('SIGINT', () => {
  if (abort.signal.aborted) process.exit(130);
  // `tail --follow` stops at its next poll and releases what it holds; anything else just ends.
  abort.abort();
  setTimeout(() => process.exit(130), 2_500).unref();
});
process.exitCode = await run(process.argv.slice(2), { io: processIo(), signal: abort.signal });
