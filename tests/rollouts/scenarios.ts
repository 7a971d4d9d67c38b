// The blue/green rollout acceptance scenarios (issue 5), written once and run twice: on a clean
// emulator and behind the fault proxy with 20% of calls throttled. Every scenario runs the
// synthesized blue-green-rollout definition through the workflow runner, with load balancer
// metrics it writes into the emulator's CloudWatch, and asserts on the emulator's end state:
// listener weights (read with DescribeListeners), task sets, the lock, the record, the journal
// and the alerts raised. Scenarios run in order on one world; each leaves the service with one
// primary task set and the listener at 100% on it.
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { collectReport } from '../../cli/report/collect.ts';
import { renderReport } from '../../cli/report/render.ts';
import { rolloutInputFromFlags } from '../../cli/rollout.ts';
import type { RolloutInputDraft, Strategy } from '../../events/rollout-input.ts';
import type { Verdict } from '../../events/rollout-state.ts';
import type { PreTrafficHookRequest } from '../../functions/rollout-step/pre-traffic.ts';
import { removeGreen } from '../../functions/rollout-step/service.ts';
import type { Alert } from '../../functions/shared/alerts.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import {
  abortRollout,
  answerGate,
  OperatorRefusedError,
  type OperatorResult,
  rollbackService,
} from '../../functions/shared/rollouts/operator.ts';
import { getRolloutRecord, type RolloutRecord } from '../../functions/shared/rollouts/record.ts';
import { setWeights } from '../../functions/shared/rollouts/traffic.ts';
import { serviceLockHolder } from '../../functions/shared/service-lock.ts';
import { readJournal } from '../../local/control-plane.ts';
import { EMULATOR_REGION } from '../../local/emulator.ts';
import { scriptGreenReadiness, type TargetState } from '../../local/green-readiness.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { observerClient } from '../../local/observer.ts';
import {
  localOperatorDeps,
  type MinuteOfTraffic,
  putTargetGroupMetrics,
  rolloutEnvironment,
  runRollout,
  takeRaisedAlerts,
} from '../../local/rollouts.ts';
import { sampleEvent } from '../../local/spot-harness.ts';
import { drainEventSource } from '../../local/sqs-event-source.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import type { LambdaBinding, WorkflowResult } from '../../local/workflow-runner.ts';
import { nextTaskToken } from '../../local/workflow-runner.ts';
import type { RolloutWorld } from './world.ts';

const HOUR = 3_600_000;
const CLUSTER = 'web';
const SERVICE = 'api';

// ------------------------------------------------------------------------------------------
// Reading the world.

let slot = 0;
/** Each scenario lives hours after the previous one: its metrics never fall in another's bake window. */
function scenarioClock(): VirtualClock {
  const clock = new VirtualClock();
  clock.advance(++slot * 6 * HOUR);
  return clock;
}

const env = (world: RolloutWorld) => rolloutEnvironment(world.stack) as Record<string, string>;

interface ServiceState {
  taskSets: { arn: string; status: string; externalId: string; targetGroup: string; image: string }[];
  primary: { arn: string; targetGroup: string; image: string };
  /** The target group not behind the primary task set: where the next green goes. */
  idleTargetGroup: string;
}

async function serviceState(world: RolloutWorld): Promise<ServiceState> {
  const ecs = awsClient(ECSClient);
  const out = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }));
  const sets = out.services?.[0]?.taskSets ?? [];
  const taskSets = [];
  for (const s of sets) {
    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: s.taskDefinition }));
    taskSets.push({
      arn: s.taskSetArn as string,
      status: s.status as string,
      externalId: s.externalId ?? '',
      targetGroup: s.loadBalancers?.[0]?.targetGroupArn as string,
      image: td.taskDefinition?.containerDefinitions?.[0]?.image as string,
    });
  }
  const primary = taskSets.find((t) => t.status === 'PRIMARY');
  if (!primary) throw new Error('the service has no primary task set');
  const lb = world.seed.loadBalancer;
  const idleTargetGroup =
    primary.targetGroup === lb.blueTargetGroupArn ? lb.greenTargetGroupArn : lb.blueTargetGroupArn;
  return { taskSets, primary, idleTargetGroup };
}

/** Listener weights by target group ARN, as the load balancer reports them. */
async function listenerWeights(world: RolloutWorld): Promise<Record<string, number>> {
  const out = await awsClient(ElasticLoadBalancingV2Client).send(
    new DescribeListenersCommand({ ListenerArns: [world.seed.loadBalancer.listenerArn] }),
  );
  const groups = out.Listeners?.[0]?.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(groups.map((g) => [g.TargetGroupArn as string, g.Weight ?? 0]));
}

/** The test listener rule's weights by target group ARN, read straight from the emulator. */
async function testRouteWeights(world: RolloutWorld): Promise<Record<string, number>> {
  const out = await observerClient(ElasticLoadBalancingV2Client).send(
    new DescribeRulesCommand({ RuleArns: [world.testListener.ruleArn] }),
  );
  const groups = out.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(groups.map((g) => [g.TargetGroupArn as string, g.Weight ?? 0]));
}

/** Production listener weights, read past the fault proxy (for reads inside a hook). */
async function observedListenerWeights(world: RolloutWorld): Promise<Record<string, number>> {
  const out = await observerClient(ElasticLoadBalancingV2Client).send(
    new DescribeListenersCommand({ ListenerArns: [world.seed.loadBalancer.listenerArn] }),
  );
  const groups = out.Listeners?.[0]?.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(groups.map((g) => [g.TargetGroupArn as string, g.Weight ?? 0]));
}

async function journalOf(world: RolloutWorld, result: WorkflowResult): Promise<JournalRecord[]> {
  const all = await readJournal(env(world).JOURNAL_TABLE as string);
  return all.filter((r) => r.details?.execution === result.executionArn);
}

/** Green's weight after every shift, as read back from the listener and journaled. */
const shiftedWeights = (journal: JournalRecord[]) =>
  journal.filter((r) => r.action === 'shift-traffic').map((r) => (r.after as { green: number }).green);

async function record(world: RolloutWorld): Promise<RolloutRecord | undefined> {
  return getRolloutRecord(documentClient(), env(world).OPERATIONS_TABLE as string, CLUSTER, SERVICE);
}

async function lockHolder(world: RolloutWorld, clock: VirtualClock) {
  return serviceLockHolder(documentClient(), env(world).LOCKS_TABLE as string, clock, CLUSTER, SERVICE);
}

const takeAlerts = (world: RolloutWorld): Promise<Alert[]> =>
  takeRaisedAlerts(env(world).ALERT_QUEUE_URL as string, { collapseCopies: world.answersMayBeLost });

