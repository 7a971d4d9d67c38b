// `ops seed`: a miniature of the deployed stack in the emulator. The control-plane resources
// come from the synthesized template (deployTemplate); the application side (VPC, cluster,
// spot and on-demand instances registered as container instances, Auto Scaling groups with their
// capacity providers, a service with its task roles, an ALB with blue and green target groups) is
// created here with the real SDK, as ready for the control plane as `ops doctor` checks it.
import {
  AttachInstancesCommand,
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { type CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import {
  type _InstanceType,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateCapacityProviderCommand,
  CreateClusterCommand,
  CreateServiceCommand,
  CreateTaskSetCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  PutClusterCapacityProvidersCommand,
  RegisterContainerInstanceCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  UpdateServiceCommand,
  UpdateServicePrimaryTaskSetCommand,
} from '@aws-sdk/client-ecs';
import {
  type Action,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ANALYSED_HOOK_STAGES } from '../events/ecs-lifecycle-hook.ts';
import { awsClient } from '../functions/shared/clients.ts';
import type { ManagedCluster } from '../functions/shared/managed-clusters.ts';
import { ALB_NAMESPACE, targetGroupDimensions } from '../functions/shared/rollouts/analysis/metrics.ts';
import { taskRolePathFor } from '../infra/config.ts';
import { DEPLOYMENT_HOOK_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import type { DeployedStack } from './deploy.ts';
import { registerTargets } from './ecs-deployment-stand-in.ts';
import { EMULATOR_REGION } from './emulator.ts';

export interface SeedOptions {
  instances?: number;
  spotFraction?: number;
  cluster?: ManagedCluster;
  /** Resource names get this suffix, so several seeds can share one emulator. */
  suffix?: string;
}

export interface SeededInstance {
  ec2InstanceId: string;
  containerInstanceArn: string;
  spot: boolean;
  availabilityZone: string;
  instanceType: string;
}

export interface Seed {
  cluster: string;
  clusterArn: string;
  vpcId: string;
  subnets: { id: string; availabilityZone: string }[];
  containerInstances: SeededInstance[];
  autoScalingGroups: { spot: string; onDemand: string };
  capacityProviders: { spot: string; onDemand: string };
  service: {
    name: string;
    arn: string;
    taskDefinition: string;
    blueTaskSetArn: string;
    /** The task and execution roles of its task definition (ARNs, under the environment's role path). */
    roles: { task: string; execution: string };
  };
  loadBalancer: {
    name: string;
    arn: string;
    listenerArn: string;
    blueTargetGroupArn: string;
    greenTargetGroupArn: string;
  };
  alertQueues: Record<'critical' | 'warning' | 'info', string>;
  /** web/shop, deployed by ECS and judged by the deployment hook (where the stack has the hook). */
  shop?: EcsDeployedService;
}

/** A service with the ECS deployment controller, as a team would have made it. */
export interface EcsDeployedService {
  name: string;
  arn: string;
  taskDefinition: string;
  /** Its two target groups: the production rule sends all traffic to `a` at first. */
  targetGroups: { a: string; b: string };
  productionRuleArn: string;
  testRuleArn: string;
}

const ZONES = ['a', 'b', 'c'].map((z) => `${EMULATOR_REGION}${z}`);
const SPOT_TYPES: _InstanceType[] = ['m5.large', 'm5a.large', 'c5.large', 'r5.large'];
const ON_DEMAND_TYPE: _InstanceType = 'm5.large';
/** The image every seeded instance runs. */
export const AMI = 'ami-12c6146b';

export async function seed(stack: DeployedStack, opts: SeedOptions = {}): Promise<Seed> {
  const count = opts.instances ?? 12;
  const spotFraction = opts.spotFraction ?? 0.5;
  const cluster: ManagedCluster = opts.cluster ?? {
    name: 'web',
    rebalance: 'surge',
    spotAsg: 'web-spot',
    onDemandAsg: 'web-on-demand',
  };
  const ec2 = awsClient(EC2Client);
  const ecs = awsClient(ECSClient);
  const asg = awsClient(AutoScalingClient);

  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const vpcId = vpc.Vpc?.VpcId as string;
  const subnets: Seed['subnets'] = [];
  for (const [i, az] of ZONES.entries()) {
    const s = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.20.${i * 16}.0/20`, AvailabilityZone: az }),
    );
    subnets.push({ id: s.Subnet?.SubnetId as string, availabilityZone: az });
  }

  const created = await ecs.send(new CreateClusterCommand({ clusterName: cluster.name }));
  const clusterArn = created.cluster?.clusterArn as string;

  // Real EC2 instances, spread over the zones; spot ones across several instance types.
  const spotCount = Math.round(count * spotFraction);
  const containerInstances: SeededInstance[] = [];
  const plan = Array.from({ length: count }, (_, i) => ({
    spot: i < spotCount,
    subnet: subnets[i % subnets.length] as Seed['subnets'][number],
    type: i < spotCount ? (SPOT_TYPES[i % SPOT_TYPES.length] as _InstanceType) : ON_DEMAND_TYPE,
  }));
  // Launch in groups of the same (market, subnet, type) to keep the call count low.
  const groups = new Map<string, typeof plan>();
  for (const p of plan) {
    const key = `${p.spot}|${p.subnet.id}|${p.type}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const launched: { id: string; spot: boolean; az: string; type: string }[] = [];
  for (const members of groups.values()) {
    const first = members[0] as (typeof plan)[number];
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: members.length,
        MaxCount: members.length,
        InstanceType: first.type,
        SubnetId: first.subnet.id,
        ...(first.spot ? { InstanceMarketOptions: { MarketType: 'spot' } } : {}),
      }),
    );
    for (const instance of out.Instances ?? []) {
      launched.push({
        id: instance.InstanceId as string,
        spot: first.spot,
        az: first.subnet.availabilityZone,
        type: first.type,
      });
    }
  }
  for (const l of launched) {
    const reg = await registerInstance(ecs, cluster.name, l);
    containerInstances.push({
      ec2InstanceId: l.id,
      containerInstanceArn: reg.containerInstance?.containerInstanceArn as string,
      spot: l.spot,
      availabilityZone: l.az,
      instanceType: l.type,
    });
  }

  // Auto Scaling groups that own the instances (replacement capacity is requested from them).
  const spotAsg = cluster.spotAsg ?? `${cluster.name}-spot`;
  const onDemandAsg = cluster.onDemandAsg ?? `${cluster.name}-on-demand`;
  // As deployed (infra/application/ecs-capacity.ts): the agent joins the cluster, and on spot
  // instances also drains on the two-minute warning.
  const launchConfiguration = (spot: boolean) => `${cluster.name}-${spot ? 'spot-' : ''}lc`;
  for (const spot of [false, true]) {
    const agentConfig = [
      `echo ECS_CLUSTER=${cluster.name} >> /etc/ecs/ecs.config`,
      ...(spot ? ['echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config'] : []),
    ];
    await asg.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: launchConfiguration(spot),
        ImageId: AMI,
        InstanceType: ON_DEMAND_TYPE,
        UserData: Buffer.from(['#!/bin/bash', ...agentConfig].join('\n')).toString('base64'),
      }),
    );
  }
  const zones = subnets.map((s) => s.id).join(',');
  for (const [name, spot] of [
    [spotAsg, true],
    [onDemandAsg, false],
  ] as const) {
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        LaunchConfigurationName: launchConfiguration(spot),
        MinSize: 0,
        MaxSize: Math.max(10, count * 2),
        DesiredCapacity: 0,
        VPCZoneIdentifier: zones,
        // ECS expects this tag on a group its capacity provider scales.
        Tags: [{ Key: 'AmazonECSManaged', Value: '', PropagateAtLaunch: true }],
      }),
    );
    const members = containerInstances.filter((c) => c.spot === spot).map((c) => c.ec2InstanceId);
    for (let i = 0; i < members.length; i += 20) {
      await asg.send(
        new AttachInstancesCommand({ AutoScalingGroupName: name, InstanceIds: members.slice(i, i + 20) }),
      );
    }
  }
  // A capacity provider over each group, attached to the cluster: managed scaling, and managed
  // draining of the instances it scales in.
  const groupArns = await asg.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [spotAsg, onDemandAsg] }),
  );
  const capacityProviders = { spot: `${cluster.name}-spot`, onDemand: `${cluster.name}-on-demand` };
  for (const [provider, group] of [
    [capacityProviders.spot, spotAsg],
    [capacityProviders.onDemand, onDemandAsg],
  ] as const) {
    await ecs.send(
      new CreateCapacityProviderCommand({
        name: provider,
        autoScalingGroupProvider: {
          autoScalingGroupArn: groupArns.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === group)
            ?.AutoScalingGroupARN as string,
          managedScaling: { status: 'ENABLED', targetCapacity: 100 },
          managedTerminationProtection: 'DISABLED',
          managedDraining: 'ENABLED',
        },
      }),
    );
  }
  await ecs.send(
    new PutClusterCapacityProvidersCommand({
      cluster: cluster.name,
      capacityProviders: [capacityProviders.spot, capacityProviders.onDemand],
      defaultCapacityProviderStrategy: [],
    }),
  );

  // A service with blue and green target groups behind one listener.
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const lb = await elb.send(
    new CreateLoadBalancerCommand({
      Name: `${cluster.name}-alb`,
      Subnets: subnets.map((s) => s.id),
      Type: 'application',
    }),
  );
  const lbArn = lb.LoadBalancers?.[0]?.LoadBalancerArn as string;
  const tg = (color: string) => createTargetGroup(elb, `${cluster.name}-${color}`, vpcId);
  const blue = await tg('blue');
  const green = await tg('green');
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lbArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: allTrafficToBlue(blue, green),
    }),
  );
  const environmentName = stack.functions['rollout-step']?.environment.OPS_ENVIRONMENT ?? 'local';
  const service = await createRolledOutService({
    cluster: cluster.name,
    service: 'api',
    environmentName,
    blueTargetGroupArn: blue,
    desiredCount: 4,
    memoryMiB: 512,
  });

  // An SQS queue behind each alert topic, so alerts can be read back.
  const alertQueues = await subscribeAlertQueues(stack, opts.suffix ?? '');
  const hook = stack.outputs[DEPLOYMENT_HOOK_OUTPUTS.functionArn];
  const hookRole = stack.outputs[DEPLOYMENT_HOOK_OUTPUTS.invokeRoleArn];
  const shop =
    hook && hookRole && opts.suffix === undefined
      ? await createEcsDeployedService({
          cluster: cluster.name,
          service: 'shop',
          vpcId,
          loadBalancerArn: lbArn,
          listenerArn: listener.Listeners?.[0]?.ListenerArn as string,
          hook: { functionArn: hook, roleArn: hookRole },
        })
      : undefined;

  return {
    cluster: cluster.name,
    clusterArn,
    vpcId,
    subnets,
    containerInstances,
    autoScalingGroups: { spot: spotAsg, onDemand: onDemandAsg },
    capacityProviders,
    service: { name: 'api', ...service },
    loadBalancer: {
      name: `${cluster.name}-alb`,
      arn: lbArn,
      listenerArn: listener.Listeners?.[0]?.ListenerArn as string,
      blueTargetGroupArn: blue,
      greenTargetGroupArn: green,
    },
    alertQueues,
    ...(shop ? { shop } : {}),
  };
}

