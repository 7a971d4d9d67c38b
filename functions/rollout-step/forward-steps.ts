// The way forward: test traffic and the pre-traffic hook, traffic shifts, approval gates,
// promotion, the rollback window and the finish.
import { UpdateServicePrimaryTaskSetCommand } from '@aws-sdk/client-ecs';
import { strategyText } from '../../events/rollout-input.ts';
import { GateAnswerSchema, type RolloutState } from '../../events/rollout-state.ts';
import { iso } from '../shared/clock.ts';
import { alert, journal } from '../shared/rollouts/notify.ts';
import { getRolloutRecord, updateRolloutRecord } from '../shared/rollouts/record.ts';
import { driftOf, ListenerDriftError, readWeights, setWeights } from '../shared/rollouts/traffic.ts';
import { releaseServiceLock } from '../shared/service-lock.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { hookName, hookRequest } from './pre-traffic.ts';
import {
  abortReason,
  gateEpisode,
  gateOutcome,
  gateQuestion,
  nextStep,
  windowAnswerOutcome,
  windowFailure,
} from './rules.ts';
import { PreconditionFailedError } from './service.ts';
import {
  abortRequest,
  causeText,
  RolloutAbortedError,
  recordKey,
  type StepDeps,
  setPhase,
} from './step-deps.ts';

// ------------------------------------------------------------------------------------------
// Before production traffic: test traffic on the test listener, then the pre-traffic hook.

/** Points the test listener at green (read back) if asked, and prepares what the hook is sent. */
export async function preTraffic(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const aborted = await abortRequest(deps, plan);
  if (aborted) throw new RolloutAbortedError(abortReason(aborted));
  await setPhase(deps, plan, 'pre-traffic');
  const test = state.topology.test;
  if (plan.preTraffic?.testTraffic) {
    if (!test) throw new PreconditionFailedError('test traffic was asked for, but no test route was found');
    const before = await readWeights(deps.elb, { ...state.topology, route: test.route });
    const after = await setWeights(
      deps.elb,
      { ...state.topology, route: test.route, stickiness: test.stickiness },
      100,
    );
    await journal(
      deps,
      plan,
      'test-traffic',
      'changed',
      `test listener (port ${test.port}) sends 100% to green, read back from the ${test.route.kind}; production traffic is still 100% blue; green answers at ${test.endpoint}`,
      { before, after, details: { route: test.route.arn, endpoint: test.endpoint } },
    );
  }
  const { preTraffic: _p, ...rest } = state;
  return { ...rest, preTraffic: { request: { ...hookRequest(state) } } };
}

/** Records the judge's verdict on the hook; a failed hook stops the rollout before any traffic. */
export async function preTrafficResult(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const arn = plan.preTraffic?.hookFunctionArn;
  if (!arn) throw new PreconditionFailedError('no pre-traffic hook to judge');
  const verdict = state.preTraffic?.verdict;
  if (!verdict) throw new PreconditionFailedError('the pre-traffic hook has no verdict');
  const reason = `pre-traffic hook ${hookName(arn)} ${verdict.finding}`;
  await journal(
    deps,
    plan,
    'pre-traffic-hook',
    verdict.status === 'passed' ? 'unchanged' : 'failed',
    reason,
    {
      details: { hook: arn, answer: verdict.answer, testTraffic: state.topology.test?.endpoint },
    },
  );
  const next: RolloutState = {
    ...state,
    preTraffic: { result: { status: verdict.status, reason, at: iso(deps.clock.now()) } },
  };
  return verdict.status === 'passed' ? next : { ...next, stop: { cause: 'pre-traffic-hook', reason } };
}

// ------------------------------------------------------------------------------------------
// Traffic steps.

