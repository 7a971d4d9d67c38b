// The same scenarios behind the fault proxy with AMBIGUOUS_FAULTS: 20% of calls refused
// (throttled or a 5xx, never applied) and 5% ambiguous (applied, then the answer lost or held
// past the SDK's timeout). Every scenario asserts exact end states, so passing here means the
// same end states as the clean run: no second action, no lost answer, no refused retry.
import { describe, it } from 'vitest';
import { AMBIGUOUS_FAULTS, expectFaultsInjected } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('spot interruption handling with 20% refused and 5% ambiguous faults', () => {
  const { world, proxy } = useSpotWorld({
    instances: 40,
    spotFraction: 0.75,
    faults: AMBIGUOUS_FAULTS,
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
  it('really injected faults', () => expectFaultsInjected(proxy.stats()));
});