/** A listener action or rule action as a blue/green service starts: all traffic to blue, none to green. */
export function allTrafficToBlue(blue: string, green: string): Action[] {
  return [
    {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: blue, Weight: 100 },
          { TargetGroupArn: green, Weight: 0 },
        ],
      },
    },
  ];
}

/** A target group as the seeded services use them: HTTP on 8080, ip targets, a health path. */
export async function createTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  name: string,
  vpcId: string,
): Promise<string> {
  const out = await elb.send(
    new CreateTargetGroupCommand({
      Name: name,
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: vpcId,
      TargetType: 'ip',
      HealthCheckPath: '/healthz',
    }),
  );
  return out.TargetGroups?.[0]?.TargetGroupArn as string;
}

/**
 * A service as infra/application/web-service.ts deploys one: its task and execution roles under the
 * environment's role path (a rollout's new revision passes them, and rollout-step may pass no
 * other), a task definition in the `<cluster>-<service>` family, the EXTERNAL deployment
 * controller, and one task set behind blue as primary; rollouts create, weigh and delete task
 * sets from there.
 */
export async function createRolledOutService(opts: {
  cluster: string;
  service: string;
  environmentName: string;
  blueTargetGroupArn: string;
  desiredCount: number;
  memoryMiB: number;
}): Promise<Omit<Seed['service'], 'name'>> {
  const ecs = awsClient(ECSClient);
  const iam = awsClient(IAMClient);
  const roles = { task: '', execution: '' };
  for (const kind of ['task', 'execution'] as const) {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: `${opts.cluster}-${opts.service}-${kind}`,
        Path: taskRolePathFor(opts.environmentName),
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    roles[kind] = created.Role?.Arn as string;
  }
  const taskDef = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: `${opts.cluster}-${opts.service}`,
      taskRoleArn: roles.task,
      executionRoleArn: roles.execution,
      containerDefinitions: [
        {
          name: 'app',
          image: 'public.ecr.aws/nginx/nginx:stable',
          memory: opts.memoryMiB,
          essential: true,
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    }),
  );
  const service = await ecs.send(
    new CreateServiceCommand({
      cluster: opts.cluster,
      serviceName: opts.service,
      desiredCount: opts.desiredCount,
      deploymentController: { type: 'EXTERNAL' },
    }),
  );
  const blueTaskSet = await ecs.send(
    new CreateTaskSetCommand({
      cluster: opts.cluster,
      service: opts.service,
      taskDefinition: taskDef.taskDefinition?.taskDefinitionArn,
      externalId: 'seed-initial',
      loadBalancers: [{ targetGroupArn: opts.blueTargetGroupArn, containerName: 'app', containerPort: 8080 }],
      launchType: 'EC2',
      scale: { unit: 'PERCENT', value: 100 },
    }),
  );
  const blueTaskSetArn = blueTaskSet.taskSet?.taskSetArn as string;
  await ecs.send(
    new UpdateServicePrimaryTaskSetCommand({
      cluster: opts.cluster,
      service: opts.service,
      primaryTaskSet: blueTaskSetArn,
    }),
  );
  return {
    arn: service.service?.serviceArn as string,
    taskDefinition: taskDef.taskDefinition?.taskDefinitionArn as string,
    blueTaskSetArn,
    roles,
  };
}

