// The same scenarios with the emulator behind the fault proxy: one request in five is
// throttled and one in twenty answered with a 5xx (neither reaches the emulator), every call delayed
// by up to 5 ms. Every scenario asserts exact end states, so
// passing here means the same end states as in scale-service.test.ts.
import { describe, expect, it } from 'vitest';
import { RELIABILITY_FAULTS } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';
import { useScalingWorld } from './world.ts';

describe('scale-service workflow with 20% throttling, 5% 5xx and latency', () => {
  const { world, proxy } = useScalingWorld({ faults: RELIABILITY_FAULTS });

  it('scales within the guardrails and alerts from what to what and why', () =>
    scenario.manualScaleWithinGuardrails(world));
  it('clamps a request past the maximum (web/api) or refuses it (web/worker), saying why', () =>
    scenario.pastMaxIsClampedOrRefusedAsConfigured(world));
  it('does nothing for a second request inside the cooldown and says until when', () =>
    scenario.secondRequestInsideCooldownDoesNothingAndSaysUntilWhen(world));
  it('refuses scale-in while a rollout holds the lock; scale-out succeeds', () =>
    scenario.scaleInRefusedDuringRolloutScaleOutAllowed(world));
  it('changes nothing on a dry run and returns the plan', () =>
    scenario.dryRunChangesNothingAndReturnsThePlan(world));
  it('rejects bad input in the first state, naming the field, changing nothing', () =>
    scenario.badInputNamesTheFieldAndChangesNothing(world));
  it('raises the minimum from a scheduled run, once per scheduled time', () =>
    scenario.scheduledRaiseOfTheMinimumRunsOnce(world));
  it('scales out once for an alarm state change delivered twice', () =>
    scenario.alarmEventScalesOutOnceWhenDeliveredTwice(world));
  it('raises the Auto Scaling group first when new tasks would not fit on EC2; nothing on Fargate', () =>
    scenario.scaleOutThatWouldNotFitRaisesTheAutoScalingGroupFirst(world));
  it('really injected faults', () => {
    const stats = proxy.stats();
    expect(stats.throttled).toBeGreaterThan(0.1 * stats.total);
    expect(stats.serverErrors).toBeGreaterThan(0.01 * stats.total);
  });
});
