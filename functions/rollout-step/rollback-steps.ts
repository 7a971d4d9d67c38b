// The way back: blue restored, green removed, and the rollout recorded as rolled back, frozen,
// or failed to roll back.
import type { RolloutState } from '../../events/rollout-state.ts';
import { iso } from '../shared/clock.ts';
import { alert, describeVerdict, journal } from '../shared/rollouts/notify.ts';
import { updateRolloutRecord } from '../shared/rollouts/record.ts';
import { setWeights } from '../shared/rollouts/traffic.ts';
import { releaseServiceLock } from '../shared/service-lock.ts';
import { removeGreen } from './service.ts';
import { causeText, recordKey, type StepDeps, setPhase, stepText, stopFromFailure } from './step-deps.ts';

// ------------------------------------------------------------------------------------------
// Going back: traffic first (read back), then green, then the record, lock and alert.

export async function restoreBlue(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  await setPhase(deps, plan, 'rolling-back');
  const after = await setWeights(deps.elb, state.topology, 0);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { weights: after },
  });
  await journal(
    deps,
    plan,
    'restore-blue',
    'changed',
    `100% of traffic back on blue (read back from the ${state.topology.route.kind}): ${stop.reason}`,
    {
      before: { blue: 100 - state.progress.weight, green: state.progress.weight },
      after,
    },
  );
  return { ...state, stop };
}

export async function removeGreenStep(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  const removed = await removeGreen(deps.ecs, {
    cluster: plan.cluster,
    service: plan.service,
    rolloutId: plan.id,
    blueTaskSetArn: state.blue.taskSetArn,
    ...(state.green?.taskSetArn ? { greenTaskSetArn: state.green.taskSetArn } : {}),
  });
  await journal(
    deps,
    plan,
    'remove-green',
    removed.deleted ? 'changed' : 'unchanged',
    removed.deleted
      ? `deleted green task set${removed.primaryRestored ? ' after making blue primary again' : ''}`
      : 'no green task set to delete',
    { before: { greenTaskSet: removed.deleted }, after: { primaryTaskSet: state.blue.taskSetArn } },
  );
  return { ...state, stop };
}

/** The rollout's record says it ended on blue, and why. */
export async function recordRolledBack(
  deps: StepDeps,
  plan: RolloutState['rollout'],
  outcome: string,
  remove: ('gate' | 'answer')[] = [],
): Promise<void> {
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'rolled-back',
      finishedAt: iso(deps.clock.now()),
      outcome,
      weights: { blue: 100, green: 0 },
    },
    ...(remove.length > 0 ? { remove } : {}),
  });
}

export async function rolledBack(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  await recordRolledBack(deps, plan, `rolled back: ${stop.reason}`, ['gate', 'answer']);
  const numbers =
    state.verdict && state.verdict.verdict !== 'pass' ? describeVerdict(state.verdict) : undefined;
  await journal(deps, plan, 'rollout-rolled-back', 'changed', `rolled back (${stop.cause}): ${stop.reason}`, {
    after: { weights: { blue: 100, green: 0 }, primaryTaskSet: state.blue.taskSetArn },
    details: { stop, verdict: state.verdict },
  });
  await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  const byOperator =
    stop.cause === 'operator-rollback' || stop.cause === 'approval-rejected' || stop.cause === 'abort';
  await alert(deps, plan, {
    severity: byOperator ? 'warning' : 'critical',
    kind: 'rollout-rolled-back',
    title: `Rollout of ${plan.cluster}/${plan.service} rolled back (${stop.cause})`,
    summary: numbers ? `${stop.reason}. ${numbers}` : stop.reason,
    whatHappened: `${plan.image ?? plan.taskDefinition} was ${stepText(state)} when the rollout stopped: ${stop.reason}.`,
    whatWeDid:
      'Put 100% of traffic back on blue (read back from the load balancer), removed green, released the service lock.',
    nextSteps: [
      'ops journal shows every step and verdict of this rollout',
      `Fix and roll out again: ops rollout --service ${plan.service} --image <fixed image>`,
    ],
  });
  return { ...state, stop };
}

export async function freeze(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'frozen', finishedAt: iso(deps.clock.now()), outcome: `frozen: ${stop.reason}` },
    remove: ['gate', 'answer'],
  });
  await journal(
    deps,
    plan,
    'rollout-frozen',
    'unchanged',
    `onFailure=freeze: left traffic at ${state.progress.weight}% green and both task sets in place: ${stop.reason}`,
    {
      details: { stop, verdict: state.verdict },
    },
  );
  await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  await alert(deps, plan, {
    severity: 'critical',
    kind: 'rollout-frozen',
    title: `Rollout of ${plan.cluster}/${plan.service} frozen at ${state.progress.weight}% green`,
    summary: `${stop.reason}${state.verdict && state.verdict.verdict !== 'pass' ? `. ${describeVerdict(state.verdict)}` : ''}`,
    whatHappened: `The rollout failed (${stop.cause}) and was started with onFailure=freeze: it must not go back on its own.`,
    whatWeDid: 'Changed nothing: weights and both task sets stay as they are. Released the service lock.',
    nextSteps: [
      'Decide: fix forward with a new ops rollout, or move traffic by hand',
      'ops journal shows what happened at every step',
    ],
  });
  return { ...state, stop };
}

/** The rollback itself kept failing: release the lock no matter what and page someone. */
export async function rollbackFailed(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  const rollbackError = state.rollbackError;
  const why = rollbackError ? `${rollbackError.Error}: ${causeText(rollbackError.Cause)}` : 'unknown error';
  const released = await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  // Evidence is best effort from here on: the lock is what must not stay behind.
  const attempts = [
    updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
      set: {
        phase: 'rollback-failed',
        finishedAt: iso(deps.clock.now()),
        outcome: `rollback failed: ${why}`,
      },
    }),
    journal(deps, plan, 'rollback-failed', 'failed', `rolling back after "${stop.reason}" failed: ${why}`, {
      details: { released },
    }),
    alert(deps, plan, {
      severity: 'critical',
      kind: 'rollout-rollback-failed',
      title: `Rollout of ${plan.cluster}/${plan.service}: ROLLBACK FAILED`,
      summary: `Going back to blue after "${stop.reason}" failed after retries: ${why}`,
      whatHappened: `The rollout stopped (${stop.cause}) and the automatic rollback could not finish.`,
      whatWeDid: 'Released the service lock. Traffic may still reach green.',
      nextSteps: [
        `Check the listener: blue ${state.topology.blueTargetGroupArn} must have weight 100`,
        `Delete green task set ${state.green?.taskSetArn ?? '(see ops journal)'} once traffic is on blue`,
      ],
    }),
  ];
  await Promise.allSettled(attempts);
  return { ...state, stop: { ...stop, reason: `${stop.reason}; rollback failed: ${why}` } };
}
