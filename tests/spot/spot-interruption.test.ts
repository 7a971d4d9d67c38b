import { describe, it } from 'vitest';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('spot interruption handling on the emulator', () => {
  // No faults here: the proxy only counts the calls that reach the emulator.
  const { world } = useSpotWorld({ instances: 40, spotFraction: 0.75 });

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
