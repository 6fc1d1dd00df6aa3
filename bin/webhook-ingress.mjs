#!/usr/bin/env node
// The operator CLI's entry: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../scripts/cli/main.ts');
