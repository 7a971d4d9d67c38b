// ECS-controlled deployments judged by the deployment hook: ECS's part played by the stand-in
// (local/ecs-deployment-stand-in.ts), the hook deployed from the synthesized template and
// invoked as its invoke role, every call it makes evaluated against its own role. Each answer
// path: a canary that passes, one whose green answers 12% 5xx (FAILED, with the verdict's
// numbers identical to the task-set controller's analysis of the same metrics), gates answered,
// rejected and timed out, an inconclusive bake (and its approval followed by the approval gate),
// listener drift and a rule that only lags, an abort, a rollback ECS starts itself, a canary of
// 12.5%, a service's first deployment, a role that cannot invoke the hook, a payload naming an
// unknown service, and a repeated call after the answer.

import {
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DeregisterTargetsCommand,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../cli/doctor/command.ts';
import { ANALYSED_HOOK_STAGES, type HookStage } from '../../events/ecs-lifecycle-hook.ts';
import type { AnalysisDraft, RolloutDefaults } from '../../events/rollout-input.ts';
import type { RolloutState, Verdict } from '../../events/rollout-state.ts';
import type { Alert } from '../../functions/shared/alerts.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { abortRollout, answerGate } from '../../functions/shared/rollouts/operator.ts';
import { getRolloutRecord, type RolloutRecord } from '../../functions/shared/rollouts/record.ts';
import {
  acquireServiceLock,
  releaseServiceLock,
  serviceLockHolder,
} from '../../functions/shared/service-lock.ts';
import { describeTaskDefinition, registerWithImage } from '../../functions/shared/task-definitions.ts';
import { parseControlPlaneOnlyConfig } from '../../infra/control-plane-only-config.ts';
import { readJournal } from '../../local/control-plane.ts';
import {
  type EcsDeployment,
  type EcsDeploymentResult,
  type EcsStrategy,
  runEcsDeployment,
} from '../../local/ecs-deployment-stand-in.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { observerClient } from '../../local/observer.ts';
import {
  healthyTraffic,
  localOperatorDeps,
  type MinuteOfTraffic,
  putTargetGroupMetrics,
  takeRaisedAlerts,
} from '../../local/rollouts.ts';
import { allTrafficToBlue } from '../../local/seed.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { ESTATE_CONFIG, SHOP, SHOP_ALARM, useEcsHookWorld } from './ecs-hook-world.ts';

const world = useEcsHookWorld();
const HOUR = 3_600_000;

const ANALYSIS: AnalysisDraft = {
  alarms: [SHOP_ALARM],
  maxErrorRate: 0.02,
  maxP95LatencyMs: 400,
  baseline: { enabled: true, confidence: 0.95, minSamples: 5 },
};
const CANARY: EcsStrategy = { type: 'CANARY', canaryPercent: 10, canaryBakeMinutes: 5 };

let slot = 0;
/** Each scenario lives hours after the previous one: its metrics never fall in another's window. */
function scenarioClock(): VirtualClock {
  const clock = new VirtualClock();
  clock.advance(++slot * 6 * HOUR);
  return clock;
}

const hookEnv = () => world.stack.functions['deployment-hook']?.environment as Record<string, string>;

/** Which target group serves production now (the production rule's 100): ECS swaps them per deployment. */
async function targets(): Promise<{ blue: string; green: string }> {
  const out = await observerClient(ElasticLoadBalancingV2Client).send(
    new DescribeRulesCommand({ RuleArns: [world.shop.productionRuleArn] }),
  );
  const groups = out.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  const blue = groups.find((g) => g.Weight === 100)?.TargetGroupArn;
  const green = groups.find((g) => g.Weight === 0)?.TargetGroupArn;
  if (!blue || !green) throw new Error(`the production rule is not 100/0: ${JSON.stringify(groups)}`);
  return { blue, green };
}

async function productionGreenWeight(green: string): Promise<number> {
  const out = await observerClient(ElasticLoadBalancingV2Client).send(
    new DescribeRulesCommand({ RuleArns: [world.shop.productionRuleArn] }),
  );
  const groups = out.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return groups.find((g) => g.TargetGroupArn === green)?.Weight ?? -1;
}

async function writeTraffic(
  clock: VirtualClock,
  groups: { blue: string; green: string },
  profiles: { blue?: (m: number) => MinuteOfTraffic; green?: ((m: number) => MinuteOfTraffic) | null },
) {
  const from = clock.now() - 2 * 60_000;
  const to = clock.now() + 2 * HOUR;
  for (const [targetGroupArn, traffic] of [
    [groups.blue, profiles.blue ?? healthyTraffic],
    [groups.green, profiles.green === null ? null : (profiles.green ?? healthyTraffic)],
  ] as const)
    if (traffic)
      await putTargetGroupMetrics({
        loadBalancerArn: world.shop.loadBalancerArn,
        targetGroupArn,
        from,
        to,
        traffic,
      });
}

let revision = 1;
async function deploy(
  clock: VirtualClock,
  opts: {
    defaults?: RolloutDefaults;
    strategy?: EcsStrategy;
    details?: Record<string, unknown>;
    roleArn?: string;
    beforeHookCall?: (stage: HookStage, call: number) => Promise<void>;
    ecsRollsBackAt?: EcsDeployment['ecsRollsBackAt'];
    ruleLagsFirstCall?: boolean;
  } = {},
): Promise<{ result: EcsDeploymentResult; groups: { blue: string; green: string } }> {
  world.setShopDefaults(opts.defaults ?? { analysis: ANALYSIS });
  const groups = await targets();
  revision++;
  const base = world.shop.revisions.blue.replace(/\/\d+$/, '');
  const result = await runEcsDeployment({
    stack: world.stack,
    clock,
    cluster: SHOP.cluster,
    service: SHOP.service,
    revisions: { blue: `${base}/${revision - 1}`, green: `${base}/${revision}` },
    targetGroups: groups,
    productionRuleArn: world.shop.productionRuleArn,
    testRuleArn: world.shop.testRuleArn,
    strategy: opts.strategy ?? CANARY,
    bakeTimeMinutes: 5,
    hook: {
      functionArn: world.hook.functionArn,
      roleArn: opts.roleArn ?? world.hook.roleArn,
      stages: ANALYSED_HOOK_STAGES,
      details: opts.details ?? { bakeSeconds: 300 },
    },
    ...(opts.beforeHookCall ? { beforeHookCall: opts.beforeHookCall } : {}),
    ...(opts.ecsRollsBackAt ? { ecsRollsBackAt: opts.ecsRollsBackAt } : {}),
    ...(opts.ruleLagsFirstCall ? { ruleLagsFirstCall: true } : {}),
  });
  return { result, groups };
}

const record = (): Promise<RolloutRecord | undefined> =>
  getRolloutRecord(documentClient(), hookEnv().OPERATIONS_TABLE as string, SHOP.cluster, SHOP.service);

async function journalOf(deploymentArn: string): Promise<JournalRecord[]> {
  const all = await readJournal(hookEnv().JOURNAL_TABLE as string);
  return all.filter((r) => r.details?.execution === deploymentArn);
}

/** The verdict journaled for the bake at green's `weight`. */
function verdictAt(journal: JournalRecord[], weight: number): Verdict {
  const found = journal
    .filter((r) => r.action === 'analyse-step')
    .map((r) => r.details?.verdict as Verdict)
    .find((v) => v.weight === weight);
  if (!found) throw new Error(`no verdict at ${weight}%`);
  return found;
}

/** Why the deployment was told FAILED, as journaled. */
function stopOf(journal: JournalRecord[]): { cause: string; reason: string } {
  const stop = journal.find((r) => r.action === 'rollout-rolled-back')?.details?.stop;
  if (!stop) throw new Error('no rollout-rolled-back record');
  return stop as { cause: string; reason: string };
}

const takeAlerts = (): Promise<Alert[]> => takeRaisedAlerts(hookEnv().ALERT_QUEUE_URL as string);

const answers = (result: EcsDeploymentResult) =>
  result.calls.map(
    (c) => `${c.stage}@${c.productionWeight}:${'error' in c.answer ? 'error' : c.answer.hookStatus}`,
  );

const lockHolder = (clock: VirtualClock) =>
  serviceLockHolder(documentClient(), hookEnv().LOCKS_TABLE as string, clock, SHOP.cluster, SHOP.service);

/** Twelve in every hundred requests fail. */
const failing = (minute: number): MinuteOfTraffic => ({
  ...healthyTraffic(minute),
  errors: Math.round(healthyTraffic(minute).requests * 0.12),
});

describe('ECS deployments judged by the lifecycle hook', () => {
  it('is ready by ops doctor: the service has the ECS deployment controller the config says, and both routes', async () => {
    const findings = await runDoctor(parseControlPlaneOnlyConfig(ESTATE_CONFIG), []);
    const shop = findings.filter((f) => f.subject === 'service web/shop');
    expect(shop.filter((f) => !f.ok).map((f) => f.says)).toEqual([]);
    expect(shop.find((f) => f.check === 'deployment controller')?.says).toBe(
      'ECS: ECS deploys it, and the deployment hook judges each deployment',
    );
    // Told it is task-set deployed, the same service fails, naming the key to correct.
    const wrong = structuredClone(ESTATE_CONFIG);
    (wrong.services[1] as { deploymentController: string }).deploymentController = 'external';
    const refused = (await runDoctor(parseControlPlaneOnlyConfig(wrong), [])).find(
      (f) => f.subject === 'service web/shop' && f.check === 'deployment controller',
    );
    expect(refused?.ok).toBe(false);
    expect(refused?.fix).toContain('services.1.deploymentController');
  });

  it('passes a healthy canary: each bake waited out in one callback, analysed against blue, promoted', async () => {
    const clock = scenarioClock();
    await takeAlerts();
    const before = await targets();
    await writeTraffic(clock, before, {});
    const { result, groups } = await deploy(clock);
    expect(result.status, result.reason).toBe('SUCCESSFUL');
    expect(answers(result)).toEqual([
      'POST_SCALE_UP@0:SUCCEEDED',
      'POST_TEST_TRAFFIC_SHIFT@0:SUCCEEDED',
      'PRODUCTION_TRAFFIC_SHIFT@10:IN_PROGRESS',
      'PRODUCTION_TRAFFIC_SHIFT@10:SUCCEEDED',
      'PRODUCTION_TRAFFIC_SHIFT@100:SUCCEEDED',
      'POST_PRODUCTION_TRAFFIC_SHIFT@100:IN_PROGRESS',
      'POST_PRODUCTION_TRAFFIC_SHIFT@100:SUCCEEDED',
    ]);
    // A bake is one callback: its delay is the bake.
    const waits = result.calls.filter((c) => !('error' in c.answer) && c.answer.hookStatus === 'IN_PROGRESS');
    expect(waits.map((c) => ('error' in c.answer ? 0 : c.answer.callBackDelay))).toEqual([300, 300]);
    expect(await productionGreenWeight(groups.green)).toBe(100);

    const journal = await journalOf(result.deploymentArn);
    const verdicts = journal
      .filter((r) => r.action === 'analyse-step')
      .map((r) => r.details?.verdict as Verdict);
    expect(verdicts.map((v) => `${v.weight}:${v.verdict}`)).toEqual(['0:pass', '10:pass', '100:pass']);
    // At 10% green was compared with blue on both metrics, over a window of the whole bake.
    const canary = verdicts[1] as Verdict;
    expect(canary.comparisons.map((c) => `${c.metric}:${c.verdict}`)).toEqual([
      'errorRate:pass',
      'latency:pass',
    ]);
    const window = Date.parse(canary.window.end) - Date.parse(canary.window.start);
    expect(window).toBeGreaterThanOrEqual(300_000);
    expect(window).toBeLessThan(305_000);
    expect(canary.alarms).toEqual([{ name: SHOP_ALARM, state: 'OK' }]);
    expect(journal.map((r) => r.action)).toEqual(
      expect.arrayContaining(['rollout-started', 'promote', 'rollout-complete']),
    );
    expect(
      journal.every((r) => r.actor === `ecs-deployment-hook/${result.deploymentArn.split('/').pop()}`),
    ).toBe(true);

    const r = await record();
    expect(r?.controller).toBe('ecs');
    expect(r?.phase).toBe('finalized');
    expect(r?.topology.greenTargetGroupArn).toBe(groups.green);
    expect(await lockHolder(clock)).toBeUndefined();
    const alerts = await takeAlerts();
    expect(alerts.map((a) => `${a.severity}:${a.kind}`).sort()).toEqual([
      'info:rollout-complete',
      'info:rollout-started',
    ]);
  });

  it('answers FAILED on a green with 12% 5xx, with the numbers the task-set controller’s analysis gives on the same metrics', async () => {
    const clock = scenarioClock();
    await takeAlerts();
    const before = await targets();
    await writeTraffic(clock, before, { green: failing });
    const { result, groups } = await deploy(clock);
    expect(result.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(result.reason).toBe('lifecycle hook at PRODUCTION_TRAFFIC_SHIFT answered FAILED');
    expect(answers(result)).toEqual([
      'POST_SCALE_UP@0:SUCCEEDED',
      'POST_TEST_TRAFFIC_SHIFT@0:SUCCEEDED',
      'PRODUCTION_TRAFFIC_SHIFT@10:IN_PROGRESS',
      'PRODUCTION_TRAFFIC_SHIFT@10:FAILED',
      // ECS's rollback calls the hook again with green at 0: never held.
      'PRODUCTION_TRAFFIC_SHIFT@0:SUCCEEDED',
    ]);
    expect(await productionGreenWeight(groups.green)).toBe(0);
    const journal = await journalOf(result.deploymentArn);
    const verdict = verdictAt(journal, 10);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.green?.errorRate).toBeGreaterThan(0.11);
    expect(stopOf(journal).cause).toBe('analysis');
    const alerts = await takeAlerts();
    const critical = alerts.filter((a) => a.severity === 'critical');
    expect(critical.map((a) => a.kind)).toEqual(['rollout-rolled-back']);
    expect(critical[0]?.summary).toContain('green 5xx 12.');
    expect((await record())?.phase).toBe('rolled-back');
    expect(await lockHolder(clock)).toBeUndefined();

    // The task-set controller's analysis step (the deployed rollout-analysis function) on the
    // same target groups and window gives the same numbers.
    const analysisClock = new VirtualClock(Date.parse(verdict.window.end) - Date.now());
    const analysis = await localFunction(world.stack, 'rollout-analysis', { clock: analysisClock });
    const state = taskSetState(verdict, groups);
    const judged = (await analysis.invoke({ action: 'analyse', state })) as RolloutState;
    const { step: _a, at: _b, ...theirs } = judged.verdict as Verdict;
    const { step: _c, at: _d, ...ours } = verdict;
    expect(theirs.window.start).toBe(ours.window.start);
    expect(Math.abs(Date.parse(theirs.window.end) - Date.parse(ours.window.end))).toBeLessThan(1000);
    expect({ ...theirs, window: undefined }).toEqual({ ...ours, window: undefined });
  });

  it('waits at a before-finalize gate until ops approve, taking the answer at its next call', async () => {
    const clock = scenarioClock();
    await takeAlerts();
    await writeTraffic(clock, await targets(), {});
    const deps = localOperatorDeps(world.stack, clock);
    let approved = false;
    const { result } = await deploy(clock, {
      defaults: { analysis: ANALYSIS, approval: { gate: 'before-finalize', timeoutSeconds: 3600 } },
      beforeHookCall: async () => {
        const r = await record();
        if (!approved && r?.phase === 'gate') {
          await answerGate(deps, r.executionName, 'approve', 'alice');
          approved = true;
        }
      },
    });
    expect(result.status, result.reason).toBe('SUCCESSFUL');
    expect(approved).toBe(true);
    const gateCalls = answers(result).filter((a) => a.startsWith('POST_PRODUCTION'));
    expect(gateCalls).toEqual([
      'POST_PRODUCTION_TRAFFIC_SHIFT@100:IN_PROGRESS',
      'POST_PRODUCTION_TRAFFIC_SHIFT@100:IN_PROGRESS',
      'POST_PRODUCTION_TRAFFIC_SHIFT@100:SUCCEEDED',
    ]);
    const journal = await journalOf(result.deploymentArn);
    expect(journal.find((r) => r.action === 'gate-answered')?.reason).toBe(
      'before-finalize gate: approve by alice',
    );
    const alerts = await takeAlerts();
    expect(alerts.filter((a) => a.kind === 'rollout-approval')[0]?.nextSteps[0]).toContain('ops approve');
  });

  it('answers FAILED on a rejected gate, and on a gate nobody answers once it times out into its default', async () => {
    const clock = scenarioClock();
    await writeTraffic(clock, await targets(), {});
    const deps = localOperatorDeps(world.stack, clock);
    const rejected = await deploy(clock, {
      defaults: { analysis: ANALYSIS, approval: 'before-traffic' },
      beforeHookCall: async () => {
        const r = await record();
        if (r?.phase === 'gate' && !r.answer)
          await answerGate(deps, r.executionName, 'reject', 'bob', 'not today');
      },
    });
    expect(rejected.result.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(answers(rejected.result).at(-2)).toBe('POST_TEST_TRAFFIC_SHIFT@0:FAILED');
    let journal = await journalOf(rejected.result.deploymentArn);
    expect(stopOf(journal).cause).toBe('approval-rejected');

    const timedOut = await deploy(clock, {
      defaults: {
        analysis: ANALYSIS,
        approval: { gate: 'before-finalize', timeoutSeconds: 600, defaultAction: 'reject' },
      },
    });
    expect(timedOut.result.status).toBe('ROLLBACK_SUCCESSFUL');
    // Polled once a minute for ten minutes, then the default.
    const polls = answers(timedOut.result).filter(
      (a) => a === 'POST_PRODUCTION_TRAFFIC_SHIFT@100:IN_PROGRESS',
    );
    expect(polls.length).toBe(11);
    journal = await journalOf(timedOut.result.deploymentArn);
    expect(journal.map((r) => r.action)).toContain('gate-timed-out');
    expect(stopOf(journal).cause).toBe('approval-timeout');
    await takeAlerts();
  });

  it('holds an inconclusive bake (no green requests) at a gate, whose default then rolls back', async () => {
    const clock = scenarioClock();
    await writeTraffic(clock, await targets(), { green: null });
    const { result } = await deploy(clock, {
      defaults: { analysis: { ...ANALYSIS, inconclusive: { timeoutSeconds: 120 } } },
    });
    expect(result.status).toBe('ROLLBACK_SUCCESSFUL');
    const journal = await journalOf(result.deploymentArn);
    expect(journal.find((r) => r.action === 'open-gate')?.reason).toMatch(
      /^inconclusive gate at PRODUCTION_TRAFFIC_SHIFT/,
    );
    const verdict = verdictAt(journal, 10);
    expect(verdict.verdict).toBe('inconclusive');
    expect(verdict.reasons.join(' ')).toContain('green received no requests');
    await takeAlerts();
  });

  it('answers FAILED when the production rule does not carry what the stage should have left (a stack update reset it)', async () => {
    const clock = scenarioClock();
    const groups = await targets();
    await writeTraffic(clock, groups, {});
    const { result } = await deploy(clock, {
      beforeHookCall: async (stage, call) => {
        if (stage !== 'POST_PRODUCTION_TRAFFIC_SHIFT' || call > 0) return;
        await observerClient(ElasticLoadBalancingV2Client).send(
          new ModifyRuleCommand({
            RuleArn: world.shop.productionRuleArn,
            Actions: allTrafficToBlue(groups.blue, groups.green),
          }),
        );
      },
    });
    expect(result.status).toBe('ROLLBACK_SUCCESSFUL');
    const journal = await journalOf(result.deploymentArn);
    const stop = journal.find((r) => r.action === 'rollout-rolled-back')?.details?.stop as {
      cause: string;
      reason: string;
    };
    expect(stop.cause).toBe('listener-drift');
    expect(stop.reason).toContain(
      'the production rule reads blue 100% / green 0% where POST_PRODUCTION_TRAFFIC_SHIFT should have left green at 100%',
    );
    await takeAlerts();
  });

  it('answers FAILED at its next call after ops abort, without touching the weights ECS owns', async () => {
    const clock = scenarioClock();
    const groups = await targets();
    await writeTraffic(clock, groups, {});
    const deps = localOperatorDeps(world.stack, clock);
    let message = '';
    const { result } = await deploy(clock, {
      beforeHookCall: async (stage, call) => {
        if (stage !== 'PRODUCTION_TRAFFIC_SHIFT' || call !== 1 || message) return;
        const r = await record();
        message = (await abortRollout(deps, r?.executionName ?? '', 'carol', 'wrong build')).message;
        // The abort left ECS's 10% where it was.
        expect(await productionGreenWeight(groups.green)).toBe(10);
      },
    });
    expect(message).toContain('answers FAILED at its next call');
    expect(result.status).toBe('ROLLBACK_SUCCESSFUL');
    expect(answers(result).at(-2)).toBe('PRODUCTION_TRAFFIC_SHIFT@10:FAILED');
    const journal = await journalOf(result.deploymentArn);
    expect(journal.find((r) => r.action === 'rollout-rolled-back')?.reason).toContain(
      'aborted by carol: wrong build',
    );
    await takeAlerts();
  });

  it('fails the deployment when its hook role may not invoke the hook, as ECS does', async () => {
    const clock = scenarioClock();
    await writeTraffic(clock, await targets(), {});
    const otherRole = Object.keys(world.stack.iam.callers).find(
      (arn) => arn.includes(':role/') && arn !== world.hook.roleArn,
    ) as string;
    const before = (await readJournal(hookEnv().JOURNAL_TABLE as string)).length;
    const { result } = await deploy(clock, { roleArn: otherRole });
    expect(result.status).toBe('ROLLBACK_FAILED');
    expect(result.reason).toMatch(
      /lifecycle hook at POST_SCALE_UP failed: AccessDeniedException: .*lambda:InvokeFunction/,
    );
    expect((await readJournal(hookEnv().JOURNAL_TABLE as string)).length).toBe(before);
  });

  it('rejects a payload for a service it does not judge, naming the field and changing nothing', async () => {
    const hook = await localFunction(world.stack, 'deployment-hook', { freshInstance: true });
    const before = await record();
    const journal = (await readJournal(hookEnv().JOURNAL_TABLE as string)).length;
    await expect(
      hook.invoke({
        executionId: 'x',
        lifecycleStage: 'POST_SCALE_UP',
        resourceArn: 'arn:aws:ecs:us-east-1:123456789012:service-deployment/web/api/abc',
        executionDetails: {
          serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/web/api',
          targetServiceRevisionArn: 'arn:aws:ecs:us-east-1:123456789012:service-revision/web/api/2',
          testTrafficWeights: {},
          productionTrafficWeights: {},
        },
      }),
    ).rejects.toThrow(
      /executionDetails\.serviceArn: is not a service whose ECS deployments this hook judges \(web\/shop\)/,
    );
    await expect(hook.invoke({ lifecycleStage: 'BAKE_TIME' })).rejects.toThrow(/executionId|lifecycleStage/);
    expect(await record()).toEqual(before);
    expect((await readJournal(hookEnv().JOURNAL_TABLE as string)).length).toBe(journal);
  });

  it('fails a deployment it cannot start (no production rule named) and gives the lease back', async () => {
    const ecs = observerClient(ECSClient);
    const described = await ecs.send(
      new DescribeServicesCommand({ cluster: SHOP.cluster, services: [SHOP.service] }),
    );
    const loadBalancers = described.services?.[0]?.loadBalancers ?? [];
    expect(loadBalancers[0]?.advancedConfiguration?.productionListenerRule).toBeDefined();
    const update = (lbs: typeof loadBalancers) =>
      ecs.send(
        new UpdateServiceCommand({ cluster: SHOP.cluster, service: SHOP.service, loadBalancers: lbs }),
      );
    await update(loadBalancers.map(({ advancedConfiguration: _a, ...lb }) => lb));
    try {
      const clock = scenarioClock();
      const hook = await localFunction(world.stack, 'deployment-hook', { clock, freshInstance: true });
      const before = await record();
      const base = world.shop.revisions.blue.replace(/\/\d+$/, '');
      await expect(
        hook.invoke({
          executionId: 'unstartable',
          lifecycleStage: 'POST_SCALE_UP',
          resourceArn: `arn:aws:ecs:us-east-1:123456789012:service-deployment/${SHOP.cluster}/${SHOP.service}/unstartable`,
          executionDetails: {
            serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/${SHOP.cluster}/${SHOP.service}`,
            targetServiceRevisionArn: `${base}/99`,
            testTrafficWeights: {},
            productionTrafficWeights: {},
          },
        }),
      ).rejects.toThrow(/web\/shop has no load balancer with a production listener rule/);
      expect(await lockHolder(clock)).toBeUndefined();
      expect(await record()).toEqual(before);
    } finally {
      await update(loadBalancers);
    }
  });

  it('gives the same answer when ECS asks again after a lost answer, and journals nothing twice', async () => {
    const clock = scenarioClock();
    await writeTraffic(clock, await targets(), { green: failing });
    const { result } = await deploy(clock);
    expect(result.status).toBe('ROLLBACK_SUCCESSFUL');
    const failedCall = result.calls.find((c) => !('error' in c.answer) && c.answer.hookStatus === 'FAILED');
    const journal = (await journalOf(result.deploymentArn)).length;
    const hook = await localFunction(world.stack, 'deployment-hook', { clock, freshInstance: true });
    const again = await hook.invoke({
      executionId: 'again',
      lifecycleStage: failedCall?.stage,
      resourceArn: result.deploymentArn,
      executionDetails: {
        serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/${SHOP.cluster}/${SHOP.service}`,
        targetServiceRevisionArn: world.shop.revisions.blue.replace(/\/\d+$/, `/${revision}`),
        testTrafficWeights: {},
        productionTrafficWeights: {
          [world.shop.revisions.blue.replace(/\/\d+$/, `/${revision}`)]: 10,
          [world.shop.revisions.blue.replace(/\/\d+$/, `/${revision - 1}`)]: 90,
        },
      },
    });
    expect(again).toEqual({ hookStatus: 'FAILED' });
    expect((await journalOf(result.deploymentArn)).length).toBe(journal);
    await takeAlerts();
  });

  it('takes over the lease an earlier deployment of the service left, and waits while anyone else holds it', async () => {
    const clock = scenarioClock();
    await writeTraffic(clock, await targets(), {});
    const db = documentClient();
    const locks = hookEnv().LOCKS_TABLE as string;
    const lease = (owner: string) => ({ ...SHOP, owner, leaseMs: 3_600_000, reason: 'held in the test' });
    // Another owner (a task-set rollout, a scale-out): the hook waits for it.
    const other = 'arn:aws:states:us-east-1:123456789012:execution:rollout:other';
    await acquireServiceLock(db, locks, clock, lease(other));
    const hook = await localFunction(world.stack, 'deployment-hook', { clock, freshInstance: true });
    const green = world.shop.revisions.blue.replace(/\/\d+$/, `/${revision + 1}`);
    const waited = await hook.invoke({
      executionId: 'held',
      lifecycleStage: 'POST_SCALE_UP',
      resourceArn: `arn:aws:ecs:us-east-1:123456789012:service-deployment/${SHOP.cluster}/${SHOP.service}/held`,
      executionDetails: {
        serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/${SHOP.cluster}/${SHOP.service}`,
        targetServiceRevisionArn: green,
        testTrafficWeights: {},
        productionTrafficWeights: {},
      },
    });
    expect(waited).toMatchObject({ hookStatus: 'IN_PROGRESS' });
    expect((await lockHolder(clock))?.owner).toBe(other);
    await releaseServiceLock(db, locks, { ...SHOP, owner: other });
    // An earlier deployment of this service that never ended (ECS runs one at a time): taken over.
    const earlier = `arn:aws:ecs:us-east-1:123456789012:service-deployment/${SHOP.cluster}/${SHOP.service}/earlier`;
    await acquireServiceLock(db, locks, clock, lease(earlier));
    const { result } = await deploy(clock);
    expect(result.status, result.reason).toBe('SUCCESSFUL');
    // At its first call, not once the earlier lease had run out (30 s waits for a held lease).
    expect(result.calls[0]?.answer).not.toEqual({ hookStatus: 'IN_PROGRESS', callBackDelay: 30 });
    expect(await lockHolder(clock)).toBeUndefined();
    await takeAlerts();
  });

  it('lets a rollback ECS starts on its own through at once, ends the record and gives the lease back', async () => {
    for (const stage of ['POST_PRODUCTION_TRAFFIC_SHIFT', 'BAKE_TIME'] as const) {
      const clock = scenarioClock();
      await writeTraffic(clock, await targets(), {});
      await takeAlerts();
      const { result, groups } = await deploy(clock, { ecsRollsBackAt: stage });
      expect(result.status, stage).toBe('ROLLBACK_SUCCESSFUL');
      // ECS called the production hook again with green at 0: answered at once, never held.
      expect(answers(result).at(-1), stage).toBe('PRODUCTION_TRAFFIC_SHIFT@0:SUCCEEDED');
      expect(await productionGreenWeight(groups.green)).toBe(0);
      const r = await record();
      expect(r?.phase, stage).toBe('rolled-back');
      expect(r?.outcome, stage).toMatch(/^rolled back by ECS: ECS rolled deployment \S+ back/);
      const journal = await journalOf(result.deploymentArn);
      expect(stopOf(journal).cause, stage).toBe('ecs-rollback');
      expect(await lockHolder(clock), stage).toBeUndefined();
      const alerts = await takeAlerts();
      expect(
        alerts.filter((a) => a.kind === 'rollout-rolled-back').map((a) => a.severity),
        stage,
      ).toEqual(['warning']);
    }
  });

  it('judges a canary of 12.5% on its exact share, waits for a rule that lags its step, and answers a stage again with its answer', async () => {
    const clock = scenarioClock();
    await writeTraffic(clock, await targets(), {});
    let again: unknown;
    const { result } = await deploy(clock, {
      strategy: { type: 'CANARY', canaryPercent: 12.5, canaryBakeMinutes: 5 },
      ruleLagsFirstCall: true,
      beforeHookCall: async (stage, call) => {
        if (stage !== 'POST_PRODUCTION_TRAFFIC_SHIFT' || call > 0) return;
        // The canary stage's answer again, as ECS would get it after a lost response.
        const hook = await localFunction(world.stack, 'deployment-hook', { clock, freshInstance: true });
        const base = world.shop.revisions.blue.replace(/\/\d+$/, '');
        again = await hook.invoke({
          executionId: 'again',
          lifecycleStage: 'PRODUCTION_TRAFFIC_SHIFT',
          resourceArn: (await record())?.execution,
          executionDetails: {
            serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/${SHOP.cluster}/${SHOP.service}`,
            targetServiceRevisionArn: `${base}/${revision}`,
            testTrafficWeights: {},
            productionTrafficWeights: { [`${base}/${revision}`]: 12.5, [`${base}/${revision - 1}`]: 87.5 },
          },
        });
      },
    });
    expect(result.status, result.reason).toBe('SUCCESSFUL');
    expect(again).toEqual({ hookStatus: 'SUCCEEDED' });
    const canary = result.calls.filter(
      (c) => c.stage === 'PRODUCTION_TRAFFIC_SHIFT' && c.productionWeight === 12.5,
    );
    // The first call found the rule still at 0% green: a short wait, not a failure; the bake starts
    // once the rule carries the step's weights.
    expect(
      canary.map((c) =>
        'error' in c.answer ? 'error' : `${c.answer.hookStatus}:${c.answer.callBackDelay ?? ''}`,
      ),
    ).toEqual(['IN_PROGRESS:10', 'IN_PROGRESS:300', 'SUCCEEDED:']);
    const verdict = verdictAt(await journalOf(result.deploymentArn), 12.5);
    expect(verdict.verdict).toBe('pass');
  });

  it('opens the approval gate after an approved inconclusive verdict, so both decide', async () => {
    const clock = scenarioClock();
    // Green serves nothing for the first minutes: the test-traffic bake has nothing to judge.
    await writeTraffic(clock, await targets(), {
      green: (m) => (m < 5 ? { requests: 0, errors: 0, latencyMs: 50 } : healthyTraffic(m)),
    });
    const deps = localOperatorDeps(world.stack, clock);
    const kinds: string[] = [];
    const { result } = await deploy(clock, {
      defaults: { analysis: ANALYSIS, approval: { gate: 'before-traffic', timeoutSeconds: 3600 } },
      details: { bakeSeconds: 300, testBakeSeconds: 120 },
      beforeHookCall: async () => {
        const r = await record();
        if (r?.phase === 'gate' && r.gate && !r.answer) {
          kinds.push(r.gate.kind);
          await answerGate(deps, r.executionName, 'approve', 'dana');
        }
      },
    });
    expect(result.status, result.reason).toBe('SUCCESSFUL');
    expect(kinds).toEqual(['inconclusive', 'before-traffic']);
    const journal = await journalOf(result.deploymentArn);
    expect(journal.filter((r) => r.action === 'gate-answered').map((r) => r.reason)).toEqual([
      'inconclusive gate: approve by dana',
      'before-traffic gate: approve by dana',
    ]);
    await takeAlerts();
  });

  it("lets a service's first deployment through unjudged: nothing serves in blue's group", async () => {
    const clock = scenarioClock();
    const groups = await targets();
    const elb = observerClient(ElasticLoadBalancingV2Client);
    const serving = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: groups.blue }));
    const targetsOfBlue = (serving.TargetHealthDescriptions ?? []).flatMap((t) =>
      t.Target ? [t.Target] : [],
    );
    expect(targetsOfBlue.length).toBeGreaterThan(0);
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: groups.blue, Targets: targetsOfBlue }));
    const { result } = await deploy(clock);
    expect(result.status, result.reason).toBe('SUCCESSFUL');
    expect(answers(result).every((a) => a.endsWith(':SUCCEEDED'))).toBe(true);
    const journal = await journalOf(result.deploymentArn);
    expect(journal.map((r) => r.action)).toEqual(['rollout-started', 'rollout-complete']);
    expect(journal[1]?.reason).toMatch(/^the first deployment of the service: no target in blue's group/);
    expect(await lockHolder(clock)).toBeUndefined();
    await takeAlerts();
  });

  it('registers the revision a deployment rolls out with the image changed and nothing else (ops rollout does it on AWS too)', async () => {
    const ecs = observerClient(ECSClient);
    const fromTaskDefinition = {
      family: 'shop-with-volumes',
      networkMode: 'awsvpc' as const,
      requiresCompatibilities: ['FARGATE' as const],
      cpu: '512',
      memory: '1024',
      runtimePlatform: { cpuArchitecture: 'ARM64' as const, operatingSystemFamily: 'LINUX' as const },
      ephemeralStorage: { sizeInGiB: 30 },
      volumes: [{ name: 'scratch' }],
      containerDefinitions: [
        {
          name: 'app',
          image: 'registry.local/shop:1',
          mountPoints: [{ sourceVolume: 'scratch', containerPath: '/tmp/s' }],
        },
        { name: 'sidecar', image: 'registry.local/proxy:3' },
      ],
    };
    await ecs.send(new RegisterTaskDefinitionCommand(fromTaskDefinition));
    const blue = await describeTaskDefinition(ecs, 'shop-with-volumes');
    if (!blue) throw new Error('the task definition was not registered');
    const arn = await registerWithImage(ecs, blue, 'app', 'registry.local/shop:2');
    const green = await describeTaskDefinition(ecs, arn);
    expect(green?.revision).toBe((blue.revision ?? 0) + 1);
    const kept = (td: typeof blue | undefined) => ({
      networkMode: td?.networkMode,
      requiresCompatibilities: td?.requiresCompatibilities,
      cpu: td?.cpu,
      memory: td?.memory,
      runtimePlatform: td?.runtimePlatform,
      ephemeralStorage: td?.ephemeralStorage,
      volumes: td?.volumes,
    });
    expect(kept(green)).toEqual(kept(blue));
    expect(kept(green)).toMatchObject({
      volumes: [{ name: 'scratch' }],
      runtimePlatform: { cpuArchitecture: 'ARM64' },
    });
    expect(green?.containerDefinitions?.map((c) => [c.name, c.image, c.mountPoints?.length ?? 0])).toEqual([
      ['app', 'registry.local/shop:2', 1],
      ['sidecar', 'registry.local/proxy:3', 0],
    ]);
  });
});