/** How the seeded ECS-deployed service is configured: a canary, the hook at its four stages. */
export const SEEDED_ECS_DEPLOYMENT = {
  strategy: 'CANARY',
  canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 5 },
  bakeTimeInMinutes: 5,
  hookDetails: { bakeSeconds: 300 },
} as const;

/**
 * A service ECS deploys, as infra/application/web-service.ts makes one with `deployment.controller:
 * ecs`: its own target groups, a path rule on the production listener and one on a test listener
 * (port 8081), both forwarding to the two groups; the ECS deployment controller with a canary
 * and the control plane's lifecycle hook; a task definition in the `<cluster>-<service>` family.
 * No tasks: the emulator runs none.
 */
export async function createEcsDeployedService(opts: {
  cluster: string;
  service: string;
  vpcId: string;
  loadBalancerArn: string;
  listenerArn: string;
  hook: { functionArn: string; roleArn: string };
}): Promise<EcsDeployedService> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const ecs = awsClient(ECSClient);
  const prefix = `${opts.cluster}-${opts.service}`;
  const a = await createTargetGroup(elb, `${prefix}-a`, opts.vpcId);
  const b = await createTargetGroup(elb, `${prefix}-b`, opts.vpcId);
  const paths = { Field: 'path-pattern', PathPatternConfig: { Values: [`/${opts.service}/*`] } };
  const production = await elb.send(
    new CreateRuleCommand({
      ListenerArn: opts.listenerArn,
      Priority: 20,
      Conditions: [paths],
      Actions: allTrafficToBlue(a, b),
    }),
  );
  const testListener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: opts.loadBalancerArn,
      Protocol: 'HTTP',
      Port: 8081,
      DefaultActions: [
        { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain' } },
      ],
    }),
  );
  const test = await elb.send(
    new CreateRuleCommand({
      ListenerArn: testListener.Listeners?.[0]?.ListenerArn,
      Priority: 20,
      Conditions: [paths],
      Actions: allTrafficToBlue(a, b),
    }),
  );
  const productionRuleArn = production.Rules?.[0]?.RuleArn as string;
  const testRuleArn = test.Rules?.[0]?.RuleArn as string;
  // The tasks of its first deployment serve from `a`.
  await registerTargets(a);
  const definition = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: prefix,
      containerDefinitions: [
        {
          name: 'app',
          image: `registry.local/${opts.service}:1`,
          memory: 256,
          essential: true,
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    }),
  );
  const taskDefinition = definition.taskDefinition?.taskDefinitionArn as string;
  const account = opts.loadBalancerArn.split(':')[4];
  const created = await ecs.send(
    new CreateServiceCommand({
      cluster: opts.cluster,
      serviceName: opts.service,
      taskDefinition,
      desiredCount: 2,
      deploymentController: { type: 'ECS' },
      loadBalancers: [
        {
          targetGroupArn: a,
          containerName: 'app',
          containerPort: 8080,
          advancedConfiguration: {
            alternateTargetGroupArn: b,
            productionListenerRule: productionRuleArn,
            testListenerRule: testRuleArn,
            roleArn: `arn:aws:iam::${account}:role/${prefix}-load-balancers`,
          },
        },
      ],
    }),
  );
  // The emulator keeps a deployment configuration given to UpdateService (CreateService drops it).
  await ecs.send(
    new UpdateServiceCommand({
      cluster: opts.cluster,
      service: opts.service,
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        strategy: SEEDED_ECS_DEPLOYMENT.strategy,
        canaryConfiguration: { ...SEEDED_ECS_DEPLOYMENT.canaryConfiguration },
        bakeTimeInMinutes: SEEDED_ECS_DEPLOYMENT.bakeTimeInMinutes,
        lifecycleHooks: [
          {
            hookTargetArn: opts.hook.functionArn,
            roleArn: opts.hook.roleArn,
            lifecycleStages: [...ANALYSED_HOOK_STAGES],
            hookDetails: { ...SEEDED_ECS_DEPLOYMENT.hookDetails },
          },
        ],
      },
    }),
  );
  return {
    name: opts.service,
    arn: created.service?.serviceArn as string,
    taskDefinition,
    targetGroups: { a, b },
    productionRuleArn,
    testRuleArn,
  };
}

