// The verdict on one bake: configured alarms must be OK; green's 5xx rate and p95 latency must
// be within the thresholds; and, when the baseline comparison is on, green must not be worse than
// blue over the same window (one-sided Mann-Whitney U per metric). Too few samples to tell is
// "inconclusive", which pauses the rollout for a human instead of guessing. A verdict that would
// fail while a spot storm is on holds the weight and bakes again instead (bounded in total):
// a storm's 5xx and alarms are the storm's, not green's.
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { Comparison, RolloutState, Stop, Verdict } from '../../events/rollout-state.ts';
import { iso } from '../shared/clock.ts';
import type { RolloutEnv } from '../shared/rollouts/config.ts';
import { alert, describeVerdict, type EvidenceDeps, journal } from '../shared/rollouts/notify.ts';
import { getRolloutRecord, updateRolloutRecord } from '../shared/rollouts/record.ts';
import { greenLimits } from './limits.ts';
import { mannWhitneyGreater, median } from './mann-whitney.ts';
import { readTargetGroupMetrics } from './metrics.ts';
import { judgeNoData, windowTooShort } from './no-data.ts';
import { describeStorm, type StormSignal, spotStormSignal } from './spot-storm.ts';

export interface AnalysisDeps extends EvidenceDeps {
  cloudwatch: CloudWatchClient;
  env: RolloutEnv;
}

/** Differences smaller than these never fail a comparison, whatever the p-value. */
const ABSOLUTE_FLOOR = { errorRate: 0.001, latency: 1 } as const;

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

  const reasons: string[] = [];
  let cause: Stop['cause'] | undefined;
  const alarms = await alarmStates(deps.cloudwatch, analysis.alarms);
  for (const a of alarms.filter((x) => x.state !== 'OK')) {
    reasons.push(`alarm ${a.name} is ${a.state}`);
    cause ??= 'alarm';
  }

  const comparisons: Comparison[] = [];
  let green: Verdict['green'];
  let blue: Verdict['blue'];
  let limits: Verdict['limits'];
  /** Why there was nothing to judge (then analysis.noData decides). */
  let noData: string | undefined;
  /** Why only alarms were checked, by plan (blind rollout, a step without a bake). */
  let alarmsOnly: string | undefined;
  const tooShort = windowTooShort(start, end, analysis.periodSeconds);
  if (!analysis.enabled) {
    alarmsOnly = 'analysis is off (a blind rollout): no metric was judged, only alarms';
  } else if (state.progress.bakeSeconds === 0) {
    alarmsOnly = 'this step has no bake: only alarms checked';
  } else if (tooShort) {
    noData = tooShort;
  } else {
    const metrics = await readTargetGroupMetrics(
      deps.cloudwatch,
      state.topology.loadBalancerArn,
      { green: state.topology.greenTargetGroupArn, blue: state.topology.blueTargetGroupArn },
      { start: new Date(start), end: new Date(end), periodSeconds: analysis.periodSeconds },
    );
    green = metrics.green;
    blue = metrics.blue;
    if (green.requests === 0) noData = 'green received no requests in the bake window';
  }
  if (green && noData === undefined) {
    limits = greenLimits(analysis, state.progress.weight < 100 ? blue : undefined, green);
    if (limits.errorRate !== null && green.errorRate !== null && green.errorRate > limits.errorRate) {
      reasons.push(
        `green 5xx rate ${(green.errorRate * 100).toFixed(2)}% (${green.errors} of ${green.requests} requests) is above its limit ${(limits.errorRate * 100).toFixed(2)}% (${limits.basis.filter((b) => b.startsWith('5xx')).join('; ')})`,
      );
      cause ??= 'analysis';
    }
    if (
      limits.p95LatencyMs !== null &&
      green.p95LatencyMs !== null &&
      green.p95LatencyMs > limits.p95LatencyMs
    ) {
      reasons.push(
        `green p95 latency ${Math.round(green.p95LatencyMs)} ms is above its limit ${Math.round(limits.p95LatencyMs)} ms (${limits.basis.filter((b) => b.startsWith('p95')).join('; ')})`,
      );
      cause ??= 'analysis';
    }
    const baseline = analysis.baseline;
    // At 100% green blue serves nothing: there is no baseline left to compare with.
    if (baseline.enabled && state.progress.weight < 100 && blue) {
      for (const metric of baseline.metrics) {
        const c = compare(
          metric,
          metric === 'errorRate' ? green.errorRateSamples : green.latencySamples,
          metric === 'errorRate' ? blue.errorRateSamples : blue.latencySamples,
          baseline,
        );
        comparisons.push(c);
        if (c.verdict === 'fail') {
          reasons.push(`green ${metric} is worse than blue's: ${c.note}`);
          cause ??= 'comparison';
        }
      }
    }
  }

  let verdictName: Verdict['verdict'] =
    reasons.length > 0
      ? 'fail'
      : comparisons.some((c) => c.verdict === 'inconclusive')
        ? 'inconclusive'
        : 'pass';
  if (alarmsOnly) reasons.push(alarmsOnly);
  // No data is never a pass unless the rollout (or its service's defaults) says so.
  const judged = judgeNoData(verdictName, noData, analysis.noData);
  verdictName = judged.verdict;
  if (judged.reason) reasons.push(judged.reason);
  if (judged.cause) cause = judged.cause;
  const verdict: Verdict = {
    ...base,
    verdict: verdictName,
    reasons,
    alarms,
    ...(green ? { green } : {}),
    ...(blue ? { blue } : {}),
    comparisons,
    ...(limits ? { limits } : {}),
  };
  if (verdictName === 'fail' && cause !== undefined) {
    const held = await holdForSpotStorm(deps, state, verdict);
    if (held) return held;
  }
  const stop =
    verdictName === 'fail' ? { cause: cause ?? 'analysis', reason: reasons.join('; ') } : undefined;
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

