// Replacement capacity for interrupted spot instances and the interruption rate that decides
// where it comes from (the choice itself is spot-interruption/rules.ts chooseGroup).
import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../clock.ts';
import { type Db, ttlSeconds } from '../dynamo.ts';
import { batchGetItems } from '../dynamo-batches.ts';
import { withLockWaiting } from '../lock.ts';
import {
  CAPACITY_FAILURE_PREFIX,
  capacityFailureId,
  liveFailuresOf,
  type RememberedFailure,
} from './capacity-failures.ts';

const MINUTE = 60_000;
const rateKey = (cluster: string, minute: number) => `spot-rate#${cluster}#${minute}`;

/**
 * Records interruptions per cluster in one-minute buckets (expiring on their own), as the set of
 * interrupted instances: adding to a set is idempotent, so a write applied twice (an SDK retry
 * after a lost answer, a redelivered batch) still counts each instance once. A counter with ADD
 * would count it twice and could tip the cluster into its on-demand fallback early.
 */
export async function recordInterruptions(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  instances: readonly string[],
) {
  if (instances.length === 0) return;
  const minute = Math.floor(clock.now() / MINUTE);
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: rateKey(cluster, minute) },
      UpdateExpression: 'ADD instances :instances SET expiresAt = :ttl',
      ExpressionAttributeValues: {
        ':instances': new Set(instances),
        ':ttl': ttlSeconds(clock.now() + 2 * 3600_000),
      },
    }),
  );
}

/** Instances interrupted in the last `windowMinutes` (including the current minute). */
export async function recentlyInterrupted(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  windowMinutes: number,
): Promise<Set<string>> {
  return (await capacityState(db, table, clock, cluster, windowMinutes, [])).interrupted;
}

/**
 * What decides where replacements come from, in one read: the instances interrupted in the
 * window, and the launch failures remembered for the cluster's groups (capacity-failures.ts).
 */
export async function capacityState(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  windowMinutes: number,
  groups: readonly string[],
): Promise<{ interrupted: Set<string>; failures: Map<string, RememberedFailure[]> }> {
  const current = Math.floor(clock.now() / MINUTE);
  const rateKeys = Array.from({ length: windowMinutes }, (_, i) => ({ id: rateKey(cluster, current - i) }));
  const groupKeys = [...new Set(groups)].map((g) => ({ id: capacityFailureId(g) }));
  const items = await batchGetItems(db, table, [...rateKeys, ...groupKeys], 'interruption rate');
  const interrupted = new Set<string>();
  const failures = new Map<string, RememberedFailure[]>();
  for (const item of items) {
    if (String(item.id).startsWith(CAPACITY_FAILURE_PREFIX)) {
      const live = liveFailuresOf(item, clock.now());
      if (live.length > 0) failures.set(String(live[0]?.group), live);
    } else for (const id of (item.instances as Set<string>) ?? []) interrupted.add(id);
  }
  return { interrupted, failures };
}

/** How many instances were interrupted in the last `windowMinutes`. */
export async function recentInterruptions(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  windowMinutes: number,
): Promise<number> {
  return (await recentlyInterrupted(db, table, clock, cluster, windowMinutes)).size;
}

export interface CapacityRequest {
  group: string;
  market: 'spot' | 'on-demand';
  requested: number;
  before: number;
  after: number;
  max: number;
  clamped: boolean;
}

export interface CapacityDeps {
  autoscaling: AutoScalingClient;
  db: Db;
  locksTable: string;
  clock: Clock;
  owner: string;
}

/**
 * Raises the group's desired capacity by `count`, clamped at its maximum. Read-modify-write, so it
 * runs under a lease on the group: two batches at once must add up, not overwrite each other, and
 * a batch that finds the lease held waits for it rather than dropping its replacements.
 */
export async function requestCapacity(
  deps: CapacityDeps,
  group: string,
  market: 'spot' | 'on-demand',
  count: number,
): Promise<CapacityRequest> {
  return withLockWaiting(
    deps.db,
    deps.locksTable,
    deps.clock,
    {
      resource: `asg/${group}`,
      owner: deps.owner,
      leaseMs: 30_000,
      reason: `add ${count} replacement instance(s)`,
    },
    async () => {
      const described = await deps.autoscaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
      );
      const asg = described.AutoScalingGroups?.[0];
      if (!asg) throw new Error(`Auto Scaling group ${group} not found`);
      const before = asg.DesiredCapacity ?? 0;
      const max = asg.MaxSize ?? before;
      const after = Math.min(max, before + count);
      if (after !== before) {
        await deps.autoscaling.send(
          new SetDesiredCapacityCommand({
            AutoScalingGroupName: group,
            DesiredCapacity: after,
            HonorCooldown: false,
          }),
        );
      }
      return { group, market, requested: count, before, after, max, clamped: after < before + count };
    },
  );
}