const SEVERITIES = ['critical', 'warning', 'info'] as const;

export async function subscribeAlertQueues(
  stack: DeployedStack,
  suffix: string,
): Promise<Seed['alertQueues']> {
  const sqs = awsClient(SQSClient);
  const sns = awsClient(SNSClient);
  // Only the alert router publishes, so only its environment names the topics.
  const env = stack.functions['alert-router']?.environment ?? {};
  const out = {} as Seed['alertQueues'];
  for (const severity of SEVERITIES) {
    const topicArn = env[`ALERT_TOPIC_${severity.toUpperCase()}`];
    if (!topicArn)
      throw new Error(`stack has no ALERT_TOPIC_${severity.toUpperCase()} in the alert-router environment`);
    const q = await sqs.send(new CreateQueueCommand({ QueueName: `alerts-${severity}${suffix}` }));
    const url = q.QueueUrl as string;
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: attrs.Attributes?.QueueArn as string,
      }),
    );
    out[severity] = url;
  }
  return out;
}

/** The instance as the ECS agent registers it: its identity document and its resources. */
export function registerInstance(
  ecs: ECSClient,
  cluster: string,
  instance: { id: string; az: string; type: string },
) {
  return ecs.send(
    new RegisterContainerInstanceCommand({
      cluster,
      instanceIdentityDocument: JSON.stringify({
        instanceId: instance.id,
        region: EMULATOR_REGION,
        availabilityZone: instance.az,
        instanceType: instance.type,
        imageId: AMI,
      }),
      instanceIdentityDocumentSignature: 'local',
      totalResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 7680 },
      ],
    }),
  );
}