export async function shift(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const next = nextStep(plan, state.progress);
  if ('problem' in next) throw new PreconditionFailedError(next.problem);
  const { index, step } = next;
  const aborted = await abortRequest(deps, plan);
  if (aborted) throw new RolloutAbortedError(abortReason(aborted));
  const before = { blue: 100 - state.progress.weight, green: state.progress.weight };
  // A route changed by someone else since the last step stops the rollout before it shifts.
  const drift = driftOf(await readWeights(deps.elb, state.topology), before, {
    blue: 100 - step.weight,
    green: step.weight,
  });
  if (drift) throw new ListenerDriftError(`before step ${index + 1}, ${drift}`);
  const after = await setWeights(deps.elb, state.topology, step.weight);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'baking', weights: after, step: { index, total: plan.steps.length } },
  });
  await journal(
    deps,
    plan,
    'shift-traffic',
    'changed',
    `step ${index + 1} of ${plan.steps.length}: ${step.weight}% to green, read back from the ${state.topology.route.kind}; bake ${step.bakeSeconds}s`,
    { before, after, details: { step: index, route: state.topology.route.arn } },
  );
  const { verdict: _v, outcome: _o, gate: _g, answer: _a, gateTimeout: _t, ...rest } = state;
  return {
    ...rest,
    progress: {
      index,
      weight: step.weight,
      bakeSeconds: step.bakeSeconds,
      bakeStartedAt: iso(deps.clock.now()),
      last: index === plan.steps.length - 1,
    },
  };
}

// ------------------------------------------------------------------------------------------
// Gates: the task waits for `ops approve|reject`, or times out into the default action.

export async function openGate(
  deps: StepDeps,
  state: RolloutState,
  token: string,
): Promise<{ opened: string }> {
  const plan = state.rollout;
  const gate = state.gate;
  if (!gate) throw new PreconditionFailedError('no gate to open');
  const now = deps.clock.now();
  const expiresAt = iso(now + gate.timeoutSeconds * 1000);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'gate',
      gate: { kind: gate.kind, token, openedAt: iso(now), expiresAt, defaultAction: gate.defaultAction },
    },
    remove: ['answer'],
  });
  const question = gateQuestion(state, gate.kind);
  await journal(
    deps,
    plan,
    'open-gate',
    'unchanged',
    `${gate.kind} gate waits for an answer until ${expiresAt} (then: ${gate.defaultAction})`,
    {
      details: { gate: gate.kind, verdict: state.verdict },
    },
  );
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'rollout-approval',
    episode: gateEpisode(state, gate.kind),
    title: `Rollout of ${plan.cluster}/${plan.service} waits for a decision (${gate.kind})`,
    summary: question,
    whatHappened: `The rollout ${plan.id} reached its ${gate.kind} gate.`,
    whatWeDid: `Paused. Without an answer by ${expiresAt} the rollout will ${gate.defaultAction === 'approve' ? 'continue' : 'roll back'}.`,
    nextSteps: [`ops approve ${plan.id}   (continue)`, `ops reject ${plan.id}    (roll back to blue)`],
    answers: 'approve-reject',
  });
  return { opened: gate.kind };
}

export async function closeGate(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const gate = state.gate;
  if (!gate) throw new PreconditionFailedError('no gate to close');
  let answer =
    state.answer === undefined ? undefined : parseOrThrow(GateAnswerSchema, state.answer, 'answer');
  if (answer === undefined) {
    // An operator's answer claimed on the record still decides the gate when its callback
    // never reached the task (lost, throttled, or sent as the gate timed out).
    const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
    if (record?.execution === plan.execution && record.phase === 'gate' && record.answer) {
      const { token: _token, ...claimed } = record.answer;
      answer = parseOrThrow(GateAnswerSchema, claimed, 'answer');
    }
  }
  const timedOut = state.gateTimeout !== undefined && answer === undefined;
  const { decision, by, outcome, stop } = gateOutcome(gate, answer, timedOut);
  const approved = stop === undefined;
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: approved ? 'shifting' : 'rolling-back' },
    remove: ['gate', 'answer'],
  });
  await journal(
    deps,
    plan,
    timedOut ? 'gate-timed-out' : 'gate-answered',
    'unchanged',
    `${gate.kind} gate: ${decision} by ${by}${answer?.reason ? ` (${answer.reason})` : ''}`,
    { details: { gate: gate.kind, decision, by, timedOut } },
  );
  const { answer: _a, gateTimeout: _t, ...rest } = state;
  return stop ? { ...rest, outcome, stop } : { ...rest, outcome };
}

