// The tour's rollout and alarm acts (the spot act is in tour.ts): a canary that succeeds, a canary
// whose green version fails analysis and is rolled back, ECS's own canaries judged by the
// lifecycle hook, and an alarm that scales the service out and resolves. Each runs the synthesized workflows against the emulator through the same paths
// as on AWS, prints a live timeline (traffic bars, verdicts, waits) and returns its end state.
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { deploymentIdOf } from '../events/ecs-lifecycle-hook.ts';
import type { RemediationPlan } from '../events/remediation-input.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { effectivePlan } from '../functions/shared/rollouts/defaults.ts';
import { getRolloutRecord, type RolloutRecord } from '../functions/shared/rollouts/record.ts';
import { readWeights, type Weights } from '../functions/shared/rollouts/traffic.ts';
import { readJournal, takeAlerts, takeAlertsInOrder } from './control-plane.ts';
import type { DeployedStack } from './deploy.ts';
import {
  deployService,
  hookAnswerText,
  registerRevisionWithImage,
  servingGroups,
} from './ecs-deployment-stand-in.ts';
import { eventSources } from './event-sources.ts';
import {
  healthyTraffic,
  type MinuteOfTraffic,
  putTargetGroupMetrics,
  rolloutEnvironment,
  runRollout,
} from './rollouts.ts';
import type { Seed } from './seed.ts';
import { putEvents } from './spot-harness.ts';
import type { Timeline } from './timeline.ts';
import type { VirtualClock } from './virtual-clock.ts';
import { runStartedExecutions } from './workflows.ts';

export interface TourWorld {
  stack: DeployedStack;
  seed: Seed;
  clock: VirtualClock;
  tl: Timeline;
}

export interface RolloutActResult {
  executionName: string;
  status: string;
  error?: string;
  weights: Weights;
  verdicts: string[];
  alerts: { severity: string; subject: string }[];
}

export interface AlarmActResult {
  outcome?: string;
  from: number;
  to: number;
  resolvedDecision?: string;
  alerts: { severity: string; subject: string; state: string }[];
}

const HOUR = 3_600_000;
const CLUSTER = 'web';
const SERVICE = 'api';

const failing = (minute: number): MinuteOfTraffic => ({
  requests: 1000 + (minute % 7) * 13,
  errors: 120 + (minute % 4),
  latencyMs: 61 + (minute % 5),
});

/** Blue is the target group behind the primary task set; green is the other one of the listener. */
async function targetGroups(world: TourWorld): Promise<{ live: string; idle: string }> {
  const out = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }),
  );
  const primary = out.services?.[0]?.taskSets?.find((t) => t.status === 'PRIMARY');
  const live = primary?.loadBalancers?.[0]?.targetGroupArn as string;
  const { blueTargetGroupArn, greenTargetGroupArn } = world.seed.loadBalancer;
  return { live, idle: live === blueTargetGroupArn ? greenTargetGroupArn : blueTargetGroupArn };
}

async function writeTraffic(world: TourWorld, green: (minute: number) => MinuteOfTraffic): Promise<void> {
  // A fresh stretch of virtual time, so this act's datapoints never mix with an earlier act's.
  world.clock.advance(3 * HOUR);
  const { live, idle } = await targetGroups(world);
  const from = world.clock.now() - 2 * 60_000;
  const to = world.clock.now() + 2 * HOUR;
  const loadBalancerArn = world.seed.loadBalancer.arn;
  await putTargetGroupMetrics({ loadBalancerArn, targetGroupArn: live, from, to, traffic: healthyTraffic });
  await putTargetGroupMetrics({ loadBalancerArn, targetGroupArn: idle, from, to, traffic: green });
}

