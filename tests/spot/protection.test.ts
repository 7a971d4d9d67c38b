// Drains that keep minimum healthy, instances put back after a rebalance that no warning
// followed, and launch failures remembered: on the emulator, IAM enforced, through EventBridge
// and the queue as AWS delivers them (and straight to the handler for concurrent batches).
import { DescribeServicesCommand, DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { collectStatus, describeStatus } from '../../cli/status.ts';
import { observerClient } from '../../local/observer.ts';
import { type SeededInstance, seedServiceWithTasks } from '../../local/seed.ts';
import { enqueueRaw, putEvents, sampleEvent } from '../../local/spot-harness.ts';
import {
  allAlerts,
  clusterSeed,
  desired,
  freshSpotInstances,
  journal,
  queueDepth,
  rebalanceFor,
  type SpotWorld,
  spotEnv,
  statuses,
  warningFor,
} from './scenarios.ts';
import { useSpotWorld } from './world.ts';

const DRAIN_MODE = {
  cluster: {
    name: 'drain-mode',
    rebalance: 'drain' as const,
    spotAsg: 'drain-spot',
    onDemandAsg: 'drain-on-demand',
  },
  instances: 4,
};

/** A warning sent `agoSeconds` after EC2 sent it (its time is when the two minutes started). */
const warningAt = (i: SeededInstance, agoSeconds: number) => ({
  ...warningFor(i),
  time: new Date(Date.now() - agoSeconds * 1000).toISOString(),
});

/** A service with its tasks on the given instances, checked running before the warning. */
async function serviceWithTasks(
  world: SpotWorld,
  opts: {
    name: string;
    cluster?: string;
    desiredCount: number;
    minimumHealthyPercent: number;
    maximumPercent: number;
    placements: [SeededInstance, number][];
  },
) {
  const ecs = observerClient(ECSClient);
  const cluster = clusterSeed(world, opts.cluster).cluster;
  const started = await seedServiceWithTasks(ecs, cluster, {
    ...opts,
    placements: opts.placements.map(([instance, count]) => [instance.containerInstanceArn, count] as const),
  });
  const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: started }));
  expect((out.tasks ?? []).map((t) => t.lastStatus)).toEqual(started.map(() => 'RUNNING'));
}

async function desiredCount(world: SpotWorld, service: string, cluster?: string): Promise<number> {
  const out = await observerClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: clusterSeed(world, cluster).cluster, services: [service] }),
  );
  return out.services?.[0]?.desiredCount ?? -1;
}

const entriesFor = async (world: SpotWorld, resource: string) =>
  (await journal(world)).filter((r) => r.resource === resource);

