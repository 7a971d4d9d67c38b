// What a rollout needs to know about a service, read from the service itself: its primary task
// set (blue) and the target group behind it, the load balancer of that group, the listener (or
// rule) forwarding to blue and one other group (green). Reading it from the live service means
// that blue and green swap target groups from one rollout to the next without any config.
// Also: copying blue's task definition with a new image, creating and removing green.
import { createHash } from 'node:crypto';
import {
  CreateTaskSetCommand,
  DeleteTaskSetCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskSetsCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  type Service,
  type TaskDefinition,
  type TaskSet,
  UpdateServicePrimaryTaskSetCommand,
} from '@aws-sdk/client-ecs';
import {
  type Action,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route, TestRoute, Topology } from '../../events/rollout-state.ts';
import { InvalidInputError, OpsError } from '../shared/errors.ts';
import type { ManagedService } from '../shared/rollouts/config.ts';
import { loadBalancerNameOf } from '../shared/rollouts/traffic.ts';

export { PreconditionFailedError } from '../shared/errors.ts';

/** The cluster cannot place green at the service's desired count. */
export class InsufficientCapacityError extends OpsError {
  override readonly name = 'InsufficientCapacity';
}

export async function describeService(
  ecs: ECSClient,
  cluster: string,
  service: string,
): Promise<Service | undefined> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const found = out.services?.find((s) => s.serviceName === service && s.status !== 'INACTIVE');
  return found;
}

export interface ServiceView {
  service: Service;
  primary: TaskSet;
  loadBalancer: { targetGroupArn: string; containerName: string; containerPort: number };
  topology: Topology;
}

/** Reads the service and its routing; InvalidInput (naming the input field) when it cannot be rolled out. */
export async function inspectService(
  ecs: ECSClient,
  elb: ElasticLoadBalancingV2Client,
  managed: ManagedService,
): Promise<ServiceView> {
  const { cluster } = managed;
  let service: Service | undefined;
  try {
    service = await describeService(ecs, cluster, managed.service);
  } catch (error) {
    if ((error as Error).name === 'ClusterNotFoundException')
      throw new InvalidInputError('input.cluster', 'no such ECS cluster', cluster);
    throw error;
  }
  if (!service)
    throw new InvalidInputError('input.service', `is not a service of cluster ${cluster}`, managed.service);
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller !== 'EXTERNAL') {
    throw new InvalidInputError(
      'input.service',
      `uses the ${controller} deployment controller; blue/green rollouts need EXTERNAL (task sets)`,
      managed.service,
    );
  }
  const primary = service.taskSets?.find((t) => t.status === 'PRIMARY');
  if (!primary?.taskSetArn || !primary.taskDefinition) {
    throw new InvalidInputError('input.service', 'has no primary task set to roll out from', managed.service);
  }
  const lb = primary.loadBalancers?.[0];
  if (!lb?.targetGroupArn || !lb.containerName || lb.containerPort === undefined) {
    throw new InvalidInputError(
      'input.service',
      'its primary task set is not behind a target group',
      managed.service,
    );
  }
  const topology = await discoverRoute(elb, lb.targetGroupArn, managed);
  return {
    service,
    primary,
    loadBalancer: {
      targetGroupArn: lb.targetGroupArn,
      containerName: lb.containerName,
      containerPort: lb.containerPort,
    },
    topology,
  };
}

async function discoverRoute(
  elb: ElasticLoadBalancingV2Client,
  blueTargetGroupArn: string,
  managed: ManagedService,
): Promise<Topology> {
  const groups = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [blueTargetGroupArn] }));
  const loadBalancerArn = groups.TargetGroups?.[0]?.LoadBalancerArns?.find(
    (arn) => loadBalancerNameOf(arn) === managed.loadBalancerName,
  );
  if (!loadBalancerArn) {
    throw new InvalidInputError(
      'input.service',
      `its target group is not behind load balancer ${managed.loadBalancerName}, the one the control plane may re-weigh for it`,
      managed.service,
    );
  }
  const listeners = await listenersOf(elb, loadBalancerArn);
  const candidates: RouteCandidate[] = [];
  for (const listener of listeners) {
    if (!listener.ListenerArn) continue;
    candidates.push({
      route: { kind: 'listener', arn: listener.ListenerArn, listenerArn: listener.ListenerArn },
      actions: listener.DefaultActions ?? [],
      port: listener.Port ?? 0,
    });
  }
  let route = pickRoute(candidates, blueTargetGroupArn);
  if (!route) {
    // A fixed default action and rules that forward (CloudFormation hands the rules over to us).
    candidates.push(...(await ruleCandidates(elb, listeners)));
    route = pickRoute(candidates, blueTargetGroupArn);
  }
  if (!route) {
    throw new InvalidInputError(
      'input.service',
      `no listener of ${managed.loadBalancerName} forwards to its target group and exactly one other (green)`,
      managed.service,
    );
  }
  return { loadBalancerArn, loadBalancerName: managed.loadBalancerName, ...route };
}

