// The spot suite's worlds: an emulator, the fault proxy in front of it, the control plane and a
// cluster seeded with spot and on-demand instances over three zones.
import {
  AttachInstancesCommand,
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  type _InstanceType,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { awsClient, resetClients } from '../../functions/shared/clients.ts';
import type { ManagedCluster } from '../../functions/shared/managed-clusters.ts';
import {
  LOCAL_ALERT_GROUP_WINDOW_SECONDS,
  type SynthesizedControlPlane,
  setAlertGroupWindow,
} from '../../local/control-plane.ts';
import { type DeployedStack, deployTemplate } from '../../local/deploy.ts';
import { EMULATOR_REGION, type Emulator, localAwsEnv, startEmulator } from '../../local/emulator.ts';
import { type FaultProxy, startFaultProxy } from '../../local/fault-proxy.ts';
import { type LocalFunction, localFunction } from '../../local/lambda-host.ts';
import { OBSERVER_ENDPOINT_VAR } from '../../local/observer.ts';
import {
  AMI,
  registerInstance,
  type Seed,
  type SeededInstance,
  subscribeAlertQueues,
} from '../../local/seed.ts';
import { useStepFunctionsEndpoint } from '../../local/step-functions-endpoint.ts';

/** The share of a seeded cluster's instances that are spot. */
export const SPOT_FRACTION = 0.5;
/** RegisterContainerInstance calls in flight while seeding (one at a time took 70 s for 5,000). */
export const SEED_CONCURRENCY = 16;

// ---------------------------------------------------------------------------------------
// Worlds: an emulator, the fault proxy in front of it, the control plane and a seeded cluster.

export interface World {
  emulator: Emulator;
  proxy: FaultProxy;
  stack: DeployedStack;
  fn: LocalFunction;
  cluster: string;
  instances: SeededInstance[];
  alertQueues: Seed['alertQueues'];
  seedMs: number;
  seedPhases: Record<string, number>;
  used: Set<string>;
  /** Instances known to be DRAINING (none right after seeding; updated after every run). */
  draining: Set<string>;
}

// Credentials from the developer's own setup would override ours or reach for a real account.
const SHADOWING_VARS = ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];

const SPOT_TYPES: _InstanceType[] = ['m5.large', 'm5a.large', 'c5.large', 'r5.large'];
const ON_DEMAND_TYPE: _InstanceType = 'm5.large';
const ZONES = ['a', 'b', 'c'].map((z) => `${EMULATOR_REGION}${z}`);

export async function openWorld(template: SynthesizedControlPlane, clusterSize: number): Promise<World> {
  const emulator = await startEmulator();
  let proxy: FaultProxy | undefined;
  try {
    proxy = await startFaultProxy({ target: emulator.endpoint, throttleRate: 0 });
    for (const key of SHADOWING_VARS) delete process.env[key];
    Object.assign(process.env, localAwsEnv(proxy.endpoint));
    // The rig's own calls (the event source's pollers, read-backs) bypass the proxy that counts.
    process.env[OBSERVER_ENDPOINT_VAR] = emulator.endpoint;
    await useStepFunctionsEndpoint(proxy.endpoint);
    resetClients();
    const stack = await deployTemplate(template.stackName, template.template);
    // As every local deployment: the router's group window compressed from 30 s to 1 s.
    setAlertGroupWindow(stack, LOCAL_ALERT_GROUP_WINDOW_SECONDS);
    const started = performance.now();
    const seeded = await seedCluster(stack, clusterSize);
    const seedMs = performance.now() - started;
    // Each world is a new deployment: its function must not keep the previous world's environment.
    const fn = await localFunction(stack, 'spot-interruption', { freshInstance: true });
    return { emulator, proxy, stack, fn, ...seeded, seedMs, used: new Set(), draining: new Set() };
  } catch (error) {
    await proxy?.stop();
    await emulator.stop();
    throw error;
  }
}

export async function closeWorld(world: World): Promise<void> {
  await world.proxy.stop();
  await world.emulator.stop();
  resetClients();
}

function managedCluster(stack: DeployedStack): ManagedCluster {
  const raw = stack.functions['spot-interruption']?.environment.MANAGED_CLUSTERS;
  const first = (JSON.parse(raw ?? '[]') as ManagedCluster[])[0];
  if (!first) throw new Error('the deployed spot-interruption function manages no cluster');
  return first;
}

