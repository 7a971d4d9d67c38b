// One run of each kind of event the cost suite prices (a rollout, a remediation, an alarm
// scale-out, a spot interruption, the scheduled scaling runs, a group of alerts), and how often
// each happens at the priced activity level.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import type { ScalePlan } from '../../events/scale-input.ts';
import { TICK_MESSAGE } from '../../functions/alert-router/messages.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { loadScalingConfig, scheduledInput } from '../../infra/control-plane/scaling/scaling.ts';
import { burstAlert } from '../../local/alert-burst.ts';
import { takeAlerts } from '../../local/control-plane.ts';
import { registerGroupInstances } from '../../local/ecs-agent.ts';
import { messagesStillComing } from '../../local/event-sources.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { newExecutionName, putTargetGroupMetrics } from '../../local/rollouts.ts';
import { sampleEvent } from '../../local/spot-harness.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { deployedWorkflow } from '../../local/workflows.ts';
import { API, CLUSTER, current, HOUR, type Meter } from './metering.ts';
import {
  alarmEvent,
  deliver,
  desired,
  expectOk,
  putBusEvents,
  runMetered,
  runStarted,
  setAlarm,
  setDesired,
  type World,
} from './world.ts';

/** The activity level the second column prices. */
export const ACTIVITY = {
  rolloutsPerDay: 20,
  remediationsPerDay: 30,
  alarmScaleOutsPerDay: 10,
  spotInterruptionsPerDay: 50,
  alertsPerDay: 2_000,
  /** Alerts arrive in groups: this many firing inside one window, then as many resolved. */
  alertsPerGroup: 10,
  /** A weekly release train of the whole fleet. */
  trainServicesPerWeek: 200,
  /** AWS events people hear about (a Health event and its close, a placement failure, a launch failure). */
  awsEventsPerDay: 20,
} as const;

// ---------------------------------------------------------------------------------------------
// The events.

/** Hours after the last event, healthy traffic on web/api's two target groups for the next three. */
async function healthyTraffic(world: World): Promise<void> {
  world.clock.advance(6 * HOUR);
  const lb = world.seed.loadBalancer;
  const service = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [API] }),
  );
  const primary = service.services?.[0]?.taskSets?.find((t) => t.status === 'PRIMARY');
  const live = primary?.loadBalancers?.[0]?.targetGroupArn ?? lb.blueTargetGroupArn;
  const healthy = (m: number) => ({
    requests: 1000 + (m % 7) * 13,
    errors: m % 3 === 0 ? 1 : 0,
    latencyMs: 48,
  });
  const from = world.clock.now() - 120_000;
  const to = world.clock.now() + 3 * HOUR;
  for (const targetGroupArn of [
    live,
    live === lb.blueTargetGroupArn ? lb.greenTargetGroupArn : lb.blueTargetGroupArn,
  ])
    await putTargetGroupMetrics({ loadBalancerArn: lb.arn, targetGroupArn, from, to, traffic: healthy });
}

/**
 * One service's share of a release train: a train of that service alone (canary 10%, 5-minute
 * bake, the service's other defaults), its start and finish included, so a little over a
 * service's share in a train of many.
 */
export async function trainService(world: World, run: number): Promise<void> {
  const meter = current as Meter;
  await healthyTraffic(world);
  const input = {
    name: `cost ${run}`,
    waves: [
      {
        services: [
          {
            cluster: CLUSTER,
            service: API,
            image: `bench/api:train-${run}`,
            strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
          },
        ],
      },
    ],
    budget: { maxGreenTaskPercent: 100 },
    requestedBy: 'bench',
  };
  const r = await meter.inside(() =>
    runMetered(world, deployedWorkflow(world.stack, 'release-train'), input, {
      clock: world.clock,
      executionName: newExecutionName(`train-${API}`, world.clock.now()),
      taskTokenTimeoutMs: 20,
    }),
  );
  expectOk('release train', r, () => true);
}