/** Prints what changed in the rollout's record: phase, traffic bar, verdicts. */
function recordPrinter(tl: Timeline) {
  let phase = '';
  let green = -1;
  let verdicts = 0;
  return (r: RolloutRecord) => {
    if (r.weights.green !== green) {
      green = r.weights.green;
      tl.step(`traffic  ${tl.bar('green', r.weights.green, 100, 20)}%  (blue ${r.weights.blue}%, read back)`);
    }
    for (const v of r.verdicts.slice(verdicts)) {
      tl.step(`analysis at ${v.weight}% green: ${v.verdict.toUpperCase()}`, v.reasons.join('\n'));
    }
    verdicts = r.verdicts.length;
    if (r.phase !== phase) {
      phase = r.phase;
      if (['baking', 'window', 'finalizing', 'reverting', 'finalized', 'rolled-back'].includes(phase))
        tl.note(`phase: ${phase}${phase === 'baking' ? ' (a bake is one Wait state, compressed here)' : ''}`);
    }
  };
}

async function rolloutAct(
  world: TourWorld,
  image: string,
  green: (minute: number) => MinuteOfTraffic,
): Promise<RolloutActResult> {
  const { stack, tl } = world;
  await writeTraffic(world, green);
  await takeAlerts(world.seed.alertQueues.critical);
  // No analysis spelled out: the service's defaults and the built-in ones judge every step.
  const input = {
    cluster: CLUSTER,
    service: SERVICE,
    image,
    strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
    rollbackWindowSeconds: 600,
    terminationWaitSeconds: 300,
    requestedBy: 'tour',
    // CI pushed the image a quarter of an hour before: lead time for changes counts from here.
    imagePushedAt: new Date(world.clock.now() - 15 * 60_000).toISOString(),
  };
  tl.step(
    `ops rollout --service ${SERVICE} --image ${image} --strategy canary:10:5m`,
    (effectivePlan(rolloutEnvironment(stack).MANAGED_SERVICES, input) ?? []).join('\n'),
  );
  let record: RolloutRecord | undefined;
  const print = recordPrinter(tl);
  const result = await runRollout(stack, input, {
    clock: world.clock,
    taskTokenTimeoutMs: 100,
    onRecord: (r) => {
      record = r;
      print(r);
    },
    pollMs: 10,
  });
  if (!record) throw new Error('the rollout wrote no record');
  const weights = await readWeights(awsClient(ElasticLoadBalancingV2Client), record.topology);
  tl.step(
    `${result.executionName}: ${result.status}${result.error ? ` (${result.error})` : ''} after ${result.transitions} state transitions`,
  );
  tl.note(tl.bar('green', weights.green, 100, 20));
  await eventSources(stack).run();
  const alerts = await takeAlertsInOrder(world.seed.alertQueues);
  for (const a of alerts) tl.step(`alert ${a.subject}`);
  return {
    executionName: result.executionName,
    status: result.status,
    ...(result.error ? { error: result.error } : {}),
    weights,
    verdicts: record.verdicts.map((v) => v.verdict),
    alerts: alerts.map((a) => ({ severity: a.severity, subject: a.subject })),
  };
}

export async function canaryThatSucceeds(world: TourWorld): Promise<RolloutActResult> {
  world.tl.act('A canary rollout that succeeds: 10% for five minutes, analysed against blue, then 100%');
  const result = await rolloutAct(world, 'registry.local/api:2.1.0', healthyTraffic);
  world.tl.note('check: ops journal (every shift with its read-back, every verdict), ops report <execution>');
  return result;
}

export async function canaryThatRollsBack(world: TourWorld): Promise<RolloutActResult> {
  world.tl.act('A canary whose green version answers 12% 5xx: analysis fails, traffic goes back to blue');
  const result = await rolloutAct(world, 'registry.local/api:2.2.0-bad', failing);
  world.tl.note("check: the critical alert carries the verdict's numbers; ops status shows no lock left");
  return result;
}

export interface EcsActResult {
  /** How ECS ended each deployment: the healthy one, then the one with 12% 5xx. */
  statuses: string[];
  /** The hook's answers to the failing deployment, stage@green weight:answer. */
  failingAnswers: string[];
  verdicts: string[];
  alerts: { severity: string; subject: string }[];
}

