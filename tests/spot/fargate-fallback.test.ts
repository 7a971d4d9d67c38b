// Fargate Spot fallback on the emulator, IAM enforced: Fargate Spot reclaims through EventBridge
// and the queue, a move to FARGATE as a new deployment (the rig refuses a strategy change
// without one, as ECS does), the move back after a quiet period on a virtual clock, concurrent
// batches, and the daily bound.
import { randomUUID } from 'node:crypto';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedAlert, takeAlerts } from '../../local/control-plane.ts';
import { EMULATOR_REGION } from '../../local/emulator.ts';
import { observerClient } from '../../local/observer.ts';
import { seedFargateService } from '../../local/seed.ts';
import { fargateSpotReclaim, putEvents, type SpotHarness, spotHarness } from '../../local/spot-harness.ts';
import { toSqsEvent } from '../../local/sqs-event-source.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { journal, spotEnv } from './scenarios.ts';
import { useSpotWorld } from './world.ts';

const CLUSTER = 'fargate';
const SETTINGS = { reclaims: 3, windowMinutes: 10, quietMinutes: 30, maxShiftsPerDay: 2 };
const STRATEGY = [
  { capacityProvider: 'FARGATE', base: 1, weight: 25 },
  { capacityProvider: 'FARGATE_SPOT', weight: 75 },
];