/** A canary 10% rollout with a 5-minute bake, healthy green: what a normal deploy costs. */
export async function rollout(world: World, run: number): Promise<void> {
  const meter = current as Meter;
  await healthyTraffic(world);
  const input = {
    cluster: CLUSTER,
    service: API,
    image: `bench/api:cost-${run}`,
    strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
    analysis: { maxErrorRate: 0.01, maxP95LatencyMs: 400 },
    rollbackWindowSeconds: 900,
    terminationWaitSeconds: 300,
    requestedBy: 'bench',
  };
  const r = await meter.inside(() =>
    runMetered(world, deployedWorkflow(world.stack, 'blue-green-rollout'), input, {
      clock: world.clock,
      executionName: newExecutionName(API, world.clock.now()),
      // Gates and the rollback window time out at once, as nobody answers them.
      taskTokenTimeoutMs: 20,
    }),
  );
  expectOk('rollout', r, () => true);
}

/** web-api-cpu-high: ALARM starts a scale-out remediation (nested scaling run); OK resolves it. */
export async function remediation(world: World): Promise<void> {
  const alarm = 'web-api-cpu-high';
  world.clock.advance(3 * HOUR);
  await setDesired(4);
  await setAlarm(alarm, 'ALARM');
  const from = await desired();
  await putBusEvents([alarmEvent(world, alarm, 'ALARM')]);
  await deliver(world, 'remediation-trigger', world.clock);
  const [run] = await runStarted(world, 'remediate-alarm', {
    clock: world.clock,
    // CloudWatch's part: the metric recovers once the scale-out is visible.
    beforeLambda: async (fn, event) => {
      if (
        fn === 'remediate-step' &&
        (event as { action?: string }).action === 'verify' &&
        (await desired()) >= from + 2
      )
        await setAlarm(alarm, 'OK');
    },
  });
  expectOk('remediation', run, (o) => (o as RemediationPlan).outcome === 'remediated');
  await putBusEvents([alarmEvent(world, alarm, 'OK')]);
  await deliver(world, 'remediation-trigger', world.clock);
  const [ok] = await runStarted(world, 'remediate-alarm', { clock: world.clock });
  expectOk('remediation resolved', ok, (o) => (o as RemediationPlan).decision === 'resolved');
}

/** web-api-cpu-burst in ALARM: the scale-alarm trigger starts a scale-service run. */
export async function alarmScaleOut(world: World): Promise<void> {
  world.clock.advance(3 * HOUR);
  await setDesired(4);
  await putBusEvents([alarmEvent(world, 'web-api-cpu-burst', 'ALARM')]);
  await deliver(world, 'scale-alarm', world.clock);
  const [run] = await runStarted(world, 'scale-service', { clock: world.clock });
  expectOk('alarm scale-out', run, (o) => (o as ScalePlan).decision === 'scale');
}

/** A rebalance recommendation (surge: replacement first, then drain), then the interruption warning. */
export async function spotInterruption(world: World): Promise<void> {
  const meter = current as Meter;
  const target = world.seed.containerInstances.filter((c) => c.spot)[world.spotUsed++];
  if (!target) throw new Error('no unused spot instance left in the seeded cluster');
  // Spot episodes are timed against the events' real time.
  const clock = new VirtualClock();
  await putBusEvents([sampleEvent('ec2-instance-rebalance-recommendation', target.ec2InstanceId)]);
  await deliver(world, 'spot-interruption', clock);
  // The Auto Scaling group launched the replacement; its ECS agent registers it.
  await meter.outside(() => registerGroupInstances(world.seed.cluster, world.seed.autoScalingGroups.spot));
  const [surge] = await runStarted(world, 'spot-surge', { clock });
  expectOk('spot surge', surge, (o) => (o as { status?: string }).status === 'drained');
  await putBusEvents([sampleEvent('ec2-spot-instance-interruption-warning', target.ec2InstanceId)]);
  await deliver(world, 'spot-interruption', clock);
}

