// Concurrent batches add replacement capacity to one Auto Scaling group under a lease on it. A
// batch that finds the lease held waits for it: it must never drop its replacements, and the
// batches' raises must add up rather than overwrite each other.
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { LockHeldError } from '../../functions/shared/errors.ts';
import { acquireLock, releaseLock } from '../../functions/shared/lock.ts';
import { requestCapacity } from '../../functions/shared/spot/capacity.ts';
import { observerClient } from '../../local/observer.ts';
import { createTable, useEmulator } from '../support/emulator.ts';

useEmulator();
const LOCKS = 'locks';
const GROUP = 'web-spot';
const clock = { now: () => Date.now() };

beforeAll(async () => {
  await createTable(LOCKS, 'resource');
  const asg = observerClient(AutoScalingClient);
  await asg.send(
    new CreateLaunchConfigurationCommand({
      LaunchConfigurationName: 'web-lc',
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
    }),
  );
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: GROUP,
      LaunchConfigurationName: 'web-lc',
      MinSize: 0,
      MaxSize: 20,
      DesiredCapacity: 0,
      AvailabilityZones: ['us-east-1a'],
    }),
  );
});

const deps = (owner: string) => ({
  autoscaling: awsClient(AutoScalingClient),
  db: documentClient(),
  locksTable: LOCKS,
  clock,
  owner,
});

const desired = async () =>
  (
    await observerClient(AutoScalingClient).send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }),
    )
  ).AutoScalingGroups?.[0]?.DesiredCapacity;

describe('replacement capacity under a contended group lease', () => {
  it('waits for a held lease, and four concurrent batches add up to the sum of their requests', async () => {
    const db = documentClient();
    const held = await acquireLock(db, LOCKS, clock, {
      resource: `asg/${GROUP}`,
      owner: 'another-batch',
      leaseMs: 30_000,
      reason: 'add 1 replacement instance(s)',
    });
    // Taken: a batch that gave up here would drop its replacements.
    await expect(
      acquireLock(db, LOCKS, clock, { resource: `asg/${GROUP}`, owner: 'x', leaseMs: 1, reason: 'probe' }),
    ).rejects.toBeInstanceOf(LockHeldError);
    const batches = ['batch-1', 'batch-2', 'batch-3', 'batch-4'].map((owner) =>
      requestCapacity(deps(owner), GROUP, 'spot', 2),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await desired()).toBe(0);
    expect(await releaseLock(db, LOCKS, held)).toBe(true);
    const requests = await Promise.all(batches);
    // Each raise read the one before it: 0 -> 2 -> 4 -> 6 -> 8, in whatever order they got the lease.
    expect(requests.map((r) => r.before).sort()).toEqual([0, 2, 4, 6]);
    for (const r of requests) expect(r.after).toBe(r.before + 2);
    expect(await desired()).toBe(8);
  });
});

describe('lease take-over', () => {
  it('takes a lease over only from the holder it names, in the one conditional write', async () => {
    const db = documentClient();
    const lease = (owner: string, replaces?: string) => ({
      resource: 'service/web/takeover',
      owner,
      leaseMs: 60_000,
      reason: 'test',
      ...(replaces ? { replaces } : {}),
    });
    await acquireLock(db, LOCKS, clock, lease('deployment-1'));
    const wrongHolder = await acquireLock(db, LOCKS, clock, lease('deployment-2', 'deployment-0')).catch(
      (e: unknown) => e,
    );
    expect(wrongHolder).toBeInstanceOf(LockHeldError);
    expect((wrongHolder as LockHeldError).holder).toBe('deployment-1');
    await acquireLock(db, LOCKS, clock, lease('deployment-2', 'deployment-1'));
    // The earlier holder has lost it: it can neither renew it nor give it back.
    const renewed = await acquireLock(db, LOCKS, clock, lease('deployment-1')).catch((e: unknown) => e);
    expect((renewed as LockHeldError).holder).toBe('deployment-2');
    expect(await releaseLock(db, LOCKS, lease('deployment-1'))).toBe(false);
    expect(await releaseLock(db, LOCKS, lease('deployment-2'))).toBe(true);
  });
});
