#!/usr/bin/env node
// The `ops` CLI. Runs the TypeScript sources through tsx, on the project's own Node.
import { register } from 'tsx/esm/api';

register();
await import('../cli/ops.ts');
