// The acceptance storm: 100 interruption warnings in a 500-instance cluster.
import { beforeAll, describe, it } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import { seed } from '../../local/seed.ts';
import { spotHarness } from '../../local/spot-harness.ts';
import { useEmulator, useFaultProxy } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';

describe('a 100-instance storm in a 500-instance cluster', () => {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0 });
  const world = {} as scenario.SpotWorld;

  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: 500, spotFraction: 0.5 });
    world.harness = await spotHarness(world.stack);
    world.calls = (op) => proxy.stats().forwardedByOperation?.[op] ?? 0;
  });

  it('drains all 100 with ten drain calls and publishes one grouped alert', () =>
    scenario.stormIsBatchedIntoOneAlert(world, 100));

  it('does the same with 20% of calls throttled', async () => {
    proxy.setFaults({ throttleRate: 0.2 });
    await scenario.stormIsBatchedIntoOneAlert(world, 100);
  });
});