/** The CPU alarm the tour, tests and benches remediate: average CPUUtilization over 80% for a minute. */
export function putCpuAlarm(
  cloudwatch: CloudWatchClient,
  name: string,
  dimensions: Record<string, string> = {},
) {
  return cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'AWS/ECS',
      MetricName: 'CPUUtilization',
      ...(Object.keys(dimensions).length > 0
        ? { Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) }
        : {}),
      Statistic: 'Average',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 80,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
}

/**
 * Stand-ins for the alarms the capability files name but nothing deploys (a runbook's alarm, a
 * guard alarm): in a real estate they are the team's own. Created so that the seeded world is
 * complete, as `ops doctor` checks it; a metric nothing publishes, so each stays out of ALARM.
 */
export async function putNamedAlarms(cloudwatch: CloudWatchClient, names: readonly string[]): Promise<void> {
  for (const name of new Set(names))
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        AlarmDescription: 'Stand-in created by ops seed for an alarm the config names',
        Namespace: 'EcsOps/Seeded',
        MetricName: name,
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
}

/**
 * The seeded service's own alarms, as its team would have them and the documented examples name
 * them (`<cluster>-<service>-…`): CPU on the service, which the `api-cpu-scale-out` runbook matches,
 * and 5xx and p99 latency on green's target group, which rollouts' analysis may list and the
 * `api-5xx-rollback` runbook matches. Each stays out of ALARM until something sets it.
 */
