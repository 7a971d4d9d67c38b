// Plays the ECS container agent on instances the emulator's Auto Scaling launched: registers
// each new instance of a group with the cluster, as the agent does when an instance boots.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, RegisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import { awsClient } from '../functions/shared/clients.ts';
import { describe, listArns } from '../functions/shared/container-instances.ts';
import { EMULATOR_REGION } from './emulator.ts';

export async function registerGroupInstances(cluster: string, group: string): Promise<string[]> {
  const ecs = awsClient(ECSClient);
  const out = await awsClient(AutoScalingClient).send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
  );
  const members = (out.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId as string);
  const registered = new Set(
    (await describe(ecs, cluster, await listArns(ecs, cluster))).map((c) => c.ec2InstanceId),
  );
  const fresh = members.filter((id) => !registered.has(id));
  if (fresh.length === 0) return [];
  const described = await awsClient(EC2Client).send(new DescribeInstancesCommand({ InstanceIds: fresh }));
  const instances = (described.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  for (const i of instances) {
    await ecs.send(
      new RegisterContainerInstanceCommand({
        cluster,
        instanceIdentityDocument: JSON.stringify({
          instanceId: i.InstanceId,
          region: EMULATOR_REGION,
          availabilityZone: i.Placement?.AvailabilityZone ?? `${EMULATOR_REGION}a`,
          instanceType: i.InstanceType,
          imageId: i.ImageId,
        }),
        instanceIdentityDocumentSignature: 'local',
      }),
    );
  }
  return instances.map((i) => i.InstanceId as string);
}
