import { describe, expect, it } from 'vitest';
import { emfSum, takeEmf } from '../../local/emf.ts';
import * as batches from './batch-scenarios.ts';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('spot interruption handling on the emulator', () => {
  // No faults here: the proxy only counts the calls that reach the emulator.
  const { world, proxy } = useSpotWorld({
    instances: 40,
    spotFraction: 0.75,
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
  it('batches a storm of 20 into one alert and two drain calls, replaced from on-demand, with its outcome metrics', async () => {
    takeEmf();
    await scenario.stormIsBatchedIntoOneAlert(world, 20);
    // What CloudWatch reads from the function's EMF log lines.
    const emf = takeEmf();
    expect(emfSum(emf, 'InstancesDrained', 'spot-interruption')).toBe(20);
    const noticeToDrain = emf.filter((p) => p.name === 'NoticeToDrain').flatMap((p) => p.values);
    expect(noticeToDrain).toHaveLength(20);
    for (const ms of noticeToDrain) expect(ms).toBeGreaterThanOrEqual(0);
    expect(emfSum(emf, 'OnDemandFallbacks', 'spot-interruption')).toBeGreaterThan(0);
  });
  it('replaces from the spot group up to SPOT_FALLBACK_THRESHOLD and from on-demand past it', () =>
    scenario.fallbackFollowsTheInterruptionRate(world));
  it('drains at once on a rebalance recommendation in a cluster in drain mode', () =>
    scenario.rebalanceInDrainModeDrainsAtOnce(world));
  it('only records and announces a rebalance recommendation in a cluster in observe mode', () =>
    scenario.rebalanceInObserveModeOnlyRecords(world));
  it('records and announces a Fargate Spot interruption once, however often it is delivered', () =>
    scenario.fargateSpotTaskIsAnnouncedOnce(world));
  it('requests a replacement that failed again on redelivery, without a second drain or alert', () =>
    batches.failedReplacementIsRequestedOnRedelivery(world, (down) =>
      proxy.setFaults({ serverErrorRate: down ? 1 : 0, services: down ? ['autoscaling'] : undefined }),
    ));
  it('counts an interruption toward the fallback when its first delivery failed after the claim', () =>
    batches.interruptionCountedWhenItsFirstDeliveryFailed(world, (down) =>
      proxy.setFaults({
        serverErrorRate: down ? 1 : 0,
        operations: down ? ['dynamodb:UpdateItem'] : undefined,
      }),
    ));
});