/** The first alert of `kind` raised from now on (others raised meanwhile are dropped). */
async function waitForAlert(world: RolloutWorld, kind: string, timeoutMs = 20_000): Promise<Alert> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = (await takeAlerts(world)).find((a) => a.kind === kind);
    if (found) return found;
    if (Date.now() > until) throw new Error(`no ${kind} alert within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Everything a rejected input must leave untouched. */
async function snapshot(world: RolloutWorld) {
  const db = documentClient();
  const scan = async (table: string) =>
    ((await db.send(new ScanCommand({ TableName: table }))).Items ?? []).map((i) => JSON.stringify(i)).sort();
  const definitions = await awsClient(ECSClient).send(new ListTaskDefinitionsCommand({}));
  return {
    weights: await listenerWeights(world),
    service: await serviceState(world),
    taskDefinitions: definitions.taskDefinitionArns?.length,
    locks: await scan(env(world).LOCKS_TABLE as string),
    records: await scan(env(world).OPERATIONS_TABLE as string),
    journal: (await readJournal(env(world).JOURNAL_TABLE as string)).length,
  };
}

// ------------------------------------------------------------------------------------------
// Traffic the scenarios write: one datapoint per minute per target group, as the ALB publishes.

const healthy = (minute: number): MinuteOfTraffic => ({
  requests: 1000 + (minute % 7) * 13,
  errors: minute % 3 === 0 ? 1 : 0,
  latencyMs: 48 + (minute % 5),
});

async function writeTraffic(
  world: RolloutWorld,
  clock: VirtualClock,
  profiles: {
    live?: (minute: number, at: number) => MinuteOfTraffic;
    next?: (minute: number, at: number) => MinuteOfTraffic;
    /** How much virtual time the traffic covers (every bake must fall inside: no data is not a pass). */
    hours?: number;
  },
): Promise<ServiceState> {
  const state = await serviceState(world);
  const from = clock.now() - 2 * 60_000;
  const to = clock.now() + (profiles.hours ?? 2) * HOUR;
  const loadBalancerArn = world.seed.loadBalancer.arn;
  await putTargetGroupMetrics({
    loadBalancerArn,
    targetGroupArn: state.primary.targetGroup,
    from,
    to,
    traffic: profiles.live ?? healthy,
  });
  await putTargetGroupMetrics({
    loadBalancerArn,
    targetGroupArn: state.idleTargetGroup,
    from,
    to,
    traffic: profiles.next ?? healthy,
  });
  return state;
}

const ANALYSIS = {
  maxErrorRate: 0.02,
  maxP95LatencyMs: 400,
  baseline: { enabled: true, confidence: 0.95, minSamples: 5 },
};

function input(image: string, extra: Partial<RolloutInputDraft> = {}): RolloutInputDraft {
  return {
    cluster: CLUSTER,
    service: SERVICE,
    image,
    strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
    analysis: ANALYSIS,
    rollbackWindowSeconds: 600,
    terminationWaitSeconds: 300,
    requestedBy: 'scenario',
    ...extra,
  };
}

/** A rollout whose gates and window nobody answers: they time out quickly. */
const quick = (clock: VirtualClock) => ({ clock, taskTokenTimeoutMs: 100 });

async function waitForRecord(
  world: RolloutWorld,
  executionName: string,
  ready: (r: RolloutRecord) => boolean,
  timeoutMs = 20_000,
): Promise<RolloutRecord> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await record(world);
    if (r?.executionName === executionName && ready(r)) return r;
    if (Date.now() > until) throw new Error(`record of ${executionName} never got there (last: ${r?.phase})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Ends a scenario with the service back to one primary task set at 100%. */
async function expectSettled(world: RolloutWorld, clock: VirtualClock, primaryImage: string) {
  const state = await serviceState(world);
  expect(state.taskSets.map((t) => t.status)).toEqual(['PRIMARY']);
  expect(state.primary.image).toBe(primaryImage);
  const weights = await listenerWeights(world);
  expect(weights[state.primary.targetGroup]).toBe(100);
  expect(weights[state.idleTargetGroup]).toBe(0);
  expect(await lockHolder(world, clock)).toBeUndefined();
}

// ------------------------------------------------------------------------------------------
// Strategies reach 100% green; blue is gone after the termination wait.

export async function strategyReachesGreen(
  world: RolloutWorld,
  name: string,
  strategy: Strategy,
  expectedWeights: number[],
) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const image = `registry.local/api:${name}-${world.throttleRate}`;
  const started = clock.now();
  const result = await runRollout(
    world.stack,
    input(image, { strategy }) as Record<string, unknown>,
    quick(clock),
  );
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');

  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual(expectedWeights);
  // Every shift was verified: what the listener reported after it, blue and green add up.
  for (const r of journal.filter((j) => j.action === 'shift-traffic')) {
    const after = r.after as { blue: number; green: number };
    expect(after.blue + after.green).toBe(100);
  }
  expect(journal.filter((r) => r.action === 'analyse-step').length).toBe(expectedWeights.length);

  // Green is primary at 100% behind what was the idle target group; blue's task set is gone.
  await expectSettled(world, clock, image);
  const after = await serviceState(world);
  expect(after.primary.targetGroup).toBe(before.idleTargetGroup);
  expect(after.taskSets.map((t) => t.arn)).not.toContain(before.primary.arn);
  const order = result.states.slice(result.states.indexOf('Scale blue to zero'));
  expect(order).toEqual([
    'Scale blue to zero',
    'Termination wait',
    'Delete blue',
    'Finish',
    'Rollout complete',
  ]);
  const complete = journal.find((r) => r.action === 'rollout-complete');
  const promoted = journal.find((r) => r.action === 'promote');
  expect(
    Date.parse(complete?.at.slice(0, 24) ?? '') - Date.parse(promoted?.at.slice(0, 24) ?? ''),
  ).toBeGreaterThanOrEqual(300_000);
  // Virtual time moved by every bake and the termination wait (each one Wait state).
  expect(clock.now() - started).toBeGreaterThanOrEqual((bakeTotal(strategy) + 300) * 1000);

  const r = await record(world);
  expect(r?.phase).toBe('finalized');
  const alerts = await takeAlerts(world);
  expect(alerts.map((a) => `${a.severity}:${a.kind}`).sort()).toEqual([
    'info:rollout-complete',
    'info:rollout-promoted',
    'info:rollout-started',
    // No step of all-at-once bakes: nothing can be judged, and it says so.
    ...(strategy.type === 'all-at-once' ? ['warning:rollout-blind'] : []),
  ]);
  return result;
}

function bakeTotal(strategy: Strategy): number {
  switch (strategy.type) {
    case 'all-at-once':
      return 0;
    case 'canary':
      return strategy.bakeSeconds;
    case 'linear':
      return Math.ceil(100 / strategy.stepPercent - 1) * strategy.intervalSeconds;
    case 'steps':
      return strategy.steps.reduce((s, x) => s + x.bakeSeconds, 0);
  }
}

// ------------------------------------------------------------------------------------------
// Failures roll back: traffic first (read back), then green; the lock is freed.