/** A listener's default action or a rule, with the listener's port. */
export interface RouteCandidate {
  route: Route;
  actions: Action[];
  port: number;
}

async function listenersOf(elb: ElasticLoadBalancingV2Client, loadBalancerArn: string): Promise<Listener[]> {
  let marker: string | undefined;
  const listeners: Listener[] = [];
  do {
    const out = await elb.send(
      new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn, Marker: marker }),
    );
    listeners.push(...(out.Listeners ?? []));
    marker = out.NextMarker;
  } while (marker);
  return listeners;
}

async function ruleCandidates(
  elb: ElasticLoadBalancingV2Client,
  listeners: readonly Listener[],
): Promise<RouteCandidate[]> {
  const candidates: RouteCandidate[] = [];
  for (const listener of listeners) {
    if (!listener.ListenerArn) continue;
    const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn }));
    for (const rule of rules.Rules ?? []) {
      if (rule.IsDefault || !rule.RuleArn) continue;
      candidates.push({
        route: { kind: 'rule', arn: rule.RuleArn, listenerArn: listener.ListenerArn },
        actions: rule.Actions ?? [],
        port: listener.Port ?? 0,
      });
    }
  }
  return candidates;
}

const stickinessOf = (action: Action | undefined) => {
  const stickiness = action?.ForwardConfig?.TargetGroupStickinessConfig;
  if (stickiness?.Enabled === undefined) return {};
  return {
    stickiness: {
      Enabled: stickiness.Enabled,
      ...(stickiness.DurationSeconds !== undefined ? { DurationSeconds: stickiness.DurationSeconds } : {}),
    },
  };
};

/** The production route: one forward action over blue and one other group, blue serving. */
export function pickRoute(
  candidates: readonly RouteCandidate[],
  blue: string,
): Omit<Topology, 'loadBalancerArn' | 'loadBalancerName'> | undefined {
  const eligible = candidates.flatMap(({ route, actions, port }) => {
    if (actions.length !== 1 || actions[0]?.Type !== 'forward') return [];
    const groups = actions[0].ForwardConfig?.TargetGroups ?? [];
    const others = groups.filter((g) => g.TargetGroupArn !== blue);
    const blueGroup = groups.find((g) => g.TargetGroupArn === blue);
    if (!blueGroup || others.length !== 1 || !others[0]?.TargetGroupArn) return [];
    return [
      {
        route,
        port,
        blueTargetGroupArn: blue,
        greenTargetGroupArn: others[0].TargetGroupArn,
        blueWeight: blueGroup.Weight ?? 1,
        ...stickinessOf(actions[0]),
      },
    ];
  });
  // A test listener forwards to green only; production is where blue serves. After a rollout the
  // test listener may serve the new blue too: then the production port (80/443) is below the
  // test port (8080/8443, infra/application/load-balancer.ts).
  const chosen = eligible.sort((a, b) => b.blueWeight - a.blueWeight || a.port - b.port)[0];
  if (!chosen) return undefined;
  const { blueWeight: _weight, port: _port, ...rest } = chosen;
  return rest;
}

/**
 * The test listener's route: on another listener of the same load balancer, its default action
 * or a rule forwarding to blue and/or green and nothing else. Undefined when there is none.
 */
