// The spot-interruption acceptance scenarios, written once and run twice: on a clean emulator
// and behind the fault proxy (20% of calls refused, 5% ambiguous). Each scenario uses its own
// instances. The scenarios across batches and deliveries are in batch-scenarios.ts.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  ECSClient,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import { InvalidInputError } from '../../functions/shared/errors.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import type { ManagedCluster } from '../../functions/shared/managed-clusters.ts';
import { SpotInterruptionEnvSchema } from '../../functions/shared/spot/config.ts';
import { type ReceivedAlert, readJournal, takeAlerts } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { observerClient } from '../../local/observer.ts';
import type { Seed, SeededInstance } from '../../local/seed.ts';
import { enqueueRaw, putEvents, type SpotHarness, sampleEvent } from '../../local/spot-harness.ts';

export interface SpotWorld {
  stack: DeployedStack;
  /** The template's own cluster (`web`). */
  seed: Seed;
  /** Every seeded managed cluster by name, `seed` included (see useSpotWorld's extraClusters). */
  clusters?: Record<string, Seed>;
  harness: SpotHarness;
  /** Successful (forwarded) calls of one operation so far, e.g. `ecs:UpdateContainerInstancesState`. */
  calls(operation: string): number;
  /** Faults may lose answers: a Publish retried after one reaches subscribers twice, word for word. */
  answersMayBeLost?: boolean;
  /** Calls are refused or lost: a request can fail past the SDK's retries and be retried later. */
  faulted?: boolean;
}

const used = new Set<string>();

/**
 * Clusters beside `web` for the per-cluster behaviour: rebalance modes as MANAGED_CLUSTERS sets
 * them, and a cluster whose interruption rate no other scenario has moved (on-demand fallback).
 */
export const EXTRA_CLUSTERS: { cluster: ManagedCluster; instances: number }[] = [
  {
    cluster: {
      name: 'drain-mode',
      rebalance: 'drain',
      spotAsg: 'drain-spot',
      onDemandAsg: 'drain-on-demand',
    },
    instances: 3,
  },
  {
    cluster: {
      name: 'observe-mode',
      rebalance: 'observe',
      spotAsg: 'observe-spot',
      onDemandAsg: 'observe-on-demand',
    },
    instances: 3,
  },
  {
    cluster: {
      name: 'fallback',
      rebalance: 'surge',
      spotAsg: 'fallback-spot',
      onDemandAsg: 'fallback-on-demand',
    },
    instances: 8,
  },
];

export function clusterSeed(world: SpotWorld, cluster?: string): Seed {
  if (cluster === undefined) return world.seed;
  const found = world.clusters?.[cluster];
  if (!found) throw new Error(`cluster ${cluster} is not seeded in this world (useSpotWorld extraClusters)`);
  return found;
}

/** Spot instances no earlier scenario has touched (in `cluster`, default the `web` seed). */
export function freshSpotInstances(world: SpotWorld, n: number, cluster?: string): SeededInstance[] {
  const picked = clusterSeed(world, cluster)
    .containerInstances.filter((c) => c.spot && !used.has(c.ec2InstanceId))
    .slice(0, n);
  if (picked.length < n) throw new Error(`seed has only ${picked.length} unused spot instances, need ${n}`);
  for (const p of picked) used.add(p.ec2InstanceId);
  return picked;
}

// The rig's own reads and set-up calls use observer clients: straight to the emulator, with their
// own retry budget, so injected faults test the handler and not the read-backs.
export async function statuses(world: SpotWorld, cluster?: string): Promise<Map<string, string>> {
  const ecs = observerClient(ECSClient);
  const where = clusterSeed(world, cluster);
  const out = new Map<string, string>();
  const arns = where.containerInstances.map((c) => c.containerInstanceArn);
  for (let i = 0; i < arns.length; i += 100) {
    const page = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: where.cluster,
        containerInstances: arns.slice(i, i + 100),
      }),
    );
    for (const ci of page.containerInstances ?? []) out.set(ci.ec2InstanceId as string, ci.status as string);
  }
  return out;
}

