// Publishes an invocation's outcome metrics in CloudWatch's embedded metric format: one log line,
// which CloudWatch Logs turns into metrics, so publishing costs no API call. Powertools Metrics
// writes it; the dimensions are the function (`service`) and the environment.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, OUTCOME_METRICS, type OutcomeMetric } from './metric-names.ts';

/** Nothing to publish prints nothing (Powertools would warn of an empty flush). */
export function publishOutcomeMetrics(metrics: readonly OutcomeMetric[]): void {
  const points = metrics.filter((m) => Number.isFinite(m.value));
  if (points.length === 0) return;
  // Built per flush: the service name and environment are the invoked function's.
  const emf = new Metrics({
    namespace: METRICS_NAMESPACE,
    ...(process.env.POWERTOOLS_SERVICE_NAME ? { serviceName: process.env.POWERTOOLS_SERVICE_NAME } : {}),
    defaultDimensions: { environment: process.env.OPS_ENVIRONMENT || 'local' },
  });
  for (const { name, value } of points) emf.addMetric(name, MetricUnit[OUTCOME_METRICS[name].unit], value);
  emf.publishStoredMetrics();
}
