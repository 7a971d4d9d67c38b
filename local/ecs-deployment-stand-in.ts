// A stand-in for what the emulator lacks: ECS-controlled service deployments (the ECS deployment
// controller's BLUE_GREEN, CANARY and LINEAR strategies). It plays ECS's part as the Amazon ECS
// Developer Guide documents it, and no more:
//   - the lifecycle stages in order (RECONCILE_SERVICE ... POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME,
//     CLEAN_UP), PRODUCTION_TRAFFIC_SHIFT once per traffic step of a canary or linear strategy;
//   - the weights on the test and production listener rules, set before the stage's hook is called;
//   - the hook payload (executionDetails with the weight maps only where traffic moves, as AWS's
//     examples show them, and hookDetails merged from IN_PROGRESS answers);
//   - the hook invoked as its invoke role (a role that may not invoke it fails the deployment);
//   - IN_PROGRESS called again after callBackDelay (default 30 s) on the virtual clock, and a hook
//     that keeps answering IN_PROGRESS past its timeout (default 24 h) rolled back;
//   - FAILED, an error or an answer without a valid hookStatus rolled back: traffic back on blue,
//     then the TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT hooks called again with green at 0.
// It starts no tasks (the emulator runs none) and is listed in docs/testing.md among the stand-ins.
import { randomUUID } from 'node:crypto';
import { ElasticLoadBalancingV2Client, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { HookStage, LifecycleHookResponse } from '../events/ecs-lifecycle-hook.ts';
import { awsClient } from '../functions/shared/clients.ts';
import type { DeployedStack } from './deploy.ts';
import { asRig, callerOf, checkAs } from './iam-enforcement.ts';
import { INTEGRATIONS } from './iam-operations.ts';
import { localFunction } from './lambda-host.ts';
import type { VirtualClock } from './virtual-clock.ts';

export type EcsStrategy =
  | { type: 'BLUE_GREEN' }
  | { type: 'CANARY'; canaryPercent: number; canaryBakeMinutes: number }
  | { type: 'LINEAR'; stepPercent: number; stepBakeMinutes: number };

export interface EcsDeployment {
  stack: DeployedStack;
  clock: VirtualClock;
  cluster: string;
  service: string;
  /** The revisions: blue serves now, green is rolled out. */
  revisions: { blue: string; green: string };
  /** Blue's target group serves production now; green's is the alternate. */
  targetGroups: { blue: string; green: string };
  productionRuleArn: string;
  testRuleArn?: string;
  strategy: EcsStrategy;
  bakeTimeMinutes: number;
  /** The service's lifecycle hook: where it is attached, and its hookDetails. */
  hook: {
    functionArn: string;
    roleArn: string;
    stages: readonly HookStage[];
    details?: Record<string, unknown>;
    timeoutMinutes?: number;
  };
  /** Runs before each hook call (a test changes the world there). */
  beforeHookCall?: (stage: HookStage, call: number) => Promise<void>;
}

export interface HookCall {
  stage: HookStage;
  at: number;
  answer: LifecycleHookResponse | { error: string };
  /** Green's production weight ECS had set when it called. */
  productionWeight: number;
}

export interface EcsDeploymentResult {
  deploymentArn: string;
  status: 'SUCCESSFUL' | 'ROLLBACK_SUCCESSFUL' | 'ROLLBACK_FAILED';
  /** Why it rolled back, as ECS would put it in the deployment's statusReason. */
  reason?: string;
  /** Every lifecycle stage entered, in order (ROLLBACK marks where the rollback began). */
  stages: string[];
  calls: HookCall[];
}

/** A production shift's steps: green's weight and the bake before the next step. */
export function trafficSteps(strategy: EcsStrategy): { weight: number; bakeMinutes: number }[] {
  switch (strategy.type) {
    case 'BLUE_GREEN':
      return [{ weight: 100, bakeMinutes: 0 }];
    case 'CANARY':
      return [
        { weight: strategy.canaryPercent, bakeMinutes: strategy.canaryBakeMinutes },
        { weight: 100, bakeMinutes: 0 },
      ];
    case 'LINEAR': {
      const steps: { weight: number; bakeMinutes: number }[] = [];
      for (let w = strategy.stepPercent; w < 100; w += strategy.stepPercent)
        steps.push({ weight: Math.round(w * 10) / 10, bakeMinutes: strategy.stepBakeMinutes });
      steps.push({ weight: 100, bakeMinutes: 0 });
      return steps;
    }
  }
}

class RollBack extends Error {}

const DEFAULT_CALLBACK_DELAY_SECONDS = 30;
const DEFAULT_HOOK_TIMEOUT_MINUTES = 1440;

export async function runEcsDeployment(d: EcsDeployment): Promise<EcsDeploymentResult> {
  const region = d.stack.region;
  const account = d.stack.accountId;
  const deploymentArn = `arn:aws:ecs:${region}:${account}:service-deployment/${d.cluster}/${d.service}/${randomUUID().replaceAll('-', '').slice(0, 21)}`;
  const serviceArn = `arn:aws:ecs:${region}:${account}:service/${d.cluster}/${d.service}`;
  const hookName = Object.values(d.stack.functions).find((f) => f.arn === d.hook.functionArn)?.name;
  if (!hookName) throw new Error(`no function ${d.hook.functionArn} in stack ${d.stack.stackName}`);
  const hook = await localFunction(d.stack, hookName, { clock: d.clock, freshInstance: true });
  const result: EcsDeploymentResult = { deploymentArn, status: 'SUCCESSFUL', stages: [], calls: [] };
  let details: Record<string, unknown> = { ...(d.hook.details ?? {}) };
  const weights = { production: 0, test: 0 };

  const setRule = async (ruleArn: string | undefined, green: number) => {
    if (!ruleArn) return;
    // ECS's infrastructure role moves the weights: the rig, not a function of ours.
    await asRig(() =>
      awsClient(ElasticLoadBalancingV2Client).send(
        new ModifyRuleCommand({
          RuleArn: ruleArn,
          Actions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: d.targetGroups.blue, Weight: 100 - green },
                  { TargetGroupArn: d.targetGroups.green, Weight: green },
                ],
              },
            },
          ],
        }),
      ),
    );
  };
  const weightMap = (green: number) => ({ [d.revisions.green]: green, [d.revisions.blue]: 100 - green });

  /** Calls the stage's hook until it answers SUCCEEDED; FAILED, an error or a timeout throws RollBack. */
  const callHook = async (stage: HookStage, sent: { test?: boolean; production?: boolean }) => {
    if (!d.hook.stages.includes(stage)) return;
    const executionId = randomUUID();
    const started = d.clock.now();
    const timeoutMs = (d.hook.timeoutMinutes ?? DEFAULT_HOOK_TIMEOUT_MINUTES) * 60_000;
    for (let call = 0; ; call++) {
      await d.beforeHookCall?.(stage, call);
      const payload = {
        executionId,
        lifecycleStage: stage,
        resourceArn: deploymentArn,
        executionDetails: {
          serviceArn,
          targetServiceRevisionArn: d.revisions.green,
          testTrafficWeights: sent.test ? weightMap(weights.test) : {},
          productionTrafficWeights: sent.production ? weightMap(weights.production) : {},
        },
        ...(Object.keys(details).length > 0 ? { hookDetails: details } : {}),
      };
      let answer: LifecycleHookResponse | { error: string };
      try {
        // ECS assumes the hook's role and invokes the function with it.
        await checkAs(callerOf(d.hook.roleArn), INTEGRATIONS.invokeFunction(d.hook.functionArn));
        answer = (await hook.invoke(payload)) as LifecycleHookResponse;
      } catch (error) {
        answer = { error: `${(error as Error).name}: ${(error as Error).message}` };
      }
      result.calls.push({ stage, at: d.clock.now(), answer, productionWeight: weights.production });
      if ('error' in answer) throw new RollBack(`lifecycle hook at ${stage} failed: ${answer.error}`);
      const status = (answer as { hookStatus?: unknown }).hookStatus;
      if (status === 'SUCCEEDED') return;
      if (status === 'FAILED') throw new RollBack(`lifecycle hook at ${stage} answered FAILED`);
      if (status !== 'IN_PROGRESS')
        throw new RollBack(`lifecycle hook at ${stage}: HookStatus must not be null (got ${String(status)})`);
      if (answer.hookDetails) details = { ...details, ...answer.hookDetails };
      const delay = (answer.callBackDelay ?? DEFAULT_CALLBACK_DELAY_SECONDS) * 1000;
      if (d.clock.now() + delay - started > timeoutMs)
        throw new RollBack(`lifecycle hook at ${stage} timed out after ${timeoutMs / 60_000} minutes`);
      d.clock.advance(delay);
    }
  };

  const enter = async (stage: string, work?: () => Promise<void>) => {
    result.stages.push(stage);
    await work?.();
  };

  try {
    await enter('RECONCILE_SERVICE', () => callHook('RECONCILE_SERVICE', {}));
    await enter('PRE_SCALE_UP', () => callHook('PRE_SCALE_UP', {}));
    await enter('SCALE_UP');
    await enter('POST_SCALE_UP', () => callHook('POST_SCALE_UP', {}));
    if (d.testRuleArn) {
      await enter('TEST_TRAFFIC_SHIFT', async () => {
        weights.test = 100;
        await setRule(d.testRuleArn, 100);
        await callHook('TEST_TRAFFIC_SHIFT', { test: true });
      });
      await enter('POST_TEST_TRAFFIC_SHIFT', () => callHook('POST_TEST_TRAFFIC_SHIFT', {}));
    }
    for (const step of trafficSteps(d.strategy)) {
      await enter('PRE_PRODUCTION_TRAFFIC_SHIFT', () =>
        callHook('PRE_PRODUCTION_TRAFFIC_SHIFT', { production: true }),
      );
      await enter('PRODUCTION_TRAFFIC_SHIFT', async () => {
        weights.production = step.weight;
        await setRule(d.productionRuleArn, step.weight);
        await callHook('PRODUCTION_TRAFFIC_SHIFT', { production: true });
      });
      d.clock.advance(step.bakeMinutes * 60_000);
    }
    await enter('POST_PRODUCTION_TRAFFIC_SHIFT', () => callHook('POST_PRODUCTION_TRAFFIC_SHIFT', {}));
    await enter('BAKE_TIME', async () => d.clock.advance(d.bakeTimeMinutes * 60_000));
    await enter('CLEAN_UP');
    return result;
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
    result.reason = error.message;
    result.stages.push('ROLLBACK');
    try {
      weights.production = 0;
      weights.test = 0;
      await setRule(d.productionRuleArn, 0);
      await setRule(d.testRuleArn, 0);
      if (d.testRuleArn)
        await enter('TEST_TRAFFIC_SHIFT', () => callHook('TEST_TRAFFIC_SHIFT', { test: true }));
      await enter('PRODUCTION_TRAFFIC_SHIFT', () =>
        callHook('PRODUCTION_TRAFFIC_SHIFT', { production: true }),
      );
      result.status = 'ROLLBACK_SUCCESSFUL';
    } catch (rollbackError) {
      if (!(rollbackError instanceof RollBack)) throw rollbackError;
      result.status = 'ROLLBACK_FAILED';
      result.reason = `${result.reason}; then ${rollbackError.message}`;
    }
    return result;
  }
}