export async function draining(world: SpotWorld, cluster?: string): Promise<string[]> {
  return [...(await statuses(world, cluster))]
    .filter(([, s]) => s === 'DRAINING')
    .map(([id]) => id)
    .sort();
}

/** What subscribers received since the last call, on every severity topic. */
export async function allAlerts(world: SpotWorld): Promise<ReceivedAlert[]> {
  // A router item that failed under injected faults is visible again only now: give the event
  // sources one more pass so it is delivered (or dead-lettered) before we count.
  await world.harness.process();
  const q = world.seed.alertQueues;
  const opts = { collapseCopies: world.answersMayBeLost === true };
  return [
    ...(await takeAlerts(q.critical, opts)),
    ...(await takeAlerts(q.warning, opts)),
    ...(await takeAlerts(q.info, opts)),
  ];
}

export async function desired(group: string): Promise<number> {
  const out = await observerClient(AutoScalingClient).send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
  );
  return out.AutoScalingGroups?.[0]?.DesiredCapacity ?? -1;
}

export const spotEnv = (world: SpotWorld) => world.stack.functions['spot-interruption']?.environment ?? {};

/** The fallback threshold exactly as the handler reads it (schema default when unset). */
export function fallbackThreshold(world: SpotWorld): number {
  return SpotInterruptionEnvSchema.shape.SPOT_FALLBACK_THRESHOLD.parse(
    spotEnv(world).SPOT_FALLBACK_THRESHOLD,
  );
}

export async function journal(world: SpotWorld): Promise<JournalRecord[]> {
  return readJournal(spotEnv(world).JOURNAL_TABLE as string);
}

export const warningFor = (i: SeededInstance) =>
  sampleEvent('ec2-spot-instance-interruption-warning', i.ec2InstanceId);
export const rebalanceFor = (i: SeededInstance) =>
  sampleEvent('ec2-instance-rebalance-recommendation', i.ec2InstanceId);

/** The capacity requests journaled for one Auto Scaling group: market, count it decided on, delta. */
async function capacityRequests(world: SpotWorld, group: string) {
  return (await journal(world))
    .filter(
      (r) => r.action === 'request-capacity' && r.resource === `asg/${group}` && r.outcome === 'changed',
    )
    .map((r) => ({
      market: r.details?.market,
      recent: Number(r.details?.recentInterruptions),
      added: (r.after as { desired: number }).desired - (r.before as { desired: number }).desired,
    }));
}

export async function sampleWarningDrainsExactlyThatInstance(world: SpotWorld) {
  const before = new Set(await draining(world));
  const [target] = freshSpotInstances(world, 1) as [SeededInstance];
  const spotDesiredBefore = await desired(world.seed.autoScalingGroups.spot);

  await putEvents([sampleEvent('ec2-spot-instance-interruption-warning', target.ec2InstanceId)]);
  const polled = await world.harness.process();

  expect(polled.delivered).toBe(1);
  const nowDraining = (await draining(world)).filter((id) => !before.has(id));
  expect(nowDraining).toEqual([target.ec2InstanceId]);
  const all = await statuses(world);
  const othersActive = [...all]
    .filter(([id]) => id !== target.ec2InstanceId && !before.has(id))
    .every(([, s]) => s === 'ACTIVE');
  expect(othersActive).toBe(true);

  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  expect(alerts[0]?.severity).toBe('warning');
  expect(alerts[0]?.subject.length).toBeLessThanOrEqual(100);
  expect(alerts[0]?.alert.resources).toEqual([target.containerInstanceArn]);

  const journal = await readJournal(
    world.stack.functions['spot-interruption']?.environment.JOURNAL_TABLE as string,
  );
  const drained = journal.find(
    (r) => r.action === 'drain-instance' && r.resource.endsWith(target.ec2InstanceId),
  );
  expect(drained?.outcome).toBe('changed');
  expect(drained?.details?.noticeAt).toBe('2026-11-20T10:15:00Z');
  expect(typeof drained?.details?.budgetLeftSeconds).toBe('number');
  // Replacement capacity was requested from the spot group.
  expect(await desired(world.seed.autoScalingGroups.spot)).toBe(spotDesiredBefore + 1);
}

