// `ops` as a user runs it: a process of its own through bin/ops.mjs (which runs on the project's
// Node), for the tests of the CLI, the tour and the documented commands.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../local/python-env.ts';

export const OPS_BIN = join(REPO_ROOT, 'bin', 'ops.mjs');

export interface OpsRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ops args…` to its end; a non-zero exit is a result, not an error. */
export async function runOps(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<OpsRun> {
  try {
    const out = await promisify(execFile)(process.execPath, [OPS_BIN, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The environment of an `ops` process on the local daemon of `stateDir` (never a real account). */
export const localOpsEnv = (stateDir: string): NodeJS.ProcessEnv => ({
  ...process.env,
  OPS_STATE_DIR: stateDir,
  AWS_ENDPOINT_URL: '',
});
