// `ops doctor` on the rig: the seeded world, described as a control-plane-only config would
// describe it, passes every check; then each misconfiguration the checks exist for is made on
// purpose, and each is found, named and given its fix. Real SDK calls against the emulator.
import {
  AutoScalingClient,
  CreateLaunchConfigurationCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  CreateCapacityProviderCommand,
  CreateServiceCommand,
  DeleteCapacityProviderCommand,
  ECSClient,
  PutClusterCapacityProvidersCommand,
} from '@aws-sdk/client-ecs';
import {
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHECKS, type Finding, type NamedAlarm } from '../../cli/doctor/checks.ts';
import { namedAlarms, runDoctor } from '../../cli/doctor/command.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import {
  type ControlPlaneOnlyConfig,
  loadEnvironmentConfig,
  parseControlPlaneOnlyConfig,
} from '../../infra/control-plane-only-config.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import { AMI, putCpuAlarm, type Seed, seed } from '../../local/seed.ts';
import { seededEstateConfig } from '../../local/seeded-estate.ts';
import { useEmulator } from '../support/emulator.ts';

useEmulator();

let world: Seed;
let config: ControlPlaneOnlyConfig;
const ALARMS: NamedAlarm[] = [
  { name: 'web-api-latency-p95', namedBy: 'config/remediation/local.json runbook api-latency-notify' },
];

beforeAll(async () => {
  const stack = await deployControlPlane();
  world = await seed(stack, { instances: 4, spotFraction: 0.5 });
  config = seededEstateConfig(world);
  await putCpuAlarm(awsClient(CloudWatchClient), 'web-api-latency-p95');
}, 120_000);

const failures = (findings: Finding[]) =>
  findings.filter((f) => !f.ok).map((f) => `${f.subject} | ${f.check} | ${f.says}`);