export async function duplicatesAreOneAction(world: SpotWorld) {
  const [a, b] = freshSpotInstances(world, 2) as [SeededInstance, SeededInstance];
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');

  // The same event three times (at-least-once delivery), in one batch and again later.
  const warning = sampleEvent('ec2-spot-instance-interruption-warning', a.ec2InstanceId);
  await enqueueRaw(world.stack, [warning, warning]);
  await world.harness.process();
  await enqueueRaw(world.stack, [warning]);
  await world.harness.process();
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBefore).toBe(1);
  expect(await allAlerts(world)).toHaveLength(1);

  // Rebalance first (surge by default), then the warning: still one drain and one alert.
  const drainsBeforeB = world.calls('ecs:UpdateContainerInstancesState');
  await putEvents([sampleEvent('ec2-instance-rebalance-recommendation', b.ec2InstanceId)]);
  await world.harness.process();
  expect((await statuses(world)).get(b.ec2InstanceId)).toBe('ACTIVE');
  const executions = await observerClient(SFNClient).send(
    new ListExecutionsCommand({
      stateMachineArn: world.stack.functions['spot-interruption']?.environment.SURGE_STATE_MACHINE_ARN,
    }),
  );
  expect(executions.executions?.length ?? 0).toBeGreaterThan(0);
  await putEvents([sampleEvent('ec2-spot-instance-interruption-warning', b.ec2InstanceId)]);
  await world.harness.process();
  await enqueueRaw(world.stack, [sampleEvent('ec2-spot-instance-interruption-warning', b.ec2InstanceId)]);
  await world.harness.process();
  expect((await statuses(world)).get(b.ec2InstanceId)).toBe('DRAINING');
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBeforeB).toBe(1);
  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  expect(String(alerts[0]?.alert.title)).toContain('surging 1');
}

export async function unmanagedAndAlreadyDrainingChangeNothing(world: SpotWorld) {
  const before = await statuses(world);
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');
  // Unmanaged: an instance that is no container instance of a managed cluster.
  await putEvents([sampleEvent('ec2-spot-instance-interruption-warning', 'i-0fedcba9876543210')]);
  await world.harness.process();
  expect(await statuses(world)).toEqual(before);
  expect(world.calls('ecs:UpdateContainerInstancesState')).toBe(drainsBefore);
  expect(await allAlerts(world)).toHaveLength(0);

  // Already draining (an operator did it): no second drain, no alert.
  const [c] = freshSpotInstances(world, 1) as [SeededInstance];
  await observerClient(ECSClient).send(
    new UpdateContainerInstancesStateCommand({
      cluster: world.seed.cluster,
      containerInstances: [c.containerInstanceArn],
      status: 'DRAINING',
    }),
  );
  const afterManual = world.calls('ecs:UpdateContainerInstancesState');
  await putEvents([sampleEvent('ec2-spot-instance-interruption-warning', c.ec2InstanceId)]);
  await world.harness.process();
  expect(world.calls('ecs:UpdateContainerInstancesState')).toBe(afterManual);
  expect(await allAlerts(world)).toHaveLength(0);
  const journal = await readJournal(
    world.stack.functions['spot-interruption']?.environment.JOURNAL_TABLE as string,
  );
  expect(journal.some((r) => r.resource.endsWith(c.ec2InstanceId) && r.outcome === 'unchanged')).toBe(true);
}

