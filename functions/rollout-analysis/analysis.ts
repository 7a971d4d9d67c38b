// The analysis step of the task-set controller: the verdict on one bake (judged in
// shared/rollouts/analysis/judge.ts, as the ECS lifecycle hook judges it), recorded, journaled and
// turned into the rollout's next move. An abort asked for since the bake started wins. A verdict
// that would fail while a spot storm is on holds the weight and bakes again instead (bounded in
// total): a storm's 5xx and alarms are the storm's, not green's.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { RolloutState, Stop, Verdict } from '../../events/rollout-state.ts';
import { iso } from '../shared/clock.ts';
import { judgeBake } from '../shared/rollouts/analysis/judge.ts';
import type { RolloutEnv } from '../shared/rollouts/config.ts';
import { alert, describeVerdict, type EvidenceDeps, journal } from '../shared/rollouts/notify.ts';
import { getRolloutRecord, updateRolloutRecord } from '../shared/rollouts/record.ts';
import { describeStorm, type StormSignal, spotStormSignal } from './spot-storm.ts';

export interface AnalysisDeps extends EvidenceDeps {
  cloudwatch: CloudWatchClient;
  env: RolloutEnv;
}

export async function analyseStep(deps: AnalysisDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const { analysis } = plan;
  const end = deps.clock.now();
  const start = Date.parse(state.progress.bakeStartedAt ?? iso(end));
  const base = {
    step: state.progress.index,
    weight: state.progress.weight,
    window: { start: iso(start), end: iso(end) },
    at: iso(end),
  };

  const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
  const abort = record?.execution === plan.execution ? record.abortRequested : undefined;
  if (abort) {
    const verdict: Verdict = {
      ...base,
      verdict: 'aborted',
      reasons: [`aborted by ${abort.by}`],
      alarms: [],
      comparisons: [],
    };
    return finish(deps, await endStormHold(deps, state, verdict), verdict, {
      cause: 'abort',
      reason: `aborted by ${abort.by}${abort.reason ? `: ${abort.reason}` : ''}`,
    });
  }

  const { verdict, cause } = await judgeBake(deps.cloudwatch, {
    analysis,
    step: state.progress.index,
    weight: state.progress.weight,
    bakeSeconds: state.progress.bakeSeconds,
    window: { startMs: start, endMs: end },
    targets: {
      loadBalancerArn: state.topology.loadBalancerArn,
      greenTargetGroupArn: state.topology.greenTargetGroupArn,
      blueTargetGroupArn: state.topology.blueTargetGroupArn,
    },
  });
  // Loaded only where services have SLOs: most cold starts never need it.
  const stopCause = deps.env.SERVICE_SLOS
    ? await (await import('./error-budget.ts')).judgeErrorBudget(deps, state, verdict, end, cause)
    : cause;
  if (stopCause !== undefined) {
    const held = await holdForSpotStorm(deps, state, verdict);
    if (held) return held;
  }
  const stop = stopCause !== undefined ? { cause: stopCause, reason: verdict.reasons.join('; ') } : undefined;
  return finish(deps, await endStormHold(deps, state, verdict), verdict, stop);
}

/**
 * A failing verdict during a spot storm: hold this weight and bake again (at least one metric
 * period), as long as the rollout's pauses stay within spotStorm.maxPauseSeconds. Undefined when
 * there is no storm or no pause left: then the verdict stands (its reasons say why).
 */
async function holdForSpotStorm(
  deps: AnalysisDeps,
  state: RolloutState,
  verdict: Verdict,
): Promise<RolloutState | undefined> {
  const plan = state.rollout;
  const config = plan.spotStorm;
  if (!config.enabled) return undefined;
  const signal = await spotStormSignal(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, plan.cluster, config);
  if (!signal.storming) return undefined;
  const paused = state.storm?.pausedSeconds ?? 0;
  const hold = Math.max(state.progress.bakeSeconds, plan.analysis.periodSeconds);
  if (paused + hold > config.maxPauseSeconds) {
    verdict.reasons.push(
      `${describeStorm(signal)}, but the rollout already held ${paused}s of at most ${config.maxPauseSeconds}s for spot storms: the verdict stands`,
    );
    return undefined;
  }
  const now = deps.clock.now();
  const held: Verdict = {
    ...verdict,
    verdict: 'paused',
    reasons: [
      ...verdict.reasons,
      `paused for a spot storm: ${describeStorm(signal)}; holding ${state.progress.weight}% on green for ${hold}s, then baking again (${paused + hold}s of at most ${config.maxPauseSeconds}s held)`,
    ],
  };
  const first = state.storm?.holding !== true;
  await updateRolloutRecord(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    deps.clock,
    { cluster: plan.cluster, service: plan.service, execution: plan.execution },
    { set: { phase: 'paused' }, appendVerdict: summary(held), verdictKey: bakeKey(held) },
  );
  await journal(deps, plan, 'spot-storm-pause', 'unchanged', describeVerdict(held), {
    details: { verdict: held, storm: signal, holdSeconds: hold, pausedSeconds: paused + hold },
  });
  // One alert when the pause starts; the journal has every hold.
  if (first) await stormAlert(deps, state, 'firing', signal, held);
  const { stop: _stop, ...rest } = state;
  return {
    ...rest,
    verdict: held,
    progress: { ...state.progress, bakeStartedAt: iso(now), holdSeconds: hold },
    storm: {
      pausedSeconds: paused + hold,
      pauses: (state.storm?.pauses ?? 0) + 1,
      holding: true,
      since: state.storm?.holding ? (state.storm.since ?? iso(now)) : iso(now),
    },
  };
}

