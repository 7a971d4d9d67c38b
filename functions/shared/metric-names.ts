// The control plane's outcome metrics, by name: what each function publishes (as CloudWatch
// embedded metric format, in its log lines) and what the dashboard and the cost model read.
// No Powertools here: infra and the bench import the names without the library.

/** CloudWatch namespace of every outcome metric. */
export const METRICS_NAMESPACE = 'EcsOps';

export type MetricUnit = 'Count' | 'Seconds' | 'Milliseconds';

/** Each metric: the function that publishes it, its unit, and what it counts. */
export const OUTCOME_METRICS = {
  InstancesDrained: { fn: 'spot-interruption', unit: 'Count', what: 'container instances set to DRAINING' },
  NoticeToDrain: {
    fn: 'spot-interruption',
    unit: 'Milliseconds',
    what: 'interruption notice to drain, per instance',
  },
  OnDemandFallbacks: {
    fn: 'spot-interruption',
    unit: 'Count',
    what: 'on-demand instances requested instead of spot',
  },
  RolloutsStarted: { fn: 'rollout-step', unit: 'Count', what: 'rollouts that took the service lock' },
  RolloutsPromoted: { fn: 'rollout-step', unit: 'Count', what: 'rollouts that made green primary' },
  RolloutsCompleted: { fn: 'rollout-step', unit: 'Count', what: 'rollouts finished on green' },
  RolloutsRolledBack: {
    fn: 'rollout-step',
    unit: 'Count',
    what: 'rollouts back on blue, by a failure or a verdict',
  },
  RolloutsAborted: {
    fn: 'rollout-step',
    unit: 'Count',
    what: 'rollouts back on blue, stopped by an operator or a train',
  },
  RolloutDuration: { fn: 'rollout-step', unit: 'Seconds', what: 'lock to the end, per rollout' },
  VerdictsPassed: { fn: 'rollout-analysis', unit: 'Count', what: 'bakes judged healthy' },
  VerdictsFailed: { fn: 'rollout-analysis', unit: 'Count', what: 'bakes judged failing' },
  ScaleChanged: { fn: 'scale-service-step', unit: 'Count', what: 'scaling decisions that changed a service' },
  ScaleUnchanged: {
    fn: 'scale-service-step',
    unit: 'Count',
    what: 'scaling decisions with nothing to change',
  },
  ScaleRefused: { fn: 'scale-service-step', unit: 'Count', what: 'scaling decisions a guardrail refused' },
  RemediationsChanged: { fn: 'remediate-step', unit: 'Count', what: 'runbooks that changed something' },
  RemediationsUnchanged: {
    fn: 'remediate-step',
    unit: 'Count',
    what: 'remediations that changed nothing (no runbook, guard, noise)',
  },
  RemediationsFailed: { fn: 'remediate-step', unit: 'Count', what: 'runbooks that failed or did not verify' },
  AlertsPublished: { fn: 'alert-router', unit: 'Count', what: 'notifications published to the topics' },
  AlertsSilenced: { fn: 'alert-router', unit: 'Count', what: 'alerts a silence suppressed' },
  AlertsInhibited: { fn: 'alert-router', unit: 'Count', what: 'warnings suppressed while a critical fires' },
  AlertsDeduplicated: {
    fn: 'alert-router',
    unit: 'Count',
    what: 'repeats of a firing alert before its reminder',
  },
  AlertPublishFailures: {
    fn: 'alert-router',
    unit: 'Count',
    what: 'alerts whose publish failed (retried by SQS)',
  },
} as const satisfies Record<string, { fn: string; unit: MetricUnit; what: string }>;

export type OutcomeMetricName = keyof typeof OUTCOME_METRICS;

/** One data point to publish. */
export interface OutcomeMetric {
  name: OutcomeMetricName;
  value: number;
}
