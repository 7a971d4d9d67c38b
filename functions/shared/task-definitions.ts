// Task definitions as a rollout reads and registers them: the one it starts from, the image a
// container runs, and a new revision that changes the image and nothing else.
import {
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';

export async function describeTaskDefinition(
  ecs: ECSClient,
  taskDefinition: string,
): Promise<TaskDefinition | undefined> {
  try {
    const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }));
    return out.taskDefinition;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ClientException' || name === 'InvalidParameterException') return undefined;
    throw error;
  }
}

export function containerImage(taskDefinition: TaskDefinition, container: string): string | undefined {
  return taskDefinition.containerDefinitions?.find((c) => c.name === container)?.image;
}

/**
 * Registers `blue` again with `image` in `container`, everything else as it was (roles, volumes,
 * platform, sizes): the new revision green runs. `tags` mark who registered it.
 */
export async function registerWithImage(
  ecs: ECSClient,
  blue: TaskDefinition,
  container: string,
  image: string,
  tags: Tag[] = [],
): Promise<string> {
  const containers: ContainerDefinition[] = (blue.containerDefinitions ?? []).map((c) =>
    c.name === container ? { ...c, image } : c,
  );
  const out = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: blue.family,
      containerDefinitions: containers,
      taskRoleArn: blue.taskRoleArn,
      executionRoleArn: blue.executionRoleArn,
      networkMode: blue.networkMode,
      volumes: blue.volumes,
      placementConstraints: blue.placementConstraints,
      requiresCompatibilities: blue.requiresCompatibilities,
      cpu: blue.cpu,
      memory: blue.memory,
      pidMode: blue.pidMode,
      ipcMode: blue.ipcMode,
      proxyConfiguration: blue.proxyConfiguration,
      ephemeralStorage: blue.ephemeralStorage,
      runtimePlatform: blue.runtimePlatform,
      ...(tags.length > 0 ? { tags } : {}),
    }),
  );
  const arn = out.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new Error(`RegisterTaskDefinition for ${blue.family} returned no ARN`);
  return arn;
}
