#!/usr/bin/env node
// The operator CLI's entry: checks the Node version, then runs the TypeScript sources through tsx.
import { requireSupportedNode } from './node-check.mjs';

requireSupportedNode();
const { register } = await import('tsx/esm/api');
register();
await import('../cli/main.ts');
