// The verdict on one bake, for both deployment models (the task-set controller's analysis step
// and the ECS lifecycle hook): configured alarms must be OK; green's 5xx rate and p95 latency
// must be within the thresholds; and, when the baseline comparison is on, green must not be
// worse than blue over the same window (one-sided Mann-Whitney U per metric). Too few samples to
// tell is "inconclusive", which pauses the rollout for a human instead of guessing.
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { Comparison, RolloutPlan, Stop, Verdict } from '../../../../events/rollout-state.ts';
import { iso } from '../../clock.ts';
import { greenLimits } from './limits.ts';
import { mannWhitneyGreater, median } from './mann-whitney.ts';
import { readTargetGroupMetrics } from './metrics.ts';
import { judgeNoData, windowTooShort } from './no-data.ts';

/** Differences smaller than these never fail a comparison, whatever the p-value. */
const ABSOLUTE_FLOOR = { errorRate: 0.001, latency: 1 } as const;

/** One bake to judge: where green and blue are, at which weight, over which window. */
export interface Bake {
  analysis: RolloutPlan['analysis'];
  /** Index of the step (0-based) and green's weight during it. */
  step: number;
  weight: number;
  /** 0: a step without a bake, which checks alarms only. */
  bakeSeconds: number;
  window: { startMs: number; endMs: number };
  targets: { loadBalancerArn: string; greenTargetGroupArn: string; blueTargetGroupArn: string };
}

export interface Judgement {
  verdict: Verdict;
  /** Why it failed, when it did. */
  cause?: Stop['cause'];
}

export async function judgeBake(cloudwatch: CloudWatchClient, bake: Bake): Promise<Judgement> {
  const { analysis, window } = bake;
  const reasons: string[] = [];
  let cause: Stop['cause'] | undefined;
  const alarms = await alarmStates(cloudwatch, analysis.alarms);
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
  const tooShort = windowTooShort(window.startMs, window.endMs, analysis.periodSeconds);
  if (!analysis.enabled) {
    alarmsOnly = 'analysis is off (a blind rollout): no metric was judged, only alarms';
  } else if (bake.bakeSeconds === 0) {
    alarmsOnly = 'this step has no bake: only alarms checked';
  } else if (tooShort) {
    noData = tooShort;
  } else {
    const metrics = await readTargetGroupMetrics(
      cloudwatch,
      bake.targets.loadBalancerArn,
      { green: bake.targets.greenTargetGroupArn, blue: bake.targets.blueTargetGroupArn },
      { start: new Date(window.startMs), end: new Date(window.endMs), periodSeconds: analysis.periodSeconds },
    );
    green = metrics.green;
    blue = metrics.blue;
    if (green.requests === 0) noData = 'green received no requests in the bake window';
  }
  if (green && noData === undefined) {
    limits = greenLimits(analysis, bake.weight < 100 ? blue : undefined, green);
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
    if (baseline.enabled && bake.weight < 100 && blue) {
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
    step: bake.step,
    weight: bake.weight,
    window: { start: iso(window.startMs), end: iso(window.endMs) },
    at: iso(window.endMs),
    verdict: verdictName,
    reasons,
    alarms,
    ...(green ? { green } : {}),
    ...(blue ? { blue } : {}),
    comparisons,
    ...(limits ? { limits } : {}),
  };
  return verdictName === 'fail' ? { verdict, cause: cause ?? 'analysis' } : { verdict };
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
