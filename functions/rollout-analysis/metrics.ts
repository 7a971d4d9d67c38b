// A bake's verdict as an outcome metric.
import type { RolloutState } from '../../events/rollout-state.ts';
import type { OutcomeMetric } from '../shared/metric-names.ts';

export function verdictMetrics(next: Pick<RolloutState, 'verdict'>): OutcomeMetric[] {
  if (!next.verdict) return [];
  return [{ name: next.verdict.verdict === 'pass' ? 'VerdictsPassed' : 'VerdictsFailed', value: 1 }];
}
