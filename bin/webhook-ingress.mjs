#!/usr/bin/env node
// `npx webhook-ingress`: the operator CLI, compiled into lib/cli.mjs with its dependencies.
// Plain JavaScript that any Node can parse, so an unsupported one gets one clear line.
import { existsSync } from 'node:fs';

const REQUIRED_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED_MAJOR) {
  process.stderr.write(
    `webhook-ingress: needs Node.js ${REQUIRED_MAJOR} or newer, but this is Node ${process.versions.node} (${process.execPath})\n`,
  );
  process.exit(1);
}
const cli = new URL('../lib/cli.mjs', import.meta.url);
if (!existsSync(cli)) {
  // Only a clone of the repository can lack it: an installed package always ships it.
  process.stderr.write('webhook-ingress: the CLI is not built (lib/cli.mjs): run npm run build\n');
  process.exit(1);
}
await import(cli.href);
