// Green's and blue's load balancer metrics over a bake window, in one GetMetricData call:
// request and 5xx counts per period (error-rate samples), p95 target response time per period
// (latency samples) and over the whole window (the threshold check).
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { MetricNumbers } from '../../../../events/rollout-state.ts';

export const ALB_NAMESPACE = 'AWS/ApplicationELB';
export const METRICS = {
  requests: 'RequestCount',
  errors: 'HTTPCode_Target_5XX_Count',
  latency: 'TargetResponseTime',
} as const;
export const LATENCY_STATISTIC = 'p95';

/** ALB metric dimensions of a target group: `targetgroup/<name>/<id>` and `app/<lb>/<id>`. */
export function targetGroupDimensions(targetGroupArn: string, loadBalancerArn: string) {
  return [
    { Name: 'TargetGroup', Value: arnResource(targetGroupArn) },
    { Name: 'LoadBalancer', Value: arnResource(loadBalancerArn).replace(/^loadbalancer\//, '') },
  ];
}

const arnResource = (arn: string): string => arn.split(':').slice(5).join(':');

type Dimensions = ReturnType<typeof targetGroupDimensions>;

/** One ALB metric of a target group, its id `<color>_<id>`. */
function metricQuery(
  color: string,
  dimensions: Dimensions,
  id: string,
  metric: string,
  stat: string,
  periodSeconds: number,
): MetricDataQuery {
  return {
    Id: `${color}_${id}`,
    MetricStat: {
      Metric: { Namespace: ALB_NAMESPACE, MetricName: metric, Dimensions: dimensions },
      Period: periodSeconds,
      Stat: stat,
    },
    ReturnData: true,
  };
}

/** A group's requests, 5xx and p95 latency per period: ids `<color>_requests`, `_errors`, `_latency`. */
export function periodQueries(
  color: string,
  dimensions: Dimensions,
  periodSeconds: number,
): MetricDataQuery[] {
  return [
    metricQuery(color, dimensions, 'requests', METRICS.requests, 'Sum', periodSeconds),
    metricQuery(color, dimensions, 'errors', METRICS.errors, 'Sum', periodSeconds),
    metricQuery(color, dimensions, 'latency', METRICS.latency, LATENCY_STATISTIC, periodSeconds),
  ];
}

export interface MetricWindow {
  start: Date;
  end: Date;
  periodSeconds: number;
}

export async function readTargetGroupMetrics(
  cloudwatch: CloudWatchClient,
  loadBalancerArn: string,
  groups: Record<'green' | 'blue', string>,
  window: MetricWindow,
): Promise<Record<'green' | 'blue', MetricNumbers>> {
  const wholeWindow = Math.max(
    window.periodSeconds,
    Math.ceil((window.end.getTime() - window.start.getTime()) / 1000 / 60) * 60,
  );
  const queries = Object.entries(groups).flatMap(([color, targetGroupArn]) => {
    const dimensions = targetGroupDimensions(targetGroupArn, loadBalancerArn);
    return [
      ...periodQueries(color, dimensions, window.periodSeconds),
      metricQuery(color, dimensions, 'latency_window', METRICS.latency, LATENCY_STATISTIC, wholeWindow),
    ];
  });
  const series = await metricSeries(cloudwatch, queries, window.start, window.end);

  const numbers = (color: string): MetricNumbers => {
    const requests = series.get(`${color}_requests`) ?? new Map();
    const errors = series.get(`${color}_errors`) ?? new Map();
    const latency = series.get(`${color}_latency`) ?? new Map();
    const windowLatency = [...(series.get(`${color}_latency_window`) ?? new Map()).values()];
    const totalRequests = sum([...requests.values()]);
    const totalErrors = sum([...errors.values()]);
    // ALB publishes no 5xx datapoint for a period without 5xx: zero, not missing.
    const errorRateSamples = [...requests.entries()]
      .filter(([, n]) => n > 0)
      .map(([t, n]) => (errors.get(t) ?? 0) / n);
    const latencySamples = [...latency.values()].map((s) => s * 1000);
    const p95 =
      windowLatency.length > 0
        ? Math.max(...windowLatency) * 1000
        : latencySamples.length > 0
          ? Math.max(...latencySamples)
          : null;
    return {
      requests: totalRequests,
      errors: totalErrors,
      errorRate: totalRequests > 0 ? totalErrors / totalRequests : null,
      p95LatencyMs: p95,
      errorRateSamples,
      latencySamples,
      latencyStatistic: LATENCY_STATISTIC,
    };
  };
  return { green: numbers('green'), blue: numbers('blue') };
}

const sum = (values: number[]): number => values.reduce((total, v) => total + v, 0);

/** Every page of a GetMetricData query, as points (epoch ms -> value) per query id. */
export async function metricSeries(
  cloudwatch: CloudWatchClient,
  queries: MetricDataQuery[],
  start: Date,
  end: Date,
): Promise<Map<string, Map<number, number>>> {
  const series = new Map<string, Map<number, number>>();
  let nextToken: string | undefined;
  do {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        MetricDataQueries: queries,
        ScanBy: 'TimestampAscending',
        NextToken: nextToken,
      }),
    );
    for (const result of out.MetricDataResults ?? []) {
      if (!result.Id) continue;
      const points = series.get(result.Id) ?? new Map<number, number>();
      (result.Timestamps ?? []).forEach((t, i) => {
        const value = result.Values?.[i];
        if (typeof value === 'number' && Number.isFinite(value)) points.set(new Date(t).getTime(), value);
      });
      series.set(result.Id, points);
    }
    nextToken = out.NextToken;
  } while (nextToken);
  return series;
}
