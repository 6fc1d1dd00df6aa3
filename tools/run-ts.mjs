#!/usr/bin/env node
// `node tools/run-ts.mjs scripts/x.ts [args]`: what the npm scripts run. One process
// (tsx registered in-process, no tsx child), so a signal sent to `npm start` reaches
// the code that stops the emulators; and an unsupported Node gets one clear line.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireSupportedNode } from './node-check.mjs';

requireSupportedNode();
const [script, ...rest] = process.argv.slice(2);
if (!script) {
  process.stderr.write('usage: node tools/run-ts.mjs <script.ts> [args…]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(script), ...rest];
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(resolve(script)).href);
