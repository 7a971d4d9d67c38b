// Many services, two clusters, one control plane deployed from a control-plane-only config: a
// rollout, a scale and a remediation on one service leave every other service untouched (task
// sets, desired counts, listener routes), and a spot storm drains instances across both clusters.
// The control plane's grants are the scoped ones (IAM enforced on the rig), and `ops doctor`
// passes on this estate first.

import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeContainerInstancesCommand, DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../cli/doctor/command.ts';
import { ManagedServicesSchema } from '../../functions/shared/rollouts/config.ts';
import { parseControlPlaneOnlyConfig } from '../../infra/control-plane-only-config.ts';
import { observerClient } from '../../local/observer.ts';
import { runRollout } from '../../local/rollouts.ts';
import { putEvents, sampleEvent, spotHarness } from '../../local/spot-harness.ts';
import { runDeployedWorkflow } from '../../local/workflows.ts';
import { ESTATE_CONFIG, useManyServicesWorld } from './world.ts';

const world = useManyServicesWorld();
const SERVICES = [
  ['web', 'api'],
  ['web', 'checkout'],
  ['web', 'worker'],
  ['batch', 'api'],
] as const;

/** Everything a change to one service could touch by mistake, per service and per cluster. */
async function snapshot() {
  const ecs = observerClient(ECSClient);
  const elb = observerClient(ElasticLoadBalancingV2Client);
  const services: Record<string, unknown> = {};
  for (const [cluster, service] of SERVICES) {
    const s = (await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }))).services?.[0];
    services[`${cluster}/${service}`] = {
      desiredCount: s?.desiredCount,
      taskSets: (s?.taskSets ?? []).map((t) => `${t.status} ${t.taskDefinition?.split('/').at(-1)}`).sort(),
    };
  }
  const weights = (
    actions: { ForwardConfig?: { TargetGroups?: { TargetGroupArn?: string; Weight?: number }[] } }[] = [],
  ) =>
    (actions[0]?.ForwardConfig?.TargetGroups ?? []).map(
      (g) => `${g.TargetGroupArn?.split('/')[1]}=${g.Weight}`,
    );
  const listener = async (arn: string) =>
    weights(
      (await elb.send(new DescribeListenersCommand({ ListenerArns: [arn] }))).Listeners?.[0]?.DefaultActions,
    );
  const routes = {
    'web/api': await listener(world.web.loadBalancer.listenerArn),
    'web/checkout': weights(
      (await elb.send(new DescribeRulesCommand({ RuleArns: [world.checkout.ruleArn] }))).Rules?.[0]?.Actions,
    ),
    'batch/api': await listener(world.batch.loadBalancer.listenerArn),
  };
  const instances: Record<string, string[]> = {};
  for (const seeded of [world.web, world.batch]) {
    const described = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: seeded.cluster,
        containerInstances: seeded.containerInstances.map((c) => c.containerInstanceArn),
      }),
    );
    instances[seeded.cluster] = (described.containerInstances ?? [])
      .map((c) => `${c.ec2InstanceId} ${c.status}`)
      .sort();
  }
  const groups = await observerClient(AutoScalingClient).send(new DescribeAutoScalingGroupsCommand({}));
  const capacity = Object.fromEntries(
    (groups.AutoScalingGroups ?? []).map((g) => [g.AutoScalingGroupName, g.DesiredCapacity]),
  );
  return { services, routes, instances, capacity };
}

/** The snapshot with one service's (or route's) entries left out: what must not have moved. */
const without = (s: Awaited<ReturnType<typeof snapshot>>, service: string) => ({
  ...s,
  services: Object.fromEntries(Object.entries(s.services).filter(([k]) => k !== service)),
  routes: Object.fromEntries(Object.entries(s.routes).filter(([k]) => k !== service)),
});

