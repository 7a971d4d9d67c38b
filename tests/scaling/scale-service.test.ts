// The scale-service workflow on the emulator, from its synthesized definition: every
// acceptance point of issue 6 (the same scenarios run with 20% throttling in scale-service-faults).
import { describe, it } from 'vitest';
import * as scenario from './scenarios.ts';
import { useScalingWorld } from './world.ts';

describe('scale-service workflow', () => {
  const { world } = useScalingWorld();

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
});
