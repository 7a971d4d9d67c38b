// Runs once before any test worker starts: workers then find the Python venv ready
// instead of racing to install it (the install is locked anyway, but waits cost time).
// It also starts the run's IAM ledger afresh, and sums it up at the end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNTH_CACHE_DIR_VAR } from '../../local/control-plane.ts';
import { clearIamLedger, IAM_LEDGER_DIR_VAR, readIamLedger } from '../../local/iam-enforcement.ts';
import { ensurePythonEnv, REPO_ROOT } from '../../local/python-env.ts';

/** Where each test file's process leaves its IAM counters and exercised grants. */
export const IAM_LEDGER_DIR = join(REPO_ROOT, '.iam-ledger');

export default async function setup(): Promise<() => void> {
  clearIamLedger(IAM_LEDGER_DIR);
  // Test workers and the processes they start (ops ...) all leave their ledger there.
  process.env[IAM_LEDGER_DIR_VAR] = IAM_LEDGER_DIR;
  // One synthesis of each control-plane variant per run, shared by every worker.
  const synthCache = mkdtempSync(join(tmpdir(), 'ops-test-synth-'));
  process.env[SYNTH_CACHE_DIR_VAR] = synthCache;
  await ensurePythonEnv();
  return () => {
    rmSync(synthCache, { recursive: true, force: true });
    const ledger = readIamLedger(IAM_LEDGER_DIR);
    const sum = (key: 'evaluated' | 'allowed' | 'denied' | 'rig') =>
      ledger.reduce((total, entry) => total + entry.stats[key], 0);
    process.stdout.write(
      `IAM on the rig: ${sum('evaluated')} calls made as a role, every one evaluated (${sum('allowed')} allowed, ${sum('denied')} denied); ${sum('rig')} calls by the rig itself; ${ledger.length} ledgers (test files and the processes they started)\n`,
    );
  };
}
