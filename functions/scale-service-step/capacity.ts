// Capacity awareness for a scale-out: on Fargate there is nothing to provide; on EC2, the tasks
// to place are compared with what the cluster's ACTIVE container instances still have free (CPU
// and memory, instance by instance), instances already launching count as coming, and what is
// still missing becomes instances to add to the Auto Scaling groups before the service grows.
import { type AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  type ContainerInstance,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import { describe, listArns } from '../shared/container-instances.ts';

export interface TaskNeed {
  cpu: number;
  memory: number;
}

export interface CapacityPlan {
  kind: 'ec2' | 'fargate';
  tasksToPlace: number;
  slots: number;
  raise: { group: string; add: number }[];
  explanation: string[];
}

const FARGATE_PROVIDERS = new Set(['FARGATE', 'FARGATE_SPOT']);

export function launchKind(service: Service): 'ec2' | 'fargate' {
  if (service.launchType === 'FARGATE') return 'fargate';
  const strategy = service.capacityProviderStrategy ?? [];
  if (strategy.length > 0 && strategy.every((s) => FARGATE_PROVIDERS.has(s.capacityProvider ?? '')))
    return 'fargate';
  return 'ec2';
}

/** The task definition the service (or, under a rollout, its primary task set) runs. */
export function serviceTaskDefinition(service: Service): string | undefined {
  if (service.taskDefinition) return service.taskDefinition;
  const sets = service.taskSets ?? [];
  return (sets.find((s) => s.status === 'PRIMARY') ?? sets[0])?.taskDefinition;
}

/** CPU units and MiB one task reserves: the task-level size, else the sum over its containers. */
export async function taskNeed(ecs: ECSClient, taskDefinition: string): Promise<TaskNeed> {
  const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  const td = out.taskDefinition;
  const containers = td?.containerDefinitions ?? [];
  const cpu = Number(td?.cpu ?? 0) || containers.reduce((sum, c) => sum + (c.cpu ?? 0), 0);
  const memory =
    Number(td?.memory ?? 0) || containers.reduce((sum, c) => sum + (c.memoryReservation ?? c.memory ?? 0), 0);
  return { cpu, memory };
}

const resource = (list: ContainerInstance['remainingResources'], name: string): number =>
  list?.find((r) => r.name === name)?.integerValue ?? 0;

/** How many tasks of this size fit into the given CPU and memory. */
export function fits(cpu: number, memory: number, need: TaskNeed): number {
  const byCpu = need.cpu > 0 ? Math.floor(cpu / need.cpu) : Number.POSITIVE_INFINITY;
  const byMemory = need.memory > 0 ? Math.floor(memory / need.memory) : Number.POSITIVE_INFINITY;
  // Never negative: an over-committed instance has no room, it does not take room from others.
  return Math.max(0, Math.min(byCpu, byMemory));
}

export interface CapacityDeps {
  ecs: ECSClient;
  autoscaling: AutoScalingClient;
}

export async function planCapacity(
  deps: CapacityDeps,
  args: { cluster: string; service: Service; target: number; groups: readonly string[] },
): Promise<CapacityPlan> {
  const { service, target } = args;
  const inFlight = (service.runningCount ?? 0) + (service.pendingCount ?? 0);
  const tasksToPlace = Math.max(0, target - inFlight);
  const kind = launchKind(service);
  if (kind === 'fargate') {
    return {
      kind,
      tasksToPlace,
      slots: 0,
      raise: [],
      explanation: ['runs on Fargate: no instances to provide'],
    };
  }
  const done = (slots: number, explanation: string[], raise: CapacityPlan['raise'] = []): CapacityPlan => ({
    kind,
    tasksToPlace,
    slots,
    raise,
    explanation,
  });
  if (tasksToPlace === 0) return done(0, [`no new task to place (${inFlight} running or pending)`]);
  const taskDefinition = serviceTaskDefinition(service);
  if (!taskDefinition) return done(0, ['the service names no task definition: capacity not checked']);
  const need = await taskNeed(deps.ecs, taskDefinition);
  if (need.cpu === 0 && need.memory === 0) {
    return done(0, ['the task definition reserves no CPU or memory: capacity not checked']);
  }

  // ListContainerInstances' status filter is not trusted (the emulator ignores filters): confirm it.
  const instances = (
    await describe(deps.ecs, args.cluster, await listArns(deps.ecs, args.cluster, undefined, 'ACTIVE'))
  ).filter((ci) => ci.status === 'ACTIVE');
  const slots = instances.reduce(
    (sum, ci) =>
      sum +
      Math.min(
        fits(resource(ci.remainingResources, 'CPU'), resource(ci.remainingResources, 'MEMORY'), need),
        10_000,
      ),
    0,
  );
  const size = `${need.cpu} CPU units and ${need.memory} MiB`;
  if (slots >= tasksToPlace) {
    return done(slots, [
      `${tasksToPlace} new task(s) of ${size} fit: the ${instances.length} ACTIVE instance(s) have room for ${slots}`,
    ]);
  }

  // A new instance is assumed to be like the smallest one registered now (erring towards more).
  const perInstance = instances.length
    ? Math.min(
        ...instances.map((ci) =>
          fits(resource(ci.registeredResources, 'CPU'), resource(ci.registeredResources, 'MEMORY'), need),
        ),
      )
    : 0;
  if (perInstance < 1) {
    return done(slots, [
      `${tasksToPlace} new task(s) of ${size} do not fit (room for ${slots}), and no registered instance is large enough to estimate how many instances to add: tasks may stay pending`,
    ]);
  }
  const registered = new Set(instances.map((ci) => ci.ec2InstanceId));
  const described = args.groups.length
    ? await deps.autoscaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [...args.groups] }),
      )
    : { AutoScalingGroups: [] };
  const groups = args.groups
    .map((name) => described.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === name))
    .filter((g) => g !== undefined);
  // Instances a group is launching (desired, not yet registered) will bring room too.
  const launching = groups.reduce(
    (sum, g) =>
      sum +
      Math.max(
        0,
        (g.DesiredCapacity ?? 0) - (g.Instances ?? []).filter((i) => registered.has(i.InstanceId)).length,
      ),
    0,
  );
  const missingTasks = tasksToPlace - slots - launching * perInstance;
  const explanation = [
    `${tasksToPlace} new task(s) of ${size} need more than the ${slots} the ${instances.length} ACTIVE instance(s) have room for`,
  ];
  if (missingTasks <= 0) {
    explanation.push(`${launching} instance(s) already launching bring enough room: nothing to add`);
    return done(slots, explanation);
  }
  let needed = Math.ceil(missingTasks / perInstance);
  const raise: CapacityPlan['raise'] = [];
  for (const g of groups) {
    if (needed === 0) break;
    const room = (g.MaxSize ?? 0) - (g.DesiredCapacity ?? 0);
    const add = Math.min(room, needed);
    if (add <= 0) continue;
    raise.push({ group: g.AutoScalingGroupName as string, add });
    needed -= add;
  }
  const adding = raise.map((r) => `${r.group} +${r.add}`).join(', ');
  explanation.push(
    raise.length > 0
      ? `raising the Auto Scaling group(s) first (${adding}): ${perInstance} task(s) fit on one instance${launching ? `, ${launching} already launching` : ''}`
      : 'no Auto Scaling group has room left',
  );
  if (needed > 0) {
    explanation.push(
      `${needed} more instance(s) would be needed but the groups are at their maximum: some tasks may stay pending`,
    );
  }
  return done(slots, explanation, raise);
}