export async function malformedEventNamesFieldAndEndsInDlq(world: SpotWorld) {
  const before = await statuses(world);
  const bad = sampleEvent('ec2-spot-instance-interruption-warning');
  delete (bad.detail as Record<string, unknown>)['instance-id'];

  // Direct invocation: the error names the field.
  const error = await world.harness.fn.invoke(bad).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidInputError);
  expect((error as Error).name).toBe('InvalidInput');
  expect((error as Error).message).toContain('detail.instance-id');

  // Through the queue: retried, then the dead-letter queue holds it intact.
  await enqueueRaw(world.stack, [bad]);
  for (let i = 0; i < 5; i++) await world.harness.process();
  const dlqDepth = await queueDepth(world, /SpotInterruptionHandlingQueueDeadLetter|DeadLetter/);
  expect(dlqDepth).toBe(1);
  expect(await statuses(world)).toEqual(before);
  expect(await allAlerts(world)).toHaveLength(0);
}

export async function queueDepth(world: SpotWorld, pattern: RegExp): Promise<number> {
  const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'spot-interruption');
  const sqs = observerClient(SQSClient);
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: mapping?.queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const dlqArn = JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}').deadLetterTargetArn as string;
  const dlq = Object.values(world.stack.resources).find((r) => r.Arn === dlqArn);
  if (!dlq) throw new Error(`no dead-letter queue ${dlqArn} (${pattern})`);
  const depth = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: String(dlq.QueueUrl ?? dlq.ref),
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(depth.Attributes?.ApproximateNumberOfMessages ?? 0);
}

export async function stormIsBatchedIntoOneAlert(world: SpotWorld, size: number) {
  // A storm is above the fallback rate by itself (the rate counts each batch as it is decided),
  // whatever earlier scenarios added to it. Batches run at once, so a small first batch may be
  // decided before the others are counted: each replacement comes from the group its count chose.
  const threshold = fallbackThreshold(world);
  expect(size).toBeGreaterThan(threshold);
  const before = new Set(await draining(world));
  const targets = freshSpotInstances(world, size);
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');
  const groups = world.seed.autoScalingGroups;
  const spotBefore = await desired(groups.spot);
  const onDemandBefore = await desired(groups.onDemand);
  const requestsBefore = {
    spot: (await capacityRequests(world, groups.spot)).length,
    onDemand: (await capacityRequests(world, groups.onDemand)).length,
  };
  const invocationsBefore = world.harness.invocations.length;
  await putEvents(targets.map(warningFor));
  await world.harness.process();

  const nowDraining = (await draining(world)).filter((id) => !before.has(id));
  // What the handler did, should the drains be missing: its batches, what it handed back, and
  // what ended in the dead-letter queue.
  const handled = world.harness.invocations.slice(invocationsBefore);
  const diagnosis = JSON.stringify({
    invocations: handled.length,
    records: handled.reduce((n, i) => n + i.records, 0),
    handedBack: handled.reduce(
      (n, i) => n + ((i.response as { batchItemFailures?: unknown[] })?.batchItemFailures?.length ?? 0),
      0,
    ),
    deadLettered: await queueDepth(world, /spot-interruption/),
  });
  expect(nowDraining, diagnosis).toEqual(targets.map((t) => t.ec2InstanceId).sort());
  // Batches split the storm as Lambda's pollers do. Every warning was delivered, some perhaps
  // twice (a standard queue delivers at least once; concurrent receives on the emulator do it
  // too): at most one drain call per 10 records of each batch, and a warning delivered again
  // drains nothing again.
  const invocations = world.harness.invocations.slice(invocationsBefore);
  expect(new Set(invocations.flatMap((i) => i.messageIds)).size).toBe(size);
  const drainCalls = world.calls('ecs:UpdateContainerInstancesState') - drainsBefore;
  expect(drainCalls).toBeGreaterThanOrEqual(Math.ceil(size / 10));
  expect(drainCalls).toBeLessThanOrEqual(
    invocations.reduce((calls, i) => calls + Math.ceil(i.records / 10), 0),
  );
  // One replacement per instance, none lost or doubled; each from the group its count chose, and
  // the storm's own count past the threshold sent most of it to on-demand.
  const onDemandAdded = (await desired(groups.onDemand)) - onDemandBefore;
  const spotAdded = (await desired(groups.spot)) - spotBefore;
  expect(onDemandAdded + spotAdded).toBe(size);
  expect(onDemandAdded).toBeGreaterThan(size / 2);
  const requests = [
    ...(await capacityRequests(world, groups.spot)).slice(requestsBefore.spot),
    ...(await capacityRequests(world, groups.onDemand)).slice(requestsBefore.onDemand),
  ];
  expect(requests.reduce((n, r) => n + r.added, 0)).toBe(size);
  for (const r of requests) expect(r.market).toBe(r.recent > threshold ? 'on-demand' : 'spot');
  // Announced in one grouped message per alert window (one, unless throttled batches end a
  // window apart), counting every instance once.
  const alerts = await allAlerts(world);
  expect(alerts.length).toBeGreaterThanOrEqual(1);
  expect(alerts.length).toBeLessThanOrEqual(invocations.length);
  // Most of the storm went to on-demand, and the announcement says so.
  expect(
    alerts.some((a) =>
      String(a.alert.whatWeDid).includes(`replacing with on-demand; ${groups.onDemand} desired`),
    ),
  ).toBe(true);
  const byZone = alerts
    .flatMap((a) =>
      Object.values((a.alert.counts as Record<string, Record<string, number>>)['availability zone'] ?? {}),
    )
    .reduce((a, b) => a + b, 0);
  expect(byZone, JSON.stringify(alerts.map((a) => [a.subject, a.alert.group]))).toBe(size);
  const types = alerts.flatMap((a) =>
    Object.keys((a.alert.counts as Record<string, Record<string, number>>)['instance type'] ?? {}),
  );
  expect(new Set(types).size).toBeGreaterThan(1);
}

