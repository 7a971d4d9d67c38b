// Runs once before any test worker starts: workers then find the Python venv ready
// instead of racing to install it (the install is locked anyway, but waits cost time).
// It also starts the run's IAM ledger afresh, and sums it up at the end, and starts one emulator
// per worker slot, which each file in that slot resets and reuses (tests/support/emulator.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { SYNTH_CACHE_DIR_VAR } from '../../local/control-plane.ts';
import { startEmulator } from '../../local/emulator.ts';
import { clearIamLedger, IAM_LEDGER_DIR_VAR, readIamLedger } from '../../local/iam-enforcement.ts';
import { ensurePythonEnv, REPO_ROOT } from '../../local/python-env.ts';

/** Where each test file's process leaves its IAM counters and exercised grants. */
export const IAM_LEDGER_DIR = join(REPO_ROOT, '.iam-ledger');

/**
 * The emulators of the worker slots, by slot (VITEST_POOL_ID, 1 to maxWorkers), space-separated:
 * files run one at a time in a slot, so a file that resets its slot's emulator has it to itself.
 */
export const SLOT_EMULATORS_VAR = 'OPS_TEST_SLOT_EMULATORS';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  clearIamLedger(IAM_LEDGER_DIR);
  // Test workers and the processes they start (ops ...) all leave their ledger there.
  process.env[IAM_LEDGER_DIR_VAR] = IAM_LEDGER_DIR;
  // One synthesis of each control-plane variant per run, shared by every worker.
  const synthCache = mkdtempSync(join(tmpdir(), 'ops-test-synth-'));
  process.env[SYNTH_CACHE_DIR_VAR] = synthCache;
  await ensurePythonEnv();
  // Starting moto costs a file about a second of wall time and more of CPU (its imports); a reset
  // between files costs a tenth of that.
  const emulators = await Promise.all(
    Array.from({ length: Math.max(1, project.config.maxWorkers) }, () => startEmulator()),
  );
  process.env[SLOT_EMULATORS_VAR] = emulators.map((e) => e.endpoint).join(' ');
  return async () => {
    await Promise.all(emulators.map((e) => e.stop()));
    rmSync(synthCache, { recursive: true, force: true });
    const ledger = readIamLedger(IAM_LEDGER_DIR);
    const sum = (key: 'evaluated' | 'allowed' | 'denied' | 'rig') =>
      ledger.reduce((total, entry) => total + entry.stats[key], 0);
    process.stdout.write(
      `IAM on the rig: ${sum('evaluated')} calls made as a role, every one evaluated (${sum('allowed')} allowed, ${sum('denied')} denied); ${sum('rig')} calls by the rig itself; ${ledger.length} ledgers (test files and the processes they started)\n`,
    );
  };
}
