// One world per reliability test file that drives web/api through several capabilities: a private
// emulator, the control plane deployed from the synthesized template, the seeded cluster with the
// `web/api` service (EXTERNAL deployment controller, blue primary behind web-blue, listener
// 100/0) and a test listener as infra/application/load-balancer.ts makes it. The emulator never gives back
// the container instance resources of deleted task sets, so a file that creates many greens
// seeds more instances than tests/rollouts/world.ts does.
import { beforeAll } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
import { addTestListener } from '../../local/rollouts.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { useEmulator, useFaultProxy } from '../support/emulator.ts';

export interface ServiceWorld {
  stack: DeployedStack;
  seed: Seed;
  testListener: { listenerArn: string; ruleArn: string };
}

export function useServiceWorld(opts: {
  instances: number;
  spotFraction?: number;
  /** Faults of the proxy in front of the emulator, from the end of setup on. */
  faults?: Partial<FaultSettings>;
}): ServiceWorld {
  useEmulator();
  const proxy = useFaultProxy();
  const world = {} as ServiceWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, {
      instances: opts.instances,
      spotFraction: opts.spotFraction ?? 0.5,
    });
    world.testListener = await addTestListener(world.seed);
    // moto has no percentile statistics (see local/rollouts.ts).
    installPercentileStandIn();
    // Faults start after setup: the races are under test, not the seeding.
    if (opts.faults) proxy.setFaults(opts.faults);
  });
  return world;
}