export function compare(
  metric: Comparison['metric'],
  green: number[],
  blue: number[],
  baseline: { confidence: number; minSamples: number; tolerancePercent: number },
): Comparison {
  const samples = { green: green.length, blue: blue.length };
  const greenMedian = median(green);
  const blueMedian = median(blue);
  if (green.length < baseline.minSamples || blue.length < baseline.minSamples) {
    return {
      metric,
      verdict: 'inconclusive',
      u: null,
      pValue: null,
      greenMedian,
      blueMedian,
      samples,
      note: `only ${green.length} green and ${blue.length} blue samples; at least ${baseline.minSamples} each are needed`,
    };
  }
  const test = mannWhitneyGreater(green, blue);
  const alpha = 1 - baseline.confidence;
  const difference = (greenMedian ?? 0) - (blueMedian ?? 0);
  const tolerated = Math.max(((blueMedian ?? 0) * baseline.tolerancePercent) / 100, ABSOLUTE_FLOOR[metric]);
  const significant = test.pValue < alpha;
  const fail = significant && difference > tolerated;
  const unit = (x: number | null) =>
    x === null ? 'n/a' : metric === 'errorRate' ? `${(x * 100).toFixed(2)}%` : `${Math.round(x)} ms`;
  return {
    metric,
    verdict: fail ? 'fail' : 'pass',
    u: test.u,
    pValue: test.pValue,
    greenMedian,
    blueMedian,
    samples,
    note: `median green ${unit(greenMedian)} vs blue ${unit(blueMedian)}; p=${test.pValue.toPrecision(3)} (${test.method}, ${significant ? 'significant' : 'not significant'} at ${baseline.confidence})${significant && !fail ? `, within the tolerance of ${unit(tolerated)}` : ''}`,
  };
}

async function alarmStates(cloudwatch: CloudWatchClient, names: readonly string[]) {
  if (names.length === 0) return [];
  const states = new Map<string, string>();
  let nextToken: string | undefined;
  do {
    const out = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: [...names],
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken: nextToken,
      }),
    );
    for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
      if (a.AlarmName) states.set(a.AlarmName, a.StateValue ?? 'UNKNOWN');
    }
    nextToken = out.NextToken;
  } while (nextToken);
  // An alarm deleted since the rollout started cannot vouch for anything.
  return names.map((name) => ({ name, state: states.get(name) ?? 'MISSING' }));
}