export async function high5xxRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {
    next: (m) => ({ requests: 1000, errors: 120 + (m % 4), latencyMs: 50 }),
  });
  await takeAlerts(world);
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:bad-5xx-${world.throttleRate}`, {
      strategy: { type: 'canary', percent: 20, bakeSeconds: 300 },
      analysis: { ...ANALYSIS, maxErrorRate: 0.01 },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(result.status).toBe('FAILED');
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('5xx rate');
  expect(result.states).toContain('Restore blue traffic');
  // No spot storm on the cluster: the failing verdict is not held.
  expect(result.states).not.toContain('Hold for the spot storm');

  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual([20]);
  const restore = journal.find((r) => r.action === 'restore-blue');
  expect(restore?.after).toEqual({ blue: 100, green: 0 });
  expect(journal.map((r) => r.action).slice(-3)).toEqual([
    'restore-blue',
    'remove-green',
    'rollout-rolled-back',
  ]);

  await expectSettled(world, clock, before.primary.image);
  expect((await serviceState(world)).primary.arn).toBe(before.primary.arn);
  expect((await record(world))?.phase).toBe('rolled-back');

  const alerts = await takeAlerts(world);
  const critical = alerts.filter((a) => a.severity === 'critical');
  expect(critical).toHaveLength(1);
  expect(critical[0]?.kind).toBe('rollout-rolled-back');
  // The verdict's numbers: green's 5xx rate and request count, blue's for comparison.
  expect(critical[0]?.summary).toMatch(/green 5xx 12\.\d\d% \(\d+ of \d+ requests\)/);
  expect(critical[0]?.summary).toContain('above its limit 1.00%');
  return result;
}

/**
 * Green takes time to come up (a documented stand-in scripts what moto cannot: the task set
 * stabilizes after 90 s, its targets are `initial` for a minute, then healthy): the rollout
 * waits for it, checking every 15 s, and only then shifts traffic.
 */
export async function greenTakesTimeToBecomeReady(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const { idleTargetGroup } = await serviceState(world);
  const stop = scriptGreenReadiness(clock, {
    targetGroupArn: idleTargetGroup,
    tasks: 2,
    steadyAfterMs: 90_000,
    targets: [
      [0, 'initial'],
      [60_000, 'healthy'],
    ],
  });
  try {
    const image = `registry.local/api:slow-start-${world.throttleRate}`;
    const result = await runRollout(world.stack, input(image) as Record<string, unknown>, quick(clock));
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(result.states.filter((s) => s === 'Check green').length).toBeGreaterThanOrEqual(7);
    const journal = await journalOf(world, result);
    expect(journal.find((r) => r.action === 'green-ready')?.reason).toContain(
      'STEADY_STATE; 2 of 2 task(s) running; targets 2 healthy of 2',
    );
    await expectSettled(world, clock, image);
  } finally {
    stop();
  }
  await takeAlerts(world);
}

/**
 * Green's targets never pass their health checks, or pass and then drain (their tasks replaced,
 * or deregistered by someone else) before green is steady: no traffic moves, and the rollout goes
 * back.
 */
export async function greenNeverHealthyRollsBack(world: RolloutWorld) {
  const scripts: [label: string, steadyAfterMs: number, targets: [number, TargetState][]][] = [
    [
      'never healthy',
      0,
      [
        [0, 'initial'],
        [30_000, 'unhealthy'],
      ],
    ],
    [
      'healthy, then draining',
      60_000,
      [
        [0, 'initial'],
        [20_000, 'healthy'],
        [40_000, 'draining'],
      ],
    ],
  ];
  for (const [label, steadyAfterMs, targets] of scripts) {
    const clock = scenarioClock();
    const before = await writeTraffic(world, clock, {});
    await takeAlerts(world);
    const { idleTargetGroup } = await serviceState(world);
    const stop = scriptGreenReadiness(clock, {
      targetGroupArn: idleTargetGroup,
      tasks: 2,
      steadyAfterMs,
      targets,
    });
    try {
      const result = await runRollout(
        world.stack,
        input(`registry.local/api:not-ready-${label.replace(/\W+/g, '-')}-${world.throttleRate}`, {
          greenReadyTimeoutSeconds: 120,
        }) as Record<string, unknown>,
        quick(clock),
      );
      expect(result.error, label).toBe('RolledBack');
      expect(result.cause, label).toContain('green was not ready by');
      expect(result.cause, label).toContain('targets 0 healthy of 2');
      const journal = await journalOf(world, result);
      expect(shiftedWeights(journal), label).toEqual([]);
      expect(
        journal.map((r) => r.action),
        label,
      ).toContain('green-not-ready');
      await expectSettled(world, clock, before.primary.image);
    } finally {
      stop();
    }
    const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
    expect(
      critical.map((a) => a.kind),
      label,
    ).toEqual(['rollout-rolled-back']);
  }
}

/**
 * Someone changes the production listener between two shifts (a hand edit, a stack update that
 * resets the weights): the next shift notices before it changes anything, and the rollout goes
 * back to blue with one critical alert naming the drift.
 */
export async function listenerDriftStopsTheRollout(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  let drifted = false;
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:drift-${world.throttleRate}`, {
      strategy: { type: 'linear', stepPercent: 25, intervalSeconds: 300 },
      analysis: ANALYSIS,
    }) as Record<string, unknown>,
    {
      ...quick(clock),
      beforeLambda: async (fn, event) => {
        const step = event as {
          action?: string;
          state?: { progress?: { index?: number }; topology?: never };
        };
        if (fn !== 'rollout-step' || step.action !== 'shift' || step.state?.progress?.index !== 0 || drifted)
          return;
        drifted = true;
        // Someone else puts 60% on green by hand.
        const r = await record(world);
        if (!r) throw new Error('no record');
        await setWeights(observerClient(ElasticLoadBalancingV2Client), r.topology, 60);
      },
    },
  );
  expect(drifted).toBe(true);
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('ListenerDrift');
  expect(result.cause).toContain('blue 40% / green 60% where this rollout left blue 75% / green 25%');
  const journal = await journalOf(world, result);
  // The second shift never happened: the drift was noticed first.
  expect(shiftedWeights(journal)).toEqual([25]);
  expect(journal.find((r) => r.action === 'restore-blue')?.after).toEqual({ blue: 100, green: 0 });
  await expectSettled(world, clock, before.primary.image);
  const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
  expect(critical.map((a) => a.kind)).toEqual(['rollout-rolled-back']);
  expect(critical[0]?.summary).toContain('someone else changed it');
}

export async function alarmDuringBakeRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  const cloudwatch = awsClient(CloudWatchClient);
  const alarm = `api-p99-latency-${world.throttleRate}`;
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: alarm,
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'TargetResponseTime',
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
  await cloudwatch.send(
    new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'ALARM', StateReason: 'latency above 1 s' }),
  );
  await takeAlerts(world);
  try {
    const result = await runRollout(
      world.stack,
      input(`registry.local/api:alarm-${world.throttleRate}`, {
        analysis: { ...ANALYSIS, alarms: [alarm] },
      }) as Record<string, unknown>,
      quick(clock),
    );
    expect(result.error).toBe('RolledBack');
    expect(result.cause).toContain(`alarm ${alarm} is ALARM`);
    const journal = await journalOf(world, result);
    // Traffic reached green (10%), the bake's analysis found the alarm, traffic went back.
    expect(shiftedWeights(journal)).toEqual([10]);
    expect(journal.find((r) => r.action === 'restore-blue')?.after).toEqual({ blue: 100, green: 0 });
    await expectSettled(world, clock, before.primary.image);
    const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
    expect(critical.map((a) => a.kind)).toEqual(['rollout-rolled-back']);
    expect(critical[0]?.summary).toContain(`${alarm}=ALARM`);
  } finally {
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [alarm] }));
  }
}

