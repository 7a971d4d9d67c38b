// A routed batch's outcome metrics: notifications published, and alerts held back by reason.
import type { OutcomeMetric, OutcomeMetricName } from '../shared/metric-names.ts';
import type { RouteReport, RouteResult } from './route-batch.ts';

const BY_RESULT: Partial<Record<RouteResult, OutcomeMetricName>> = {
  silenced: 'AlertsSilenced',
  inhibited: 'AlertsInhibited',
  'repeat-suppressed': 'AlertsDeduplicated',
  failed: 'AlertPublishFailures',
};

export function routerMetrics(report: Pick<RouteReport, 'outcomes' | 'sent'>): OutcomeMetric[] {
  const counts = new Map<OutcomeMetricName, number>();
  if (report.sent.length > 0) counts.set('AlertsPublished', report.sent.length);
  for (const { result } of report.outcomes) {
    const name = BY_RESULT[result];
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, value]) => ({ name, value }));
}
