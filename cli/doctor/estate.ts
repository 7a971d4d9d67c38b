// What `ops doctor` reads of an estate before judging it: the clusters, capacity providers,
// Auto Scaling groups (with their launch user data), services and their task definitions, load
// balancers, listeners and rules, target groups, alarms and roles that a control-plane-only
// config references. Read-only calls, through the clients it is given; a resource that does not
// exist reads as undefined (the checks say what that means).
import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeLaunchConfigurationsCommand,
} from '@aws-sdk/client-auto-scaling';
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeLaunchTemplateVersionsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeCapacityProvidersCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import {
  type Action,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, type IAMClient } from '@aws-sdk/client-iam';

export interface EstateClients {
  ecs: ECSClient;
  autoScaling: AutoScalingClient;
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
  cloudWatch: CloudWatchClient;
  iam: IAMClient;
}

/** What a control-plane-only config references, by name (the config's references resolved). */
export interface EstateReferences {
  clusters: string[];
  capacityProviders: string[];
  autoScalingGroups: string[];
  services: { cluster: string; service: string }[];
  loadBalancers: string[];
  targetGroups: string[];
  alarms: string[];
  /** `path/name` under role/. */
  roles: string[];
}

export interface ObservedAutoScalingGroup {
  arn: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  tags: Record<string, string>;
  newInstancesProtectedFromScaleIn: boolean;
  /** The user data its instances boot with (launch template or configuration), decoded. */
  userData?: string;
}

export interface ObservedCapacityProvider {
  autoScalingGroupArn?: string;
  managedScaling?: string;
  managedTerminationProtection?: string;
  managedDraining?: string;
}

export interface ObservedService {
  deploymentController: string;
  /** Target groups it serves from: the service's own, or (EXTERNAL) its task sets'. */
  targetGroupArns: string[];
  taskDefinition?: { family: string; taskRoleArn?: string; executionRoleArn?: string };
}

/** A route: a listener's default action or one of its rules, and the groups it forwards to. */
export interface ObservedRoute {
  ruleArn?: string;
  targetGroupArns: string[];
}

export interface ObservedLoadBalancer {
  arn: string;
  type: string;
  listeners: { port: number; arn: string; routes: ObservedRoute[] }[];
}

export interface ObservedEstate {
  clusters: Record<string, { capacityProviders: string[] } | undefined>;
  capacityProviders: Record<string, ObservedCapacityProvider | undefined>;
  autoScalingGroups: Record<string, ObservedAutoScalingGroup | undefined>;
  /** Keyed `cluster/service`. */
  services: Record<string, ObservedService | undefined>;
  loadBalancers: Record<string, ObservedLoadBalancer | undefined>;
  targetGroups: Record<string, { arn: string; loadBalancerArns: string[] } | undefined>;
  alarms: Record<string, boolean>;
  roles: Record<string, boolean>;
}

const forwardedGroups = (actions: readonly Action[] | undefined): string[] => {
  const forward = actions?.find((a) => a.Type === 'forward');
  if (!forward) return [];
  const groups = forward.ForwardConfig?.TargetGroups?.map((g) => g.TargetGroupArn as string) ?? [];
  return groups.length > 0 ? groups : forward.TargetGroupArn ? [forward.TargetGroupArn] : [];
};

const notFound = (err: unknown, ...names: string[]) =>
  err instanceof Error && names.some((n) => err.name === n || err.name.endsWith(n));