export async function putServiceAlarms(cloudwatch: CloudWatchClient, world: Seed): Promise<void> {
  const prefix = `${world.cluster}-${world.service.name}`;
  await putCpuAlarm(cloudwatch, `${prefix}-cpu-high`, {
    ClusterName: world.cluster,
    ServiceName: world.service.name,
  });
  const green = targetGroupDimensions(world.loadBalancer.greenTargetGroupArn, world.loadBalancer.arn);
  const onGreen = {
    Namespace: ALB_NAMESPACE,
    Dimensions: green,
    Period: 60,
    EvaluationPeriods: 3,
    ComparisonOperator: 'GreaterThanThreshold' as const,
  };
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      ...onGreen,
      AlarmName: `${prefix}-green-5xx`,
      MetricName: 'HTTPCode_Target_5XX_Count',
      Statistic: 'Sum',
      Threshold: 10,
    }),
  );
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      ...onGreen,
      AlarmName: `${prefix}-green-latency-p99`,
      MetricName: 'TargetResponseTime',
      ExtendedStatistic: 'p99',
      Threshold: 1,
    }),
  );
}

/**
 * The next revision of the seeded service's task definition, registered as CI would before a
 * rollout deploys it (the all-at-once console input names it): blue's, with a newer image.
 */
export async function registerNextRevision(world: Seed): Promise<void> {
  const ecs = awsClient(ECSClient);
  const blue = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: world.service.taskDefinition }),
  );
  const current = blue.taskDefinition;
  if (!current) throw new Error(`no task definition ${world.service.taskDefinition}`);
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: current.family,
      taskRoleArn: current.taskRoleArn,
      executionRoleArn: current.executionRoleArn,
      containerDefinitions: (current.containerDefinitions ?? []).map((c) => ({
        ...c,
        image: 'public.ecr.aws/nginx/nginx:stable-alpine',
      })),
    }),
  );
}

/**
 * A service of `cluster` as a team would have set it up: its deployment configuration and desired
 * count, and its tasks placed on the given container instances (`placements`: instance ARN ->
 * tasks), running as ECS reports them. Returns the started tasks' ARNs.
 */
export async function seedServiceWithTasks(
  ecs: ECSClient,
  cluster: string,
  opts: {
    name: string;
    desiredCount: number;
    minimumHealthyPercent: number;
    maximumPercent: number;
    placements: readonly (readonly [string, number])[];
  },
): Promise<string[]> {
  const definition = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: opts.name,
      containerDefinitions: [
        { name: 'app', image: `registry.local/${opts.name}:1`, memory: 128, essential: true },
      ],
    }),
  );
  const taskDefinition = definition.taskDefinition?.taskDefinitionArn as string;
  await ecs.send(
    new CreateServiceCommand({ cluster, serviceName: opts.name, taskDefinition, desiredCount: 0 }),
  );
  // The emulator keeps a deployment configuration given to UpdateService (CreateService drops
  // it), and counts the desired tasks as running once set there.
  await ecs.send(
    new UpdateServiceCommand({
      cluster,
      service: opts.name,
      desiredCount: opts.desiredCount,
      deploymentConfiguration: {
        minimumHealthyPercent: opts.minimumHealthyPercent,
        maximumPercent: opts.maximumPercent,
      },
    }),
  );
  const started: string[] = [];
  for (const [containerInstanceArn, count] of opts.placements)
    for (let n = 0; n < count; n++) {
      const out = await ecs.send(
        new StartTaskCommand({
          cluster,
          taskDefinition,
          containerInstances: [containerInstanceArn],
          group: `service:${opts.name}`,
          startedBy: `ecs-svc/${opts.name}`,
        }),
      );
      started.push(...(out.tasks ?? []).map((t) => t.taskArn as string));
    }
  return started;
}

/** A Fargate service of `cluster` with its capacity provider strategy (FARGATE, FARGATE_SPOT). */
export async function seedFargateService(
  ecs: ECSClient,
  cluster: string,
  opts: {
    name: string;
    desiredCount: number;
    capacityProviderStrategy: { capacityProvider: string; base?: number; weight: number }[];
  },
): Promise<void> {
  const definition = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: opts.name,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: 'app', image: `registry.local/${opts.name}:1`, essential: true }],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: opts.name,
      taskDefinition: definition.taskDefinition?.taskDefinitionArn,
      desiredCount: opts.desiredCount,
      capacityProviderStrategy: opts.capacityProviderStrategy,
    }),
  );
}