describe('many services on two clusters, one control plane', () => {
  it('is an estate ops doctor passes: four services, two clusters, every check', async () => {
    // The control plane runs with what the config references: three rolled-out services (the
    // worker has no load balancer), two clusters.
    const env = world.stack.functions['rollout-step']?.environment ?? {};
    expect(ManagedServicesSchema.parse(env.MANAGED_SERVICES).map((s) => `${s.cluster}/${s.service}`)).toEqual(
      ['web/api', 'web/checkout', 'batch/api'],
    );
    const spotEnv = world.stack.functions['spot-interruption']?.environment ?? {};
    expect((JSON.parse(spotEnv.MANAGED_CLUSTERS ?? '[]') as { name: string }[]).map((c) => c.name)).toEqual([
      'web',
      'batch',
    ]);
    const findings = await runDoctor(parseControlPlaneOnlyConfig(ESTATE_CONFIG), []);
    expect(findings.filter((f) => !f.ok).map((f) => `${f.subject}: ${f.says}`)).toEqual([]);
    expect(new Set(findings.map((f) => f.subject))).toEqual(
      new Set([
        'cluster web',
        'cluster batch',
        'service web/api',
        'service web/checkout',
        'service web/worker',
        'service batch/api',
        'alarms',
      ]),
    );
  });

  it('rolls out web/checkout to 100% green and leaves web/api, web/worker and batch/api as they were', async () => {
    const before = await snapshot();
    const result = await runRollout(
      world.stack,
      {
        cluster: 'web',
        service: 'checkout',
        image: 'registry.local/checkout:2',
        strategy: { type: 'all-at-once' },
        analysis: { enabled: false },
        rollbackWindowSeconds: 0,
        terminationWaitSeconds: 0,
        requestedBy: 'many-services test',
      },
      { clock: world.clock },
    );
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const after = await snapshot();
    expect(after.routes['web/checkout']).toEqual(['web-checkout-blue=0', 'web-checkout-green=100']);
    expect((after.services['web/checkout'] as { taskSets: string[] }).taskSets).toEqual([
      'PRIMARY web-checkout:2',
    ]);
    expect(without(after, 'web/checkout')).toEqual(without(before, 'web/checkout'));
  });

  it('scales web/worker and leaves the other services as they were', async () => {
    const before = await snapshot();
    const result = await runDeployedWorkflow(
      world.stack,
      'scale-service',
      { cluster: 'web', service: 'worker', desiredCount: 4, reason: 'backlog' },
      { clock: world.clock },
    );
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const after = await snapshot();
    expect(after.services['web/worker']).toMatchObject({ desiredCount: 4 });
    expect(without(after, 'web/worker')).toEqual(without(before, 'web/worker'));
  });

  it("remediates web/api's CPU alarm (scale-out runbook) and leaves the other services as they were", async () => {
    const cloudwatch = observerClient(CloudWatchClient);
    const alarm = 'web-api-cpu-high';
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarm,
        Namespace: 'AWS/ECS',
        MetricName: 'CPUUtilization',
        Dimensions: [
          { Name: 'ClusterName', Value: 'web' },
          { Name: 'ServiceName', Value: 'api' },
        ],
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 80,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    const setAlarm = (StateValue: 'ALARM' | 'OK') =>
      cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue, StateReason: 'test' }));
    await setAlarm('ALARM');
    const before = await snapshot();
    const from = (before.services['web/api'] as { desiredCount: number }).desiredCount;
    const result = await runDeployedWorkflow(
      world.stack,
      'remediate-alarm',
      { alarmName: alarm },
      {
        clock: world.clock,
        // CPU comes back under the threshold once the runbook scaled out, as it would.
        beforeLambda: async (fn, event) => {
          if (fn === 'remediate-step' && (event as { action?: string }).action === 'verify')
            await setAlarm('OK');
        },
      },
    );
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const after = await snapshot();
    expect(after.services['web/api']).toMatchObject({ desiredCount: from + 2 });
    expect(without(after, 'web/api')).toEqual(without(before, 'web/api'));
  });

  it('drains spot instances of both clusters in one storm, each replaced from its own cluster’s group', async () => {
    const before = await snapshot();
    const webSpot = world.web.containerInstances.filter((c) => c.spot).slice(0, 2);
    const batchSpot = world.batch.containerInstances.filter((c) => c.spot).slice(0, 1);
    const harness = await spotHarness(world.stack, { clock: world.clock });
    await putEvents(
      [...webSpot, ...batchSpot].map((i) =>
        sampleEvent('ec2-spot-instance-interruption-warning', i.ec2InstanceId),
      ),
    );
    await harness.process();
    const after = await snapshot();
    const drained = (cluster: 'web' | 'batch') =>
      (after.instances[cluster] ?? []).filter((i) => i.endsWith('DRAINING')).map((i) => i.split(' ')[0]);
    expect(drained('web').sort()).toEqual(webSpot.map((i) => i.ec2InstanceId).sort());
    expect(drained('batch')).toEqual(batchSpot.map((i) => i.ec2InstanceId));
    // Each replacement comes from the interrupted instance's own cluster's spot group.
    expect(after.capacity['web-spot']).toBe((before.capacity['web-spot'] ?? 0) + webSpot.length);
    expect(after.capacity['batch-spot']).toBe((before.capacity['batch-spot'] ?? 0) + batchSpot.length);
    expect(after.services).toEqual(before.services);
    expect(after.routes).toEqual(before.routes);
  });
});
