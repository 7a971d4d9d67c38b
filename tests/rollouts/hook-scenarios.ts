// Rollout scenarios: test traffic on the test listener and a pre-traffic hook.
import { ElasticLoadBalancingV2Client, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { expect } from 'vitest';
import type { PreTrafficHookRequest } from '../../functions/rollout-step/pre-traffic.ts';
import { EMULATOR_REGION } from '../../local/emulator.ts';
import { observerClient } from '../../local/observer.ts';
import { runRollout } from '../../local/rollouts.ts';
import type { LambdaBinding } from '../../local/workflow-runner.ts';
import {
  CLUSTER,
  expectSettled,
  input,
  journalOf,
  observedListenerWeights,
  quick,
  SERVICE,
  scenarioClock,
  serviceState,
  shiftedWeights,
  takeAlerts,
  testRouteWeights,
  writeTraffic,
} from './scenario-support.ts';
import type { RolloutWorld } from './world.ts';

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
