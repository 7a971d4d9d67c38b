// A routed batch's outcome metrics: notifications published, alerts held back by reason, and
// publishes SNS refused.
import type { OutcomeMetric, OutcomeMetricName } from '../shared/metric-names.ts';
import type { RouteReport, RouteResult } from './route-batch.ts';

const BY_RESULT: Partial<Record<RouteResult, OutcomeMetricName>> = {
  silenced: 'AlertsSilenced',
  inhibited: 'AlertsInhibited',
  'repeat-suppressed': 'AlertsDeduplicated',
};

export function routerMetrics(
  report: Pick<RouteReport, 'outcomes' | 'sent' | 'publishFailures'>,
): OutcomeMetric[] {
  const counts = new Map<OutcomeMetricName, number>();
  if (report.sent.length > 0) counts.set('AlertsPublished', report.sent.length);
  for (const { result } of report.outcomes) {
    const name = BY_RESULT[result];
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  // Only SNS refusing a publish: a malformed message or a DynamoDB error fails its item too, but is not this.
  if (report.publishFailures > 0) counts.set('AlertPublishFailures', report.publishFailures);
  return [...counts].map(([name, value]) => ({ name, value }));
}
