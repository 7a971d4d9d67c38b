// The same scenarios with the emulator behind the fault proxy: one request in five is
// throttled (and never reaches the emulator). End states must be identical.
import { describe, expect, it } from 'vitest';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('spot interruption handling with 20% throttling', () => {
  const { world, proxy } = useSpotWorld({ instances: 40, spotFraction: 0.75, throttleRate: 0.2 });

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