export async function worseThanBlueRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {
    // Within the 400 ms threshold, but three times blue's latency: only the comparison sees it.
    next: (m) => ({ requests: 1000, errors: 0, latencyMs: 150 + (m % 5) }),
  });
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:slow-${world.throttleRate}`) as Record<string, unknown>,
    quick(clock),
  );
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('green latency is worse than blue');
  const journal = await journalOf(world, result);
  const verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as {
    comparisons: { metric: string; verdict: string; pValue: number }[];
  };
  const latency = verdict.comparisons.find((c) => c.metric === 'latency');
  expect(latency?.verdict).toBe('fail');
  expect(latency?.pValue).toBeLessThan(0.05);
  await expectSettled(world, clock, before.primary.image);
  await takeAlerts(world);
}

// ------------------------------------------------------------------------------------------
// Gates.

export async function rejectedApprovalRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const run = runRollout(
    world.stack,
    input(`registry.local/api:rejected-${world.throttleRate}`, {
      approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'approve' },
    }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 30_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  const gate = await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  expect(gate.gate?.kind).toBe('before-traffic');
  // The gate's alert says what to decide and how to answer.
  const approval = await waitForAlert(world, 'rollout-approval');
  expect(approval?.nextSteps.join('\n')).toContain(`ops reject ${token.executionName}`);

  await answerGate(
    localOperatorDeps(world.stack, clock),
    token.executionName,
    'reject',
    'alice',
    'not today',
  );
  const result = await run;
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('alice rejected the rollout at the before-traffic gate: not today');
  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual([]);
  expect(journal.find((r) => r.action === 'gate-answered')?.reason).toContain('reject by alice');
  await expectSettled(world, clock, before.primary.image);
  const alerts = await takeAlerts(world);
  expect(alerts.filter((a) => a.severity === 'critical')).toEqual([]);
  expect(alerts.map((a) => a.kind)).toContain('rollout-rolled-back');
}

/**
 * The operator's answer is claimed on the record, then its SendTaskSuccess is lost: the gate
 * times out, and the claimed answer, not the default, decides it.
 */
export async function claimedAnswerSurvivesALostCallback(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const run = runRollout(
    world.stack,
    input(`registry.local/api:lost-answer-${world.throttleRate}`, {
      approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'approve' },
    }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 2_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  const lost = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
  const operator = {
    ...localOperatorDeps(world.stack, clock),
    callbacks: {
      success: async () => {
        throw lost;
      },
    },
  };
  await expect(answerGate(operator, token.executionName, 'reject', 'alice', 'not today')).rejects.toBe(lost);
  const result = await run;
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('alice rejected the rollout at the before-traffic gate: not today');
  const journal = await journalOf(world, result);
  expect(journal.find((r) => r.action === 'gate-answered')?.reason).toContain('reject by alice');
  expect(journal.map((r) => r.action)).not.toContain('gate-timed-out');
  expect(shiftedWeights(journal)).toEqual([]);
  await expectSettled(world, clock, before.primary.image);
  await takeAlerts(world);
}

export async function timedOutApprovalTakesDefault(world: RolloutWorld) {
  // Default approve: nobody answers the finalize gate, the rollout completes.
  let clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const approveImage = `registry.local/api:default-approve-${world.throttleRate}`;
  const approved = await runRollout(
    world.stack,
    input(approveImage, {
      approval: { gate: 'before-finalize', timeoutSeconds: 900, defaultAction: 'approve' },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(approved.status).toBe('SUCCEEDED');
  const approvedJournal = await journalOf(world, approved);
  expect(approvedJournal.find((r) => r.action === 'gate-timed-out')?.reason).toContain(
    'before-finalize gate: approve',
  );
  await expectSettled(world, clock, approveImage);

  // Default reject: nobody answers the traffic gate, the rollout goes back before any traffic.
  clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const rejected = await runRollout(
    world.stack,
    input(`registry.local/api:default-reject-${world.throttleRate}`, {
      approval: { gate: 'before-traffic', timeoutSeconds: 900, defaultAction: 'reject' },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(rejected.error).toBe('RolledBack');
  expect(rejected.cause).toContain('timed out after 900s; default action: reject');
  expect(shiftedWeights(await journalOf(world, rejected))).toEqual([]);
  await expectSettled(world, clock, approveImage);
  await takeAlerts(world);
}

export async function inconclusivePausesForAHuman(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const image = `registry.local/api:inconclusive-${world.throttleRate}`;
  const run = runRollout(
    world.stack,
    input(image, {
      // Three minutes give three samples per color; ten are asked for.
      strategy: { type: 'canary', percent: 10, bakeSeconds: 180 },
      analysis: { ...ANALYSIS, baseline: { enabled: true, minSamples: 10 } },
      // No window: the only wait that needs an answer is the inconclusive gate.
      rollbackWindowSeconds: 0,
    }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 30_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  const paused = await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  expect(paused.gate?.kind).toBe('inconclusive');
  expect(paused.verdicts.at(-1)?.verdict).toBe('inconclusive');
  await answerGate(localOperatorDeps(world.stack, clock), token.executionName, 'approve', 'bob');
  const result = await run;
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  const journal = await journalOf(world, result);
  expect(journal.find((r) => r.action === 'gate-answered')?.reason).toContain(
    'inconclusive gate: approve by bob',
  );
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}

// ------------------------------------------------------------------------------------------
// Freeze, concurrency, operators.

export async function freezeStopsWithoutRollback(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {
    next: () => ({ requests: 1000, errors: 200, latencyMs: 50 }),
  });
  await takeAlerts(world);
  const image = `registry.local/api:frozen-${world.throttleRate}`;
  const result = await runRollout(
    world.stack,
    input(image, { onFailure: 'freeze' }) as Record<string, unknown>,
    quick(clock),
  );
  expect(result.error).toBe('RolloutFrozen');
  expect(result.states).not.toContain('Restore blue traffic');
  expect(result.states).not.toContain('Remove green');
  // Left as it was: 10% on green, both task sets, lock released.
  const weights = await listenerWeights(world);
  expect(weights[before.primary.targetGroup]).toBe(90);
  expect(weights[before.idleTargetGroup]).toBe(10);
  const state = await serviceState(world);
  expect(state.taskSets).toHaveLength(2);
  expect(state.primary.arn).toBe(before.primary.arn);
  expect(await lockHolder(world, clock)).toBeUndefined();
  expect((await record(world))?.phase).toBe('frozen');
  const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
  expect(critical.map((a) => a.kind)).toEqual(['rollout-frozen']);
  // ops rollback does not undo a freeze on its own.
  await expect(
    rollbackService(localOperatorDeps(world.stack, clock), `${CLUSTER}/${SERVICE}`, 'carol'),
  ).rejects.toThrow(/froze on failure/);

  // A human decides; here: back to blue by hand, so the next scenario starts clean.
  const r = await record(world);
  if (!r) throw new Error('no record');
  await setWeights(awsClient(ElasticLoadBalancingV2Client), r.topology, 0);
  await removeGreen(awsClient(ECSClient), {
    cluster: CLUSTER,
    service: SERVICE,
    rolloutId: r.executionName,
    blueTaskSetArn: r.blue.taskSetArn,
  });
  await expectSettled(world, clock, before.primary.image);
}

export async function concurrentRolloutFailsFast(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  const first = runRollout(
    world.stack,
    input(`registry.local/api:first-${world.throttleRate}`, {
      approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'reject' },
    }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 60_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  // The gate journals after it opens on the record and alerts last: once the alert is there,
  // the first rollout writes nothing more until it is answered (throttled writes land late).
  await waitForAlert(world, 'rollout-approval');
  const during = await snapshot(world);

  const second = await runRollout(
    world.stack,
    input(`registry.local/api:second-${world.throttleRate}`) as Record<string, unknown>,
    quick(clock),
  );
  expect(second.status).toBe('FAILED');
  expect(second.error).toBe('LockHeld');
  expect(second.cause).toContain(`:execution:`);
  expect(second.cause).toContain(token.executionName);
  expect(second.states).toEqual(['Validate input', 'Take service lock', 'Another rollout is running']);
  // The second rollout changed nothing.
  expect(await snapshot(world)).toEqual(during);

  await answerGate(localOperatorDeps(world.stack, clock), token.executionName, 'reject', 'dave');
  const result = await first;
  expect(result.error).toBe('RolledBack');
  await expectSettled(world, clock, before.primary.image);
  await takeAlerts(world);
}

export async function opsRollbackInsideTheWindow(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  const image = `registry.local/api:rolled-back-by-hand-${world.throttleRate}`;
  const run = runRollout(
    world.stack,
    input(image, { rollbackWindowSeconds: 1800 }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 60_000 },
  );
  const window = await nextTaskToken({ stateName: 'Rollback window', timeoutMs: 30_000 });
  await waitForRecord(world, window.executionName, (r) => r.phase === 'window');
  // Promoted: 100% green and green primary, blue still scaled up.
  expect((await listenerWeights(world))[before.idleTargetGroup]).toBe(100);
  expect((await serviceState(world)).primary.image).toBe(image);

  const modifies = world.calls('elasticloadbalancing:ModifyListener');
  const reads = world.calls('elasticloadbalancing:DescribeListeners');
  const done = await rollbackService(localOperatorDeps(world.stack, clock), SERVICE, 'erin');
  // One listener update and one read-back, nothing else on the load balancer.
  expect(world.calls('elasticloadbalancing:ModifyListener') - modifies).toBe(1);
  expect(world.calls('elasticloadbalancing:DescribeListeners') - reads).toBe(1);
  expect(done.weights).toEqual({ blue: 100, green: 0 });
  expect((await listenerWeights(world))[before.primary.targetGroup]).toBe(100);

  const result = await run;
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('erin rolled back inside the rollback window');
  // The workflow trusted the operator's read-back: no second listener update.
  expect(world.calls('elasticloadbalancing:ModifyListener') - modifies).toBe(1);
  expect(result.states).not.toContain('Restore blue traffic');
  expect(result.states.slice(-3)).toEqual(['Remove green', 'Record rollback', 'Rolled back']);
  await expectSettled(world, clock, before.primary.image);
  expect((await serviceState(world)).primary.arn).toBe(before.primary.arn);
  await takeAlerts(world);
}

export async function opsRollbackOutsideTheWindowRefuses(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const image = `registry.local/api:kept-${world.throttleRate}`;
  const result = await runRollout(world.stack, input(image) as Record<string, unknown>, quick(clock));
  expect(result.status).toBe('SUCCEEDED');
  const weights = await listenerWeights(world);
  const modifies = world.calls('elasticloadbalancing:ModifyListener');
  const refused = rollbackService(localOperatorDeps(world.stack, clock), `${CLUSTER}/${SERVICE}`, 'frank');
  await expect(refused).rejects.toBeInstanceOf(OperatorRefusedError);
  await expect(refused).rejects.toThrow(
    /rollback window of rollout rollout-api-\S+ closed at .*Roll forward instead: ops rollout --service api --image/,
  );
  expect(world.calls('elasticloadbalancing:ModifyListener')).toBe(modifies);
  expect(await listenerWeights(world)).toEqual(weights);
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}

export async function abortAtAGateRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  const run = runRollout(
    world.stack,
    input(`registry.local/api:aborted-${world.throttleRate}`, {
      strategy: { type: 'linear', stepPercent: 50, intervalSeconds: 300 },
      approval: { gate: 'before-finalize', timeoutSeconds: 3600, defaultAction: 'approve' },
    }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 60_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  // At the finalize gate green already serves 100%: abort takes it off at once.
  const aborted = await abortRollout(
    localOperatorDeps(world.stack, clock),
    token.executionName,
    'grace',
    'pager went off',
  );
  expect(aborted.weights).toEqual({ blue: 100, green: 0 });
  const result = await run;
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('aborted by grace');
  await expectSettled(world, clock, before.primary.image);
  await takeAlerts(world);
}

/**
 * An abort (an operator, or the green-5xx runbook) lands after the last verdict passed, just as
 * the rollout promotes. Promotion is claimed on the record against the abort, so one of them wins:
 * here the abort, and the rollout goes back to blue instead of making green primary behind a
 * listener the abort had already put on blue.
 */
export async function abortAsGreenIsPromotedRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  let aborted: OperatorResult | undefined;
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:abort-promote-${world.throttleRate}`, {
      strategy: { type: 'linear', stepPercent: 50, intervalSeconds: 300 },
    }) as Record<string, unknown>,
    {
      ...quick(clock),
      beforeLambda: async (fn, event) => {
        const step = event as { action?: string; state?: { rollout?: { execution?: string } } };
        if (fn !== 'rollout-step' || step.action !== 'promote' || aborted) return;
        aborted = await abortRollout(
          localOperatorDeps(world.stack, clock),
          step.state?.rollout?.execution as string,
          'heidi',
          'pager went off',
        );
      },
    },
  );
  expect(aborted?.weights).toEqual({ blue: 100, green: 0 });
  expect(result.error, result.cause).toBe('RolledBack');
  expect(result.cause).toContain('aborted by heidi');
  expect(result.states).not.toContain('Rollback window?');
  await expectSettled(world, clock, before.primary.image);
  await takeAlerts(world);
}

