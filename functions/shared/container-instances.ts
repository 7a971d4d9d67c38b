// Finds the container instances behind EC2 instance ids in the managed clusters.
// One filtered ListContainerInstances per cluster per 50 ids, then DescribeContainerInstances
// per 100 ARNs: on AWS the call count depends on the batch, not on the cluster size.
// We confirm ec2InstanceId on every described instance ourselves, because a filter that
// is ignored (the local emulator ignores it) must never make us drain the wrong instance.
import {
  type ContainerInstance,
  DescribeContainerInstancesCommand,
  type ECSClient,
  ListContainerInstancesCommand,
} from '@aws-sdk/client-ecs';

export interface LocatedInstance {
  instanceId: string;
  cluster: string;
  containerInstanceArn: string;
  status: string;
  availabilityZone: string;
  instanceType: string;
  registeredAt?: string;
  /** Tasks running or starting on it as ECS counts them (0: nothing of any service to protect). */
  taskCount?: number;
}

const IDS_PER_FILTER = 50;
const ARNS_PER_DESCRIBE = 100;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function locateContainerInstances(
  ecs: ECSClient,
  clusters: readonly string[],
  instanceIds: readonly string[],
): Promise<Map<string, LocatedInstance>> {
  const found = new Map<string, LocatedInstance>();
  const wanted = new Set(instanceIds);
  for (const cluster of clusters) {
    const missing = [...wanted].filter((id) => !found.has(id));
    if (missing.length === 0) break;
    for (const ids of chunk(missing, IDS_PER_FILTER)) {
      const arns = await listArns(
        ecs,
        cluster,
        `ec2InstanceId in [${ids.map((id) => `'${id}'`).join(', ')}]`,
      );
      for (const described of await describe(ecs, cluster, arns)) {
        const located = toLocated(cluster, described);
        if (located && wanted.has(located.instanceId)) found.set(located.instanceId, located);
      }
    }
  }
  return found;
}

export async function listArns(
  ecs: ECSClient,
  cluster: string,
  filter?: string,
  status?: 'ACTIVE' | 'DRAINING',
) {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListContainerInstancesCommand({
        cluster,
        ...(filter ? { filter } : {}),
        ...(status ? { status } : {}),
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    arns.push(...(page.containerInstanceArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

export async function describe(
  ecs: ECSClient,
  cluster: string,
  arns: readonly string[],
): Promise<ContainerInstance[]> {
  const out: ContainerInstance[] = [];
  for (const part of chunk(arns, ARNS_PER_DESCRIBE)) {
    const page = await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: part }));
    out.push(...(page.containerInstances ?? []));
  }
  return out;
}

function attribute(ci: ContainerInstance, name: string): string | undefined {
  return ci.attributes?.find((a) => a.name === name)?.value;
}

export function toLocated(cluster: string, ci: ContainerInstance): LocatedInstance | undefined {
  if (!ci.ec2InstanceId || !ci.containerInstanceArn) return undefined;
  return {
    instanceId: ci.ec2InstanceId,
    cluster,
    containerInstanceArn: ci.containerInstanceArn,
    status: ci.status ?? 'UNKNOWN',
    availabilityZone: attribute(ci, 'ecs.availability-zone') ?? 'unknown-az',
    instanceType: attribute(ci, 'ecs.instance-type') ?? 'unknown-type',
    ...(ci.registeredAt ? { registeredAt: ci.registeredAt.toISOString() } : {}),
    ...(ci.runningTasksCount !== undefined || ci.pendingTasksCount !== undefined
      ? { taskCount: (ci.runningTasksCount ?? 0) + (ci.pendingTasksCount ?? 0) }
      : {}),
  };
}
