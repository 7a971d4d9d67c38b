// `npm start`: the main job on the local emulator. Deploys the control plane from the
// synthesized template, seeds a miniature stack, and plays a spot interruption storm
// through the real path (EventBridge rules -> SQS -> handler -> ECS, Auto Scaling, DynamoDB;
// alerts -> alert queue -> alert router -> SNS topics), printing a timeline and what an operator
// would check next.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { STATE_DIR } from '../cli/local-state.ts';
import { keepSeededWorld } from '../cli/seeded-world.ts';
import { awsClient, resetClients } from '../functions/shared/clients.ts';
import { describe, listArns } from '../functions/shared/container-instances.ts';
import { deployControlPlane, readJournal, takeAlertsInOrder } from './control-plane.ts';
import { registerGroupInstances } from './ecs-agent.ts';
import { localAwsEnv, resetEmulator, startEmulatorDaemon } from './emulator.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import { type Seed, seed } from './seed.ts';
import { enqueueRaw, putEvents, sampleEvent, spotHarness } from './spot-harness.ts';
import { useStepFunctionsEndpoint } from './step-functions-endpoint.ts';
import { createTimeline, type Timeline } from './timeline.ts';
import {
  type AlarmActResult,
  alarmScalesOutAndResolves,
  canaryThatRollsBack,
  canaryThatSucceeds,
  type EcsActResult,
  ecsDeploymentsJudgedByTheHook,
  type RolloutActResult,
} from './tour-acts.ts';
import { VirtualClock } from './virtual-clock.ts';
import { runStartedExecutions } from './workflows.ts';

// The rollback act ends with a critical alert for web/api, which inhibits that service's warnings
// while it fires (see Alerting): the alarm act comes first so that its alerts are heard.
export const TOUR_ACTS = ['spot', 'canary', 'ecs', 'alarm', 'rollback'] as const;
export type TourAct = (typeof TOUR_ACTS)[number];

/** What the tour recommends at its end: each runs on the world it leaves (tests/local/tour.test.ts). */
export const TOUR_NEXT_STEPS = [
  { command: 'ops status', what: 'what is in flight: executions, rollouts, locks, silences' },
  { command: 'ops journal', what: 'every decision, including "did nothing, because"' },
  { command: 'ops alerts', what: 'alerts as subscribers received them (--json for the full body)' },
  {
    command: 'ops silence --service api --for 2h --reason "working on the 5xx"',
    what: 'pause alerts while you work on it',
  },
  { command: 'ops doctor', what: 'is the seeded world ready for the control plane' },
  {
    command: 'ops metrics',
    what: 'DORA figures from the journal: deployments, lead time, failures, restores',
  },
  { command: 'ops report --fleet', what: 'one HTML page: the trends, and a timeline per service' },
  { command: 'ops emulator stop', what: 'when you are done' },
] as const;

/** How far before now the acts' virtual time starts: their hours, all acts together, fit in it. */
const TOUR_HOURS_BEFORE_NOW = 20;

/** The tour plays on the `ops emulator` daemon (started if needed, then reset) and leaves its world there. */
export interface TourOptions {
  instances?: number;
  storm?: number;
  write?: (line: string) => void;
  /** Which acts to play, in this order (default: all). */
  acts?: readonly TourAct[];
}

export interface TourResult {
  spot?: SpotActResult;
  canary?: RolloutActResult;
  ecs?: EcsActResult;
  rollback?: RolloutActResult;
  alarm?: AlarmActResult;
  lines: string[];
}

export interface SpotActResult {
  draining: number;
  active: number;
  drainCalls: number;
  alerts: { subject: string; severity: string }[];
  journalRecords: number;
  deadLettered: number;
  surgeStatus: string;
}

