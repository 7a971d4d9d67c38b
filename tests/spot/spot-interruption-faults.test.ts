// The same scenarios behind the fault proxy with RELIABILITY_FAULTS: 20% of calls refused
// (throttled or a 5xx, never applied). Every scenario asserts exact end states, so passing here
// means the same end states as the clean run. (Ambiguous faults, applied calls whose answer is
// lost, do not run here yet: see the README's Testing section.)
import { describe, it } from 'vitest';
import { expectFaultsInjected, RELIABILITY_FAULTS } from '../support/emulator.ts';
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
  it('really injected faults', () => expectFaultsInjected(proxy.stats(), { ambiguous: false }));
});
