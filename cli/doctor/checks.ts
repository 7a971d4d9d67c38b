// `ops doctor`'s rules: is each referenced cluster and service ready for the control plane, and if
// not, what to change. Pure: the config, the alarms the capability files name, and what
// estate.ts read. Every check yields one finding per subject, passed or not, so the report shows
// what was looked at as well as what is wrong.
import {
  type ControlPlaneOnlyConfig,
  isRolledOut,
  managedClustersOf,
  managedServicesOf,
  passableRolesOf,
  referencedServicesOf,
} from '../../infra/control-plane-only-config.ts';
import { resolveReference } from '../../infra/resource-references.ts';
import type { EstateReferences, ObservedEstate } from './estate.ts';

export const CHECKS = [
  'deployment controller',
  'load balancing',
  'alarms',
  'capacity',
  'spot draining',
  'permissions',
] as const;
export type CheckName = (typeof CHECKS)[number];

export interface Finding {
  /** `cluster shop`, `service shop/checkout`, or `alarms`. */
  subject: string;
  check: CheckName;
  ok: boolean;
  /** What was found, in a sentence. */
  says: string;
  /** How to put it right (failures only). */
  fix?: string;
}

/** An alarm the capability files name, and which file and key name it. */
export interface NamedAlarm {
  name: string;
  namedBy: string;
}

const SPOT_DRAINING_SETTING = 'ECS_ENABLE_SPOT_INSTANCE_DRAINING=true';

/** The doc every fix points into. */
const GUIDE = 'docs/adoption.md';

/** Names of everything the config references, for estate.ts to read. */
export function estateReferences(
  config: ControlPlaneOnlyConfig,
  alarms: readonly NamedAlarm[],
): EstateReferences {
  const name = (kind: Parameters<typeof resolveReference>[0], value: string) => {
    const resolved = resolveReference(kind, value, config);
    if ('problem' in resolved) throw new Error(resolved.problem);
    return resolved.name;
  };
  const groups = config.clusters.flatMap((c) => [c.spot, c.onDemand].filter((g) => g !== undefined));
  return {
    clusters: managedClustersOf(config).map((c) => c.name),
    capacityProviders: groups.flatMap((g) =>
      g.capacityProvider ? [name('capacityProvider', g.capacityProvider)] : [],
    ),
    autoScalingGroups: groups.map((g) => name('autoScalingGroup', g.autoScalingGroup)),
    services: referencedServicesOf(config),
    loadBalancers: [...new Set(managedServicesOf(config).map((s) => s.loadBalancerName))],
    targetGroups: config.services
      .filter(isRolledOut)
      .flatMap((s) => [name('targetGroup', s.targetGroups.blue), name('targetGroup', s.targetGroups.green)]),
    alarms: [...new Set(alarms.map((a) => a.name))],
    roles: passableRolesOf(config),
  };
}

