// A bake that gave nothing to judge is never a pass by itself: what it becomes is the rollout's
// analysis.noData (inconclusive by default, so a human decides; or fail, or pass).
import type { Verdict } from '../../../../events/rollout-state.ts';

export type NoDataPolicy = 'inconclusive' | 'fail' | 'pass';

/** Why the window [start, end) cannot be judged on metrics of `periodSeconds`, if it cannot. */
export function windowTooShort(startMs: number, endMs: number, periodSeconds: number): string | undefined {
  if (endMs - startMs >= periodSeconds * 1000) return undefined;
  return `the window of ${Math.round((endMs - startMs) / 1000)}s is shorter than one metric period (${periodSeconds}s)`;
}

/** The verdict once `noData` (why nothing could be judged, if so) meets the rollout's policy. */
export function judgeNoData(
  verdict: Verdict['verdict'],
  noData: string | undefined,
  policy: NoDataPolicy,
): { verdict: Verdict['verdict']; reason?: string; cause?: 'no-data' } {
  // A failure stands: an alarm in ALARM is a reason whether or not metrics came in.
  if (noData === undefined || verdict === 'fail') return { verdict };
  if (policy === 'fail')
    return {
      verdict: 'fail',
      cause: 'no-data',
      reason: `${noData}: nothing to judge, and analysis.noData is fail`,
    };
  if (policy === 'pass')
    return { verdict, reason: `${noData}: nothing to judge; passed because analysis.noData is pass` };
  return {
    verdict: 'inconclusive',
    reason: `${noData}: nothing to judge, so a human decides (analysis.noData is inconclusive)`,
  };
}