export async function observeEstate(clients: EstateClients, refs: EstateReferences): Promise<ObservedEstate> {
  const estate: ObservedEstate = {
    clusters: {},
    capacityProviders: {},
    autoScalingGroups: {},
    services: {},
    loadBalancers: {},
    targetGroups: {},
    alarms: {},
    roles: {},
  };
  const { ecs, autoScaling, ec2, elb, cloudWatch, iam } = clients;

  if (refs.clusters.length > 0) {
    const out = await ecs.send(new DescribeClustersCommand({ clusters: refs.clusters }));
    for (const name of refs.clusters) {
      const found = out.clusters?.find((c) => c.clusterName === name && c.status !== 'INACTIVE');
      estate.clusters[name] = found ? { capacityProviders: found.capacityProviders ?? [] } : undefined;
    }
  }
  if (refs.capacityProviders.length > 0) {
    const out = await ecs.send(
      new DescribeCapacityProvidersCommand({ capacityProviders: refs.capacityProviders }),
    );
    for (const name of refs.capacityProviders) {
      const found = out.capacityProviders?.find((p) => p.name === name && p.status === 'ACTIVE');
      const provider = found?.autoScalingGroupProvider;
      estate.capacityProviders[name] = found
        ? {
            ...(provider?.autoScalingGroupArn ? { autoScalingGroupArn: provider.autoScalingGroupArn } : {}),
            ...(provider?.managedScaling?.status ? { managedScaling: provider.managedScaling.status } : {}),
            ...(provider?.managedTerminationProtection
              ? { managedTerminationProtection: provider.managedTerminationProtection }
              : {}),
            ...(provider?.managedDraining ? { managedDraining: provider.managedDraining } : {}),
          }
        : undefined;
    }
  }
  if (refs.autoScalingGroups.length > 0) {
    const out = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: refs.autoScalingGroups }),
    );
    for (const name of refs.autoScalingGroups) {
      const group = out.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === name);
      if (!group) {
        estate.autoScalingGroups[name] = undefined;
        continue;
      }
      const userData = await launchUserData(autoScaling, ec2, group);
      estate.autoScalingGroups[name] = {
        arn: group.AutoScalingGroupARN as string,
        minSize: group.MinSize ?? 0,
        maxSize: group.MaxSize ?? 0,
        desiredCapacity: group.DesiredCapacity ?? 0,
        tags: Object.fromEntries((group.Tags ?? []).map((t) => [t.Key as string, t.Value ?? ''])),
        newInstancesProtectedFromScaleIn: group.NewInstancesProtectedFromScaleIn === true,
        ...(userData !== undefined ? { userData } : {}),
      };
    }
  }
  // DescribeServices takes up to 10 services of one cluster per call.
  const described = new Map<string, Service>();
  for (const cluster of new Set(refs.services.map((s) => s.cluster))) {
    if (!estate.clusters[cluster]) continue;
    const names = refs.services.filter((s) => s.cluster === cluster).map((s) => s.service);
    for (let i = 0; i < names.length; i += 10) {
      const out = await ecs.send(new DescribeServicesCommand({ cluster, services: names.slice(i, i + 10) }));
      for (const found of out.services ?? [])
        if (found.status !== 'INACTIVE') described.set(`${cluster}/${found.serviceName}`, found);
    }
  }
  for (const { cluster, service } of refs.services) {
    const key = `${cluster}/${service}`;
    const found = described.get(key);
    if (!found) {
      estate.services[key] = undefined;
      continue;
    }
    const primary = found.taskSets?.find((t) => t.status === 'PRIMARY');
    const taskDefinitionArn = primary?.taskDefinition ?? found.taskDefinition;
    const taskDefinition = taskDefinitionArn
      ? (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn })))
          .taskDefinition
      : undefined;
    estate.services[key] = {
      deploymentController: found.deploymentController?.type ?? 'ECS',
      targetGroupArns: [
        ...(found.loadBalancers ?? []),
        ...(found.taskSets ?? []).flatMap((t) => t.loadBalancers ?? []),
      ].flatMap((lb) => (lb.targetGroupArn ? [lb.targetGroupArn] : [])),
      ...(taskDefinition
        ? {
            taskDefinition: {
              family: taskDefinition.family as string,
              ...(taskDefinition.taskRoleArn ? { taskRoleArn: taskDefinition.taskRoleArn } : {}),
              ...(taskDefinition.executionRoleArn
                ? { executionRoleArn: taskDefinition.executionRoleArn }
                : {}),
            },
          }
        : {}),
    };
  }
  for (const name of refs.loadBalancers) {
    let lb: { LoadBalancerArn?: string; Type?: string } | undefined;
    try {
      lb = (await elb.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers?.[0];
    } catch (err) {
      if (!notFound(err, 'LoadBalancerNotFound', 'LoadBalancerNotFoundException')) throw err;
    }
    if (!lb?.LoadBalancerArn) {
      estate.loadBalancers[name] = undefined;
      continue;
    }
    const listeners = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    const observed: ObservedLoadBalancer['listeners'] = [];
    for (const listener of listeners.Listeners ?? []) {
      const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }));
      observed.push({
        port: listener.Port as number,
        arn: listener.ListenerArn as string,
        routes: [
          { targetGroupArns: forwardedGroups(listener.DefaultActions) },
          ...(rules.Rules ?? [])
            .filter((r) => !r.IsDefault)
            .map((r) => ({ ruleArn: r.RuleArn as string, targetGroupArns: forwardedGroups(r.Actions) })),
        ],
      });
    }
    estate.loadBalancers[name] = {
      arn: lb.LoadBalancerArn,
      type: lb.Type ?? 'application',
      listeners: observed,
    };
  }
  for (const name of refs.targetGroups) {
    try {
      const group = (await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }))).TargetGroups?.[0];
      estate.targetGroups[name] = group
        ? { arn: group.TargetGroupArn as string, loadBalancerArns: group.LoadBalancerArns ?? [] }
        : undefined;
    } catch (err) {
      if (!notFound(err, 'TargetGroupNotFound', 'TargetGroupNotFoundException')) throw err;
      estate.targetGroups[name] = undefined;
    }
  }
  // DescribeAlarms takes at most 100 names per call.
  for (let i = 0; i < refs.alarms.length; i += 100) {
    const names = refs.alarms.slice(i, i + 100);
    const out = await cloudWatch.send(
      new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    );
    const found = new Set(
      [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])].map((a) => a.AlarmName),
    );
    for (const name of names) estate.alarms[name] = found.has(name);
  }
  for (const role of refs.roles) {
    const name = role.split('/').at(-1) as string;
    try {
      const out = await iam.send(new GetRoleCommand({ RoleName: name }));
      // GetRole takes the name alone: a role of that name under another path is not the one named.
      estate.roles[role] = out.Role?.Arn?.endsWith(`:role/${role}`) === true;
    } catch (err) {
      if (!notFound(err, 'NoSuchEntity', 'NoSuchEntityException')) throw err;
      estate.roles[role] = false;
    }
  }
  return estate;
}

async function launchUserData(
  autoScaling: AutoScalingClient,
  ec2: EC2Client,
  group: {
    LaunchConfigurationName?: string;
    LaunchTemplate?: { LaunchTemplateId?: string; LaunchTemplateName?: string; Version?: string };
    MixedInstancesPolicy?: {
      LaunchTemplate?: {
        LaunchTemplateSpecification?: {
          LaunchTemplateId?: string;
          LaunchTemplateName?: string;
          Version?: string;
        };
      };
    };
  },
): Promise<string | undefined> {
  const decode = (data: string | undefined) =>
    data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
  if (group.LaunchConfigurationName) {
    const out = await autoScaling.send(
      new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: [group.LaunchConfigurationName] }),
    );
    return decode(out.LaunchConfigurations?.[0]?.UserData) ?? '';
  }
  const template =
    group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!template) return undefined;
  const out = await ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      ...(template.LaunchTemplateId
        ? { LaunchTemplateId: template.LaunchTemplateId }
        : { LaunchTemplateName: template.LaunchTemplateName }),
      Versions: [template.Version ?? '$Default'],
    }),
  );
  return decode(out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData) ?? '';
}