export async function discoverTestRoute(
  elb: ElasticLoadBalancingV2Client,
  topology: Topology,
): Promise<TestRoute | undefined> {
  const listeners = (await listenersOf(elb, topology.loadBalancerArn)).filter(
    (l) => l.ListenerArn && l.ListenerArn !== topology.route.listenerArn,
  );
  const ours = new Set([topology.blueTargetGroupArn, topology.greenTargetGroupArn]);
  const forwardsToOurs = (actions: readonly Action[]) => {
    if (actions.length !== 1 || actions[0]?.Type !== 'forward') return false;
    const forward = actions[0];
    const groups = forward.ForwardConfig?.TargetGroups?.map((g) => g.TargetGroupArn) ?? [
      forward.TargetGroupArn,
    ];
    return groups.length > 0 && groups.every((arn) => arn !== undefined && ours.has(arn));
  };
  const byListener: RouteCandidate[] = listeners.map((l) => ({
    route: { kind: 'listener', arn: l.ListenerArn as string, listenerArn: l.ListenerArn as string },
    actions: l.DefaultActions ?? [],
    port: l.Port ?? 0,
  }));
  const found =
    byListener.find((c) => forwardsToOurs(c.actions)) ??
    (await ruleCandidates(elb, listeners)).find((c) => forwardsToOurs(c.actions));
  if (!found) return undefined;
  const listener = listeners.find((l) => l.ListenerArn === found.route.listenerArn);
  const lbs = await elb.send(
    new DescribeLoadBalancersCommand({ LoadBalancerArns: [topology.loadBalancerArn] }),
  );
  const dns = lbs.LoadBalancers?.[0]?.DNSName ?? topology.loadBalancerName;
  const scheme = listener?.Protocol === 'HTTPS' ? 'https' : 'http';
  return {
    route: found.route,
    port: found.port,
    endpoint: `${scheme}://${dns}:${found.port}`,
    ...stickinessOf(found.actions[0]),
  };
}

export async function describeTaskSets(ecs: ECSClient, cluster: string, service: string): Promise<TaskSet[]> {
  const out = await ecs.send(new DescribeTaskSetsCommand({ cluster, service }));
  return out.taskSets ?? [];
}

/** The task set this rollout created (its externalId is the rollout id), if any. */
export async function findRolloutTaskSet(
  ecs: ECSClient,
  cluster: string,
  service: string,
  rolloutId: string,
): Promise<TaskSet | undefined> {
  return (await describeTaskSets(ecs, cluster, service)).find((t) => t.externalId === rolloutId);
}

/** Green: the new task definition behind the green target group, at the service's desired count. */
export async function createGreenTaskSet(
  ecs: ECSClient,
  params: {
    cluster: string;
    service: string;
    rolloutId: string;
    taskDefinition: string;
    targetGroupArn: string;
    loadBalancer: { containerName: string; containerPort: number };
    like: TaskSet;
  },
): Promise<TaskSet> {
  // Retried steps find what an earlier attempt created instead of creating a second one.
  const existing = await findRolloutTaskSet(ecs, params.cluster, params.service, params.rolloutId);
  if (existing) return existing;
  const { like } = params;
  const capacity =
    like.capacityProviderStrategy && like.capacityProviderStrategy.length > 0
      ? { capacityProviderStrategy: like.capacityProviderStrategy }
      : like.launchType
        ? { launchType: like.launchType }
        : {};
  const out = await ecs.send(
    new CreateTaskSetCommand({
      cluster: params.cluster,
      service: params.service,
      taskDefinition: params.taskDefinition,
      externalId: params.rolloutId,
      loadBalancers: [{ targetGroupArn: params.targetGroupArn, ...params.loadBalancer }],
      ...(like.networkConfiguration?.awsvpcConfiguration
        ? { networkConfiguration: like.networkConfiguration }
        : {}),
      ...capacity,
      ...(like.launchType === 'FARGATE' && like.platformVersion
        ? { platformVersion: like.platformVersion }
        : {}),
      scale: { unit: 'PERCENT', value: 100 },
      // At most 36 characters; the rollout id (an execution name) can be longer.
      clientToken: createHash('sha256').update(params.rolloutId).digest('hex').slice(0, 32),
      tags: [{ key: 'ecs-ops:rollout', value: params.rolloutId }],
    }),
  );
  if (!out.taskSet) throw new Error('CreateTaskSet returned no task set');
  return out.taskSet;
}