/**
 * ECS deploys web/shop itself (a canary), and the control plane's lifecycle hook judges each
 * step: a healthy version is promoted, one whose green answers 12% 5xx is answered FAILED at the
 * canary and ECS rolls it back. ECS's part is played by the stand-in; the hook runs as deployed.
 */
export async function ecsDeploymentsJudgedByTheHook(world: TourWorld): Promise<EcsActResult> {
  const { stack, tl, clock } = world;
  const shop = world.seed.shop;
  if (!shop) throw new Error('the seeded world has no service ECS deploys');
  tl.act('ECS deploys web/shop itself (canary 10%, 5 minutes); the lifecycle hook judges each step');
  const ecs = awsClient(ECSClient);
  const table = rolloutEnvironment(stack).OPERATIONS_TABLE as string;
  const statuses: string[] = [];
  let failingAnswers: string[] = [];
  const verdicts: string[] = [];
  for (const [image, green] of [
    ['registry.local/shop:2.0.0', healthyTraffic],
    ['registry.local/shop:2.1.0-bad', failing],
  ] as const) {
    clock.advance(3 * HOUR);
    const { blue: live, green: idle } = await servingGroups(shop.productionRuleArn, [
      shop.targetGroups.a,
      shop.targetGroups.b,
    ]);
    const from = clock.now() - 2 * 60_000;
    const to = clock.now() + 2 * HOUR;
    const loadBalancerArn = world.seed.loadBalancer.arn;
    await putTargetGroupMetrics({ loadBalancerArn, targetGroupArn: live, from, to, traffic: healthyTraffic });
    await putTargetGroupMetrics({ loadBalancerArn, targetGroupArn: idle, from, to, traffic: green });
    await takeAlerts(world.seed.alertQueues.critical);
    const taskDefinition = await registerRevisionWithImage(ecs, CLUSTER, shop.name, image);
    tl.step(
      `aws ecs update-service --service ${shop.name} --task-definition ${taskDefinition.split('/').pop()}`,
    );
    let seen = 0;
    const result = await deployService({
      stack,
      clock,
      cluster: CLUSTER,
      service: shop.name,
      taskDefinition,
      afterHookCall: async (call) => {
        tl.step(
          `ECS ${call.stage.padEnd(29)} green ${String(call.productionWeight).padStart(3)}%  hook: ${hookAnswerText(call)}`,
        );
        const record = await getRolloutRecord(documentClient(), table, CLUSTER, shop.name);
        for (const v of record?.verdicts.slice(seen) ?? [])
          tl.step(`analysis at ${v.weight}% green: ${v.verdict.toUpperCase()}`, v.reasons.join('\n'));
        seen = record?.verdicts.length ?? seen;
      },
    });
    statuses.push(result.status);
    const record = await getRolloutRecord(documentClient(), table, CLUSTER, shop.name);
    verdicts.push(...(record?.verdicts.map((v) => v.verdict) ?? []));
    if (green === failing)
      failingAnswers = result.calls.map(
        (c) => `${c.stage}@${c.productionWeight}:${'error' in c.answer ? 'error' : c.answer.hookStatus}`,
      );
    tl.step(
      `deployment ${deploymentIdOf(result.deploymentArn)}: ${result.status}${result.reason ? ` (${result.reason})` : ''}`,
    );
  }
  await eventSources(stack).run();
  const alerts = await takeAlertsInOrder(world.seed.alertQueues);
  for (const a of alerts) tl.step(`alert ${a.subject}`);
  tl.note('check: ops journal (the hook journals every stage, verdict and answer), ops report web/shop');
  return {
    statuses,
    failingAnswers,
    verdicts,
    alerts: alerts.map((a) => ({ severity: a.severity, subject: a.subject })),
  };
}

