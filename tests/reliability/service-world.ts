// One world per reliability test file that drives web/api through several capabilities: a private
// emulator, the control plane deployed from the synthesized template, the seeded cluster with the
// `web/api` service (EXTERNAL deployment controller, blue primary behind web-blue, listener
// 100/0) and a test listener as infra/load-balancer.ts makes it. The emulator never gives back
// the container instance resources of deleted task sets, so a file that creates many greens
// seeds more instances than tests/rollouts/world.ts does.
import { beforeAll } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { addTestListener, installPercentileStandIn } from '../../local/rollouts.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { useEmulator } from '../support/emulator.ts';

export interface ServiceWorld {
  stack: DeployedStack;
  seed: Seed;
  testListener: { listenerArn: string; ruleArn: string };
}

export function useServiceWorld(opts: { instances: number; spotFraction?: number }): ServiceWorld {
  useEmulator();
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
  });
  return world;
}