export function diagnose(
  config: ControlPlaneOnlyConfig,
  alarms: readonly NamedAlarm[],
  estate: ObservedEstate,
): Finding[] {
  const findings: Finding[] = [];
  const name = (kind: Parameters<typeof resolveReference>[0], value: string) => {
    const resolved = resolveReference(kind, value, config);
    return 'problem' in resolved ? value : resolved.name;
  };
  const add = (
    subject: string,
    check: CheckName,
    problems: { says: string; fix: string }[],
    okSays: string,
  ) => {
    if (problems.length === 0) findings.push({ subject, check, ok: true, says: okSays });
    for (const p of problems) findings.push({ subject, check, ok: false, says: p.says, fix: p.fix });
  };

  config.clusters.forEach((c, ci) => {
    const cluster = name('cluster', c.cluster);
    const subject = `cluster ${cluster}`;
    const observed = estate.clusters[cluster];
    if (!observed) {
      add(
        subject,
        'capacity',
        [
          {
            says: `cluster ${cluster} does not exist`,
            fix: `create it, or correct clusters.${ci}.cluster in the config`,
          },
        ],
        '',
      );
      return;
    }
    const capacity: { says: string; fix: string }[] = [];
    const drain: { says: string; fix: string }[] = [];
    for (const market of ['spot', 'onDemand'] as const) {
      const group = c[market];
      if (!group) continue;
      const label = market === 'spot' ? 'spot' : 'on-demand';
      const asgName = name('autoScalingGroup', group.autoScalingGroup);
      const asg = estate.autoScalingGroups[asgName];
      if (!asg) {
        capacity.push({
          says: `the ${label} Auto Scaling group ${asgName} does not exist`,
          fix: `create it, or correct clusters.${ci}.${market}.autoScalingGroup`,
        });
        continue;
      }
      if (asg.maxSize < 1 || asg.maxSize <= asg.desiredCapacity)
        capacity.push({
          says: `the ${label} group ${asgName} has no room to grow (desired ${asg.desiredCapacity}, max ${asg.maxSize}): replacements for interrupted spot instances could not be asked for`,
          fix: `raise its MaxSize above its desired capacity`,
        });
      if (asg.minSize > asg.maxSize)
        capacity.push({
          says: `${asgName}: MinSize ${asg.minSize} exceeds MaxSize ${asg.maxSize}`,
          fix: 'lower MinSize',
        });
      if (group.capacityProvider) {
        const providerName = name('capacityProvider', group.capacityProvider);
        const provider = estate.capacityProviders[providerName];
        if (!provider) {
          capacity.push({
            says: `the ${label} capacity provider ${providerName} does not exist (or is not ACTIVE)`,
            fix: `create it over ${asgName}, or correct clusters.${ci}.${market}.capacityProvider`,
          });
        } else {
          if (provider.autoScalingGroupArn !== asg.arn)
            capacity.push({
              says: `capacity provider ${providerName} is over ${provider.autoScalingGroupArn ?? 'no Auto Scaling group'}, not ${asgName}`,
              fix: `point clusters.${ci}.${market} at the group and provider that belong together`,
            });
          if (!observed.capacityProviders.includes(providerName))
            capacity.push({
              says: `capacity provider ${providerName} is not attached to cluster ${cluster}`,
              fix: `add it to the cluster (PutClusterCapacityProviders keeps the ones already there only if you list them)`,
            });
          if (provider.managedScaling === 'ENABLED' && !('AmazonECSManaged' in asg.tags))
            capacity.push({
              says: `${asgName} is scaled by capacity provider ${providerName} but is not tagged AmazonECSManaged`,
              fix: `tag the group AmazonECSManaged (empty value), as ECS expects of a group under managed scaling`,
            });
          if (provider.managedTerminationProtection === 'ENABLED' && !asg.newInstancesProtectedFromScaleIn)
            capacity.push({
              says: `capacity provider ${providerName} has managed termination protection but ${asgName} does not protect new instances from scale-in`,
              fix: `turn on NewInstancesProtectedFromScaleIn for the group`,
            });
        }
      }
    }
    // Spot draining is judged on what was read: a group or provider that is not there fails it
    // too, rather than passing a check that saw nothing.
    if (c.spot) {
      const spotAsgName = name('autoScalingGroup', c.spot.autoScalingGroup);
      const spotAsg = estate.autoScalingGroups[spotAsgName];
      if (c.spot.draining === 'agent') {
        if (!spotAsg)
          drain.push({
            says: `cannot tell whether the ECS agent drains spot instances: the spot group ${spotAsgName} does not exist`,
            fix: `create it, or correct clusters.${ci}.spot.autoScalingGroup`,
          });
        else if (!(spotAsg.userData ?? '').includes(SPOT_DRAINING_SETTING))
          drain.push({
            says: `the ECS agent on ${spotAsgName}'s instances does not drain on a spot warning (${SPOT_DRAINING_SETTING} is not in their user data)`,
            fix: `add \`echo ${SPOT_DRAINING_SETTING} >> /etc/ecs/ecs.config\` to the launch template's user data`,
          });
      } else {
        const providerName = name('capacityProvider', c.spot.capacityProvider ?? '');
        const provider = estate.capacityProviders[providerName];
        if (!provider)
          drain.push({
            says: `cannot tell whether managed draining is on: capacity provider ${providerName} does not exist`,
            fix: `create it over ${spotAsgName} with managed draining, or correct clusters.${ci}.spot.capacityProvider`,
          });
        else if (provider.managedDraining !== 'ENABLED')
          drain.push({
            says: `capacity provider ${providerName} has managed draining ${provider.managedDraining ?? 'unset'}`,
            fix: `enable managed draining on it (UpdateCapacityProvider managedDraining ENABLED)`,
          });
      }
    }
    add(
      subject,
      'capacity',
      capacity,
      c.spot || c.onDemand
        ? 'Auto Scaling groups and capacity providers exist, are attached, tagged and have room'
        : 'no Auto Scaling group is configured: spot handling can drain, not ask for capacity',
    );
    if (c.spot)
      add(
        subject,
        'spot draining',
        drain,
        c.spot.draining === 'agent' ? 'the ECS agent drains spot instances' : 'managed draining is on',
      );
  });

  const referenced = referencedServicesOf(config);
  config.services.forEach((s, i) => {
    const { cluster, service } = referenced[i] as (typeof referenced)[number];
    const subject = `service ${cluster}/${service}`;
    const observed = estate.services[`${cluster}/${service}`];
    if (!observed) {
      add(
        subject,
        'deployment controller',
        [
          {
            says: `service ${service} does not exist in cluster ${cluster}`,
            fix: `correct services.${i}.service, or create the service`,
          },
        ],
        '',
      );
      return;
    }
    if (!isRolledOut(s)) {
      // Scaled and remediated only: any controller serves UpdateService and StopTask.
      add(
        subject,
        'deployment controller',
        [],
        `${observed.deploymentController}: scaled and remediated only (no load balancer in the config, so no rollouts)`,
      );
      return;
    }
    const loadBalancerName = name('loadBalancer', s.loadBalancer);
    const taskDefinitionFamily = s.taskDefinitionFamily ?? `${cluster}-${service}`;
    const wanted = s.deploymentController === 'ecs' ? 'ECS' : 'EXTERNAL';
    add(
      subject,
      'deployment controller',
      observed.deploymentController === wanted
        ? []
        : [
            wanted === 'EXTERNAL'
              ? {
                  says: `the service's deployment controller is ${observed.deploymentController}; rollouts need EXTERNAL (they drive task sets)`,
                  fix: `create the service again with deploymentController EXTERNAL (a service's controller is set when it is created), or set services.${i}.deploymentController to ecs if ECS deploys it: ${GUIDE} has the steps`,
                }
              : {
                  says: `the service's deployment controller is ${observed.deploymentController}, but services.${i}.deploymentController says ECS deploys it`,
                  fix: `give the service the ECS deployment controller with a BLUE_GREEN, CANARY or LINEAR strategy and the stack's deployment hook, or correct services.${i}.deploymentController: ${GUIDE} has the steps`,
                },
          ],
      wanted === 'EXTERNAL'
        ? 'EXTERNAL: rollouts can drive its task sets'
        : 'ECS: ECS deploys it, and the deployment hook judges each deployment',
    );

    const routing: { says: string; fix: string }[] = [];
    const lb = estate.loadBalancers[loadBalancerName];
    const groups = (['blue', 'green'] as const).map((color) => {
      const groupName = name('targetGroup', s.targetGroups[color]);
      const group = estate.targetGroups[groupName];
      if (!group)
        routing.push({
          says: `the ${color} target group ${groupName} does not exist`,
          fix: `create it, or correct services.${i}.targetGroups.${color}`,
        });
      else if (s.targetGroups[color].startsWith('arn:') && s.targetGroups[color] !== group.arn)
        routing.push({
          says: `the ${color} target group named ${groupName} is ${group.arn}, not the ARN the config gives`,
          fix: `correct services.${i}.targetGroups.${color}`,
        });
      return group;
    });
    if (!lb) {
      routing.push({
        says: `load balancer ${loadBalancerName} does not exist`,
        fix: `correct services.${i}.loadBalancer`,
      });
    } else if (lb.type !== 'application') {
      routing.push({
        says: `${loadBalancerName} is a ${lb.type} load balancer; rollouts weigh ALB listeners`,
        fix: 'use an Application Load Balancer',
      });
    } else if (groups.every((g) => g !== undefined)) {
      const pair = new Set(groups.map((g) => g.arn));
      for (const [role, port] of [
        ['production', s.listeners.production],
        ['test', s.listeners.test],
      ] as const) {
        if (port === undefined) continue;
        const listener = lb.listeners.find((l) => l.port === port);
        if (!listener) {
          routing.push({
            says: `${loadBalancerName} has no listener on port ${port} (the ${role} listener)`,
            fix: `correct services.${i}.listeners.${role} (listeners: ${lb.listeners.map((l) => l.port).join(', ') || 'none'})`,
          });
          continue;
        }
        const routes = listener.routes.filter(
          (r) => r.targetGroupArns.length === 2 && r.targetGroupArns.every((arn) => pair.has(arn)),
        );
        if (routes.length !== 1)
          routing.push({
            says:
              routes.length === 0
                ? `no rule of the ${role} listener (port ${port}) forwards to exactly ${groups.map((g) => g.arn.split('/')[1]).join(' and ')}`
                : `${routes.length} routes of the ${role} listener (port ${port}) forward to the pair: a rollout would weigh one and miss the others`,
            fix: `make the listener's default action, or one rule, forward to both target groups (weights 100/0)`,
          });
      }
      for (const group of groups)
        if (!group.loadBalancerArns.includes(lb.arn))
          routing.push({
            says: `target group ${group.arn.split('/')[1]} is not in use by ${loadBalancerName}`,
            fix: 'forward to it from a listener of that load balancer',
          });
      const serving = observed.targetGroupArns.filter((arn) => pair.has(arn));
      if (serving.length === 0)
        routing.push({
          says: `the service serves from ${observed.targetGroupArns.length > 0 ? observed.targetGroupArns.map((a) => a.split('/')[1]).join(', ') : 'no target group'}, neither blue nor green`,
          fix: 'register the service (or its primary task set) with the blue target group',
        });
    }
    add(
      subject,
      'load balancing',
      routing,
      'blue and green exist, one route per listener forwards to both, and the service serves from them',
    );

    const permissions: { says: string; fix: string }[] = [];
    const roles = new Set(passableRolesOf({ ...config, services: [s] }));
    for (const role of roles)
      if (!estate.roles[role])
        permissions.push({
          says: `role ${role} (services.${i}.taskRoles) does not exist`,
          fix: 'correct the role name or ARN (with its path)',
        });
    const definition = observed.taskDefinition;
    // No task definition to read is a failure: the roles and family could not be checked.
    if (!definition)
      permissions.push({
        says: 'the service runs no task definition that could be read (no primary task set): its roles and family cannot be checked',
        fix: `give the service its first task set, behind services.${i}.targetGroups.blue (${GUIDE})`,
      });
    if (definition) {
      if (definition.family !== taskDefinitionFamily)
        permissions.push({
          says: `its task definition is of family ${definition.family}; rollouts may register revisions in ${taskDefinitionFamily} only`,
          fix: `set services.${i}.taskDefinitionFamily to "${definition.family}"`,
        });
      for (const [kind, arn] of [
        ['task role', definition.taskRoleArn],
        ['execution role', definition.executionRoleArn],
      ] as const) {
        if (!arn) continue;
        const role = arn.replace(/^arn:[^:]+:iam::\d{12}:role\//, '');
        if (!roles.has(role))
          permissions.push({
            says: `its ${kind} ${role} is not in services.${i}.taskRoles: a rollout's new revision passes it and would be refused (iam:PassRole)`,
            fix: `add "${arn}" to services.${i}.taskRoles`,
          });
      }
    }
    add(
      subject,
      'permissions',
      permissions,
      'the control plane will be granted what its rollouts pass and register',
    );
  });

  const missing = alarms.filter((a) => !estate.alarms[a.name]);
  add(
    'alarms',
    'alarms',
    missing.map((a) => ({
      says: `alarm ${a.name} (${a.namedBy}) does not exist`,
      fix: 'create the alarm, or correct its name there',
    })),
    alarms.length > 0 ? `all ${alarms.length} named alarms exist` : 'no alarm is named',
  );
  return findings;
}