describe('ops doctor', () => {
  it('passes a correctly seeded world, having looked at every check', async () => {
    const findings = await runDoctor(config, ALARMS);
    expect(failures(findings)).toEqual([]);
    expect(new Set(findings.map((f) => f.check))).toEqual(new Set(CHECKS));
    expect(findings.map((f) => f.subject)).toEqual(
      expect.arrayContaining(['cluster web', 'service web/api', 'alarms']),
    );
  });

  it('finds each misconfiguration on a deliberately broken world, with its fix', async () => {
    const ecs = awsClient(ECSClient);
    const autoScaling = awsClient(AutoScalingClient);
    const elb = awsClient(ElasticLoadBalancingV2Client);
    const { cluster, autoScalingGroups, capacityProviders, loadBalancer, service } = world;

    // A rolling-update (ECS controller) service behind the same target groups.
    await ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: 'rolling',
        taskDefinition: service.taskDefinition,
        desiredCount: 1,
        loadBalancers: [
          { targetGroupArn: loadBalancer.blueTargetGroupArn, containerName: 'app', containerPort: 8080 },
        ],
      }),
    );
    // The production listener forwards to blue alone: no route for a rollout to weigh.
    await elb.send(
      new ModifyListenerCommand({
        ListenerArn: loadBalancer.listenerArn,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: loadBalancer.blueTargetGroupArn }],
      }),
    );
    // The on-demand group is untagged and full; its provider is detached from the cluster.
    await autoScaling.send(
      new DeleteTagsCommand({
        Tags: [
          {
            ResourceId: autoScalingGroups.onDemand,
            ResourceType: 'auto-scaling-group',
            Key: 'AmazonECSManaged',
          },
        ],
      }),
    );
    await autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: autoScalingGroups.onDemand,
        MaxSize: 2,
        MinSize: 0,
      }),
    );
    // Spot instances boot without the agent's spot draining; the spot provider is made again with
    // managed draining off (detached, deleted, created, attached: as on AWS), and the on-demand
    // provider is left detached.
    await autoScaling.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: 'web-spot-plain',
        ImageId: AMI,
        InstanceType: 'm5.large',
      }),
    );
    await autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: autoScalingGroups.spot,
        LaunchConfigurationName: 'web-spot-plain',
      }),
    );
    const attach = (providers: string[]) =>
      ecs.send(
        new PutClusterCapacityProvidersCommand({
          cluster,
          capacityProviders: providers,
          defaultCapacityProviderStrategy: [],
        }),
      );
    await attach([]);
    const spotGroupArn = (
      await autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [autoScalingGroups.spot] }),
      )
    ).AutoScalingGroups?.[0]?.AutoScalingGroupARN as string;
    await ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: capacityProviders.spot }));
    await ecs.send(
      new CreateCapacityProviderCommand({
        name: capacityProviders.spot,
        autoScalingGroupProvider: {
          autoScalingGroupArn: spotGroupArn,
          managedScaling: { status: 'ENABLED', targetCapacity: 100 },
          managedDraining: 'DISABLED',
        },
      }),
    );
    await attach([capacityProviders.spot]);

    const raw = structuredClone(seededEstateConfig(world)) as ControlPlaneOnlyConfig;
    const api = raw.services[0] as (typeof raw.services)[number];
    // The config: the api's execution role left out of taskRoles, plus a role that does not exist;
    // a rolling-update service; a second cluster entry's draining checked as managed.
    api.taskRoles = [service.roles.task, 'arn:aws:iam::123456789012:role/ecs-ops/local/no-such-role'];
    raw.services.push({
      ...api,
      service: 'rolling',
      taskRoles: [service.roles.task, service.roles.execution],
    });
    (raw.clusters[0] as (typeof raw.clusters)[number]).spot = {
      autoScalingGroup: autoScalingGroups.spot,
      capacityProvider: capacityProviders.spot,
      draining: 'managed',
    };
    const broken = parseControlPlaneOnlyConfig(raw);
    const alarms = [...ALARMS, { name: 'web-api-5xx-rate', namedBy: 'config/rollouts/local.json web/api' }];

    const findings = await runDoctor(broken, alarms);
    expect(failures(findings).sort()).toEqual(
      [
        `cluster web | capacity | the on-demand group web-on-demand has no room to grow (desired 2, max 2): replacements for interrupted spot instances could not be asked for`,
        'cluster web | capacity | capacity provider web-on-demand is not attached to cluster web',
        'cluster web | capacity | web-on-demand is scaled by capacity provider web-on-demand but is not tagged AmazonECSManaged',
        'cluster web | spot draining | capacity provider web-spot has managed draining DISABLED',
        'service web/api | load balancing | no rule of the production listener (port 80) forwards to exactly web-blue and web-green',
        'service web/api | permissions | role ecs-ops/local/no-such-role (services.0.taskRoles) does not exist',
        "service web/api | permissions | its execution role ecs-ops/local/web-api-execution is not in services.0.taskRoles: a rollout's new revision passes it and would be refused (iam:PassRole)",
        "service web/rolling | deployment controller | the service's deployment controller is ECS; rollouts need EXTERNAL (they drive task sets)",
        'service web/rolling | load balancing | no rule of the production listener (port 80) forwards to exactly web-blue and web-green',
        'alarms | alarms | alarm web-api-5xx-rate (config/rollouts/local.json web/api) does not exist',
      ].sort(),
    );
    for (const f of findings.filter((x) => !x.ok)) expect(f.fix, f.says).toMatch(/\S{3}/);

    // The agent's draining, checked as configured (agent), is gone from the spot launch configuration too.
    const agent = await runDoctor(seededEstateConfig(world), ALARMS);
    expect(failures(agent)).toContain(
      "cluster web | spot draining | the ECS agent on web-spot's instances does not drain on a spot warning (ECS_ENABLE_SPOT_INSTANCE_DRAINING=true is not in their user data)",
    );
  });

  it('fails every cluster and service of an estate the account does not hold, each with a fix', async () => {
    const adopted = loadEnvironmentConfig('adopted').controlPlaneOnly;
    if (!adopted) throw new Error('config/adopted.json is not control-plane-only');
    const findings = await runDoctor(adopted, namedAlarms('adopted'));
    const failed = findings.filter((f) => !f.ok);
    expect(new Set(failed.map((f) => f.subject))).toEqual(
      new Set([
        'cluster shop',
        'cluster back-office',
        'service shop/storefront',
        'service shop/checkout',
        'service back-office/admin',
        'service back-office/invoice-worker',
        'service shop/catalog',
        'alarms',
      ]),
    );
    for (const f of failed) expect(f.fix, f.says).toMatch(/\S{3}/);
    expect(failed.filter((f) => f.subject === 'alarms').map((f) => f.says)).toEqual([
      'alarm storefront-cpu-high (config/scaling/adopted.json shop/storefront) does not exist',
      'alarm shop-change-freeze (config/remediation/adopted.json guardAlarms) does not exist',
      'alarm checkout-5xx (config/remediation/adopted.json runbook checkout-5xx-rollback) does not exist',
      'alarm admin-unhealthy-hosts (config/remediation/adopted.json runbook admin-unhealthy-tasks) does not exist',
    ]);
  });
});
