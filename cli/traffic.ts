// `ops traffic`: load balancer metrics for a seeded service (web/api, or web/shop, which ECS
// deploys), written into the local emulator's CloudWatch as the ALB publishes them (one
// datapoint per minute), so a local `ops rollout` has something to judge. No data is not a pass:
// without traffic a rollout's analysis is inconclusive and waits for a human.
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { awsClient } from '../functions/shared/clients.ts';
import { servingGroups } from '../local/ecs-deployment-stand-in.ts';
import { healthyTraffic, type MinuteOfTraffic, putTargetGroupMetrics } from '../local/rollouts.ts';
import type { Seed } from '../local/seed.ts';
import { loadLocalState } from './local-state.ts';
import { TRAFFIC_PROFILES } from './traffic-profiles.ts';
import { UsageError } from './usage.ts';

export interface TrafficFlags {
  service?: string;
  green?: string;
  blue?: string;
  hours?: string;
}

/** A traffic profile: `healthy`, `errors:12` (12% 5xx), `slow:900` (900 ms responses). */
export function trafficProfile(text: string, flag: string): (minute: number) => MinuteOfTraffic {
  const [kind, value] = text.split(':');
  const requests = (m: number) => healthyTraffic(m).requests;
  if (kind === 'healthy' && value === undefined) return healthyTraffic;
  const n = Number(value);
  if (kind === 'errors' && Number.isFinite(n) && n >= 0 && n <= 100)
    return (m) => ({ requests: requests(m), errors: Math.round((requests(m) * n) / 100), latencyMs: 50 });
  if (kind === 'slow' && Number.isFinite(n) && n > 0)
    return (m) => ({ requests: requests(m), errors: 0, latencyMs: n + (m % 5) });
  throw new UsageError(`--${flag} takes ${TRAFFIC_PROFILES} (got ${text})`);
}

export async function trafficCommand(
  flags: TrafficFlags,
  out: (human: string, data: unknown) => void,
): Promise<number> {
  const green = trafficProfile(flags.green ?? 'healthy', 'green');
  const blue = trafficProfile(flags.blue ?? 'healthy', 'blue');
  const hours = Number(flags.hours ?? '2');
  if (!Number.isFinite(hours) || hours <= 0 || hours > 48)
    throw new UsageError(`--hours takes a number of hours above 0 and at most 48 (got ${flags.hours})`);
  const { seed } = await loadLocalState();
  const { name, live, idle } = await liveAndIdle(seed, flags.service);
  const lb = seed.loadBalancer;
  // A local rollout's clock starts at the real time it is started: cover from now on.
  const from = Date.now() - 2 * 60_000;
  const to = Date.now() + hours * 3_600_000;
  const points =
    (await putTargetGroupMetrics({
      loadBalancerArn: lb.arn,
      targetGroupArn: live,
      from,
      to,
      traffic: blue,
    })) +
    (await putTargetGroupMetrics({
      loadBalancerArn: lb.arn,
      targetGroupArn: idle,
      from,
      to,
      traffic: green,
    }));
  const until = new Date(to).toISOString();
  out(
    `wrote ${points} datapoints for ${seed.cluster}/${name} until ${until}: blue ${flags.blue ?? 'healthy'} (${live.split(':').at(-1)}), green ${flags.green ?? 'healthy'} (${idle.split(':').at(-1)})`,
    {
      points,
      until,
      blue: { targetGroup: live, profile: flags.blue ?? 'healthy' },
      green: { targetGroup: idle, profile: flags.green ?? 'healthy' },
    },
  );
  return 0;
}

/**
 * The target group serving the service now (blue) and the other one (green's next): behind the
 * primary task set for web/api; the production rule's 100% for web/shop, which ECS deploys.
 */
async function liveAndIdle(
  seed: Seed,
  service: string | undefined,
): Promise<{ name: string; live: string; idle: string }> {
  const name = service?.split('/').pop() ?? seed.service.name;
  if (seed.shop && name === seed.shop.name) {
    const { a, b } = seed.shop.targetGroups;
    const { blue, green } = await servingGroups(seed.shop.productionRuleArn, [a, b]);
    return { name, live: blue, idle: green };
  }
  if (name !== seed.service.name)
    throw new UsageError(
      `--service takes ${[seed.service.name, ...(seed.shop ? [seed.shop.name] : [])].join(' or ')} (got ${service})`,
    );
  const described = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: seed.cluster, services: [seed.service.name] }),
  );
  const primary = described.services?.[0]?.taskSets?.find((t) => t.status === 'PRIMARY');
  const lb = seed.loadBalancer;
  const live = primary?.loadBalancers?.[0]?.targetGroupArn ?? lb.blueTargetGroupArn;
  return {
    name,
    live,
    idle: live === lb.blueTargetGroupArn ? lb.greenTargetGroupArn : lb.blueTargetGroupArn,
  };
}
