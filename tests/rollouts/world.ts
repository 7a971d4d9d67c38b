// One rollout world per test file: a private emulator behind a counting fault proxy, the control
// plane deployed from the synthesized template, the seeded `web/api` service (EXTERNAL deployment
// controller, blue task set primary behind web-blue, listener 100/0 over web-blue and web-green),
// and a test listener on 8080 whose rule forwards to green, as infra/application/load-balancer.ts makes it.
import { beforeAll } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
import { addTestListener } from '../../local/rollouts.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { answersMayBeLost, type FaultProxyHandle, useEmulator, useFaultProxy } from '../support/emulator.ts';

export interface RolloutWorld {
  stack: DeployedStack;
  seed: Seed;
  /** The test listener and its rule (blue 0 / green 100 when created). */
  testListener: { listenerArn: string; ruleArn: string };
  /** Calls of one operation that reached the emulator so far, e.g. `elasticloadbalancing:ModifyListener`. */
  calls(operation: string): number;
  /** The fault proxy's throttle rate in this file (0 when clean). */
  throttleRate: number;
  /** The proxy loses or holds answers: a retried call may be applied twice (an alert raised twice). */
  answersMayBeLost: boolean;
}

export function useRolloutWorld(opts: { throttleRate?: number; faults?: Partial<FaultSettings> } = {}): {
  world: RolloutWorld;
  proxy: FaultProxyHandle;
} {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0, seed: 55 });
  const world = {
    throttleRate: opts.throttleRate ?? opts.faults?.throttleRate ?? 0,
    answersMayBeLost: answersMayBeLost(opts.faults),
  } as RolloutWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane();
    // Twelve instances leave room for the tasks of every green the scenarios create.
    world.seed = await seed(world.stack, { instances: 12, spotFraction: 0.5 });
    world.testListener = await addTestListener(world.seed);
    // Calls the code made (an SDK retry of one call counts once), that reached the emulator.
    world.calls = (op) => proxy.stats().appliedCallsByOperation?.[op] ?? 0;
    // The proxy's endpoint is set by now; moto has no percentile statistics (see local/rollouts.ts).
    installPercentileStandIn();
    // Faults start after setup: the rollouts are under test, not the seeding.
    if (opts.throttleRate) proxy.setFaults({ throttleRate: opts.throttleRate });
    if (opts.faults) proxy.setFaults(opts.faults);
    proxy.resetStats();
  });
  return { world, proxy };
}