describe('drains that keep minimum healthy', () => {
  const { world } = useSpotWorld({ instances: 24, spotFraction: 0.75, extraClusters: [DRAIN_MODE] });

  it('adds the tasks ECS may neither stop nor replace before draining, names the service, and gives them back', async () => {
    const [target, other] = freshSpotInstances(world, 2) as [SeededInstance, SeededInstance];
    // 100/100: ECS can neither stop a task on a draining instance nor start its replacement.
    await serviceWithTasks(world, {
      name: 'guarded',
      desiredCount: 4,
      minimumHealthyPercent: 100,
      maximumPercent: 100,
      placements: [
        [target, 2],
        [other, 2],
      ],
    });
    // 50/200: ECS stops and replaces on its own within its settings: nothing to add.
    await serviceWithTasks(world, {
      name: 'roomy',
      desiredCount: 4,
      minimumHealthyPercent: 50,
      maximumPercent: 200,
      placements: [
        [target, 1],
        [other, 3],
      ],
    });

    // The give-back comes on the queue after the hold (compressed here): the journal shows both.
    await putEvents([warningAt(target, 5)]);
    await world.harness.process();

    expect((await statuses(world)).get(target.ec2InstanceId)).toBe('DRAINING');
    expect(await desiredCount(world, 'guarded')).toBe(4);
    expect(await desiredCount(world, 'roomy')).toBe(4);
    const [protectedEntry, gaveBack, ...more] = await entriesFor(world, 'service/web/guarded');
    expect(more).toEqual([]);
    expect(protectedEntry).toMatchObject({
      action: 'protect-minimum-healthy',
      outcome: 'changed',
      before: { desiredCount: 4 },
      after: { desiredCount: 6 },
      details: { tasksOnDrained: 2, stoppableAtOnce: 0, replaceableAtOnce: 0, added: 2, inBudget: true },
    });
    expect(await entriesFor(world, 'service/web/roomy')).toEqual([]);
    // The drain came after the scale-out.
    const drain = (await entriesFor(world, `container-instance/web/${target.ec2InstanceId}`)).find(
      (r) => r.action === 'drain-instance',
    );
    const when = (at: unknown) => Date.parse(String(at).split('#')[0] as string);
    expect(when(drain?.at)).toBeGreaterThanOrEqual(when(protectedEntry?.at));
    const alerts = await allAlerts(world);
    expect(alerts).toHaveLength(1);
    expect(String(alerts[0]?.alert.whatWeDid)).toContain(
      'Added tasks before draining to keep minimum healthy: guarded +2 (given back once the instances are gone).',
    );

    expect(gaveBack).toMatchObject({
      action: 'give-back-after-drain',
      outcome: 'changed',
      before: { desiredCount: 6 },
      after: { desiredCount: 4 },
    });
  });

  it("adds them even when the warning's budget is spent, and journals that it does not allow it", async () => {
    const [target] = freshSpotInstances(world, 1) as [SeededInstance];
    await serviceWithTasks(world, {
      name: 'late',
      desiredCount: 2,
      minimumHealthyPercent: 100,
      maximumPercent: 100,
      placements: [[target, 1]],
    });
    // 110 s of the 120 gone: 10 s left, less the 20 s margin; a replacement needs 60 s.
    await putEvents([warningAt(target, 110)]);
    await world.harness.process();

    const [entry, gaveBack] = await entriesFor(world, 'service/web/late');
    expect(entry).toMatchObject({
      outcome: 'changed',
      before: { desiredCount: 2 },
      after: { desiredCount: 3 },
      details: { added: 1, inBudget: false },
    });
    expect(gaveBack).toMatchObject({ action: 'give-back-after-drain', after: { desiredCount: 2 } });
    expect(entry?.reason).toContain("(the warning's budget does not allow it)");
    expect(entry?.reason).toContain('replacements need 60 s but 0 s of the warning are left');
    const [alert] = await allAlerts(world);
    expect(String(alert?.alert.whatWeDid)).toContain(
      'Replacements cannot be healthy before the reclaim for late: they run short until then.',
    );
    expect(await desiredCount(world, 'late')).toBe(2);
  });

  it('adds up what concurrent batches add to one service, and gives each back', async () => {
    const instances = freshSpotInstances(world, 3);
    await serviceWithTasks(world, {
      name: 'shared',
      desiredCount: 6,
      minimumHealthyPercent: 100,
      maximumPercent: 100,
      placements: instances.map((i) => [i, 2] as [SeededInstance, number]),
    });
    // Three invocations at once, one warning each, as Lambda runs concurrent batches.
    await Promise.all(instances.map((i) => world.harness.fn.invoke(warningAt(i, 5))));
    expect(await desiredCount(world, 'shared')).toBe(12);
    const added = (await entriesFor(world, 'service/web/shared')).filter(
      (r) => r.action === 'protect-minimum-healthy',
    );
    expect(
      added.map((r) => (r.after as { desiredCount: number }).desiredCount).sort((a, b) => a - b),
    ).toEqual([8, 10, 12]);
    await world.harness.process();
    expect(await desiredCount(world, 'shared')).toBe(6);
    await allAlerts(world);
  });

  it('gives a pre-scale back once when its follow-up arrives twice, and never below where it was', async () => {
    const [target] = freshSpotInstances(world, 1) as [SeededInstance];
    await serviceWithTasks(world, {
      name: 'twice',
      desiredCount: 5,
      minimumHealthyPercent: 100,
      maximumPercent: 100,
      placements: [[target, 1]],
    });
    const followUp = {
      followUp: 'restore-prescale',
      prescaleId: '0123456789abcdef0123456789abcdef',
      cluster: 'web',
      service: 'twice',
      added: 2,
      before: 4,
      prescaledAt: new Date().toISOString(),
    };
    // Desired went 4 -> 6 with the pre-scale, then a scale-in took it to 5 meanwhile.
    await enqueueRaw(world.stack, [followUp, followUp]);
    await world.harness.process();
    expect(await desiredCount(world, 'twice')).toBe(4);
    const gaveBack = (await entriesFor(world, 'service/web/twice')).filter(
      (r) => r.action === 'give-back-after-drain',
    );
    expect(gaveBack.map((r) => r.outcome)).toEqual(['changed']);
  });

  it('refuses a malformed follow-up by its field, changes nothing, and dead-letters it', async () => {
    const [target] = freshSpotInstances(world, 1) as [SeededInstance];
    await serviceWithTasks(world, {
      name: 'untouched',
      desiredCount: 3,
      minimumHealthyPercent: 100,
      maximumPercent: 100,
      placements: [[target, 1]],
    });
    const bad = {
      followUp: 'restore-prescale',
      prescaleId: 'not-hex',
      cluster: 'web',
      service: 'untouched',
      added: 2,
      before: 1,
      prescaledAt: new Date().toISOString(),
    };
    const error = await world.harness.fn.invoke(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe('InvalidInput');
    expect((error as Error).message).toContain('prescaleId');
    const dlqBefore = await queueDepth(world, /DeadLetter/);
    await enqueueRaw(world.stack, [bad]);
    for (let i = 0; i < 5; i++) await world.harness.process();
    expect(await queueDepth(world, /DeadLetter/)).toBe(dlqBefore + 1);
    expect(await desiredCount(world, 'untouched')).toBe(3);
    expect(await entriesFor(world, 'service/web/untouched')).toEqual([]);
  });
});

describe('an instance a rebalance drained, put back when no warning follows', () => {
  const { world } = useSpotWorld({ instances: 4, spotFraction: 0.5, extraClusters: [DRAIN_MODE] });

  it('puts it back to ACTIVE, journals and announces it, and drains it again on a later warning', async () => {
    const [target] = freshSpotInstances(world, 1, 'drain-mode') as [SeededInstance];
    const resource = `container-instance/drain-mode/${target.ec2InstanceId}`;
    // The recheck comes after REBALANCE_RECHECK_SECONDS (compressed here): no warning came.
    await putEvents([rebalanceFor(target)]);
    await world.harness.process();
    expect((await statuses(world, 'drain-mode')).get(target.ec2InstanceId)).toBe('ACTIVE');
    const records = await entriesFor(world, resource);
    expect(records.map((r) => [r.action, r.outcome])).toEqual([
      ['drain-instance', 'changed'],
      ['reactivate-instance', 'changed'],
    ]);
    expect(records[1]?.reason).toBe(
      `no interruption warning followed the rebalance recommendation within ${spotEnv(world).REBALANCE_RECHECK_SECONDS} s: put back to ACTIVE`,
    );
    const alerts = await allAlerts(world);
    expect(alerts.map((a) => [a.severity, a.alert.kind])).toEqual([
      ['warning', 'spot-interruption'],
      ['info', 'spot-rebalance-reactivated'],
    ]);

    // A warning after that is a new episode: drained again and announced.
    await putEvents([warningAt(target, 5)]);
    await world.harness.process();
    expect((await statuses(world, 'drain-mode')).get(target.ec2InstanceId)).toBe('DRAINING');
    expect((await allAlerts(world)).map((a) => a.alert.title)).toEqual([
      'Spot interruption in drain-mode: draining 1 instance',
    ]);
  });

  it('leaves alone an instance that is no longer DRAINING when the recheck comes', async () => {
    const [target] = freshSpotInstances(world, 1, 'drain-mode') as [SeededInstance];
    // A recheck long enough for the operator below to come first.
    const env = spotEnv(world);
    env.REBALANCE_RECHECK_SECONDS = '15';
    await putEvents([rebalanceFor(target)]);
    await world.harness.process({ waitForDelayed: false });
    env.REBALANCE_RECHECK_SECONDS = '1';
    // Someone else put it back first (an operator): the recheck changes nothing.
    const { UpdateContainerInstancesStateCommand } = await import('@aws-sdk/client-ecs');
    await observerClient(ECSClient).send(
      new UpdateContainerInstancesStateCommand({
        cluster: 'drain-mode',
        containerInstances: [target.containerInstanceArn],
        status: 'ACTIVE',
      }),
    );
    await world.harness.process();
    const records = await entriesFor(world, `container-instance/drain-mode/${target.ec2InstanceId}`);
    expect(records.map((r) => [r.action, r.outcome])).toEqual([
      ['drain-instance', 'changed'],
      ['reactivate-instance', 'unchanged'],
    ]);
    expect((await allAlerts(world)).map((a) => a.alert.kind)).toEqual(['spot-interruption']);
  });
});

describe('launch failures remembered', () => {
  const { world } = useSpotWorld({ instances: 12, spotFraction: 0.75 });
  const launchFailure = (group: string, agoMinutes: number) => {
    const sample = sampleEvent('autoscaling-launch-unsuccessful');
    const detail = sample.detail as Record<string, unknown>;
    return {
      ...sample,
      time: new Date(Date.now() - agoMinutes * 60_000).toISOString(),
      detail: {
        ...detail,
        AutoScalingGroupName: group,
        StatusMessage:
          'We currently do not have sufficient m5.large capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity.',
        Details: { 'Availability Zone': 'us-east-1a', 'Subnet ID': 'subnet-12345678' },
      },
    };
  };

  it('steers replacements away from a group that could not launch, until the memory expires', async () => {
    const { autoScalingGroups: groups } = world.seed;
    // Remembered ten minutes by default: one 11 minutes old is forgotten already.
    await putEvents([launchFailure(groups.spot, 11)]);
    await world.harness.process();
    const [first] = freshSpotInstances(world, 1) as [SeededInstance];
    const spotBefore = await desired(groups.spot);
    await putEvents([warningAt(first, 5)]);
    await world.harness.process();
    expect(await desired(groups.spot)).toBe(spotBefore + 1);

    await putEvents([launchFailure(groups.spot, 1)]);
    await world.harness.process();
    const remembered = (await entriesFor(world, `asg/${groups.spot}`)).filter(
      (r) => r.action === 'remember-capacity-failure',
    );
    expect(remembered).toHaveLength(2);
    expect(remembered[1]?.reason).toContain(`${groups.spot} could not launch m5.large in us-east-1a`);

    const [second] = freshSpotInstances(world, 1) as [SeededInstance];
    const [spot, onDemand] = [await desired(groups.spot), await desired(groups.onDemand)];
    await putEvents([warningAt(second, 5)]);
    await world.harness.process();
    expect([await desired(groups.spot), await desired(groups.onDemand)]).toEqual([spot, onDemand + 1]);
    const request = (await entriesFor(world, `asg/${groups.onDemand}`)).find(
      (r) => r.action === 'request-capacity',
    );
    expect(request?.reason).toContain(`replacing from ${groups.onDemand} instead`);

    // ops status shows what is remembered, and until when; the forgotten one is not there.
    const status = await collectStatus(world.stack.outputs, Date.now());
    expect(status.capacityFailures).toHaveLength(1);
    expect(status.capacityFailures[0]).toMatchObject({
      group: groups.spot,
      availabilityZone: 'us-east-1a',
      instanceType: 'm5.large',
    });
    expect(describeStatus(status)).toContain(
      `capacity failures remembered (replacements go elsewhere) (1)\n  ${groups.spot} could not launch m5.large in us-east-1a at`,
    );
    await allAlerts(world);
  });
});
