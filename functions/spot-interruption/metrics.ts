// A batch's outcome metrics, from its report: drains, notice-to-drain per drained instance, and
// on-demand capacity asked for instead of spot.
import type { OutcomeMetric } from '../shared/metric-names.ts';
import type { BatchReport } from './batch-model.ts';

export function spotMetrics(report: BatchReport): OutcomeMetric[] {
  const drained = report.instances.filter((i) => i.result === 'drained');
  const fallbacks = report.capacity
    .filter((c) => c.market === 'on-demand')
    .reduce((n, c) => n + Math.max(0, c.after - c.before), 0);
  return [
    ...(drained.length > 0 ? [{ name: 'InstancesDrained' as const, value: drained.length }] : []),
    ...drained
      .filter((i) => i.noticeToDrainMs !== undefined)
      .map((i) => ({ name: 'NoticeToDrain' as const, value: i.noticeToDrainMs as number })),
    ...(fallbacks > 0 ? [{ name: 'OnDemandFallbacks' as const, value: fallbacks }] : []),
  ];
}