/**
 * SPOT_FALLBACK_THRESHOLD: up to the threshold, replacements come from the spot group; the
 * interruption past it (in the window) is replaced from the on-demand group. In a cluster whose
 * rate no other scenario has moved, so the count starts at zero.
 */
export async function fallbackFollowsTheInterruptionRate(world: SpotWorld) {
  const threshold = fallbackThreshold(world);
  const { autoScalingGroups: groups } = clusterSeed(world, 'fallback');
  const upToThreshold = freshSpotInstances(world, threshold, 'fallback');
  const [pastIt] = freshSpotInstances(world, 1, 'fallback') as [SeededInstance];
  const spotBefore = await desired(groups.spot);
  const onDemandBefore = await desired(groups.onDemand);
  expect(await capacityRequests(world, groups.spot)).toEqual([]);

  await putEvents(upToThreshold.map(warningFor));
  const processed = await world.harness.process();
  expect(await desired(groups.spot), JSON.stringify(processed)).toBe(spotBefore + threshold);
  expect(await desired(groups.onDemand)).toBe(onDemandBefore);
  const first = await allAlerts(world);
  expect(first.length).toBeGreaterThan(0);
  // Under faults the request may fail past the SDK's retries: the alert says so, and the
  // redelivery requests it (the desired count above).
  const said = world.faulted
    ? new RegExp(`replacing spot with spot; ${groups.spot} desired|replacement capacity request failed`)
    : new RegExp(`replacing spot with spot; ${groups.spot} desired`);
  for (const a of first) {
    expect(a.alert.cluster).toBe('fallback');
    expect(String(a.alert.whatWeDid)).toMatch(said);
  }

  await putEvents([warningFor(pastIt)]);
  await world.harness.process();
  expect(await desired(groups.onDemand)).toBe(onDemandBefore + 1);
  expect(await desired(groups.spot)).toBe(spotBefore + threshold);
  const second = await allAlerts(world);
  expect(second).toHaveLength(1);
  expect(String(second[0]?.alert.whatWeDid)).toContain(
    `${threshold + 1} spot interruptions in the window exceed ${threshold}: replacing with on-demand; ${groups.onDemand} desired ${onDemandBefore} -> ${onDemandBefore + 1}`,
  );

  // The journal keeps the decision and the count it was made on.
  const spotRequests = await capacityRequests(world, groups.spot);
  expect(spotRequests.reduce((n, r) => n + r.added, 0)).toBe(threshold);
  for (const r of spotRequests) {
    expect(r.market).toBe('spot');
    expect(r.recent).toBeLessThanOrEqual(threshold);
  }
  expect(await capacityRequests(world, groups.onDemand)).toEqual([
    { market: 'on-demand', recent: threshold + 1, added: 1 },
  ]);
  expect(await draining(world, 'fallback')).toEqual(
    [...upToThreshold, pastIt].map((i) => i.ec2InstanceId).sort(),
  );
}

