import { beforeAll, describe, it } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import { seed } from '../../local/seed.ts';
import { spotHarness } from '../../local/spot-harness.ts';
import { useEmulator, useFaultProxy } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';

describe('spot interruption handling on the emulator', () => {
  useEmulator();
  // No faults here: the proxy only counts the calls that reach the emulator.
  const proxy = useFaultProxy({ throttleRate: 0 });
  const world = {} as scenario.SpotWorld;

  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: 40, spotFraction: 0.75 });
    world.harness = await spotHarness(world.stack);
    world.calls = (op) => proxy.stats().forwardedByOperation?.[op] ?? 0;
  });

  it('drains exactly the instance named by the AWS sample warning', () =>
    scenario.sampleWarningDrainsExactlyThatInstance(world));
  it('treats duplicates and warning-after-rebalance as one action and one alert', () =>
    scenario.duplicatesAreOneAction(world));
  it('changes nothing for unmanaged or already draining instances', () =>
    scenario.unmanagedAndAlreadyDrainingChangeNothing(world));
  it('rejects a malformed event by field name and dead-letters it', () =>
    scenario.malformedEventNamesFieldAndEndsInDlq(world));
  it('batches a storm of 20 into one alert and two drain calls', () =>
    scenario.stormIsBatchedIntoOneAlert(world, 20));
});
