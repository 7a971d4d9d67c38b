// `ops slo [--service [CLUSTER/]S]`: each service's SLOs (config/slos/<env>.json, as deployed):
// what is left of the error budget over the SLO's window, and the burn rate over each rule's long
// and short windows, from the load balancer's metrics for every target group the service serves from.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsClient } from '../functions/shared/clients.ts';
import { metricTargets, readServicePoints, serviceTargetGroupArns } from '../functions/shared/slo/metrics.ts';
import {
  budgetRemaining,
  describeRule,
  judgeBurn,
  longestWindowMinutes,
  type ServiceSlo,
  type Sli,
  SloConfigSchema,
} from '../functions/shared/slo/objectives.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { controlPlaneOutputs, type TargetFlags } from './target.ts';
import type { Out } from './usage.ts';

const HOUR = 3_600_000;

export interface SloReport {
  service: string;
  slis: { sli: Sli; objective: string; budgetLeft: number | null; windowDays: number }[];
  burning: boolean;
  rules: string[];
}

export async function sloCommand(flags: TargetFlags & { service?: string }, out: Out): Promise<number> {
  const outputs = await controlPlaneOutputs(flags);
  const raw = outputs[CONTROL_PLANE_OUTPUTS.serviceSlos];
  const config = SloConfigSchema.parse(raw ? JSON.parse(raw) : { services: [] });
  const wanted = config.services.filter(
    (s) => !flags.service || flags.service === s.service || flags.service === `${s.cluster}/${s.service}`,
  );
  if (wanted.length === 0) {
    const message = flags.service
      ? `no SLO for ${flags.service} (config/slos/<env>.json lists ${config.services.map((s) => `${s.cluster}/${s.service}`).join(', ') || 'none'})`
      : 'no service has an SLO (config/slos/<env>.json)';
    out(message, { services: [] });
    return flags.service ? 3 : 0;
  }
  const reports: SloReport[] = [];
  const now = Date.now();
  for (const slo of wanted) reports.push(await report(slo, config.burnRates, now));
  out(reports.flatMap(lines).join('\n'), { services: reports });
  return 0;
}

async function report(
  slo: ServiceSlo,
  rules: Parameters<typeof judgeBurn>[1],
  now: number,
): Promise<SloReport> {
  const key = `${slo.cluster}/${slo.service}`;
  const described = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: slo.cluster, services: [slo.service] }),
  );
  const service = described.services?.[0];
  const groups = service ? serviceTargetGroupArns(service) : [];
  const targets = [
    ...(await metricTargets(awsClient(ElasticLoadBalancingV2Client), groups, () => undefined)).values(),
  ];
  const cloudwatch = awsClient(CloudWatchClient);
  const recent = await readServicePoints(cloudwatch, new Map([[key, targets]]), {
    start: now - longestWindowMinutes(rules) * 60_000,
    end: now,
    periodSeconds: 60,
  });
  const window = await readServicePoints(cloudwatch, new Map([[key, targets]]), {
    start: now - slo.windowDays * 24 * HOUR,
    end: now,
    periodSeconds: 3600,
  });
  const burn = judgeBurn(slo, rules, recent.get(key) ?? [], now);
  const slis: SloReport['slis'] = [];
  if (slo.availability)
    slis.push({
      sli: 'availability',
      objective: `${slo.availability.objective}% of requests without 5xx`,
      budgetLeft: budgetRemaining(slo, 'availability', window.get(key) ?? []),
      windowDays: slo.windowDays,
    });
  if (slo.latency)
    slis.push({
      sli: 'latency',
      objective: `${slo.latency.objective}% of minutes with p95 at most ${slo.latency.p95Ms} ms`,
      budgetLeft: budgetRemaining(slo, 'latency', window.get(key) ?? []),
      windowDays: slo.windowDays,
    });
  return { service: key, slis, burning: burn.burning, rules: burn.rules.map(describeRule) };
}

const budgetText = (left: number | null, days: number) =>
  left === null
    ? `no traffic over ${days} days: the budget is not judged`
    : `${(left * 100).toFixed(1)}% of the budget left over ${days} days`;

function lines(r: SloReport): string[] {
  return [
    `${r.service}: ${r.burning ? 'BURNING (a train refuses it; its rollouts fail their verdicts)' : 'within budget'}`,
    ...r.slis.map((s) => `  ${s.sli}: ${s.objective}; ${budgetText(s.budgetLeft, s.windowDays)}`),
    ...r.rules.map((rule) => `  burn: ${rule}`),
  ];
}
