// What `ops seed` (or the tour, npm start) made in the emulator, kept in .ops/local.json so later
// commands (invoke, run, alerts, journal) in other processes find the same resources.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resetClients } from '../functions/shared/clients.ts';
import type { DeployedStack } from '../local/deploy.ts';
import { emulatorStatus, localAwsEnv } from '../local/emulator.ts';
import { registerDeployment } from '../local/iam-enforcement.ts';
import { installPercentileStandIn } from '../local/percentile-stand-in.ts';
import { REPO_ROOT } from '../local/python-env.ts';
import type { Seed } from '../local/seed.ts';
import { useStepFunctionsEndpoint } from '../local/step-functions-endpoint.ts';

/** Where the CLI keeps its local state (the emulator daemon's pid and endpoint, what was seeded). */
export const STATE_DIR = process.env.OPS_STATE_DIR ?? join(REPO_ROOT, '.ops');
const STATE_FILE = join(STATE_DIR, 'local.json');

export interface LocalState {
  endpoint: string;
  seededAt: string;
  stack: DeployedStack;
  seed: Seed;
}

export function saveLocalState(state: LocalState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

export class NextStepError extends Error {
  override readonly name = 'NotReady';
}

/** The seeded world, with this process pointed at its emulator. */
export async function loadLocalState(): Promise<LocalState> {
  const status = await emulatorStatus({ stateDir: STATE_DIR });
  if (!status.running || !status.endpoint) {
    throw new NextStepError(
      'the local emulator is not running: run `ops emulator start` and `ops seed` first',
    );
  }
  if (!existsSync(STATE_FILE)) throw new NextStepError('nothing is seeded yet: run `ops seed` first');
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LocalState;
  if (state.endpoint !== status.endpoint) {
    throw new NextStepError(`the emulator was restarted since the last seed: run \`ops seed\` again`);
  }
  await pointAt(state.endpoint);
  // Any workflow run here may reach rollout analysis, whose percentiles moto cannot compute.
  installPercentileStandIn();
  // This process runs the stack's functions and workflows too: as their roles, evaluated.
  registerDeployment(state.stack.iam);
  return state;
}

/** Points this process's SDK at the emulator, and Step Functions at this process's rig endpoint. */
export async function pointAt(endpoint: string): Promise<void> {
  Object.assign(process.env, localAwsEnv(endpoint));
  for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete process.env[key];
  await useStepFunctionsEndpoint(endpoint);
  resetClients();
}
