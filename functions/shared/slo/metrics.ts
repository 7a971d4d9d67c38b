// A service's load balancer metrics for its SLO: every target group its task sets are behind
// (blue and green during a rollout), per period, summed (requests, 5xx) or at the worst (p95).
// Many services are read in as few GetMetricData calls as its 500-query limit allows.
import type { CloudWatchClient, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { Service } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { metricSeries, periodQueries, targetGroupDimensions } from '../rollouts/analysis/metrics.ts';
import { loadBalancerNameOf } from '../rollouts/traffic.ts';
import type { PeriodPoint } from './objectives.ts';

/** A target group a service serves from, with its load balancer (both are metric dimensions). */
export interface MetricTarget {
  targetGroupArn: string;
  loadBalancerArn: string;
}

/**
 * Every target group a service serves from: its task sets' (the EXTERNAL controller's blue and
 * green), and its own load balancers' with their alternate group (ECS's own deployments).
 */
export function serviceTargetGroupArns(service: Service): string[] {
  const fromTaskSets = (service.taskSets ?? [])
    .filter((t) => t.status !== 'INACTIVE')
    .flatMap((t) => (t.loadBalancers ?? []).map((lb) => lb.targetGroupArn));
  const fromService = (service.loadBalancers ?? []).flatMap((lb) => [
    lb.targetGroupArn,
    lb.advancedConfiguration?.alternateTargetGroupArn,
  ]);
  return [...new Set([...fromTaskSets, ...fromService].filter((arn): arn is string => Boolean(arn)))];
}

const QUERIES_PER_CALL = 500;
const TARGET_GROUPS_PER_DESCRIBE = 20;

/**
 * The load balancer of each target group, the one named `loadBalancerName` (a group may sit
 * behind several load balancers; without a name, its first): the groups' metric targets.
 */
export async function metricTargets(
  elb: ElasticLoadBalancingV2Client,
  targetGroupArns: readonly string[],
  loadBalancerName: (targetGroupArn: string) => string | undefined,
): Promise<Map<string, MetricTarget>> {
  const targets = new Map<string, MetricTarget>();
  const unique = [...new Set(targetGroupArns)];
  for (let i = 0; i < unique.length; i += TARGET_GROUPS_PER_DESCRIBE) {
    const out = await elb.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: unique.slice(i, i + TARGET_GROUPS_PER_DESCRIBE) }),
    );
    for (const group of out.TargetGroups ?? []) {
      const arn = group.TargetGroupArn as string;
      const loadBalancerArn = group.LoadBalancerArns?.find(
        (lb) => loadBalancerNameOf(lb) === loadBalancerName(arn),
      );
      if (loadBalancerArn) targets.set(arn, { targetGroupArn: arn, loadBalancerArn });
    }
  }
  return targets;
}

/** Per-period points of each service (by key), from all its targets, in [start, end]. */
export async function readServicePoints(
  cloudwatch: CloudWatchClient,
  services: ReadonlyMap<string, readonly MetricTarget[]>,
  window: { start: number; end: number; periodSeconds: number },
): Promise<Map<string, PeriodPoint[]>> {
  const queries: MetricDataQuery[] = [];
  const owner = new Map<string, string>();
  let s = 0;
  for (const [key, targets] of services) {
    targets.forEach((t, i) => {
      const id = `s${s}t${i}`;
      owner.set(id, key);
      queries.push(
        ...periodQueries(
          id,
          targetGroupDimensions(t.targetGroupArn, t.loadBalancerArn),
          window.periodSeconds,
        ),
      );
    });
    s++;
  }
  const byService = new Map<string, Map<number, PeriodPoint>>(
    [...services.keys()].map((k) => [k, new Map()]),
  );
  for (let i = 0; i < queries.length; i += QUERIES_PER_CALL) {
    const series = await metricSeries(
      cloudwatch,
      queries.slice(i, i + QUERIES_PER_CALL),
      new Date(window.start),
      new Date(window.end),
    );
    for (const [queryId, points] of series) {
      const [target, metric] = queryId.split('_') as [string, 'requests' | 'errors' | 'latency'];
      const key = owner.get(target);
      const merged = key ? byService.get(key) : undefined;
      if (!merged) continue;
      for (const [at, value] of points) {
        const point = merged.get(at) ?? { at, requests: 0, errors: 0, p95Ms: null };
        if (metric === 'requests') point.requests += value;
        else if (metric === 'errors') point.errors += value;
        else point.p95Ms = Math.max(point.p95Ms ?? 0, value * 1000);
        merged.set(at, point);
      }
    }
  }
  return new Map(
    [...byService].map(([key, points]) => [key, [...points.values()].sort((a, b) => a.at - b.at)]),
  );
}
