// The same scenarios with the emulator behind the fault proxy: one request in five is
// throttled (and never reaches the emulator). End states must be identical.
import { beforeAll, describe, expect, it } from 'vitest';
import { deployControlPlane } from '../../local/control-plane.ts';
import { seed } from '../../local/seed.ts';
import { spotHarness } from '../../local/spot-harness.ts';
import { useEmulator, useFaultProxy } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';

describe('spot interruption handling with 20% throttling', () => {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0, seed: 20 });
  const world = {} as scenario.SpotWorld;

  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: 40, spotFraction: 0.75 });
    world.harness = await spotHarness(world.stack);
    world.calls = (op) => proxy.stats().forwardedByOperation?.[op] ?? 0;
    // Faults start after setup: the scenarios are under test, not the seeding.
    proxy.setFaults({ throttleRate: 0.2 });
    proxy.resetStats();
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
  it('really injected faults', () => {
    const stats = proxy.stats();
    expect(stats.throttled).toBeGreaterThan(0.1 * stats.total);
  });
});