/** Tasks per ACTIVE container instance that fit green's task definition, summed: enough for `count`? */
export async function checkCapacity(
  ecs: ECSClient,
  cluster: string,
  taskDefinition: TaskDefinition,
  count: number,
): Promise<{ fits: number; needed: number; note: string }> {
  const cpu = Number(taskDefinition.cpu ?? 0) || sum(taskDefinition.containerDefinitions, (c) => c.cpu ?? 0);
  const memory =
    Number(taskDefinition.memory ?? 0) ||
    sum(taskDefinition.containerDefinitions, (c) => c.memory ?? c.memoryReservation ?? 0);
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListContainerInstancesCommand({ cluster, status: 'ACTIVE', nextToken }));
    arns.push(...(out.containerInstanceArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  let fits = 0;
  for (let i = 0; i < arns.length && fits < count; i += 100) {
    const out = await ecs.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: arns.slice(i, i + 100) }),
    );
    for (const instance of out.containerInstances ?? []) {
      // The emulator ignores the status filter: confirm it here.
      if (instance.status !== 'ACTIVE') continue;
      const remaining = (name: string) =>
        instance.remainingResources?.find((r) => r.name === name)?.integerValue ?? 0;
      const byCpu = cpu > 0 ? Math.floor(remaining('CPU') / cpu) : Number.POSITIVE_INFINITY;
      const byMemory = memory > 0 ? Math.floor(remaining('MEMORY') / memory) : Number.POSITIVE_INFINITY;
      const n = Math.min(byCpu, byMemory);
      fits += Number.isFinite(n) ? n : count;
    }
  }
  return {
    fits,
    needed: count,
    note: `${Math.min(fits, count)} of ${count} task(s) fit on ${arns.length} ACTIVE container instance(s) (task needs ${cpu} CPU units, ${memory} MiB)`,
  };
}

const sum = <T>(items: readonly T[] | undefined, f: (item: T) => number): number =>
  (items ?? []).reduce((total, item) => total + f(item), 0);

/** Green is ready when ECS calls it steady and every target registered in its group is healthy. */
export async function greenReadiness(
  ecs: ECSClient,
  elb: ElasticLoadBalancingV2Client,
  params: { cluster: string; service: string; taskSetArn: string; targetGroupArn: string },
): Promise<{ ready: boolean; note: string }> {
  const sets = await ecs.send(
    new DescribeTaskSetsCommand({
      cluster: params.cluster,
      service: params.service,
      taskSets: [params.taskSetArn],
    }),
  );
  const green = sets.taskSets?.[0];
  if (!green) return { ready: false, note: 'green task set not found' };
  const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: params.targetGroupArn }));
  const states = (health.TargetHealthDescriptions ?? []).map((t) => t.TargetHealth?.State ?? 'unknown');
  const healthy = states.filter((s) => s === 'healthy').length;
  const running = green.runningCount ?? 0;
  const desired = green.computedDesiredCount ?? 0;
  const steady = green.stabilityStatus === 'STEADY_STATE';
  const note = `${green.stabilityStatus ?? 'unknown'}; ${running} of ${desired} task(s) running; targets ${healthy} healthy of ${states.length}`;
  return { ready: steady && running >= desired && healthy >= running && healthy === states.length, note };
}

/** Blue primary again (if green had become primary), then green deleted. Safe to repeat. */
export async function removeGreen(
  ecs: ECSClient,
  params: {
    cluster: string;
    service: string;
    rolloutId: string;
    blueTaskSetArn: string;
    greenTaskSetArn?: string;
  },
): Promise<{ deleted?: string; primaryRestored: boolean }> {
  const sets = await describeTaskSets(ecs, params.cluster, params.service);
  const green = sets.find(
    (t) =>
      (params.greenTaskSetArn && t.taskSetArn === params.greenTaskSetArn) ||
      t.externalId === params.rolloutId,
  );
  let primaryRestored = false;
  if (green?.status === 'PRIMARY') {
    await ecs.send(
      new UpdateServicePrimaryTaskSetCommand({
        cluster: params.cluster,
        service: params.service,
        primaryTaskSet: params.blueTaskSetArn,
      }),
    );
    primaryRestored = true;
  }
  if (!green?.taskSetArn) return { primaryRestored };
  try {
    await ecs.send(
      new DeleteTaskSetCommand({
        cluster: params.cluster,
        service: params.service,
        taskSet: green.taskSetArn,
        force: true,
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'TaskSetNotFoundException') throw error;
  }
  return { deleted: green.taskSetArn, primaryRestored };
}
