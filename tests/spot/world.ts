// One spot world per test file: a private emulator behind a counting fault proxy, the control
// plane deployed from the synthesized template, a seeded cluster, and the queue's event source.
import { beforeAll } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import { seed } from '../../local/seed.ts';
import { spotHarness } from '../../local/spot-harness.ts';
import { type FaultProxyHandle, useEmulator, useFaultProxy } from '../support/emulator.ts';
import type { SpotWorld } from './scenarios.ts';

export function useSpotWorld(opts: { instances: number; spotFraction: number; throttleRate?: number }): {
  world: SpotWorld;
  proxy: FaultProxyHandle;
} {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0, seed: 20 });
  const world = {} as SpotWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: opts.instances, spotFraction: opts.spotFraction });
    world.harness = await spotHarness(world.stack);
    world.calls = (op) => proxy.stats().forwardedByOperation?.[op] ?? 0;
    // Faults start after setup: the scenarios are under test, not the seeding.
    if (opts.throttleRate) proxy.setFaults({ throttleRate: opts.throttleRate });
    proxy.resetStats();
  });
  return { world, proxy };
}