export async function runTour(opts: TourOptions = {}): Promise<TourResult> {
  const tl = createTimeline(opts.write);
  const instances = opts.instances ?? 60;
  const stormSize = opts.storm ?? 25;
  process.env.OPS_LOG_LEVEL ??= 'SILENT';

  const acts = opts.acts ?? TOUR_ACTS;
  tl.act(`ECS operations control plane: a guided tour on the local AWS emulator (${acts.join(', ')})`);
  const daemon = await startEmulatorDaemon({ stateDir: STATE_DIR });
  const { endpoint } = daemon;
  await resetEmulator(endpoint);
  tl.step(`emulator ${endpoint} ${daemon.alreadyRunning ? '(already running, reset)' : '(started)'}`);
  // Every AWS call goes through a counting proxy (no faults), so the story can show call counts.
  const proxy = await startFaultProxy({ target: endpoint });
  Object.assign(process.env, localAwsEnv(proxy.endpoint));
  await useStepFunctionsEndpoint(proxy.endpoint);
  resetClients();
  try {
    const stack = await deployControlPlane();
    tl.step(
      `control plane deployed from the synthesized CDK template (${stack.stackName})`,
      `${Object.keys(stack.functions).length} functions, ${Object.keys(stack.stateMachines).length} workflows, ${stack.eventSourceMappings.length} queue event sources (${stack.eventSourceMappings.map((m) => m.functionName).join(', ')}), rules for: spot warning, rebalance recommendation, Fargate Spot task, alarm state changes`,
    );
    const seeded = await seed(stack, { instances, spotFraction: 0.75 });
    // The world stays for the commands the tour recommends, as `ops seed` leaves its own.
    await keepSeededWorld(endpoint, stack, seeded, proxy.endpoint);
    const spot = seeded.containerInstances.filter((c) => c.spot);
    const types = new Set(spot.map((s) => s.instanceType));
    tl.step(
      `seeded cluster ${seeded.cluster}: ${seeded.containerInstances.length} container instances in 3 AZs`,
      `${spot.length} spot (${[...types].join(', ')}), ${seeded.containerInstances.length - spot.length} on-demand; groups ${seeded.autoScalingGroups.spot}, ${seeded.autoScalingGroups.onDemand}`,
    );
    const result: TourResult = { lines: tl.lines };
    // The acts' compressed hours (three per act, so one act's metrics never mix with another's)
    // are laid out before now, so every date the tour writes, execution names included, is real.
    const world = { stack, seed: seeded, clock: new VirtualClock(-TOUR_HOURS_BEFORE_NOW * 3_600_000), tl };
    for (const act of acts) {
      if (act === 'spot') result.spot = await spotStormAct({ stack, world: seeded, proxy, tl, stormSize });
      if (act === 'canary') result.canary = await canaryThatSucceeds(world);
      if (act === 'ecs') result.ecs = await ecsDeploymentsJudgedByTheHook(world);
      if (act === 'rollback') result.rollback = await canaryThatRollsBack(world);
      if (act === 'alarm') result.alarm = await alarmScalesOutAndResolves(world);
    }
    tl.act('What an operator would check next');
    for (const next of TOUR_NEXT_STEPS) tl.note(`npx ${next.command.padEnd(24)} ${next.what}`);
    return result;
  } finally {
    await proxy.stop();
  }
}

interface SpotActContext {
  stack: Awaited<ReturnType<typeof deployControlPlane>>;
  world: Seed;
  proxy: FaultProxy;
  tl: Timeline;
  stormSize: number;
}

