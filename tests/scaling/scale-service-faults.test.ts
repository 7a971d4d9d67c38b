// The same scenarios behind the fault proxy with AMBIGUOUS_FAULTS: 20% of calls refused
// (throttled or a 5xx, never applied) and 5% ambiguous (applied, then the answer lost or held
// past the SDK's timeout). Every scenario asserts exact end states, so passing here means the
// same end states as the clean run: no second action, no lost answer, no refused retry.
import { describe, it } from 'vitest';
import { AMBIGUOUS_FAULTS, expectFaultsInjected } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';
import { useScalingWorld } from './world.ts';

describe('scale-service workflow with 20% refused and 5% ambiguous faults', () => {
  const { world, proxy } = useScalingWorld({ faults: AMBIGUOUS_FAULTS });

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
  it('really injected refused and ambiguous faults', () => expectFaultsInjected(proxy.stats()));
});