/**
 * An abort claimed while a step of the rollout is already in flight (it looked for an abort just
 * before): the step moves traffic right after the abort put it on blue, so the abort's read-back
 * sees green. The abort still stands, says so, and the rollout puts traffic back on blue at its
 * next check.
 */
export async function abortOvertakenByAStepInFlight(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  let aborted: OperatorResult | undefined;
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:abort-overtaken-${world.throttleRate}`, {
      strategy: { type: 'linear', stepPercent: 50, intervalSeconds: 300 },
    }) as Record<string, unknown>,
    {
      ...quick(clock),
      beforeLambda: async (fn) => {
        if (fn !== 'rollout-analysis' || aborted) return;
        const r = await record(world);
        if (!r) throw new Error('no record');
        const real = awsClient(ElasticLoadBalancingV2Client);
        let stepLanded = false;
        // The listener as the abort sees it: right after its change, the step in flight lands.
        const overtaken = {
          send: async (command: ModifyListenerCommand) => {
            const out = await real.send(command);
            if (command instanceof ModifyListenerCommand && !stepLanded) {
              stepLanded = true;
              await setWeights(observerClient(ElasticLoadBalancingV2Client), r.topology, 50);
            }
            return out;
          },
        } as unknown as ElasticLoadBalancingV2Client;
        aborted = await abortRollout(
          { ...localOperatorDeps(world.stack, clock), elb: overtaken },
          r.execution,
          'judy',
          'error budget burnt',
        );
      },
    },
  );
  expect(aborted?.weights).toBeUndefined();
  expect(aborted?.message).toContain('a rollout step in flight moved traffic after ours');
  expect(result.error, result.cause).toBe('RolledBack');
  expect(result.cause).toContain('aborted by judy');
  await expectSettled(world, clock, before.primary.image);
  const journal = await journalOf(world, result);
  expect(journal.find((j) => j.action === 'restore-blue')?.after).toEqual({ blue: 100, green: 0 });
  await takeAlerts(world);
}

/**
 * Green was promoted and the rollback window is not open yet: an abort now would only move the
 * listener away from the primary. It is refused, naming the way back (ops rollback in the
 * window), and changes nothing; the release goes on.
 */
export async function abortAfterPromotionIsRefused(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const image = `registry.local/api:abort-promoted-${world.throttleRate}`;
  let refusal: unknown;
  let modifies = -1;
  const result = await runRollout(
    world.stack,
    input(image, { strategy: { type: 'linear', stepPercent: 50, intervalSeconds: 300 } }) as Record<
      string,
      unknown
    >,
    {
      ...quick(clock),
      beforeLambda: async (fn, event) => {
        const step = event as { action?: string; state?: { rollout?: { execution?: string } } };
        if (fn !== 'rollout-step' || step.action !== 'open-window' || modifies >= 0) return;
        modifies = world.calls('elasticloadbalancing:ModifyListener');
        refusal = await abortRollout(
          localOperatorDeps(world.stack, clock),
          step.state?.rollout?.execution as string,
          'ivan',
        ).catch((error: unknown) => error);
        expect(world.calls('elasticloadbalancing:ModifyListener')).toBe(modifies);
      },
    },
  );
  expect(refusal).toBeInstanceOf(OperatorRefusedError);
  expect(String((refusal as Error).message)).toMatch(
    /green of rollout-api-\S+ was just promoted: nothing was changed; once its rollback window opens, ops rollback web\/api puts traffic back on blue/,
  );
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}

// ------------------------------------------------------------------------------------------
// Bad input fails in the first state, naming the field, and changes nothing.

export async function badInputChangesNothing(world: RolloutWorld) {
  const clock = scenarioClock();
  const cases: [string, Record<string, unknown>, string][] = [
    ['an unknown service', { ...input('registry.local/api:x'), service: 'nope' }, 'input.service'],
    ['an unmanaged cluster', { ...input('registry.local/api:x'), cluster: 'other' }, 'input.cluster'],
    [
      'steps not ending at 100',
      {
        ...input('registry.local/api:x'),
        strategy: {
          type: 'steps',
          steps: [
            { weight: 10, bakeSeconds: 60 },
            { weight: 50, bakeSeconds: 60 },
          ],
        },
      },
      'input.strategy.steps.1.weight',
    ],
    [
      'a negative bake',
      { ...input('registry.local/api:x'), strategy: { type: 'canary', percent: 10, bakeSeconds: -5 } },
      'input.strategy.bakeSeconds',
    ],
    [
      'neither image nor task definition',
      { ...input('registry.local/api:x'), image: undefined },
      'input.image',
    ],
    [
      'an alarm that does not exist',
      { ...input('registry.local/api:x'), analysis: { alarms: ['no-such-alarm'] } },
      'input.analysis.alarms.0',
    ],
    [
      'a pre-traffic hook that is not a Lambda ARN',
      { ...input('registry.local/api:x'), preTraffic: { hookFunctionArn: 'rollout-hook-smoke' } },
      'input.preTraffic.hookFunctionArn: must be a Lambda function ARN',
    ],
    [
      'a pre-traffic hook the rollout may not invoke',
      {
        ...input('registry.local/api:x'),
        preTraffic: { hookFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:123456789012:function:smoke` },
      },
      'input.preTraffic.hookFunctionArn: must name a function whose name starts with rollout-hook-',
    ],
    [
      'a pre-traffic hook in another region',
      {
        ...input('registry.local/api:x'),
        preTraffic: { hookFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:rollout-hook-smoke' },
      },
      `input.preTraffic.hookFunctionArn: must be a function in ${EMULATOR_REGION}`,
    ],
  ];
  const before = await snapshot(world);
  for (const [label, bad, field] of cases) {
    const result = await runRollout(world.stack, bad, quick(clock));
    expect(result.status, label).toBe('FAILED');
    expect(result.error, label).toBe('InvalidInput');
    expect(result.cause, label).toContain(field);
    expect(result.states, label).toEqual(['Validate input', 'Input rejected']);
  }
  expect(await snapshot(world)).toEqual(before);
}

// ------------------------------------------------------------------------------------------
// State transitions grow with the number of steps, not with bake time.

export async function transitionsDoNotGrowWithBakeTime(world: RolloutWorld) {
  const transitions: Record<string, number> = {};
  // Each plan gets traffic for its own bakes only: moto scans every datapoint per query, so
  // traffic written for runs that do not need it slows every later query of the file.
  for (const [label, strategy, hours] of [
    ['canary, 1 min bake', { type: 'canary', percent: 10, bakeSeconds: 60 }, 0.25],
    ['canary, 60 min bake', { type: 'canary', percent: 10, bakeSeconds: 3600 }, 1.1],
    ['linear 4 steps, 1 min', { type: 'linear', stepPercent: 25, intervalSeconds: 60 }, 0.25],
    // Three hours of bakes, the longest plan.
    ['linear 4 steps, 60 min', { type: 'linear', stepPercent: 25, intervalSeconds: 3600 }, 3.1],
  ] as const) {
    const clock = scenarioClock();
    await writeTraffic(world, clock, { hours });
    const result = await runRollout(
      world.stack,
      input(`registry.local/api:transitions-${Object.keys(transitions).length}`, {
        strategy,
        // A one-minute bake gives one sample per color: limits only, the comparison switched off.
        analysis: { maxErrorRate: 0.02, maxP95LatencyMs: 400, baseline: { enabled: false } },
      }) as Record<string, unknown>,
      quick(clock),
    );
    expect(result.status, `${label}: ${result.error} ${result.cause}`).toBe('SUCCEEDED');
    transitions[label] = result.transitions;
  }
  expect(transitions['canary, 60 min bake']).toBe(transitions['canary, 1 min bake']);
  expect(transitions['linear 4 steps, 60 min']).toBe(transitions['linear 4 steps, 1 min']);
  // Two more steps cost the same few states each: shift, bake, analyse, verdict, next.
  expect(
    (transitions['linear 4 steps, 1 min'] as number) - (transitions['canary, 1 min bake'] as number),
  ).toBe(2 * 5);
  await takeAlerts(world);
}

