// The spot scenarios across batches and deliveries, on the clean emulator: a storm larger than one
// SQS batch, a replacement that failed and is requested on redelivery, and an interruption whose
// first delivery failed after its claim, still counted toward the on-demand fallback.
import { expect } from 'vitest';
import { systemClock } from '../../functions/shared/clock.ts';
import { recentlyInterrupted } from '../../functions/shared/spot/capacity.ts';
import { SpotInterruptionEnvSchema } from '../../functions/shared/spot/config.ts';
import { observerDocumentClient } from '../../local/observer.ts';
import type { SeededInstance } from '../../local/seed.ts';
import { putEvents, spotMapping } from '../../local/spot-harness.ts';
import {
  allAlerts,
  clusterSeed,
  desired,
  draining,
  freshSpotInstances,
  journal,
  type SpotWorld,
  spotEnv,
  statuses,
  warningFor,
} from './scenarios.ts';

/**
 * A storm larger than one SQS batch (100): each handler invocation raises its own alert, and the
 * alert router folds them into one published message, with the counts of the whole storm. Here
 * both batches run before the router polls, so it sees both alerts at once; a router invocation
 * joining an open window later is tests/alerting/grouping.test.ts (1,000 alerts, 100 per batch).
 */
export async function stormAcrossBatchesIsOneMessage(world: SpotWorld, size: number) {
  const batchSize = spotMapping(world.stack).batchSize;
  expect(size).toBeGreaterThan(batchSize);
  const before = new Set(await draining(world));
  const targets = freshSpotInstances(world, size);
  const invocationsBefore = world.harness.invocations.length;
  const failedRequests = async () =>
    (await journal(world))
      .filter((r) => r.action === 'request-capacity' && r.outcome === 'failed')
      .map((r) => r.reason);
  const failedBefore = (await failedRequests()).length;
  await putEvents(targets.map(warningFor));
  const polled = await world.harness.process();

  expect(polled.failed).toBe(0);
  const invocations = world.harness.invocations.slice(invocationsBefore);
  // More than one batch, several at once, none over the batch size; every warning delivered at
  // least once.
  expect(invocations.length).toBeGreaterThanOrEqual(2);
  expect(new Set(invocations.flatMap((i) => i.messageIds)).size).toBe(size);
  expect(Math.max(...invocations.map((i) => i.records))).toBeLessThanOrEqual(batchSize);
  expect((await draining(world)).filter((id) => !before.has(id))).toEqual(
    targets.map((t) => t.ec2InstanceId).sort(),
  );
  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  // One alert per batch that drained something (a batch of warnings delivered again raises none).
  const raised = Number((alerts[0]?.alert.group as { alerts?: number } | undefined)?.alerts);
  expect(raised).toBeGreaterThanOrEqual(2);
  expect(raised).toBeLessThanOrEqual(invocations.length);
  expect(alerts[0]).toMatchObject({
    severity: 'warning',
    subject: `[WARNING] ${raised} spot-interruption alerts for web`,
    alert: {
      notification: 'group',
      kind: 'spot-interruption',
      cluster: 'web',
      group: { alerts: raised, newAlerts: raised },
    },
  });
  // Every instance counted, none twice.
  const resources = Number((alerts[0]?.alert.group as { resources?: number } | undefined)?.resources);
  expect(resources, JSON.stringify({ raised, invocations: invocations.map((i) => i.records) })).toBe(size);
  const counts = alerts[0]?.alert.counts as Record<string, Record<string, number>>;
  expect(Object.values(counts['availability zone'] ?? {}).reduce((a, b) => a + b, 0)).toBe(resources);
  expect(Object.values(counts['instance type'] ?? {}).reduce((a, b) => a + b, 0)).toBe(resources);
  // The batches ran at once and met on the group's lease: neither dropped its replacements.
  expect((await failedRequests()).slice(failedBefore)).toEqual([]);
}

/**
 * Warns the instances with a fault on (`down(true)`) for the first delivery only: it is lifted once
 * that delivery has handed its items back, before they are redelivered. Every item of the first
 * delivery must have failed, and a redelivery must have followed.
 */
async function warnWithTheFirstDeliveryFaulted(
  world: SpotWorld,
  instances: readonly SeededInstance[],
  down: (down: boolean) => void,
): Promise<void> {
  const invoked = world.harness.invocations.length;
  down(true);
  world.harness.afterInvoke = () => down(false);
  try {
    await putEvents(instances.map(warningFor));
    await world.harness.process();
  } finally {
    world.harness.afterInvoke = undefined;
    down(false);
  }
  const runs = world.harness.invocations.slice(invoked);
  expect(runs.length).toBeGreaterThanOrEqual(2);
  const first = runs[0]?.response as { batchItemFailures?: unknown[] } | undefined;
  expect(first?.batchItemFailures).toHaveLength(instances.length);
}

/**
 * A drain whose replacement request fails (Auto Scaling unavailable) is not a replacement lost:
 * the drain and its alert stand, the items go back to the queue, and the redelivery requests the
 * capacity once, without draining or announcing again.
 */
export async function failedReplacementIsRequestedOnRedelivery(
  world: SpotWorld,
  autoScalingDown: (down: boolean) => void,
) {
  const { autoScalingGroups: groups } = clusterSeed(world);
  const instances = freshSpotInstances(world, 2);
  const ids = instances.map((i) => i.ec2InstanceId);
  const total = async () => (await desired(groups.spot)) + (await desired(groups.onDemand));
  const before = await total();
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');
  await allAlerts(world);
  await warnWithTheFirstDeliveryFaulted(world, instances, autoScalingDown);
  // Replaced once, drained once, both DRAINING.
  expect(await total()).toBe(before + 2);
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBefore).toBe(1);
  const now = await statuses(world);
  expect(ids.map((id) => now.get(id))).toEqual(['DRAINING', 'DRAINING']);
  const requests = (await journal(world)).filter(
    (r) =>
      r.action === 'request-capacity' &&
      (r.outcome === 'failed' || (r.details?.instances as string[] | undefined)?.includes(ids[0] as string)),
  );
  expect(requests.map((r) => r.outcome).slice(-2)).toEqual(['failed', 'changed']);
  // One alert, for the drain, saying the replacement failed; none for the late replacement.
  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  expect(JSON.stringify(alerts[0]?.alert)).toContain('replacement capacity request failed');
}

/**
 * An interruption whose first delivery failed after its episode was claimed (the rate's write
 * refused past the SDK's retries) still counts toward the on-demand fallback when redelivered:
 * otherwise every such failure would undercount the rate and keep a drying pool on spot.
 */
export async function interruptionCountedWhenItsFirstDeliveryFailed(
  world: SpotWorld,
  rateWritesDown: (down: boolean) => void,
) {
  const instances = freshSpotInstances(world, 2);
  const ids = instances.map((i) => i.ec2InstanceId);
  const env = SpotInterruptionEnvSchema.parse(spotEnv(world));
  const counted = () =>
    recentlyInterrupted(
      observerDocumentClient(),
      env.OPERATIONS_TABLE,
      systemClock,
      world.seed.cluster,
      env.SPOT_FALLBACK_WINDOW_MINUTES,
    );
  await warnWithTheFirstDeliveryFaulted(world, instances, rateWritesDown);
  const recent = await counted();
  expect(ids.filter((id) => !recent.has(id))).toEqual([]);
  expect((await statuses(world)).get(ids[0] as string)).toBe('DRAINING');
  await allAlerts(world);
}