/** The task-set controller's state for one bake over `groups`, as its workflow would carry it. */
function taskSetState(verdict: Verdict, groups: { blue: string; green: string }): RolloutState {
  return {
    rollout: {
      id: 'same-metrics',
      execution: 'arn:aws:states:us-east-1:123456789012:execution:rollout:same-metrics',
      cluster: 'web',
      service: 'api',
      image: 'registry.local/shop:2',
      container: 'app',
      steps: [
        { weight: 10, bakeSeconds: 300 },
        { weight: 100, bakeSeconds: 300 },
      ],
      analysis: { enabled: true, ...ANALYSIS },
      approval: { gate: 'none', timeoutSeconds: 3600, defaultAction: 'reject' },
      spotStorm: { enabled: false, minInterruptions: 3, windowMinutes: 10, maxPauseSeconds: 1800 },
      rollbackWindowSeconds: 600,
      terminationWaitSeconds: 300,
      onFailure: 'rollback',
      greenReadyTimeoutSeconds: 600,
      requestedBy: 'test',
      startedAt: verdict.window.start,
      maxSeconds: 7200,
    },
    topology: {
      loadBalancerArn: world.shop.loadBalancerArn,
      loadBalancerName: 'web-alb',
      route: {
        kind: 'rule',
        arn: world.shop.productionRuleArn,
        listenerArn: world.seed.loadBalancer.listenerArn,
      },
      blueTargetGroupArn: groups.blue,
      greenTargetGroupArn: groups.green,
    },
    blue: {
      taskSetArn: 'ts-blue',
      taskDefinition: 'web-api:1',
      desiredCount: 2,
      loadBalancer: { containerName: 'app', containerPort: 8080 },
    },
    progress: { index: 0, weight: 10, bakeSeconds: 300, bakeStartedAt: verdict.window.start, last: false },
  } as unknown as RolloutState;
}
