// The rollout's rules on their own (functions/rollout-step/rules.ts): the next step, what a gate's
// answer or timeout decides, what an answer inside the rollback window decides.
import { describe, expect, it } from 'vitest';
import type { RolloutPlan, RolloutState } from '../../events/rollout-state.ts';
import {
  abortReason,
  gateEpisode,
  gateOutcome,
  nextStep,
  windowAnswerOutcome,
  windowFailure,
} from '../../functions/rollout-step/rules.ts';

type Gate = NonNullable<RolloutState['gate']>;
const gate = (patch: Partial<Gate> = {}): Gate => ({
  kind: 'before-traffic',
  timeoutSeconds: 3600,
  defaultAction: 'reject',
  ...patch,
});

describe('rollout rules', () => {
  it('moves to the next step of the plan, and says when there is none', () => {
    const plan = {
      steps: [
        { weight: 10, bakeSeconds: 60 },
        { weight: 100, bakeSeconds: 0 },
      ],
    } as RolloutPlan;
    const progress = { index: -1, weight: 0, bakeSeconds: 0, last: false };
    expect(nextStep(plan, progress)).toEqual({ index: 0, step: { weight: 10, bakeSeconds: 60 } });
    expect(nextStep(plan, { ...progress, index: 0 })).toMatchObject({ index: 1, step: { weight: 100 } });
    expect(nextStep(plan, { ...progress, index: 1 })).toEqual({ problem: 'no step 3 in a plan of 2' });
  });

  it('reports an abort by who asked and why', () => {
    expect(abortReason({ by: 'alice' })).toBe('aborted by alice');
    expect(abortReason({ by: 'alice', reason: 'bad deploy' })).toBe('aborted by alice: bad deploy');
  });

  it('continues on an approval, and stops on anything else with the cause that says who decided', () => {
    expect(gateOutcome(gate(), { decision: 'approve', by: 'alice' }, false)).toEqual({
      decision: 'approve',
      by: 'alice',
      outcome: { decision: 'approve', by: 'alice', timedOut: false },
    });
    expect(gateOutcome(gate(), { decision: 'reject', by: 'bob', reason: 'errors' }, false)).toMatchObject({
      outcome: { decision: 'reject', by: 'bob' },
      stop: {
        cause: 'approval-rejected',
        reason: 'bob rejected the rollout at the before-traffic gate: errors',
      },
    });
    expect(gateOutcome(gate(), { decision: 'rollback', by: 'bob' }, false).outcome.decision).toBe('reject');
    expect(
      gateOutcome(gate({ kind: 'inconclusive' }), { decision: 'abort', by: 'carol' }, false).stop,
    ).toEqual({
      cause: 'abort',
      reason: 'aborted by carol at the inconclusive gate',
    });
  });

  it('names each gate of a rollout apart, so the router sends every one', () => {
    const at = (weight: number) =>
      ({ progress: { index: 0, weight, bakeSeconds: 0, last: false } }) as RolloutState;
    expect(gateEpisode(at(0), 'before-traffic')).toBe('before-traffic@0%');
    const gates = [gateEpisode(at(10), 'inconclusive'), gateEpisode(at(50), 'inconclusive')];
    expect(new Set([...gates, gateEpisode(at(100), 'before-finalize')]).size).toBe(3);
  });

  it('takes the default action on a timeout: a rollback by default, a continue only when configured', () => {
    const rejected = gateOutcome(gate(), undefined, true);
    expect(rejected.by).toBe('timeout after 3600s (default: reject)');
    expect(rejected.stop).toEqual({
      cause: 'approval-timeout',
      reason: 'the before-traffic gate timed out after 3600s; default action: reject',
    });
    const approved = gateOutcome(gate({ defaultAction: 'approve' }), undefined, true);
    expect(approved.stop).toBeUndefined();
    expect(approved.outcome).toEqual({
      decision: 'approve',
      by: 'timeout after 3600s (default: approve)',
      timedOut: true,
    });
  });

  it('reverts or aborts on an answer inside the rollback window, and finalizes without one', () => {
    expect(windowAnswerOutcome(undefined)).toBeUndefined();
    expect(windowAnswerOutcome({ decision: 'approve', by: 'alice' })).toBeUndefined();
    expect(windowAnswerOutcome({ decision: 'rollback', by: 'alice', reason: '5xx' })).toEqual({
      outcome: { decision: 'revert', by: 'alice', timedOut: false },
      stop: { cause: 'operator-rollback', reason: 'alice rolled back inside the rollback window: 5xx' },
    });
    expect(windowAnswerOutcome({ decision: 'abort', by: 'bob' })?.stop).toEqual({
      cause: 'abort',
      reason: 'bob aborted inside the rollback window',
    });
  });

  it('tells a window that never opened from one that timed out as it should', () => {
    expect(windowFailure(undefined)).toBeUndefined();
    expect(windowFailure({ Error: 'States.Timeout' })).toBeUndefined();
    expect(windowFailure({ Error: 'States.HeartbeatTimeout' })).toBeUndefined();
    expect(
      windowFailure({ Error: 'Lambda.ServiceException', Cause: JSON.stringify({ errorMessage: 'boom' }) }),
    ).toBe('Lambda.ServiceException: boom');
  });
});