// ------------------------------------------------------------------------------------------
// Promotion, the rollback window, the end.

export async function promote(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const green = state.green;
  if (!green?.taskSetArn) throw new PreconditionFailedError('green was not created');
  // Claimed on the record before green becomes primary: an abort that got there first wins and
  // the rollout goes back; one that comes later is refused, so nobody moves the listener away
  // from the new primary.
  const windowEndsAt = iso(deps.clock.now() + plan.rollbackWindowSeconds * 1000);
  const claimed = await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'finalizing', weights: { blue: 0, green: 100 }, windowEndsAt },
    condition: { expression: 'attribute_not_exists(#abort)', names: { '#abort': 'abortRequested' } },
  });
  if (!claimed) {
    const aborted = await abortRequest(deps, plan);
    if (aborted) throw new RolloutAbortedError(abortReason(aborted));
    throw new PreconditionFailedError(
      `the rollout record of ${plan.cluster}/${plan.service} belongs to another execution`,
    );
  }
  await deps.ecs.send(
    new UpdateServicePrimaryTaskSetCommand({
      cluster: plan.cluster,
      service: plan.service,
      primaryTaskSet: green.taskSetArn,
    }),
  );
  await journal(
    deps,
    plan,
    'promote',
    'changed',
    `green is primary at 100%; blue stays scaled up until ${windowEndsAt}`,
    {
      before: { primaryTaskSet: state.blue.taskSetArn },
      after: { primaryTaskSet: green.taskSetArn },
      details: { verdicts: state.verdict ? [state.verdict] : [] },
    },
  );
  const window = plan.rollbackWindowSeconds > 0;
  await alert(deps, plan, {
    severity: 'info',
    kind: 'rollout-promoted',
    title: `Rollout of ${plan.cluster}/${plan.service}: green is primary`,
    summary: `${plan.image ?? plan.taskDefinition} serves 100% of traffic.${window ? ` Blue stays ready until ${windowEndsAt}.` : ''}`,
    whatHappened: `Every step of ${strategyText(plan)} passed its analysis.`,
    whatWeDid: 'Made green the primary task set.',
    nextSteps: window
      ? [
          `ops rollback ${plan.cluster}/${plan.service} before ${windowEndsAt} flips traffic back to blue at once`,
        ]
      : [],
    ...(window ? { answers: 'rollback' as const } : {}),
  });
  return state;
}

export async function openWindow(
  deps: StepDeps,
  state: RolloutState,
  token: string,
): Promise<{ opened: string }> {
  const plan = state.rollout;
  const now = deps.clock.now();
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'window',
      windowEndsAt: iso(now + plan.rollbackWindowSeconds * 1000),
      gate: {
        kind: 'window',
        token,
        openedAt: iso(now),
        expiresAt: iso(now + plan.rollbackWindowSeconds * 1000),
        defaultAction: 'finalize',
      },
    },
    remove: ['answer'],
  });
  return { opened: 'window' };
}