/**
 * What local/seed.ts builds for the spot handler (cluster, spot and on-demand instances over three
 * zones and four spot types, the two Auto Scaling groups owning them, alert queues), with the
 * registrations SEED_CONCURRENCY at a time. The ALB and service are left out: the handler never
 * calls them.
 */
export async function seedCluster(stack: DeployedStack, count: number) {
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string) => {
    phases[name] = Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();
  };
  const ec2 = awsClient(EC2Client);
  const ecs = awsClient(ECSClient);
  const asg = awsClient(AutoScalingClient);
  const cluster = managedCluster(stack);
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc?.VpcId as string;
  const subnets: { id: string; az: string }[] = [];
  for (const [i, az] of ZONES.entries()) {
    const s = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.20.${i * 16}.0/20`, AvailabilityZone: az }),
    );
    subnets.push({ id: s.Subnet?.SubnetId as string, az });
  }
  await ecs.send(new CreateClusterCommand({ clusterName: cluster.name }));

  const spotCount = Math.round(count * SPOT_FRACTION);
  const groups = new Map<
    string,
    { spot: boolean; subnet: { id: string; az: string }; type: string; n: number }
  >();
  for (let i = 0; i < count; i++) {
    const spot = i < spotCount;
    const subnet = subnets[i % subnets.length] as { id: string; az: string };
    const type = spot ? (SPOT_TYPES[i % SPOT_TYPES.length] as string) : ON_DEMAND_TYPE;
    const key = `${spot}|${subnet.id}|${type}`;
    const g = groups.get(key) ?? { spot, subnet, type, n: 0 };
    g.n++;
    groups.set(key, g);
  }
  const launched: { id: string; spot: boolean; az: string; type: string }[] = [];
  for (const g of groups.values()) {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: g.n,
        MaxCount: g.n,
        InstanceType: g.type as _InstanceType,
        SubnetId: g.subnet.id,
        ...(g.spot ? { InstanceMarketOptions: { MarketType: 'spot' } } : {}),
      }),
    );
    for (const i of out.Instances ?? [])
      launched.push({ id: i.InstanceId as string, spot: g.spot, az: g.subnet.az, type: g.type });
  }
  phase('runInstancesMs');

  // Concurrent registration is ~1.5x faster; launching concurrently too gained nothing (moto is
  // the bottleneck). Results keep launch order, whatever order the calls finish in.
  const instances: SeededInstance[] = new Array(launched.length);
  let next = 0;
  const register = async () => {
    while (next < launched.length) {
      const index = next++;
      const l = launched[index] as (typeof launched)[number];
      const reg = await registerInstance(ecs, cluster.name, l);
      instances[index] = {
        ec2InstanceId: l.id,
        containerInstanceArn: reg.containerInstance?.containerInstanceArn as string,
        spot: l.spot,
        availabilityZone: l.az,
        instanceType: l.type,
      };
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, register));
  phase('registerMs');

  const lc = `${cluster.name}-lc`;
  await asg.send(
    new CreateLaunchConfigurationCommand({
      LaunchConfigurationName: lc,
      ImageId: AMI,
      InstanceType: ON_DEMAND_TYPE,
    }),
  );
  const owners: [string | undefined, boolean][] = [
    [cluster.spotAsg, true],
    [cluster.onDemandAsg, false],
  ];
  for (const [group, spot] of owners) {
    if (!group) continue;
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: group,
        LaunchConfigurationName: lc,
        MinSize: 0,
        MaxSize: Math.max(10, count * 2),
        DesiredCapacity: 0,
        VPCZoneIdentifier: subnets.map((s) => s.id).join(','),
      }),
    );
    const members = instances.filter((c) => c.spot === spot).map((c) => c.ec2InstanceId);
    for (let i = 0; i < members.length; i += 20)
      await asg.send(
        new AttachInstancesCommand({ AutoScalingGroupName: group, InstanceIds: members.slice(i, i + 20) }),
      );
  }
  phase('autoScalingMs');
  const alertQueues = await subscribeAlertQueues(stack, '');
  phase('alertQueuesMs');
  return { cluster: cluster.name, instances, alertQueues, seedPhases: phases };
}
