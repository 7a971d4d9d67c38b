// The blue/green rollout scenarios (scenarios.ts), from the synthesized definition: run clean
// (rollouts.test.ts) and behind the fault proxy (rollouts-faults.test.ts). Every scenario asserts
// exact end states, so passing with faults means the same end states as the clean run: no second
// task set, no lost gate answer, no refused retry.
import { describe, expect, it } from 'vitest';
import { emfSum, takeEmf } from '../../local/emf.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { expectFaultsInjected } from '../support/emulator.ts';
import * as scenario from './scenarios.ts';
import { useRolloutWorld } from './world.ts';

export function describeRollouts(title: string, faults?: Partial<FaultSettings>): void {
  describe(title, () => {
    // Clean, the proxy only counts the calls that reach the emulator.
    const { world, proxy } = useRolloutWorld(faults ? { faults } : {});

    it('rejects bad input in the first state, naming the field, changing nothing', () =>
      scenario.badInputChangesNothing(world));
    it('canary reaches 100% green: 10 -> 100, blue gone after the termination wait', async () => {
      takeEmf();
      await scenario.strategyReachesGreen(
        world,
        'canary',
        { type: 'canary', percent: 10, bakeSeconds: 300 },
        [10, 100],
      );
      // The outcome metrics, as CloudWatch reads them from the functions' EMF lines (a step
      // retried after a lost answer may count twice: exact counts on the clean rig only).
      if (!faults) {
        const emf = takeEmf();
        expect(emfSum(emf, 'RolloutsStarted', 'rollout-step')).toBe(1);
        expect(emfSum(emf, 'RolloutsPromoted', 'rollout-step')).toBe(1);
        expect(emfSum(emf, 'RolloutsCompleted', 'rollout-step')).toBe(1);
        expect(emfSum(emf, 'RolloutsRolledBack', 'rollout-step')).toBe(0);
        expect(emfSum(emf, 'VerdictsPassed', 'rollout-analysis')).toBeGreaterThanOrEqual(1);
        expect(emf.filter((p) => p.name === 'RolloutDuration').flatMap((p) => p.values)).toHaveLength(1);
      }
    });
    it('linear reaches 100% green: 25 -> 50 -> 75 -> 100', () =>
      scenario.strategyReachesGreen(
        world,
        'linear',
        { type: 'linear', stepPercent: 25, intervalSeconds: 600 },
        [25, 50, 75, 100],
      ));
    it('explicit steps reach 100% green: 5 -> 30 -> 60 -> 100', () =>
      scenario.strategyReachesGreen(
        world,
        'steps',
        {
          type: 'steps',
          steps: [
            { weight: 5, bakeSeconds: 300 },
            { weight: 30, bakeSeconds: 300 },
            { weight: 60, bakeSeconds: 600 },
            { weight: 100, bakeSeconds: 0 },
          ],
        },
        [5, 30, 60, 100],
      ));
    it('all-at-once reaches 100% green in one step', () =>
      scenario.strategyReachesGreen(world, 'all-at-once', { type: 'all-at-once' }, [100]));
    it('rolls back on a high green 5xx rate: 100% blue read back, green deleted, lock free, one critical alert', async () => {
      takeEmf();
      await scenario.high5xxRollsBack(world);
      if (!faults) {
        const emf = takeEmf();
        expect(emfSum(emf, 'RolloutsRolledBack', 'rollout-step')).toBe(1);
        expect(emfSum(emf, 'RolloutsAborted', 'rollout-step')).toBe(0);
        expect(emfSum(emf, 'VerdictsFailed', 'rollout-analysis')).toBeGreaterThanOrEqual(1);
      }
    });
    it('waits for a green that takes time to stabilize and pass its health checks', () =>
      scenario.greenTakesTimeToBecomeReady(world));
    it('goes back to blue when green never passes its health checks, or its targets drain before it is steady', () =>
      scenario.greenNeverHealthyRollsBack(world));
    it('stops before the next shift when someone else changed the listener, and goes back to blue', () =>
      scenario.listenerDriftStopsTheRollout(world));
    it('rolls back when a configured alarm is in ALARM during the bake', () =>
      scenario.alarmDuringBakeRollsBack(world));
    it('rolls back when green is significantly worse than blue (Mann-Whitney), within thresholds', () =>
      scenario.worseThanBlueRollsBack(world));
    it('rolls back on a rejected approval, before any traffic', () =>
      scenario.rejectedApprovalRollsBack(world));
    it('takes the default action of a timed-out approval (approve, then reject)', () =>
      scenario.timedOutApprovalTakesDefault(world));
    it('decides a gate by the answer claimed on the record when its callback was lost, not by the default', () =>
      scenario.claimedAnswerSurvivesALostCallback(world));
    it('pauses an inconclusive verdict for a human, who approves', () =>
      scenario.inconclusivePausesForAHuman(world));
    it('freezes without rolling back when onFailure is freeze', () =>
      scenario.freezeStopsWithoutRollback(world));
    it('fails a second rollout of the same service fast, naming the running one', () =>
      scenario.concurrentRolloutFailsFast(world));
    it('ops rollback inside the window: one listener update and a read-back, then green is removed', () =>
      scenario.opsRollbackInsideTheWindow(world));
    it('ops rollback outside the window refuses with a clear message', () =>
      scenario.opsRollbackOutsideTheWindowRefuses(world));
    it('ops abort at a gate takes traffic off green at once and rolls back', async () => {
      takeEmf();
      await scenario.abortAtAGateRollsBack(world);
      if (!faults) expect(emfSum(takeEmf(), 'RolloutsAborted', 'rollout-step')).toBe(1);
    });
    it('an abort as green is promoted wins or loses on the record: here it wins, and the rollout goes back to blue', () =>
      scenario.abortAsGreenIsPromotedRollsBack(world));
    it('an abort overtaken by a rollout step in flight still stands: the rollout puts traffic back on blue', () =>
      scenario.abortOvertakenByAStepInFlight(world));
    it('an abort after promotion, before the window opens, is refused and changes nothing', () =>
      scenario.abortAfterPromotionIsRefused(world));
    it('points the test listener at green and runs the pre-traffic hook before any production traffic', () =>
      scenario.preTrafficHookPasses(world));
    it('rolls back before production traffic when the pre-traffic hook fails, throws or says nothing', () =>
      scenario.preTrafficHookFailureRollsBack(world));
    it('holds a failing verdict during a spot storm, bakes again, and goes on when it passes', () =>
      scenario.spotStormPausesThenResumes(world));
    it('holds for a spot storm at most maxPauseSeconds, then the verdict stands; disabled, it never holds', () =>
      scenario.spotStormPauseIsBounded(world));
    it('the documented command (docs/rollouts.md), naming no analysis, rolls a failing green back with the numbers in one critical alert', () =>
      scenario.readmeCommandRollsBackAFailingGreen(world));
    it("a console input naming only service and image gets the service's defaults", () =>
      scenario.consoleInputGetsServiceDefaults(world));
    it('an explicitly blind rollout runs, labelled in the journal, a warning alert and the record', () =>
      scenario.blindRolloutIsLabelled(world));
    it('no green data is not a pass: inconclusive by default, or fail or pass as configured', () =>
      scenario.noDataIsNotAPass(world));

    if (faults) it('really injected refused and ambiguous faults', () => expectFaultsInjected(proxy.stats()));
  });
}