/** Both configured schedules of a weekday (raise the floor, then lower it), as Scheduler starts them. */
export async function scheduledScaling(world: World): Promise<void> {
  const meter = current as Meter;
  const api = loadScalingConfig('local')?.find((s) => s.service === API);
  if (!api || api.schedules.length === 0)
    throw new Error('config/scaling/local.json has no schedule for web/api');
  for (const schedule of api.schedules) {
    world.clock.advance(HOUR);
    const input = scheduledInput(api, schedule, new Date(world.clock.now()).toISOString());
    meter.schedulerInvocations++;
    const r = await meter.inside(() =>
      runMetered(world, deployedWorkflow(world.stack, 'scale-service'), input, { clock: world.clock }),
    );
    expectOk(`schedule ${schedule.name}`, r, () => true);
  }
}

/** N alerts firing inside one group window, then all resolved: one message each way. */
/** Runs the alert router until its queue is quiet, delayed window flushes included. */
async function routeUntilQuiet(world: World): Promise<void> {
  const queueUrl = world.stack.outputs.AlertQueueUrl as string;
  for (let waited = 0; ; waited += 200) {
    await deliver(world, 'alert-router', world.realClock);
    const left = await messagesStillComing([queueUrl]);
    if (left === 0) return;
    if (waited > 30_000) throw new Error(`alert queue not quiet after 30 s: ${left} message(s)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function alertGroup(world: World, run: number): Promise<void> {
  const meter = current as Meter;
  const queueUrl = world.stack.outputs.AlertQueueUrl as string;
  const sqs = awsClient(SQSClient);
  let published = 0;
  for (const state of ['firing', 'resolved'] as const) {
    const alerts = Array.from({ length: ACTIVITY.alertsPerGroup }, (_, i) =>
      burstAlert(`cost${run}`, i, state, { count: ACTIVITY.alertsPerGroup }),
    );
    // Producers raise one SendMessage per alert; priced as such, sent here in batches.
    meter.modeledRaises += alerts.length;
    for (let i = 0; i < alerts.length; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: alerts.slice(i, i + 10).map((a, j) => ({ Id: String(j), MessageBody: JSON.stringify(a) })),
        }),
      );
    // Routed now; the window's flush is a delayed message on the same queue, waited for here.
    await routeUntilQuiet(world);
    published += (await takeAlerts(world.seed.alertQueues.warning)).length;
  }
  if (published !== 2) throw new Error(`an alert group published ${published} messages, expected 2`);
}

/**
 * An AWS event people hear about, twice: an AWS Health event for the account's ECS tasks and its
 * close, each through the event-alerts rule, queue and function, then the alert router.
 */
export async function awsEventAlert(world: World, run: number): Promise<void> {
  const health = JSON.parse(
    readFileSync(join(REPO_ROOT, 'events/samples/aws/aws-health-ecs-scheduled-change.json'), 'utf8'),
  ) as { id: string; region: string; time: string; detail: Record<string, unknown> };
  health.region = world.stack.region;
  health.detail.eventRegion = world.stack.region;
  health.detail.eventArn = `${String(health.detail.eventArn)}-cost${run}`;
  let published = 0;
  for (const statusCode of ['open', 'closed']) {
    const event = {
      ...health,
      id: `cost${run}-${statusCode}`,
      time: new Date().toISOString(),
      detail: { ...health.detail, statusCode },
    };
    await putBusEvents([event]);
    await deliver(world, 'event-alerts', world.realClock);
    await routeUntilQuiet(world);
    published += (await takeAlerts(world.seed.alertQueues.warning)).length;
  }
  if (published !== 2)
    throw new Error(`an AWS event and its close published ${published} messages, expected 2`);
}

/** The alert router's minute tick (EventBridge Scheduler -> the alert queue), with no silence to announce. */
export async function routerTick(world: World): Promise<void> {
  const meter = current as Meter;
  meter.schedulerInvocations++;
  // The schedule's SendMessage, priced as a producer's raise.
  meter.modeledRaises++;
  await meter.outside(() =>
    awsClient(SQSClient).send(
      new SendMessageCommand({
        QueueUrl: world.stack.outputs.AlertQueueUrl as string,
        MessageBody: JSON.stringify(TICK_MESSAGE),
      }),
    ),
  );
  await deliver(world, 'alert-router', world.realClock);
}
