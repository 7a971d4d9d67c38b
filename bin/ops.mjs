#!/usr/bin/env node
// The `ops` CLI. However it is started (npx ops, npm run ops --, the bin on PATH), the first
// `node` found may be the machine's, older than the Node the project is built and tested on:
// the CLI then runs itself again on the project's own Node (the `node` package).
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const projectNode = join(projectRoot, 'node_modules', 'node', 'bin', 'node');

const onProjectNode = () => {
  try {
    return realpathSync(process.execPath) === realpathSync(projectNode);
  } catch {
    return false;
  }
};

if (onProjectNode() || process.env.OPS_ON_PROJECT_NODE === '1') {
  // V8's code cache on disk (checked against each source): a tenth of every later start.
  module.enableCompileCache?.();
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/ops.ts');
} else if (!existsSync(projectNode)) {
  console.error(`ops: the project's Node is not installed (${projectNode}): run \`npm install\` first`);
  process.exitCode = 1;
} else {
  // The flag stops a loop should the project's Node not be recognised as itself.
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, OPS_ON_PROJECT_NODE: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    // Ended by a signal: this process ends by the same one, as a shell expects of it.
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exitCode = code ?? 1;
  });
}
