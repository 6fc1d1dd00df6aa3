/**
 * `npx webhook-ingress <command>` (bin/webhook-ingress.mjs): the operator CLI.
 * See docs/cli.md, or `npx webhook-ingress --help`.
 */
import { processIo } from './io.js';
import { run } from './program.js';

const abort = new AbortController();
let outputClosed = false;
const stop = (signal: NodeJS.Signals) => () => {
  if (abort.signal.aborted) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  // Commands stop at their next step and give back what they hold (messages made visible again).
  abort.abort();
  setTimeout(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)), 5_000).unref();
};
process.on('SIGINT', stop('SIGINT'));
process.on('SIGTERM', stop('SIGTERM'));

const io = processIo(() => {
  // `| head -1`: the reader has what it wanted. Stop quietly, after releasing what is held.
  outputClosed = true;
  abort.abort();
});
const code = await run(process.argv.slice(2), { io, signal: abort.signal });
process.exitCode = outputClosed ? 0 : code;
