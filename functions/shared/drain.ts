// Sets container instances to DRAINING, ten per call (a storm of 100 is 10 calls), and reads
// the status back from the response: an instance counts as drained only when ECS says so.
import {
  type ECSClient,
  UpdateContainerInstancesStateCommand,
  type UpdateContainerInstancesStateCommandOutput,
} from '@aws-sdk/client-ecs';
import { chunk } from './container-instances.ts';

export const INSTANCES_PER_DRAIN_CALL = 10;

export interface DrainResult {
  drained: string[];
  failed: { arn: string; reason: string }[];
  calls: number;
}

export async function drainContainerInstances(
  ecs: ECSClient,
  cluster: string,
  containerInstanceArns: readonly string[],
): Promise<DrainResult> {
  const result: DrainResult = { drained: [], failed: [], calls: 0 };
  for (const part of chunk(containerInstanceArns, INSTANCES_PER_DRAIN_CALL)) {
    let out: UpdateContainerInstancesStateCommandOutput;
    result.calls++;
    try {
      out = await ecs.send(
        new UpdateContainerInstancesStateCommand({ cluster, containerInstances: part, status: 'DRAINING' }),
      );
    } catch (error) {
      // This call's instances are not confirmed (a retry confirms them); the other calls' stand.
      for (const arn of part) result.failed.push({ arn, reason: (error as Error).message });
      continue;
    }
    const confirmed = new Set(
      (out.containerInstances ?? [])
        .filter((ci) => ci.status === 'DRAINING' && ci.containerInstanceArn)
        .map((ci) => ci.containerInstanceArn as string),
    );
    for (const arn of part) {
      if (confirmed.has(arn)) result.drained.push(arn);
      else {
        const failure = out.failures?.find(
          (f) => f.arn === arn || (f.arn && arn.endsWith(f.arn.split('/').pop() ?? '')),
        );
        result.failed.push({ arn, reason: failure?.reason ?? 'not confirmed DRAINING' });
      }
    }
  }
  return result;
}