// ------------------------------------------------------------------------------------------
// Before production traffic: test traffic on the test listener and a pre-traffic hook.
// moto runs Lambda code only inside Docker, so the hook's handler runs in this process, bound by
// its ARN in the workflow runner; the lambda:invoke task, its retries and its Catch are the
// synthesized ones.

export const HOOK_ARN = `arn:aws:lambda:${EMULATOR_REGION}:123456789012:function:rollout-hook-smoke`;

interface HookCall {
  payload: PreTrafficHookRequest;
  /** What the load balancer said while the hook ran. */
  test: Record<string, number>;
  production: Record<string, number>;
}

function recordingHook(
  world: RolloutWorld,
  answer: () => unknown,
): { calls: HookCall[]; hook: LambdaBinding } {
  const calls: HookCall[] = [];
  const hook: LambdaBinding = async (payload) => {
    calls.push({
      payload: payload as PreTrafficHookRequest,
      test: await testRouteWeights(world),
      production: await observedListenerWeights(world),
    });
    return answer();
  };
  return { calls, hook };
}

export async function preTrafficHookPasses(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  // As after a rollout that promoted green: the test rule forwards to what is now blue.
  await observerClient(ElasticLoadBalancingV2Client).send(
    new ModifyRuleCommand({
      RuleArn: world.testListener.ruleArn,
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: before.primary.targetGroup, Weight: 100 },
              { TargetGroupArn: before.idleTargetGroup, Weight: 0 },
            ],
          },
        },
      ],
    }),
  );
  const { calls, hook } = recordingHook(world, () => ({ status: 'SUCCEEDED', reason: 'smoke tests passed' }));
  const image = `registry.local/api:hooked-${world.throttleRate}`;
  const result = await runRollout(
    world.stack,
    input(image, { preTraffic: { testTraffic: true, hookFunctionArn: HOOK_ARN } }) as Record<string, unknown>,
    { ...quick(clock), lambdas: { [HOOK_ARN]: hook } },
  );
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  expect(calls).toHaveLength(1);
  const call = calls[0] as HookCall;
  // While the hook ran: the test listener sent everything to green, production nothing.
  expect(call.test).toEqual({ [before.primary.targetGroup]: 0, [before.idleTargetGroup]: 100 });
  expect(call.production).toEqual({ [before.primary.targetGroup]: 100, [before.idleTargetGroup]: 0 });
  expect(call.payload).toMatchObject({
    kind: 'pre-traffic',
    rollout: {
      id: result.executionName,
      execution: result.executionArn,
      cluster: CLUSTER,
      service: SERVICE,
      image,
    },
    green: { targetGroupArn: before.idleTargetGroup, taskSetArn: expect.stringMatching(/:task-set\//) },
    blue: { taskSetArn: before.primary.arn, targetGroupArn: before.primary.targetGroup },
    testTraffic: {
      endpoint: expect.stringMatching(/^http:\/\/.+:8080$/),
      listenerArn: world.testListener.listenerArn,
      routeArn: world.testListener.ruleArn,
    },
  });

  const journal = await journalOf(world, result);
  const actions = journal.map((r) => r.action);
  // Test traffic (read back), then the hook, then the first production shift.
  expect(actions.indexOf('test-traffic')).toBeLessThan(actions.indexOf('pre-traffic-hook'));
  expect(actions.indexOf('pre-traffic-hook')).toBeLessThan(actions.indexOf('shift-traffic'));
  const [tested, reset] = journal.filter((r) => r.action === 'test-traffic');
  expect(tested?.before).toEqual({ blue: 100, green: 0 });
  expect(tested?.after).toEqual({ blue: 0, green: 100 });
  // Once blue is retired the test listener goes to its group, idle now: where the next green goes.
  expect(reset?.after).toEqual({ blue: 100, green: 0 });
  expect(actions.indexOf('rollout-complete')).toBeGreaterThan(actions.lastIndexOf('test-traffic'));
  expect(await testRouteWeights(world)).toEqual({
    [before.primary.targetGroup]: 100,
    [before.idleTargetGroup]: 0,
  });
  const judged = journal.find((r) => r.action === 'pre-traffic-hook');
  expect(judged?.outcome).toBe('unchanged');
  expect(judged?.reason).toBe('pre-traffic hook rollout-hook-smoke passed: smoke tests passed');
  expect(shiftedWeights(journal)).toEqual([10, 100]);
  expect(
    result.states.slice(result.states.indexOf('Green ready?'), result.states.indexOf('Shift traffic')),
  ).toEqual([
    'Green ready?',
    'Pre-traffic checks',
    'Pre-traffic hook?',
    'Run pre-traffic hook',
    'Invoke pre-traffic hook',
    'Judge the answer',
    'Check pre-traffic hook',
    'Pre-traffic hook passed?',
    'Approval before traffic?',
  ]);
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}

export async function preTrafficHookFailureRollsBack(world: RolloutWorld) {
  const cases: [string, () => unknown, string][] = [
    [
      'answers FAILED',
      () => ({ status: 'FAILED', reason: 'login smoke test got 502' }),
      'pre-traffic hook rollout-hook-smoke failed: login smoke test got 502',
    ],
    [
      'throws (a function error)',
      () => {
        throw Object.assign(new Error('could not reach the test listener'), { name: 'SmokeTestError' });
      },
      'pre-traffic hook rollout-hook-smoke failed: SmokeTestError: could not reach the test listener',
    ],
    [
      'answers without a status',
      () => ({ ok: true }),
      'pre-traffic hook rollout-hook-smoke answered {"ok":true}; expected {"status": "SUCCEEDED"}',
    ],
    [
      // Over Step Functions' 256 KiB: States.ALL does not catch that, the workflow names it.
      'answers with more than 256 KiB',
      () => ({ status: 'SUCCEEDED', log: 'x'.repeat(300 * 1024) }),
      'pre-traffic hook rollout-hook-smoke failed: States.DataLimitExceeded',
    ],
    [
      // Under the task's limit, but over the state's once merged into it: the answer is judged
      // apart from the rollout's state, and only the bounded verdict joins it.
      'answers FAILED with a reason just under 256 KiB',
      () => ({ status: 'FAILED', reason: `login smoke test got 502 ${'x'.repeat(255 * 1024)}` }),
      'pre-traffic hook rollout-hook-smoke failed: login smoke test got 502 xxx',
    ],
  ];
  for (const [label, answer, reason] of cases) {
    const clock = scenarioClock();
    const before = await writeTraffic(world, clock, {});
    await takeAlerts(world);
    const { calls, hook } = recordingHook(world, answer);
    const result = await runRollout(
      world.stack,
      input(`registry.local/api:hook-fails-${world.throttleRate}`, {
        preTraffic: { testTraffic: true, hookFunctionArn: HOOK_ARN },
      }) as Record<string, unknown>,
      { ...quick(clock), lambdas: { [HOOK_ARN]: hook } },
    );
    expect(result.error, label).toBe('RolledBack');
    expect(result.cause, label).toContain(reason);
    expect(calls, label).toHaveLength(1);
    const journal = await journalOf(world, result);
    // No production traffic ever reached green.
    expect(shiftedWeights(journal), label).toEqual([]);
    expect(journal.find((r) => r.action === 'pre-traffic-hook')?.outcome, label).toBe('failed');
    expect(journal.map((r) => r.action).slice(-3), label).toEqual([
      'restore-blue',
      'remove-green',
      'rollout-rolled-back',
    ]);
    await expectSettled(world, clock, before.primary.image);
    expect((await serviceState(world)).primary.arn, label).toBe(before.primary.arn);
    // Like a failed analysis: one critical alert saying why.
    const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
    expect(
      critical.map((a) => a.kind),
      label,
    ).toEqual(['rollout-rolled-back']);
    expect(critical[0]?.title, label).toContain('(pre-traffic-hook)');
    expect(critical[0]?.summary, label).toContain(reason);
  }
}

// ------------------------------------------------------------------------------------------
// Spot storms pause a rollout instead of failing it: the storm is real, handled by the deployed
// spot-interruption function (it drains the instances and counts the interruptions per minute).

async function spotStorm(world: RolloutWorld, clock: VirtualClock, instances: number[]): Promise<string[]> {
  const spot = world.seed.containerInstances.filter((c) => c.spot);
  const hit = instances.map((i) => spot[i] as (typeof spot)[number]);
  // The warnings reach the function as EventBridge delivers them, on its queue, through Lambda's
  // event source: what the handler fails (or a batch it throws on, under faults) comes back.
  const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'spot-interruption');
  if (!mapping) throw new Error('the stack maps no queue to spot-interruption');
  await observerClient(SQSClient).send(
    new SendMessageBatchCommand({
      QueueUrl: mapping.queueUrl,
      Entries: hit.map((c, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify(sampleEvent('ec2-spot-instance-interruption-warning', c.ec2InstanceId)),
      })),
    }),
  );
  const fn = await localFunction(world.stack, 'spot-interruption', { clock });
  const delivered = await drainEventSource(mapping, (event) => fn.invoke(event));
  expect(delivered.delivered, delivered.errors.join('; ')).toBe(hit.length);
  return hit.map((c) => c.containerInstanceArn);
}

