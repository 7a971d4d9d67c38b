// The same scenarios with the emulator behind the fault proxy: one request in five is
// throttled and one in twenty answered with a 5xx (neither reaches the emulator), every call delayed
// by up to 5 ms. End states must be identical.
import { describe, expect, it } from 'vitest';
import { RELIABILITY_FAULTS } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('spot interruption handling with 20% throttling, 5% 5xx and latency', () => {
  const { world, proxy } = useSpotWorld({
    instances: 40,
    spotFraction: 0.75,
    faults: RELIABILITY_FAULTS,
    extraClusters: scenario.EXTRA_CLUSTERS,
  });

  it('drains exactly the instance named by the AWS sample warning', () =>
    scenario.sampleWarningDrainsExactlyThatInstance(world));
  it('treats duplicates and warning-after-rebalance as one action and one alert', () =>
    scenario.duplicatesAreOneAction(world));
  it('changes nothing for unmanaged or already draining instances', () =>
    scenario.unmanagedAndAlreadyDrainingChangeNothing(world));
  it('rejects a malformed event by field name and dead-letters it', () =>
    scenario.malformedEventNamesFieldAndEndsInDlq(world));
  it('batches a storm of 20 into one alert and two drain calls, replaced from on-demand', () =>
    scenario.stormIsBatchedIntoOneAlert(world, 20));
  it('replaces from the spot group up to SPOT_FALLBACK_THRESHOLD and from on-demand past it', () =>
    scenario.fallbackFollowsTheInterruptionRate(world));
  it('drains at once on a rebalance recommendation in a cluster in drain mode', () =>
    scenario.rebalanceInDrainModeDrainsAtOnce(world));
  it('only records and announces a rebalance recommendation in a cluster in observe mode', () =>
    scenario.rebalanceInObserveModeOnlyRecords(world));
  it('records and announces a Fargate Spot interruption once, however often it is delivered', () =>
    scenario.fargateSpotTaskIsAnnouncedOnce(world));
  it('really injected faults', () => {
    const stats = proxy.stats();
    expect(stats.throttled).toBeGreaterThan(0.1 * stats.total);
    expect(stats.serverErrors).toBeGreaterThan(0.01 * stats.total);
  });
});