describe('Fargate Spot fallback', () => {
  const { world } = useSpotWorld({
    instances: 2,
    spotFraction: 0.5,
    extraClusters: [
      {
        cluster: {
          name: CLUSTER,
          rebalance: 'surge',
          spotAsg: 'fargate-spot',
          onDemandAsg: 'fargate-on-demand',
          fargateFallback: { services: ['worker', 'batch'], ...SETTINGS },
        },
        instances: 1,
      },
    ],
  });
  const clock = new VirtualClock();
  let harness: SpotHarness;
  const account = '123456789012';

  beforeAll(async () => {
    // The world's own harness runs on the system clock; this one on a clock the test moves. A
    // service on FARGATE looks at its quiet period every 5 s here (15 minutes deployed): on
    // this clock it is not quiet until the test moves the clock, so only runs that stop when
    // nothing is visible (the follow-up stays delayed) come before that.
    harness = await spotHarness(world.stack, { clock });
    spotEnv(world).FARGATE_SHIFT_BACK_CHECK_SECONDS = '5';
    for (const name of ['worker', 'batch'])
      await seedFargateService(observerClient(ECSClient), CLUSTER, {
        name,
        desiredCount: 4,
        capacityProviderStrategy: STRATEGY,
      });
  });

  /** What subscribers got so far: the router's group window (1 s here) waited for, not the follow-ups. */
  const alertsSoFar = async (): Promise<ReceivedAlert[]> => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await harness.process({ waitForDelayed: false });
    const q = world.seed.alertQueues;
    return [
      ...(await takeAlerts(q.critical)),
      ...(await takeAlerts(q.warning)),
      ...(await takeAlerts(q.info)),
    ];
  };

  const reclaim = (service: string) => fargateSpotReclaim(CLUSTER, service, clock.now());
  const strategyOf = async (service: string) => {
    const out = await observerClient(ECSClient).send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: [service] }),
    );
    return out.services?.[0]?.capacityProviderStrategy;
  };
  const moves = async (service: string) =>
    (await journal(world))
      .filter((r) => r.resource === `service/${CLUSTER}/${service}` && r.action.startsWith('fargate-spot'))
      .map((r) => [r.action, r.outcome]);

  it('moves a service to FARGATE past the threshold as a new deployment, and back after a quiet period', async () => {
    await putEvents([1, 2, 3].map(() => reclaim('worker')));
    await harness.process({ waitForDelayed: false });
    // Three in the window is the most allowed: nothing moves.
    expect(await strategyOf('worker')).toEqual(STRATEGY);
    expect(await moves('worker')).toEqual([]);

    await putEvents([reclaim('worker')]);
    await harness.process({ waitForDelayed: false });
    expect(await strategyOf('worker')).toEqual([{ capacityProvider: 'FARGATE', base: 1, weight: 1 }]);
    const [move] = (await journal(world)).filter((r) => r.action === 'fargate-spot-fallback');
    expect(move).toMatchObject({
      resource: `service/${CLUSTER}/worker`,
      outcome: 'changed',
      details: { reclaimed: 4, before: STRATEGY },
    });
    expect(move?.reason).toContain('Fargate Spot reclaimed 4 of its tasks in 10 min (more than 3)');
    const moved = (await alertsSoFar()).filter((a) => a.alert.kind === 'fargate-spot-fallback');
    expect(moved.map((a) => [a.severity, a.alert.state, a.alert.title])).toEqual([
      ['warning', 'firing', `worker in ${CLUSTER} moved off Fargate Spot`],
    ]);

    // Not quiet yet: the follow-up looks again and leaves it. Thirty quiet minutes later, it moves back.
    clock.advance(29 * 60_000);
    await harness.process({ waitForDelayed: false });
    expect(await strategyOf('worker')).toEqual([{ capacityProvider: 'FARGATE', base: 1, weight: 1 }]);
    clock.advance(2 * 60_000);
    await harness.process();
    expect(await strategyOf('worker')).toEqual(STRATEGY);
    expect(await moves('worker')).toEqual([
      ['fargate-spot-fallback', 'changed'],
      ['fargate-spot-shift-back', 'changed'],
    ]);
    const back = (await alertsSoFar()).filter((a) => a.alert.kind === 'fargate-spot-fallback');
    expect(back.map((a) => [a.alert.state, a.alert.title])).toEqual([
      ['resolved', `worker in ${CLUSTER} back on Fargate Spot`],
    ]);
  });

  it('moves a service once when concurrent batches both see it past the threshold', async () => {
    // Two invocations at once, two reclaims each: four in the window between them.
    const batch = () =>
      toSqsEvent(
        [reclaim('batch'), reclaim('batch')].map((e) => ({
          MessageId: randomUUID(),
          ReceiptHandle: randomUUID(),
          Body: JSON.stringify(e),
        })),
        `arn:aws:sqs:${EMULATOR_REGION}:${account}:spot-interruption`,
      );
    await Promise.all([batch(), batch()].map((event) => harness.fn.invoke(event)));
    expect(await strategyOf('batch')).toEqual([{ capacityProvider: 'FARGATE', base: 1, weight: 1 }]);
    expect(await moves('batch')).toEqual([['fargate-spot-fallback', 'changed']]);
    clock.advance(31 * 60_000);
    await harness.process();
    expect(await strategyOf('batch')).toEqual(STRATEGY);
    await alertsSoFar();
  });

  it('moves past maxShiftsPerDay to stay on FARGATE, and says so', async () => {
    // The first test moved worker once today; a second move, then back.
    await putEvents([1, 2, 3, 4].map(() => reclaim('worker')));
    await harness.process({ waitForDelayed: false });
    clock.advance(31 * 60_000);
    await harness.process();
    expect(await strategyOf('worker')).toEqual(STRATEGY);
    await alertsSoFar();
    // A third time in 24 hours is past the bound: it moves, and stays (no follow-up moves it back).
    await putEvents([1, 2, 3, 4].map(() => reclaim('worker')));
    await harness.process();
    clock.advance(31 * 60_000);
    await harness.process();
    expect(await strategyOf('worker')).toEqual([{ capacityProvider: 'FARGATE', base: 1, weight: 1 }]);
    const records = (await journal(world)).filter((r) => r.resource === `service/${CLUSTER}/worker`);
    expect(records.at(-1)).toMatchObject({
      action: 'fargate-spot-fallback',
      outcome: 'changed',
      details: { pinned: true },
    });
    expect(records.at(-1)?.reason).toContain('it moved to FARGATE 2 time(s) in 24 hours already');
    const pinned = (await alertsSoFar()).filter((a) => a.alert.kind === 'fargate-spot-fallback');
    expect(pinned.map((a) => [a.alert.state, a.alert.title])).toEqual([
      ['firing', `worker in ${CLUSTER} moved off Fargate Spot to stay`],
    ]);
  });

  it('leaves a service whose strategy changed while on FARGATE as it is, and ends the episode', async () => {
    const service = 'batch';
    await putEvents([1, 2, 3, 4].map(() => reclaim(service)));
    await harness.process({ waitForDelayed: false });
    expect(await strategyOf(service)).toEqual([{ capacityProvider: 'FARGATE', base: 1, weight: 1 }]);
    // A deploy sets a strategy of its own meanwhile.
    const deployed = [{ capacityProvider: 'FARGATE', base: 2, weight: 1 }];
    await observerClient(ECSClient).send(
      new UpdateServiceCommand({
        cluster: CLUSTER,
        service,
        capacityProviderStrategy: deployed,
        forceNewDeployment: true,
      }),
    );
    clock.advance(31 * 60_000);
    await harness.process();
    expect(await strategyOf(service)).toEqual(deployed);
    const last = (await journal(world)).filter((r) => r.resource === `service/${CLUSTER}/${service}`).at(-1);
    expect(last).toMatchObject({ action: 'fargate-spot-shift-back', outcome: 'unchanged' });
    expect(last?.reason).toContain('its strategy changed while it was on FARGATE');
    await alertsSoFar();
  });
});