/** The storm is over: the drained instances serve again (the next scenarios need the room). */
async function afterTheStorm(containerInstances: string[]) {
  await awsClient(ECSClient).send(
    new UpdateContainerInstancesStateCommand({ cluster: CLUSTER, containerInstances, status: 'ACTIVE' }),
  );
}

const rolloutAlerts = async (world: RolloutWorld) =>
  (await takeAlerts(world))
    .filter((a) => a.kind.startsWith('rollout-'))
    .map((a) => `${a.severity}:${a.kind}:${a.state}`);

export async function spotStormPausesThenResumes(world: RolloutWorld) {
  const clock = scenarioClock();
  const t0 = clock.now();
  // Green's 5xx come with the storm: 12% in its first four minutes, healthy from then on.
  const before = await writeTraffic(world, clock, {
    next: (minute, at) =>
      at + 30_000 < t0 + 4 * 60_000 ? { requests: 1000, errors: 120, latencyMs: 50 } : healthy(minute),
  });
  const drained = await spotStorm(world, clock, [0, 1, 2]);
  await takeAlerts(world);
  try {
    const image = `registry.local/api:storm-resumes-${world.throttleRate}`;
    const started = clock.now();
    const result = await runRollout(world.stack, input(image) as Record<string, unknown>, quick(clock));
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');

    const journal = await journalOf(world, result);
    const actions = journal.map((r) => r.action);
    // The first bake would have failed; the rollout held 10%, baked again, and went on.
    expect(actions.filter((a) => a === 'spot-storm-pause')).toHaveLength(1);
    expect(shiftedWeights(journal)).toEqual([10, 100]);
    const pause = journal.find((r) => r.action === 'spot-storm-pause');
    // Most of the first bake fell into the storm's minutes (how many depends on the minute edges).
    expect(pause?.reason).toMatch(
      /green 5xx rate \d+\.\d\d% \(\d+ of \d+ requests\) is above its limit 1\.00%/,
    );
    expect(pause?.reason).toContain(
      'paused for a spot storm: 3 spot interruption(s) on cluster web in the last 10 min',
    );
    expect(pause?.details).toMatchObject({ holdSeconds: 300, storm: { interruptions: 3, storming: true } });
    const shiftAt = (weight: number) =>
      journal.findIndex(
        (r) => r.action === 'shift-traffic' && (r.after as { green: number }).green === weight,
      );
    const pauseAt = actions.indexOf('spot-storm-pause');
    const resumeAt = actions.indexOf('spot-storm-pause-ended');
    expect(shiftAt(10)).toBeLessThan(pauseAt);
    expect(pauseAt).toBeLessThan(resumeAt);
    expect(resumeAt).toBeLessThan(shiftAt(100));
    expect(journal[resumeAt]?.reason).toContain('step 1 at 10% is now pass');
    expect(result.states.filter((s) => s === 'Hold for the spot storm')).toHaveLength(1);
    // Virtual time: the bake, the hold (a second bake) and the termination wait.
    expect(clock.now() - started).toBeGreaterThanOrEqual((300 + 300 + 300) * 1000);
    expect((await record(world))?.verdicts.map((v) => v.verdict)).toEqual(['paused', 'pass', 'pass']);

    await expectSettled(world, clock, image);
    expect((await serviceState(world)).primary.targetGroup).toBe(before.idleTargetGroup);
    expect((await rolloutAlerts(world)).sort()).toEqual([
      'info:rollout-complete:resolved',
      'info:rollout-paused:resolved',
      'info:rollout-promoted:firing',
      'info:rollout-started:firing',
      'warning:rollout-paused:firing',
    ]);
  } finally {
    await afterTheStorm(drained);
  }
}

export async function spotStormPauseIsBounded(world: RolloutWorld) {
  const stormy = { enabled: true, minInterruptions: 3, windowMinutes: 60, maxPauseSeconds: 600 };
  const bad = () => ({ requests: 1000, errors: 120, latencyMs: 50 });

  // The storm lasts longer than the rollout may hold: after 600 s of holds the verdict stands.
  let clock = scenarioClock();
  let before = await writeTraffic(world, clock, { next: bad });
  const drained = await spotStorm(world, clock, [3, 4, 5]);
  await takeAlerts(world);
  try {
    const held = await runRollout(
      world.stack,
      input(`registry.local/api:storm-bounded-${world.throttleRate}`, { spotStorm: stormy }) as Record<
        string,
        unknown
      >,
      quick(clock),
    );
    expect(held.error).toBe('RolledBack');
    expect(held.cause).toContain('green 5xx rate 12.00%');
    expect(held.cause).toContain(
      'the rollout already held 600s of at most 600s for spot storms: the verdict stands',
    );
    const journal = await journalOf(world, held);
    expect(journal.filter((r) => r.action === 'spot-storm-pause')).toHaveLength(2);
    expect(shiftedWeights(journal)).toEqual([10]);
    expect(journal.find((r) => r.action === 'restore-blue')?.after).toEqual({ blue: 100, green: 0 });
    expect(held.states.filter((s) => s === 'Hold for the spot storm')).toHaveLength(2);
    await expectSettled(world, clock, before.primary.image);
    expect((await rolloutAlerts(world)).sort()).toEqual([
      'critical:rollout-rolled-back:firing',
      'info:rollout-paused:resolved',
      'info:rollout-started:firing',
      'warning:rollout-paused:firing',
    ]);

    // The same storm with spotStorm.enabled false: the failing verdict rolls back at once.
    // (The same instances, serving again; their episodes expired in the six hours between.)
    await afterTheStorm(drained);
    clock = scenarioClock();
    before = await writeTraffic(world, clock, { next: bad });
    await spotStorm(world, clock, [3, 4, 5]);
    const unheld = await runRollout(
      world.stack,
      input(`registry.local/api:storm-ignored-${world.throttleRate}`, {
        spotStorm: { ...stormy, enabled: false },
      }) as Record<string, unknown>,
      quick(clock),
    );
    expect(unheld.error).toBe('RolledBack');
    expect(unheld.states).not.toContain('Hold for the spot storm');
    expect((await journalOf(world, unheld)).filter((r) => r.action === 'spot-storm-pause')).toEqual([]);
    await expectSettled(world, clock, before.primary.image);
    await takeAlerts(world);
  } finally {
    await afterTheStorm(drained);
  }
}

// ------------------------------------------------------------------------------------------
// Safe by default: a rollout that names no analysis is still analysed, and none runs blind
// unless it says so.

/** Blue as the issue found it: 0.07% 5xx at 70 ms; green: half its requests fail, p95 2.7 s. */
const issueBlue = (minute: number): MinuteOfTraffic => ({
  requests: 905,
  errors: minute % 5 === 0 ? 1 : 0,
  latencyMs: 70,
});
const issueGreen = (): MinuteOfTraffic => ({ requests: 104, errors: 52, latencyMs: 2700 });

