// Rollout scenarios: freeze, concurrent rollouts, operators' rollback and abort, and bad input.
import { ECSClient } from '@aws-sdk/client-ecs';
import {
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { expect } from 'vitest';
import { removeGreen } from '../../functions/rollout-step/service.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import {
  abortRollout,
  answerGate,
  OperatorRefusedError,
  type OperatorResult,
  rollbackService,
} from '../../functions/shared/rollouts/operator.ts';
import { setWeights } from '../../functions/shared/rollouts/traffic.ts';
import { EMULATOR_REGION } from '../../local/emulator.ts';
import { observerClient } from '../../local/observer.ts';
import { localOperatorDeps, runRollout } from '../../local/rollouts.ts';
import { nextTaskToken } from '../../local/workflow-runner.ts';
import {
  CLUSTER,
  expectSettled,
  input,
  journalOf,
  listenerWeights,
  lockHolder,
  quick,
  record,
  SERVICE,
  scenarioClock,
  serviceState,
  snapshot,
  takeAlerts,
  waitForAlert,
  waitForRecord,
  writeTraffic,
} from './scenario-support.ts';
import type { RolloutWorld } from './world.ts';

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
