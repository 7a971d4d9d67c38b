// ARNs of the resources the control plane acts on, built one way for every capability's grants.
import { ArnFormat, type Stack } from 'aws-cdk-lib';

export const ecsClusterArn = (stack: Stack, cluster: string): string =>
  stack.formatArn({ service: 'ecs', resource: 'cluster', resourceName: cluster });

export const ecsServiceArn = (stack: Stack, cluster: string, service: string): string =>
  stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${cluster}/${service}` });

/** Every task of the cluster. */
export const ecsTasksArn = (stack: Stack, cluster: string): string =>
  stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${cluster}/*` });

/** Every container instance of the cluster. */
export const containerInstancesArn = (stack: Stack, cluster: string): string =>
  stack.formatArn({ service: 'ecs', resource: 'container-instance', resourceName: `${cluster}/*` });

/** arn:...:autoScalingGroup:<uuid>:autoScalingGroupName/<name>: the uuid is unknown, the name is ours. */
export const autoScalingGroupArn = (stack: Stack, name: string): string =>
  stack.formatArn({
    service: 'autoscaling',
    resource: 'autoScalingGroup',
    resourceName: `*:autoScalingGroupName/${name}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