export async function readmeCommandRollsBackAFailingGreen(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, { live: issueBlue, next: issueGreen });
  await takeAlerts(world);
  // Exactly what `ops rollout --service api --image … --strategy canary:10:5m` starts.
  const draft = rolloutInputFromFlags(
    { service: SERVICE, image: `registry.local/api:readme-${world.throttleRate}`, strategy: 'canary:10:5m' },
    () => ({}),
  );
  expect(draft).not.toHaveProperty('analysis');
  const result = await runRollout(world.stack, draft as Record<string, unknown>, quick(clock));
  expect(result.error, `${result.status}: ${result.cause}`).toBe('RolledBack');
  expect(result.cause).toContain('green 5xx rate 50.00% (260 of 520 requests) is above its limit 1.00%');
  expect(result.cause).toContain('green p95 latency 2700 ms is above its limit 140 ms');

  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual([10]);
  const verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.verdict).toBe('fail');
  expect(verdict.limits).toMatchObject({ errorRate: 0.01, p95LatencyMs: 140 });
  expect(verdict.comparisons.map((c) => `${c.metric}:${c.verdict}`)).toEqual([
    'errorRate:fail',
    'latency:fail',
  ]);
  await expectSettled(world, clock, before.primary.image);

  const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
  expect(critical.map((a) => a.kind)).toEqual(['rollout-rolled-back']);
  // The verdict's numbers, green's and blue's, in the one critical alert.
  expect(critical[0]?.summary).toContain('green 5xx 50.00% (260 of 520 requests), p95 2700 ms');
  expect(critical[0]?.summary).toMatch(/blue 5xx 0\.\d\d% \(\d of 4525\), p95 70 ms/);
  return result;
}

export async function consoleInputGetsServiceDefaults(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const image = `registry.local/api:console-${world.throttleRate}`;
  // What an operator pastes in the console: the service and the image, nothing else.
  const result = await runRollout(world.stack, { service: SERVICE, image }, quick(clock));
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  const journal = await journalOf(world, result);
  const started = journal.find((r) => r.action === 'rollout-started');
  // config/rollouts/local.json: canary 10% for 5 minutes, a p95 ceiling of 1000 ms; the rest built in.
  expect(started?.details?.plan).toEqual([
    { weight: 10, bakeSeconds: 300 },
    { weight: 100, bakeSeconds: 0 },
  ]);
  expect(started?.details?.analysis).toMatchObject({
    enabled: true,
    maxP95LatencyMs: 1000,
    relativeLimits: { enabled: true },
    baseline: { enabled: true },
    noData: 'inconclusive',
  });
  expect(started?.reason).toContain('analysis on');
  const verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.verdict).toBe('pass');
  expect(verdict.limits?.basis).toContain('p95 ceiling 1000 ms');
  expect(verdict.comparisons.map((c) => c.verdict)).toEqual(['pass', 'pass']);
  // The plan in words is on the record, for --watch and the report.
  const r = await record(world);
  expect(r?.plan.blind).toBe(false);
  expect(r?.plan.analysis).toContain("green p95 latency at most max(50 ms, 2x blue's) and 1000 ms");
  // The window came from the service's defaults too (600 s, not the built-in 900 s).
  const final = result.output as {
    rollout: { rollbackWindowSeconds: number; terminationWaitSeconds: number };
  };
  expect(final.rollout).toMatchObject({ rollbackWindowSeconds: 600, terminationWaitSeconds: 300 });
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}

export async function blindRolloutIsLabelled(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, { live: issueBlue, next: issueGreen });
  await takeAlerts(world);
  const image = `registry.local/api:blind-${world.throttleRate}`;
  const draft = rolloutInputFromFlags(
    { service: SERVICE, image, strategy: 'canary:10:5m', 'no-analysis': true },
    () => ({}),
  );
  expect(draft.analysis).toEqual({ enabled: false });
  const result = await runRollout(world.stack, draft as Record<string, unknown>, quick(clock));
  // Asked for: the failing green is promoted, and everybody can see it ran blind.
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  const journal = await journalOf(world, result);
  expect(journal.find((r) => r.action === 'rollout-started')?.reason).toContain(
    'analysis OFF (a blind rollout)',
  );
  const off = journal.find((r) => r.action === 'analysis-off');
  expect(off?.reason).toMatch(
    /started \S+ blind \(analysis.enabled is false\): no metric of green is judged/,
  );
  const verdicts = journal
    .filter((r) => r.action === 'analyse-step')
    .map((r) => r.details?.verdict as Verdict);
  expect(verdicts.map((v) => v.verdict)).toEqual(['pass', 'pass']);
  expect(verdicts[0]?.reasons).toContain(
    'analysis is off (a blind rollout): no metric was judged, only alarms',
  );
  expect(verdicts[0]?.green).toBeUndefined();
  const r = await record(world);
  expect(r?.plan.blind).toBe(true);
  expect(r?.plan.analysis?.[0]).toBe(
    'analysis OFF: a blind rollout (analysis.enabled is false); only alarms are checked',
  );
  const alerts = await takeAlerts(world);
  const blind = alerts.filter((a) => a.kind === 'rollout-blind');
  expect(blind.map((a) => a.severity)).toEqual(['warning']);
  expect(blind[0]?.title).toContain('Blind rollout of web/api: analysis is off');
  // The report says so, in its banner, its facts and what the analysis judged.
  const data = await collectReport(
    { db: documentClient(), cloudwatch: awsClient(CloudWatchClient) },
    { journal: env(world).JOURNAL_TABLE as string, operations: env(world).OPERATIONS_TABLE as string },
    result.executionName,
  );
  expect(data.analysis.blind).toBe(true);
  const page = renderReport(data);
  expect(page).toContain('Blind rollout: analysis was switched off');
  expect(page).toContain('OFF: blind rollout');
  expect(page).toContain(
    'analysis OFF: a blind rollout (analysis.enabled is false); only alarms are checked',
  );
  await expectSettled(world, clock, image);
  return result;
}

export async function noDataIsNotAPass(world: RolloutWorld) {
  // Green gets no requests at all: by default a human decides; nobody answers, so it goes back.
  let clock = scenarioClock();
  const before = await writeTraffic(world, clock, {
    next: () => ({ requests: 0, errors: 0, latencyMs: 0 }),
  });
  const silent = await runRollout(
    world.stack,
    input(`registry.local/api:no-data-${world.throttleRate}`, { rollbackWindowSeconds: 0 }) as Record<
      string,
      unknown
    >,
    quick(clock),
  );
  expect(silent.error, `${silent.status}: ${silent.cause}`).toBe('RolledBack');
  expect(silent.states).toContain('Gate: inconclusive verdict');
  let journal = await journalOf(world, silent);
  let verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.verdict).toBe('inconclusive');
  expect(verdict.reasons.join('; ')).toContain(
    'green received no requests in the bake window: nothing to judge, so a human decides',
  );
  expect(journal.find((r) => r.action === 'gate-timed-out')?.reason).toContain('inconclusive gate: reject');
  await expectSettled(world, clock, before.primary.image);

  // noData: fail rolls back at once; noData: pass goes on, and says why.
  clock = scenarioClock();
  await writeTraffic(world, clock, { next: () => ({ requests: 0, errors: 0, latencyMs: 0 }) });
  const failed = await runRollout(
    world.stack,
    input(`registry.local/api:no-data-fail-${world.throttleRate}`, {
      analysis: { ...ANALYSIS, noData: 'fail' },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(failed.error).toBe('RolledBack');
  expect(failed.cause).toContain('nothing to judge, and analysis.noData is fail');
  expect(failed.states).not.toContain('Gate: inconclusive verdict');
  await expectSettled(world, clock, before.primary.image);

  clock = scenarioClock();
  await writeTraffic(world, clock, { next: () => ({ requests: 0, errors: 0, latencyMs: 0 }) });
  const image = `registry.local/api:no-data-pass-${world.throttleRate}`;
  const passed = await runRollout(
    world.stack,
    input(image, { analysis: { ...ANALYSIS, noData: 'pass' } }) as Record<string, unknown>,
    quick(clock),
  );
  expect(passed.status, `${passed.error}: ${passed.cause}`).toBe('SUCCEEDED');
  journal = await journalOf(world, passed);
  verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.reasons.join('; ')).toContain('passed because analysis.noData is pass');
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}