/** Rebalance mode `drain`: the recommendation drains at once, like a warning, and says so. */
export async function rebalanceInDrainModeDrainsAtOnce(world: SpotWorld) {
  const [target] = freshSpotInstances(world, 1, 'drain-mode') as [SeededInstance];
  const { autoScalingGroups: groups } = clusterSeed(world, 'drain-mode');
  const before = await statuses(world, 'drain-mode');
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');
  const surgesBefore = world.calls('states:StartExecution');
  const spotBefore = await desired(groups.spot);

  // The recheck that would put it back comes after the warning here (as it would on AWS, where it
  // waits ten minutes): long enough that the steps below come first (faults slow them), then
  // waited for when the alerts are counted.
  const env = spotEnv(world);
  const recheck = env.REBALANCE_RECHECK_SECONDS;
  env.REBALANCE_RECHECK_SECONDS = '15';
  await putEvents([rebalanceFor(target)]);
  await world.harness.process({ waitForDelayed: false });
  env.REBALANCE_RECHECK_SECONDS = recheck as string;

  expect(await statuses(world, 'drain-mode')).toEqual(
    new Map([...before, [target.ec2InstanceId, 'DRAINING']]),
  );
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBefore).toBe(1);
  // No surge: nothing waits for replacements before draining.
  expect(world.calls('states:StartExecution')).toBe(surgesBefore);
  expect(await desired(groups.spot)).toBe(spotBefore + 1);

  // The warning that follows is the same episode: no second drain, no second alert; and the
  // recheck, when it comes, leaves the instance drained.
  await putEvents([warningFor(target)]);
  await world.harness.process({ waitForDelayed: false });
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBefore).toBe(1);

  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  expect(alerts[0]).toMatchObject({ severity: 'warning', alert: { cluster: 'drain-mode' } });
  expect(String(alerts[0]?.alert.title)).toBe('Spot interruption in drain-mode: draining 1 instance');
  expect(alerts[0]?.alert.resources).toEqual([target.containerInstanceArn]);
  expect((await statuses(world, 'drain-mode')).get(target.ec2InstanceId)).toBe('DRAINING');
  const drained = (await journal(world)).filter(
    (r) => r.resource === `container-instance/drain-mode/${target.ec2InstanceId}`,
  );
  expect(drained.map((r) => [r.action, r.outcome, r.reason])).toEqual([
    ['drain-instance', 'changed', 'rebalance recommendation with rebalance mode drain'],
  ]);
  expect(drained[0]?.details).toMatchObject({ channels: ['rebalance'], budgetLeftSeconds: null });
}