/** End of the window: finalize, unless an operator rolled back inside it (they win the race or we do). */
export async function closeWindow(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const answer =
    state.answer === undefined ? undefined : parseOrThrow(GateAnswerSchema, state.answer, 'answer');
  const { answer: _a, gateTimeout: _t, ...rest } = state;
  const answered = windowAnswerOutcome(answer);
  if (answered) return { ...rest, ...answered };
  const claimed = await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'finalizing' },
    remove: ['gate'],
    condition: {
      expression: '#phase <> :reverting',
      names: { '#phase': 'phase' },
      values: { ':reverting': 'reverting' },
    },
  });
  if (!claimed) {
    const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
    if (record?.execution === plan.execution && record.phase === 'reverting') {
      // The operator claimed the rollback as the window closed; their read-back did not reach
      // us, so the way back starts with traffic again (the full rollback path).
      const by = record.answer?.by ?? 'an operator';
      return {
        ...rest,
        outcome: { decision: 'abort', by, timedOut: true },
        stop: { cause: 'operator-rollback', reason: `${by} rolled back as the rollback window closed` },
      };
    }
    throw new PreconditionFailedError(
      `the rollout record of ${plan.cluster}/${plan.service} belongs to another execution`,
    );
  }
  // The window task ends by timing out; anything else means it never opened (its step failed),
  // so nobody could roll back in it. The release still stands, but the journal must say so.
  const notOpened = windowFailure(state.gateTimeout);
  await journal(
    deps,
    plan,
    'close-rollback-window',
    notOpened ? 'failed' : 'unchanged',
    notOpened
      ? `the rollback window could not be opened (${notOpened}): no rollback was offered; blue is retired`
      : 'the rollback window closed without a rollback: blue is retired',
  );
  return { ...rest, outcome: { decision: 'finalize', by: 'window timeout', timedOut: true } };
}

export async function finish(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const cleanupFailed = state.failure
    ? `${state.failure.Error}: ${causeText(state.failure.Cause)}`
    : undefined;
  await resetTestTraffic(deps, state);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'finalized',
      finishedAt: iso(deps.clock.now()),
      outcome: cleanupFailed ? 'succeeded; blue not removed' : 'succeeded',
    },
    remove: ['gate', 'answer'],
  });
  await journal(
    deps,
    plan,
    'rollout-complete',
    cleanupFailed ? 'failed' : 'changed',
    cleanupFailed
      ? `green is primary; removing blue failed (${cleanupFailed})`
      : `green is primary; blue task set ${state.blue.taskSetArn} scaled to zero and deleted after ${plan.terminationWaitSeconds}s`,
    { before: { taskSet: state.blue.taskSetArn }, after: { taskSet: state.green?.taskSetArn } },
  );
  await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  await alert(deps, plan, {
    severity: cleanupFailed ? 'warning' : 'info',
    state: cleanupFailed ? 'firing' : 'resolved',
    kind: 'rollout-complete',
    title: `Rollout of ${plan.cluster}/${plan.service} complete`,
    summary: `${plan.image ?? plan.taskDefinition} serves all traffic.${cleanupFailed ? ` Blue could not be removed: ${cleanupFailed}` : ''}`,
    whatHappened: `${strategyText(plan)} passed; the rollback window closed.`,
    whatWeDid: cleanupFailed
      ? 'Released the service lock; blue was left in place.'
      : 'Retired blue and released the service lock.',
    nextSteps: cleanupFailed ? [`Delete task set ${state.blue.taskSetArn} once nothing needs it.`] : [],
  });
  const { failure: _f, ...rest } = state;
  return rest;
}

/**
 * After a promotion the test listener goes to the now idle group (blue's), where the next green
 * will be, as infra creates it. Best effort: it must not fail a good release.
 */
async function resetTestTraffic(deps: StepDeps, state: RolloutState): Promise<void> {
  const test = state.topology.test;
  if (!test) return;
  const plan = state.rollout;
  try {
    const after = await setWeights(
      deps.elb,
      { ...state.topology, route: test.route, stickiness: test.stickiness },
      0,
    );
    await journal(
      deps,
      plan,
      'test-traffic',
      'changed',
      `test listener (port ${test.port}) back on ${state.topology.blueTargetGroupArn}, now idle: the next rollout's green goes there`,
      { after, details: { route: test.route.arn } },
    );
  } catch (error) {
    await journal(
      deps,
      plan,
      'test-traffic',
      'failed',
      `could not point the test listener (port ${test.port}) back at the idle group: ${(error as Error).message}; the next rollout with test traffic sets it again`,
      { details: { route: test.route.arn } },
    );
  }
}