export async function alarmScalesOutAndResolves(world: TourWorld): Promise<AlarmActResult> {
  const { stack, tl, clock } = world;
  tl.act('An alarm that triggers a scale-out, and resolves');
  const alarm = 'web-api-cpu-high';
  const cloudwatch = awsClient(CloudWatchClient);
  // The seeded world has the service's CPU alarm (local/seed.ts putServiceAlarms).
  clock.advance(3 * HOUR);
  const setAlarm = (value: 'OK' | 'ALARM', reason: string) =>
    cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: value, StateReason: reason }));
  const event = (value: 'OK' | 'ALARM', previous: 'OK' | 'ALARM', reason: string) => ({
    version: '0',
    id: `tour-${value}-${clock.now()}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    time: new Date(clock.now()).toISOString(),
    region: stack.region,
    resources: [`arn:aws:cloudwatch:${stack.region}:${stack.accountId}:alarm:${alarm}`],
    detail: {
      alarmName: alarm,
      state: { value, reason, timestamp: new Date(clock.now()).toISOString() },
      previousState: {
        value: previous,
        reason: '',
        timestamp: new Date(clock.now() - 600_000).toISOString(),
      },
    },
  });
  const desired = async () =>
    (await awsClient(ECSClient).send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] })))
      .services?.[0]?.desiredCount ?? 0;
  const from = await desired();
  const seen = new Set<string>();
  await takeAlerts(world.seed.alertQueues.warning);

  await setAlarm('ALARM', 'Threshold Crossed: 1 datapoint [93.1] was greater than the threshold (80.0)');
  await putEvents([event('ALARM', 'OK', 'CPU 93% > 80%')]);
  tl.step(`CloudWatch: ${alarm} OK -> ALARM (CPU 93% > 80%) -> EventBridge -> remediation queue`);
  await eventSources(stack).run({ waitForDelayed: false });
  const [run] = await runStartedExecutions(stack, 'remediate-alarm', seen, {
    clock,
    // CloudWatch, played here: CPU settles once the new tasks take their share of the load.
    beforeLambda: async (fn, e) => {
      if (fn !== 'remediate-step' || (e as { action?: string }).action !== 'verify') return;
      if ((await desired()) > from)
        await setAlarm('OK', 'Threshold Crossed: 1 datapoint [54.0] was not greater than 80.0');
    },
  });
  const plan = run?.output as RemediationPlan | undefined;
  tl.step(
    `remediate-alarm ${run?.executionName}: ${run?.status}`,
    (plan?.explanation ?? [run?.cause ?? '']).join('\n'),
  );
  const to = await desired();
  tl.note(tl.bar('tasks', to, 12, 20));

  await setAlarm('OK', 'CPU back under 80%');
  await putEvents([event('OK', 'ALARM', 'CPU back under 80%')]);
  await eventSources(stack).run({ waitForDelayed: false });
  const [ok] = await runStartedExecutions(stack, 'remediate-alarm', seen, { clock });
  const okPlan = ok?.output as RemediationPlan | undefined;
  tl.step(`${alarm} ALARM -> OK: ${okPlan?.summary ?? ok?.status}`);
  await eventSources(stack).run();
  const { warning, info } = world.seed.alertQueues;
  const alerts = await takeAlertsInOrder({ warning, info });
  for (const a of alerts) tl.step(`alert ${a.subject}`);
  const journal = (await readJournal(stack.outputs.JournalTableName as string)).filter(
    (r) => r.actor === run?.executionArn,
  );
  tl.note(`journal: ${journal.map((r) => r.action).join(' -> ')}`);
  tl.note(
    'check: ops journal, ops status; ops remediate --alarm web-api-cpu-high --dry-run shows what it would do now',
  );
  return {
    ...(plan?.outcome ? { outcome: plan.outcome } : {}),
    from,
    to,
    ...(okPlan?.decision ? { resolvedDecision: okPlan.decision } : {}),
    alerts: alerts.map((a) => ({
      severity: a.severity,
      subject: a.subject,
      state: a.attributes.state ?? '',
    })),
  };
}
