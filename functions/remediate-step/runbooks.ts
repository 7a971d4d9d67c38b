// What each runbook touches and how it acts. `plan*` functions only read: they find what a
// runbook would change and check it against the blast radius before anything happens; the
// `run*` functions change exactly what the plan named, nothing more.
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type Service,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { chunk } from '../shared/container-instances.ts';
import { RunbookRefusedError } from './guards.ts';

export async function describeService(ecs: ECSClient, cluster: string, service: string): Promise<Service> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const found = out.services?.find((s) => s.status !== 'INACTIVE');
  if (!found) throw new RunbookRefusedError(`service ${cluster}/${service} does not exist`);
  return found;
}

/** The service's tasks that should be running (not on their way out). ListTasks' serviceName filter is confirmed on every task (group). */
export async function serviceTasks(ecs: ECSClient, cluster: string, service: string): Promise<Task[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(
      new ListTasksCommand({ cluster, serviceName: service, desiredStatus: 'RUNNING', nextToken }),
    );
    arns.push(...(out.taskArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  const tasks: Task[] = [];
  for (const part of chunk(arns, 100)) {
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: part }));
    tasks.push(...(out.tasks ?? []));
  }
  // A filter that is not applied (the emulator ignores serviceName) must never widen the set. The
  // desired status is ECS's intent; the last status lags it (the emulator even advances it on reads).
  return tasks.filter((t) => t.group === `service:${service}` && t.desiredStatus === 'RUNNING');
}

/** Target states that mean the task behind the target serves nothing. */
export function isUnhealthy(d: TargetHealthDescription): boolean {
  const state = d.TargetHealth?.State;
  return state === 'unhealthy' || (state === 'unused' && d.TargetHealth?.Reason === 'Target.InvalidState');
}

/** Target groups in front of the service: its own load balancers and those of its task sets. */
export function targetGroupsOf(service: Service): string[] {
  const arns = [
    ...(service.loadBalancers ?? []),
    ...(service.taskSets ?? []).flatMap((ts) => ts.loadBalancers ?? []),
  ]
    .map((lb) => lb.targetGroupArn)
    .filter((a): a is string => typeof a === 'string');
  return [...new Set(arns)];
}

export interface UnhealthyTasks {
  running: number;
  unhealthy: { taskArn: string; target: string; targetGroup: string; reason: string }[];
}

/**
 * Tasks whose load balancer targets are unhealthy: an `ip` target is the task's ENI address, an
 * `instance` target is the container instance the task runs on (with its host port when the
 * task reports network bindings).
 */
export async function findUnhealthyTasks(
  ecs: ECSClient,
  elb: ElasticLoadBalancingV2Client,
  cluster: string,
  serviceName: string,
): Promise<UnhealthyTasks> {
  const service = await describeService(ecs, cluster, serviceName);
  const tasks = await serviceTasks(ecs, cluster, serviceName);
  const instanceOf = await ec2InstanceIds(ecs, cluster, tasks);
  const bad: { target: string; port?: number; targetGroup: string; reason: string }[] = [];
  for (const tg of targetGroupsOf(service)) {
    const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }));
    for (const d of out.TargetHealthDescriptions ?? []) {
      if (!isUnhealthy(d) || !d.Target?.Id) continue;
      bad.push({
        target: d.Target.Id,
        ...(d.Target.Port !== undefined ? { port: d.Target.Port } : {}),
        targetGroup: tg,
        reason: d.TargetHealth?.Reason ?? d.TargetHealth?.State ?? 'unhealthy',
      });
    }
  }
  const unhealthy: UnhealthyTasks['unhealthy'] = [];
  for (const task of tasks) {
    const ips = (task.attachments ?? [])
      .flatMap((a) => a.details ?? [])
      .filter((d) => d.name === 'privateIPv4Address')
      .map((d) => d.value);
    const hostPorts = (task.containers ?? []).flatMap((c) => c.networkBindings ?? []).map((b) => b.hostPort);
    const instance = task.containerInstanceArn ? instanceOf.get(task.containerInstanceArn) : undefined;
    const hit = bad.find(
      (b) =>
        ips.includes(b.target) ||
        (instance !== undefined &&
          b.target === instance &&
          (hostPorts.length === 0 || b.port === undefined || hostPorts.includes(b.port))),
    );
    if (hit && task.taskArn) {
      unhealthy.push({
        taskArn: task.taskArn,
        target: hit.target,
        targetGroup: hit.targetGroup,
        reason: hit.reason,
      });
    }
  }
  return { running: tasks.length, unhealthy };
}

async function ec2InstanceIds(ecs: ECSClient, cluster: string, tasks: Task[]): Promise<Map<string, string>> {
  const arns = [...new Set(tasks.map((t) => t.containerInstanceArn).filter((a): a is string => !!a))];
  const map = new Map<string, string>();
  for (const part of chunk(arns, 100)) {
    const out = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: part }));
    for (const ci of out.containerInstances ?? []) {
      if (ci.containerInstanceArn && ci.ec2InstanceId) map.set(ci.containerInstanceArn, ci.ec2InstanceId);
    }
  }
  return map;
}

export async function stopTasks(
  ecs: ECSClient,
  cluster: string,
  taskArns: readonly string[],
  reason: string,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const task of taskArns) {
    await ecs.send(new StopTaskCommand({ cluster, task, reason: reason.slice(0, 255) }));
    stopped.push(task);
  }
  return stopped;
}

export interface AlarmView {
  name: string;
  arn: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  stateUpdatedAt: string;
  configurationUpdatedAt?: string;
  dimensions: Record<string, string>;
}

/** Metric and composite alarms by name; names not found are left out. */
export async function describeAlarms(cw: CloudWatchClient, names: readonly string[]): Promise<AlarmView[]> {
  const views: AlarmView[] = [];
  for (const part of chunk([...new Set(names)], 100)) {
    if (part.length === 0) continue;
    const out = await cw.send(
      new DescribeAlarmsCommand({ AlarmNames: part, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
    );
    for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
      if (!a.AlarmName || !a.AlarmArn) continue;
      const dims = 'Dimensions' in a ? (a.Dimensions ?? []) : [];
      views.push({
        name: a.AlarmName,
        arn: a.AlarmArn,
        state: (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmView['state'],
        reason: a.StateReason ?? '',
        stateUpdatedAt: (a.StateUpdatedTimestamp ?? new Date(0)).toISOString(),
        ...(a.AlarmConfigurationUpdatedTimestamp
          ? { configurationUpdatedAt: a.AlarmConfigurationUpdatedTimestamp.toISOString() }
          : {}),
        dimensions: Object.fromEntries(
          dims.filter((d) => d.Name && d.Value).map((d) => [d.Name as string, d.Value as string]),
        ),
      });
    }
  }
  return views;
}

export async function alarmTags(cw: CloudWatchClient, alarmArn: string): Promise<Record<string, string>> {
  const out = await cw.send(new ListTagsForResourceCommand({ ResourceARN: alarmArn }));
  return Object.fromEntries(
    (out.Tags ?? [])
      .filter((t) => t.Key && t.Value !== undefined)
      .map((t) => [t.Key as string, t.Value as string]),
  );
}