/** A rebalance recommendation, a storm, the storm again, a Fargate Spot reclaim and a malformed event. */
async function spotStormAct({ stack, world, proxy, tl, stormSize }: SpotActContext): Promise<SpotActResult> {
  const spot = world.containerInstances.filter((c) => c.spot);
  const harness = await spotHarness(stack);
  const drainCalls = () => proxy.stats().forwardedByOperation['ecs:UpdateContainerInstancesState'] ?? 0;

  // Act 1: a rebalance recommendation: surge first, drain when the replacement is in.
  tl.act('1. A rebalance recommendation (the early, often false, alarm)');
  const atRisk = spot[0];
  if (!atRisk) throw new Error('the seed has no spot instances');
  await putEvents([sampleEvent('ec2-instance-rebalance-recommendation', atRisk.ec2InstanceId)]);
  tl.step(`EC2 -> EventBridge: rebalance recommendation for ${atRisk.ec2InstanceId}`);
  await harness.process();
  tl.step(
    `handler: rebalance mode "surge": replacement requested, ${world.autoScalingGroups.spot} desired ${await desired(world.autoScalingGroups.spot)}; instance stays ACTIVE`,
  );
  const surgeAlerts = await takeAlertsInOrder(world.alertQueues);
  for (const a of surgeAlerts) tl.step(`alert ${a.subject}`, String(a.alert.whatWeDid ?? ''));
  const registered = await registerGroupInstances(world.cluster, world.autoScalingGroups.spot);
  tl.step(`ECS agent on the new instance registers it with the cluster (${registered.join(', ')})`);
  // The execution the handler started, run here under its name and closed with its outcome.
  const surge = (
    await runStartedExecutions(stack, 'spot-surge', new Set(), { clock: new VirtualClock() })
  ).find((run) =>
    (run.input as { instances?: { instanceId: string }[] }).instances?.some(
      (i) => i.instanceId === atRisk.ec2InstanceId,
    ),
  );
  if (!surge) throw new Error(`no surge execution was started for ${atRisk.ec2InstanceId}`);
  const surgeStatus = String((surge.output as { status?: string } | undefined)?.status ?? surge.status);
  tl.step(
    `spot-surge workflow (synthesized definition, run locally): ${surge.status}, ${surgeStatus} after ${surge.transitions} state transitions`,
  );

  // Act 2: the storm.
  tl.act(`2. A storm: ${stormSize} spot interruption warnings within seconds`);
  const storm = spot.slice(1, 1 + stormSize);
  const callsBefore = drainCalls();
  await putEvents(storm.map((s) => sampleEvent('ec2-spot-instance-interruption-warning', s.ec2InstanceId)));
  tl.step(`EC2 -> EventBridge: ${storm.length} warnings (two minutes each) -> rule -> SQS queue`);
  const polled = await harness.process();
  tl.step(
    `handler: ${polled.batches} batch of ${polled.delivered} events -> ${drainCalls() - callsBefore} UpdateContainerInstancesState calls (10 instances each)`,
  );
  const stormAlerts = await takeAlertsInOrder(world.alertQueues);
  for (const a of stormAlerts) {
    const counts = a.alert.counts as Record<string, Record<string, number>> | undefined;
    tl.step(
      `alert ${a.subject}`,
      [
        String(a.alert.whatWeDid ?? ''),
        ...Object.entries(counts ?? {}).map(
          ([by, c]) =>
            `by ${by}: ${Object.entries(c)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ')}`,
        ),
      ].join('\n'),
    );
  }

  // Act 3: at-least-once delivery.
  tl.act('3. The same storm delivered again (EventBridge delivers at least once)');
  const dupCalls = drainCalls();
  await enqueueRaw(
    stack,
    storm.map((s) => sampleEvent('ec2-spot-instance-interruption-warning', s.ec2InstanceId)),
  );
  await harness.process();
  const dupAlerts = await takeAlertsInOrder(world.alertQueues);
  tl.step(
    `${storm.length} duplicates -> ${drainCalls() - dupCalls} drain calls, ${dupAlerts.length} alerts (each episode was already handled)`,
  );

  // Act 4: Fargate Spot and a malformed event.
  tl.act('4. A Fargate Spot task reclaimed, and a malformed event');
  const fargate = sampleEvent('ecs-task-state-change-fargate-spot-interruption');
  await putEvents([fargate]);
  await harness.process();
  const fargateAlerts = await takeAlertsInOrder(world.alertQueues);
  tl.step(`Fargate Spot task event -> ${fargateAlerts.map((a) => a.subject).join('; ') || 'no alert'}`);
  const bad = sampleEvent('ec2-spot-instance-interruption-warning');
  delete (bad.detail as Record<string, unknown>)['instance-id'];
  await enqueueRaw(stack, [bad]);
  for (let i = 0; i < 4; i++) await harness.process();
  const deadLettered = await deadLetterDepth(stack);
  tl.step(
    `event without detail.instance-id -> rejected ("detail.instance-id: is required"), retried, then ${deadLettered} message in the dead-letter queue; nothing changed`,
  );

  // The end state, and what an operator would look at.
  tl.act('Result');
  const ecs = (await import('@aws-sdk/client-ecs')).ECSClient;
  const all = await describe(awsClient(ecs), world.cluster, await listArns(awsClient(ecs), world.cluster));
  const draining = all.filter((c) => c.status === 'DRAINING').length;
  const active = all.filter((c) => c.status === 'ACTIVE').length;
  tl.note(tl.bar('DRAINING', draining, all.length));
  tl.note(tl.bar('ACTIVE', active, all.length));
  const journal = await readJournal(stack.outputs.JournalTableName as string);
  const alerts = [...surgeAlerts, ...stormAlerts, ...dupAlerts, ...fargateAlerts];
  tl.note(
    `alerts published: ${alerts.length} (${alerts.map((a) => a.severity).join(', ')}); journal records: ${journal.length}`,
  );
  // Where replacements came from, as the handler journaled it (market and the rate it saw).
  const replaced = new Map<string, { added: number; recent: number; threshold: unknown; window: unknown }>();
  for (const r of journal) {
    if (r.action !== 'request-capacity' || r.outcome !== 'changed') continue;
    const key = `${r.resource.replace(/^asg\//, '')} (${String(r.details?.market)})`;
    const seen = replaced.get(key) ?? { added: 0, recent: 0, threshold: '?', window: '?' };
    seen.added += (r.after as { desired: number }).desired - (r.before as { desired: number }).desired;
    seen.recent = Math.max(seen.recent, Number(r.details?.recentInterruptions ?? 0));
    seen.threshold = r.details?.fallbackThreshold;
    seen.window = r.details?.windowMinutes;
    replaced.set(key, seen);
  }
  tl.note(
    `capacity: ${world.autoScalingGroups.spot} desired ${await desired(world.autoScalingGroups.spot)}, ${world.autoScalingGroups.onDemand} desired ${await desired(world.autoScalingGroups.onDemand)}; replacements: ${
      [...replaced]
        .map(
          ([key, r]) =>
            `${key} +${r.added} (${r.recent} interruptions in ${r.window} min ${r.recent > Number(r.threshold) ? '>' : '<='} fallback threshold ${r.threshold})`,
        )
        .join('; ') || 'none requested'
    }`,
  );
  return {
    draining,
    active,
    drainCalls: drainCalls(),
    alerts: alerts.map((a) => ({ subject: a.subject, severity: a.severity })),
    journalRecords: journal.length,
    deadLettered,
    surgeStatus,
  };
}

async function desired(group: string): Promise<number> {
  const out = await awsClient(AutoScalingClient).send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
  );
  return out.AutoScalingGroups?.[0]?.DesiredCapacity ?? 0;
}

async function deadLetterDepth(stack: Awaited<ReturnType<typeof deployControlPlane>>): Promise<number> {
  const url = stack.outputs.SpotInterruptionQueueDlqUrl;
  if (!url) return 0;
  const out = await awsClient(SQSClient).send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
}

const invoked = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (invoked) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !(TOUR_ACTS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    console.error(
      `unknown act ${unknown.join(', ')}; acts: ${TOUR_ACTS.join(', ')} (npm start -- canary alarm)`,
    );
    process.exit(2);
  }
  runTour(args.length > 0 ? { acts: args as TourAct[] } : {}).then(
    () => {
      process.exitCode = 0;
    },
    (error: Error) => {
      console.error(`\n${error.name}: ${error.message}`);
      process.exitCode = 1;
    },
  );
}
