// The spot-interruption acceptance scenarios, written once and run twice: on a clean emulator
// and behind the fault proxy (20% throttling). Each scenario uses its own instances.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  ECSClient,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { InvalidInputError } from '../../functions/shared/errors.ts';
import { readJournal, takeAlerts } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import type { Seed, SeededInstance } from '../../local/seed.ts';
import { enqueueRaw, putEvents, type SpotHarness, sampleEvent } from '../../local/spot-harness.ts';

export interface SpotWorld {
  stack: DeployedStack;
  seed: Seed;
  harness: SpotHarness;
  /** Successful (forwarded) calls of one operation so far, e.g. `ecs:UpdateContainerInstancesState`. */
  calls(operation: string): number;
}

const used = new Set<string>();

/** Spot instances no earlier scenario has touched. */
export function freshSpotInstances(world: SpotWorld, n: number): SeededInstance[] {
  const picked = world.seed.containerInstances
    .filter((c) => c.spot && !used.has(c.ec2InstanceId))
    .slice(0, n);
  if (picked.length < n) throw new Error(`seed has only ${picked.length} unused spot instances, need ${n}`);
  for (const p of picked) used.add(p.ec2InstanceId);
  return picked;
}

export async function statuses(world: SpotWorld): Promise<Map<string, string>> {
  const ecs = awsClient(ECSClient);
  const out = new Map<string, string>();
  const arns = world.seed.containerInstances.map((c) => c.containerInstanceArn);
  for (let i = 0; i < arns.length; i += 100) {
    const page = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: world.seed.cluster,
        containerInstances: arns.slice(i, i + 100),
      }),
    );
    for (const ci of page.containerInstances ?? []) out.set(ci.ec2InstanceId as string, ci.status as string);
  }
  return out;
}

export async function draining(world: SpotWorld): Promise<string[]> {
  return [...(await statuses(world))]
    .filter(([, s]) => s === 'DRAINING')
    .map(([id]) => id)
    .sort();
}

async function allAlerts(world: SpotWorld) {
  // A router item that failed under injected faults is visible again only now: give the event
  // sources one more pass so it is delivered (or dead-lettered) before we count.
  await world.harness.process();
  const q = world.seed.alertQueues;
  return [...(await takeAlerts(q.critical)), ...(await takeAlerts(q.warning)), ...(await takeAlerts(q.info))];
}

async function desired(group: string): Promise<number> {
  const out = await awsClient(AutoScalingClient).send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
  );
  return out.AutoScalingGroups?.[0]?.DesiredCapacity ?? -1;
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
  const executions = await awsClient(SFNClient).send(
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
  await awsClient(ECSClient).send(
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

async function queueDepth(world: SpotWorld, pattern: RegExp): Promise<number> {
  const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'spot-interruption');
  const sqs = awsClient(SQSClient);
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
  const before = new Set(await draining(world));
  const targets = freshSpotInstances(world, size);
  const drainsBefore = world.calls('ecs:UpdateContainerInstancesState');
  await putEvents(targets.map((t) => sampleEvent('ec2-spot-instance-interruption-warning', t.ec2InstanceId)));
  await world.harness.process();

  const nowDraining = (await draining(world)).filter((id) => !before.has(id));
  expect(nowDraining).toEqual(targets.map((t) => t.ec2InstanceId).sort());
  expect(world.calls('ecs:UpdateContainerInstancesState') - drainsBefore).toBe(Math.ceil(size / 10));
  const alerts = await allAlerts(world);
  expect(alerts).toHaveLength(1);
  const counts = alerts[0]?.alert.counts as Record<string, Record<string, number>>;
  const byZone = Object.values(counts['availability zone'] ?? {}).reduce((a, b) => a + b, 0);
  expect(byZone).toBe(size);
  expect(Object.keys(counts['instance type'] ?? {}).length).toBeGreaterThan(1);
}
