// The control plane's own dashboard: its outcome metrics (functions/shared/metric-names.ts), which
// the functions publish as EMF log lines, one graph per capability. The application's dashboard
// (infra/application/dashboard.ts) shows the alarms, the control plane's included.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import {
  METRICS_NAMESPACE,
  OUTCOME_METRICS,
  type OutcomeMetricName,
} from '../../../functions/shared/metric-names.ts';

export interface OutcomeDashboardProps {
  readonly dashboardName: string;
  /** OPS_ENVIRONMENT of the functions: a dimension of every metric. */
  readonly environmentName: string;
}

/** What each graph shows, in order. */
const GRAPHS: { title: string; metrics: OutcomeMetricName[]; right?: OutcomeMetricName[] }[] = [
  { title: 'Spot: drains and on-demand fallbacks', metrics: ['InstancesDrained', 'OnDemandFallbacks'] },
  { title: 'Spot: notice to drain (ms, p90 and max)', metrics: ['NoticeToDrain'] },
  {
    title: 'Rollouts',
    metrics: [
      'RolloutsStarted',
      'RolloutsPromoted',
      'RolloutsCompleted',
      'RolloutsRolledBack',
      'RolloutsAborted',
    ],
  },
  { title: 'Rollout duration (s, p90 and max)', metrics: ['RolloutDuration'] },
  { title: 'Verdicts', metrics: ['VerdictsPassed', 'VerdictsFailed'] },
  { title: 'Scaling decisions', metrics: ['ScaleChanged', 'ScaleUnchanged', 'ScaleRefused'] },
  { title: 'Remediations', metrics: ['RemediationsChanged', 'RemediationsUnchanged', 'RemediationsFailed'] },
  {
    title: 'Alerts: published and held back',
    metrics: ['AlertsPublished', 'AlertsSilenced', 'AlertsInhibited', 'AlertsDeduplicated'],
    right: ['AlertPublishFailures'],
  },
];

/** One outcome metric of this environment, as the function publishes it. */
export function outcomeMetric(
  name: OutcomeMetricName,
  environmentName: string,
  props: { statistic?: string; period?: Duration } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: OUTCOME_METRICS[name].fn, environment: environmentName },
    statistic: props.statistic ?? 'Sum',
    period: props.period ?? Duration.minutes(5),
    label: name,
  });
}

export class OutcomeDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OutcomeDashboardProps) {
    super(scope, id);
    const of = (name: OutcomeMetricName): cloudwatch.IMetric[] =>
      OUTCOME_METRICS[name].unit === 'Count'
        ? [outcomeMetric(name, props.environmentName)]
        : ['p90', 'Maximum'].map((statistic) =>
            outcomeMetric(name, props.environmentName, { statistic }).with({ label: `${name} ${statistic}` }),
          );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [
        GRAPHS.map(
          (g) =>
            new cloudwatch.GraphWidget({
              title: g.title,
              left: g.metrics.flatMap(of),
              right: (g.right ?? []).flatMap(of),
              width: 12,
              height: 6,
            }),
        ),
      ],
    });
  }
}