/** Rebalance mode `observe`: nothing changes; a journal record and an info alert, once. */
export async function rebalanceInObserveModeOnlyRecords(world: SpotWorld) {
  const [target] = freshSpotInstances(world, 1, 'observe-mode') as [SeededInstance];
  const { autoScalingGroups: groups } = clusterSeed(world, 'observe-mode');
  const before = await statuses(world, 'observe-mode');
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');
  const surgesBefore = world.calls('states:StartExecution');
  const capacityBefore = [await desired(groups.spot), await desired(groups.onDemand)];
  const resource = `container-instance/observe-mode/${target.ec2InstanceId}`;

  await putEvents([rebalanceFor(target)]);
  await world.harness.process();

  expect(await statuses(world, 'observe-mode')).toEqual(before);
  expect(world.calls('ecs:UpdateContainerInstancesState')).toBe(drainsBefore);
  expect(world.calls('states:StartExecution')).toBe(surgesBefore);
  expect([await desired(groups.spot), await desired(groups.onDemand)]).toEqual(capacityBefore);
  const records = await journal(world);
  expect(records.filter((r) => r.resource === resource).map((r) => [r.action, r.outcome, r.reason])).toEqual([
    ['observe-instance', 'unchanged', 'rebalance mode is observe: recorded only'],
  ]);
  expect(records.filter((r) => r.resource.startsWith('asg/observe-'))).toEqual([]);
  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  expect(alerts[0]).toMatchObject({ severity: 'info', alert: { cluster: 'observe-mode' } });
  expect(String(alerts[0]?.alert.title)).toBe('Spot interruption in observe-mode: observing 1 instance');
  expect(String(alerts[0]?.alert.whatWeDid)).toBe('Recorded 1 recommendation(s) only (observe mode).');

  // Delivered again: the same episode, nothing new.
  await enqueueRaw(world.stack, [rebalanceFor(target)]);
  await world.harness.process();
  expect(await allAlerts(world)).toHaveLength(0);
  expect((await journal(world)).filter((r) => r.resource === resource)).toHaveLength(1);

  // The warning is the interruption itself: it drains, once, and is announced as a drain (the
  // info alert said nothing was done).
  await putEvents([warningFor(target)]);
  await world.harness.process();
  expect((await statuses(world, 'observe-mode')).get(target.ec2InstanceId)).toBe('DRAINING');
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBefore).toBe(1);
  const drained = await allAlerts(world);
  expect(drained).toHaveLength(1);
  expect(drained[0]?.severity).toBe('warning');
  expect(String(drained[0]?.alert.title)).toBe('Spot interruption in observe-mode: draining 1 instance');
  await enqueueRaw(world.stack, [warningFor(target)]);
  await world.harness.process();
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBefore).toBe(1);
  expect(await allAlerts(world)).toHaveLength(0);
}

/** Fargate Spot: nothing to drain (ECS replaces the task); recorded and announced once. */
export async function fargateSpotTaskIsAnnouncedOnce(world: SpotWorld) {
  const event = sampleEvent('ecs-task-state-change-fargate-spot-interruption');
  const taskArn = String((event.detail as Record<string, unknown>).taskArn);
  const resource = `task/web/${taskArn.split('/').pop()}`;
  const before = await statuses(world);
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');

  // Delivered twice at once: through the rule, and a duplicate of it straight onto the queue.
  await putEvents([event]);
  await enqueueRaw(world.stack, [event]);
  const polled = await world.harness.process();
  expect(polled.delivered).toBe(2);

  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  expect(alerts[0]).toMatchObject({
    severity: 'info',
    alert: { kind: 'fargate-spot-interruption', cluster: 'web', resources: [taskArn] },
  });
  expect(String(alerts[0]?.alert.title)).toBe('Fargate Spot reclaimed 1 task(s) in web');
  const noted = (await journal(world)).filter((r) => r.resource === resource);
  expect(noted.map((r) => [r.action, r.outcome])).toEqual([['note-fargate-spot-interruption', 'unchanged']]);
  expect(await statuses(world)).toEqual(before);
  expect(world.calls('ecs:UpdateContainerInstancesState')).toBe(drainsBefore);

  // Delivered again later: still the one alert and the one record.
  await enqueueRaw(world.stack, [event]);
  await world.harness.process();
  expect(await allAlerts(world)).toHaveLength(0);
  expect((await journal(world)).filter((r) => r.resource === resource)).toHaveLength(1);
}
