// What `ops emulator start && ops seed` leave behind, in a test file's own state dir: for the
// tests that run `ops` commands in-process (reports, game days) on a seeded world. The state dir
// is set when this is called, before cli/local-state.ts is first imported (it reads it then).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { startEmulatorDaemon, stopEmulatorDaemon } from '../../local/emulator.ts';
import { type Seed, seed } from '../../local/seed.ts';

export interface SeededDaemon {
  /** Where the file's pages and files go (kept with OPS_REPORT_KEEP=1). */
  readonly work: string;
  endpoint: string;
  stack: DeployedStack;
  world: Seed;
}

export function useSeededDaemon(
  name: string,
  opts: { instances: number; spotFraction: number },
): SeededDaemon {
  const stateDir = mkdtempSync(join(tmpdir(), `ops-${name}-`));
  process.env.OPS_STATE_DIR = stateDir;
  const daemon = { work: mkdtempSync(join(tmpdir(), `ops-${name}-out-`)) } as SeededDaemon;
  beforeAll(async () => {
    const started = await startEmulatorDaemon({ stateDir });
    const state = await import('../../cli/local-state.ts');
    await state.pointAt(started.endpoint);
    daemon.endpoint = started.endpoint;
    daemon.stack = await deployControlPlane();
    daemon.world = await seed(daemon.stack, opts);
    state.saveLocalState({
      endpoint: started.endpoint,
      seededAt: new Date().toISOString(),
      stack: daemon.stack,
      seed: daemon.world,
    });
  }, 300_000);
  afterAll(async () => {
    await stopEmulatorDaemon({ stateDir });
    rmSync(stateDir, { recursive: true, force: true });
    if (process.env.OPS_REPORT_KEEP) console.log(`${name}: pages and screenshots kept in ${daemon.work}`);
    else rmSync(daemon.work, { recursive: true, force: true });
  });
  return daemon;
}