/** The first verdict after a pause that is not a pause ends it: journaled, alert resolved. */
async function endStormHold(
  deps: AnalysisDeps,
  state: RolloutState,
  verdict: Verdict,
): Promise<RolloutState> {
  if (!state.storm?.holding) return state;
  const plan = state.rollout;
  await journal(
    deps,
    plan,
    'spot-storm-pause-ended',
    'unchanged',
    `the spot-storm pause since ${state.storm.since ?? '?'} ended after ${state.storm.pausedSeconds}s of holds: step ${verdict.step + 1} at ${verdict.weight}% is now ${verdict.verdict}`,
    { details: { storm: state.storm, verdict: verdict.verdict } },
  );
  await stormAlert(deps, state, 'resolved', undefined, verdict);
  const { holdSeconds: _h, ...progress } = state.progress;
  return { ...state, progress, storm: { ...state.storm, holding: false } };
}

async function stormAlert(
  deps: AnalysisDeps,
  state: RolloutState,
  firing: 'firing' | 'resolved',
  signal: StormSignal | undefined,
  verdict: Verdict,
) {
  const plan = state.rollout;
  const where = `${plan.cluster}/${plan.service}`;
  await alert(deps, plan, {
    severity: firing === 'firing' ? 'warning' : 'info',
    state: firing,
    kind: 'rollout-paused',
    title:
      firing === 'firing'
        ? `Rollout of ${where} paused for a spot storm at ${state.progress.weight}% green`
        : `Rollout of ${where} resumed after a spot storm`,
    summary:
      firing === 'firing' && signal
        ? `${describeStorm(signal)}. The analysis of step ${verdict.step + 1} would have failed: ${describeVerdict(verdict)}`
        : `The rollout held ${state.storm?.pausedSeconds ?? 0}s for spot storms; step ${verdict.step + 1} is now ${verdict.verdict}.`,
    whatHappened:
      firing === 'firing'
        ? 'Spot instances of the cluster are being reclaimed while green is analysed: its errors may be the storm’s.'
        : 'The verdict after the pause is no longer a storm pause.',
    whatWeDid:
      firing === 'firing'
        ? `Holding traffic where it is and baking again; after at most ${plan.spotStorm.maxPauseSeconds}s of pauses the verdict stands (rollback on failure).`
        : 'Continued with the verdict as it now is.',
    nextSteps:
      firing === 'firing'
        ? [`ops abort ${plan.id} goes back to blue now`, 'ops journal shows every hold']
        : [],
  });
}

/** The bake a verdict judges: its step and the start of its window. */
const bakeKey = (v: Verdict) => `${v.step}@${v.window.start}`;

const summary = (v: Verdict) => ({
  step: v.step,
  weight: v.weight,
  verdict: v.verdict,
  reasons: v.reasons,
  at: v.at,
});

async function finish(
  deps: AnalysisDeps,
  state: RolloutState,
  verdict: Verdict,
  stop: Stop | undefined,
): Promise<RolloutState> {
  const plan = state.rollout;
  await updateRolloutRecord(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    deps.clock,
    { cluster: plan.cluster, service: plan.service, execution: plan.execution },
    { appendVerdict: summary(verdict), verdictKey: bakeKey(verdict) },
  );
  await journal(deps, plan, 'analyse-step', 'unchanged', describeVerdict(verdict), { details: { verdict } });
  const { stop: _previous, ...rest } = state;
  return { ...rest, verdict, ...(stop ? { stop } : {}) };
}
