// A stand-in for what the emulator lacks: ECS-controlled service deployments (the ECS deployment
// controller's BLUE_GREEN, CANARY and LINEAR strategies). It plays ECS's part as the Amazon ECS
// Developer Guide documents it, and no more:
//   - the lifecycle stages in order (RECONCILE_SERVICE ... POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME,
//     CLEAN_UP), PRODUCTION_TRAFFIC_SHIFT once per traffic step of a canary or linear strategy;
//   - green's tasks as targets of its group from SCALE_UP, blue's leaving at CLEAN_UP;
//   - the weights on the test and production listener rules (whole ALB weights: a tenth of a
//     percent is 1 in 1000), set before the stage's hook is called, or only after its first call
//     (ruleLagsFirstCall: AWS does not promise the rule reads the step's weights at once);
//   - the hook payload (executionDetails with the weight maps only where traffic moves, as AWS's
//     examples show them; hookDetails merged from IN_PROGRESS answers for that stage's calls only);
//   - the hook invoked as its invoke role (a role that may not invoke it fails the deployment);
//   - IN_PROGRESS called again after callBackDelay (default 30 s) on the virtual clock, and a hook
//     that keeps answering IN_PROGRESS past its timeout (the service's, else 24 h) rolled back;
//   - a rollback on FAILED, an error, an answer without a valid hookStatus, or ECS's own reasons
//     (ecsRollsBackAt: its alarms): production back on blue and its hook called again with green
//     at 0, then the test listener and its hook, then green's targets gone.
// It starts no tasks (the emulator runs none) and is listed in docs/testing.md among the stand-ins.
import { randomUUID } from 'node:crypto';
import {
  type DeploymentConfiguration,
  DescribeServicesCommand,
  ECSClient,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DeregisterTargetsCommand,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { HOOK_STAGES, type HookStage, type LifecycleHookResponse } from '../events/ecs-lifecycle-hook.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { describeTaskDefinition, registerWithImage } from '../functions/shared/task-definitions.ts';
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
  /**
   * ECS rolls the deployment back on its own when it reaches this stage (its alarms, its circuit
   * breaker, a stop), before calling the stage's hook.
   */
  ecsRollsBackAt?: HookStage | 'BAKE_TIME';
  /** The production rule shows a traffic step's weights only after the step's first hook call. */
  ruleLagsFirstCall?: boolean;
  /** Runs after each hook call (`ops rollout --watch` prints the record there). */
  afterHookCall?: (call: HookCall) => Promise<void>;
}

export interface HookCall {
  stage: HookStage;
  at: number;
  answer: LifecycleHookResponse | { error: string };
  /** Green's production weight ECS had set when it called. */
  productionWeight: number;
}

/** A hook call's answer in words: `IN_PROGRESS (call back in 300 s)`, `SUCCEEDED`, `error …`. */
export function hookAnswerText(call: HookCall): string {
  if ('error' in call.answer) return `error ${call.answer.error}`;
  const delay = call.answer.callBackDelay;
  return `${call.answer.hookStatus}${delay ? ` (call back in ${delay} s)` : ''}`;
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

/** A service's deployment strategy, with ECS's defaults where its configuration leaves them out. */
export function ecsStrategyOf(config: DeploymentConfiguration | undefined): EcsStrategy {
  if (config?.strategy === 'CANARY')
    return {
      type: 'CANARY',
      canaryPercent: config.canaryConfiguration?.canaryPercent ?? 5,
      canaryBakeMinutes: config.canaryConfiguration?.canaryBakeTimeInMinutes ?? 10,
    };
  if (config?.strategy === 'LINEAR')
    return {
      type: 'LINEAR',
      stepPercent: config.linearConfiguration?.stepPercent ?? 10,
      stepBakeMinutes: config.linearConfiguration?.stepBakeTimeInMinutes ?? 6,
    };
  return { type: 'BLUE_GREEN' };
}

/** The strategy in words, as `ops rollout` prints it. */
export function describeEcsStrategy(strategy: EcsStrategy): string {
  if (strategy.type === 'CANARY')
    return `CANARY ${strategy.canaryPercent}% for ${strategy.canaryBakeMinutes} min, then 100%`;
  if (strategy.type === 'LINEAR')
    return `LINEAR ${strategy.stepPercent}% every ${strategy.stepBakeMinutes} min`;
  return 'BLUE_GREEN';
}

/** A production shift's steps: green's weight and the bake before the next step. */
function trafficSteps(strategy: EcsStrategy): { weight: number; bakeMinutes: number }[] {
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
  const weights = { production: 0, test: 0 };

  const setRule = async (ruleArn: string | undefined, green: number) => {
    if (!ruleArn) return;
    // ALB weights are whole numbers (0-999): a tenth of a percent is a weight of 1 in 1000.
    const [greenWeight, blueWeight] = Number.isInteger(green)
      ? [green, 100 - green]
      : [Math.round(green * 10), 1000 - Math.round(green * 10)];
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
                  { TargetGroupArn: d.targetGroups.blue, Weight: blueWeight },
                  { TargetGroupArn: d.targetGroups.green, Weight: greenWeight },
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
  const callHook = async (
    stage: HookStage,
    sent: { test?: boolean; production?: boolean },
    beforeSecondCall?: () => Promise<void>,
  ) => {
    if (!d.hook.stages.includes(stage)) return;
    const executionId = randomUUID();
    // Details an IN_PROGRESS answer returns reach the next calls of this stage only.
    let details: Record<string, unknown> = { ...(d.hook.details ?? {}) };
    const started = d.clock.now();
    const timeoutMs = (d.hook.timeoutMinutes ?? DEFAULT_HOOK_TIMEOUT_MINUTES) * 60_000;
    for (let call = 0; ; call++) {
      if (call === 1) await beforeSecondCall?.();
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
      const made: HookCall = { stage, at: d.clock.now(), answer, productionWeight: weights.production };
      result.calls.push(made);
      await d.afterHookCall?.(made);
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

  const ecsRollsBack = (stage: HookStage | 'BAKE_TIME') => {
    if (d.ecsRollsBackAt === stage)
      throw new RollBack(`ECS rolled back at ${stage}: one of its alarms fired`);
  };

  try {
    await enter('RECONCILE_SERVICE', () => callHook('RECONCILE_SERVICE', {}));
    await enter('PRE_SCALE_UP', () => callHook('PRE_SCALE_UP', {}));
    // Green's tasks start and register with green's target group.
    await enter('SCALE_UP', () => registerTargets(d.targetGroups.green));
    await enter('POST_SCALE_UP', () => callHook('POST_SCALE_UP', {}));
    if (d.testRuleArn) {
      await enter('TEST_TRAFFIC_SHIFT', async () => {
        weights.test = 100;
        await setRule(d.testRuleArn, 100);
        await callHook('TEST_TRAFFIC_SHIFT', { test: true });
      });
      await enter('POST_TEST_TRAFFIC_SHIFT', async () => {
        ecsRollsBack('POST_TEST_TRAFFIC_SHIFT');
        await callHook('POST_TEST_TRAFFIC_SHIFT', {});
      });
    }
    for (const step of trafficSteps(d.strategy)) {
      await enter('PRE_PRODUCTION_TRAFFIC_SHIFT', () =>
        callHook('PRE_PRODUCTION_TRAFFIC_SHIFT', { production: true }),
      );
      await enter('PRODUCTION_TRAFFIC_SHIFT', async () => {
        ecsRollsBack('PRODUCTION_TRAFFIC_SHIFT');
        weights.production = step.weight;
        const shift = () => setRule(d.productionRuleArn, step.weight);
        if (!d.ruleLagsFirstCall) await shift();
        await callHook(
          'PRODUCTION_TRAFFIC_SHIFT',
          { production: true },
          d.ruleLagsFirstCall ? shift : undefined,
        );
      });
      d.clock.advance(step.bakeMinutes * 60_000);
    }
    await enter('POST_PRODUCTION_TRAFFIC_SHIFT', async () => {
      ecsRollsBack('POST_PRODUCTION_TRAFFIC_SHIFT');
      await callHook('POST_PRODUCTION_TRAFFIC_SHIFT', {});
    });
    await enter('BAKE_TIME', async () => {
      d.clock.advance(d.bakeTimeMinutes * 60_000);
      ecsRollsBack('BAKE_TIME');
    });
    // Blue's tasks stop: its targets leave blue's group.
    await enter('CLEAN_UP', () => deregisterTargets(d.targetGroups.blue));
    return result;
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
    result.reason = error.message;
    result.stages.push('ROLLBACK');
    try {
      // Production first, then the test listener, each stage's hook called again with green at 0.
      weights.production = 0;
      await setRule(d.productionRuleArn, 0);
      await enter('PRODUCTION_TRAFFIC_SHIFT', () =>
        callHook('PRODUCTION_TRAFFIC_SHIFT', { production: true }),
      );
      if (d.testRuleArn) {
        weights.test = 0;
        await setRule(d.testRuleArn, 0);
        await enter('TEST_TRAFFIC_SHIFT', () => callHook('TEST_TRAFFIC_SHIFT', { test: true }));
      }
      await deregisterTargets(d.targetGroups.green);
      result.status = 'ROLLBACK_SUCCESSFUL';
    } catch (rollbackError) {
      if (!(rollbackError instanceof RollBack)) throw rollbackError;
      result.status = 'ROLLBACK_FAILED';
      result.reason = `${result.reason}; then ${rollbackError.message}`;
    }
    return result;
  }
}

let registered = 0;

/** A revision's tasks as targets of its group: two ip targets (as awsvpc tasks register), new addresses each time. */
export async function registerTargets(targetGroupArn: string): Promise<void> {
  const subnet = ++registered % 250;
  await asRig(() =>
    awsClient(ElasticLoadBalancingV2Client).send(
      new RegisterTargetsCommand({
        TargetGroupArn: targetGroupArn,
        Targets: [10, 11].map((host) => ({ Id: `10.20.${subnet}.${host}`, Port: 8080 })),
      }),
    ),
  );
}

async function deregisterTargets(targetGroupArn: string): Promise<void> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const health = await asRig(() =>
    elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })),
  );
  const targets = (health.TargetHealthDescriptions ?? []).flatMap((t) => (t.Target ? [t.Target] : []));
  if (targets.length > 0)
    await asRig(() =>
      elb.send(new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: targets })),
    );
}

/**
 * `UpdateService` with a new task definition, then the deployment ECS would run from the
 * service's own configuration (its strategy, bake time, lifecycle hook and listener rules, as
 * DescribeServices gives them). A rollback puts the service's task definition back, as ECS does.
 */
export async function deployService(opts: {
  stack: DeployedStack;
  clock: VirtualClock;
  cluster: string;
  service: string;
  taskDefinition: string;
  beforeHookCall?: EcsDeployment['beforeHookCall'];
  afterHookCall?: (call: HookCall) => Promise<void>;
}): Promise<EcsDeploymentResult & { from: string; to: string }> {
  const ecs = awsClient(ECSClient);
  const described = await asRig(() =>
    ecs.send(new DescribeServicesCommand({ cluster: opts.cluster, services: [opts.service] })),
  );
  const svc = described.services?.[0];
  if (!svc?.serviceArn) throw new Error(`no service ${opts.cluster}/${opts.service}`);
  if (svc.deploymentController?.type !== 'ECS')
    throw new Error(
      `${opts.cluster}/${opts.service} is not deployed by ECS (${svc.deploymentController?.type})`,
    );
  const config = svc.deploymentConfiguration;
  const hook = config?.lifecycleHooks?.[0];
  const lb = svc.loadBalancers?.[0];
  const rules = lb?.advancedConfiguration;
  if (!hook?.hookTargetArn || !hook.roleArn || !lb?.targetGroupArn || !rules?.productionListenerRule)
    throw new Error(`${opts.cluster}/${opts.service} has no lifecycle hook or no production listener rule`);
  const { blue, green } = await servingGroups(rules.productionListenerRule, [
    lb.targetGroupArn,
    rules.alternateTargetGroupArn as string,
  ]);
  const from = svc.taskDefinition as string;
  const revision = (td: string) =>
    `${svc.serviceArn?.replace(':service/', ':service-revision/')}/${td.split(':').pop()}`;
  const strategy = ecsStrategyOf(config);
  const update = (taskDefinition: string) =>
    asRig(() =>
      ecs.send(new UpdateServiceCommand({ cluster: opts.cluster, service: opts.service, taskDefinition })),
    );
  await update(opts.taskDefinition);
  const result = await runEcsDeployment({
    stack: opts.stack,
    clock: opts.clock,
    cluster: opts.cluster,
    service: opts.service,
    revisions: { blue: revision(from), green: revision(opts.taskDefinition) },
    targetGroups: { blue, green },
    productionRuleArn: rules.productionListenerRule,
    ...(rules.testListenerRule ? { testRuleArn: rules.testListenerRule } : {}),
    strategy,
    bakeTimeMinutes: config?.bakeTimeInMinutes ?? 0,
    hook: {
      functionArn: hook.hookTargetArn,
      roleArn: hook.roleArn,
      stages: (hook.lifecycleStages ?? []).filter((stage): stage is HookStage =>
        (HOOK_STAGES as readonly string[]).includes(stage),
      ),
      ...(hook.hookDetails ? { details: hook.hookDetails as Record<string, unknown> } : {}),
      ...(hook.timeoutConfiguration?.timeoutInMinutes
        ? { timeoutMinutes: hook.timeoutConfiguration.timeoutInMinutes }
        : {}),
    },
    ...(opts.beforeHookCall ? { beforeHookCall: opts.beforeHookCall } : {}),
    ...(opts.afterHookCall ? { afterHookCall: opts.afterHookCall } : {}),
  });
  // ECS puts the service back on the revision that deployed last.
  if (result.status !== 'SUCCESSFUL') await update(from);
  return { ...result, from, to: opts.taskDefinition };
}

/**
 * What a pipeline does before `UpdateService`: the service's task definition registered again
 * with `image` in the container behind its load balancer (the deployer's part, not ECS's; the CLI
 * does the same on AWS).
 */
export async function registerRevisionWithImage(
  ecs: ECSClient,
  cluster: string,
  service: string,
  image: string,
): Promise<string> {
  const described = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const svc = described.services?.[0];
  if (!svc?.taskDefinition) throw new Error(`${cluster}/${service} runs no task definition`);
  const current = await describeTaskDefinition(ecs, svc.taskDefinition);
  if (!current?.family) throw new Error(`task definition ${svc.taskDefinition} cannot be read`);
  const container = svc.loadBalancers?.[0]?.containerName ?? current.containerDefinitions?.[0]?.name ?? '';
  return registerWithImage(ecs, current, container, image);
}

/**
 * Which of a service's two target groups its production rule sends everything to (blue) and the
 * other (where the next deployment's green goes): ECS swaps them at each deployment.
 */
export async function servingGroups(
  productionRuleArn: string,
  groups: readonly [string, string],
): Promise<{ blue: string; green: string }> {
  const rules = await asRig(() =>
    awsClient(ElasticLoadBalancingV2Client).send(new DescribeRulesCommand({ RuleArns: [productionRuleArn] })),
  );
  const forward = rules.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  const blue = forward.find((g) => g.Weight === 100)?.TargetGroupArn ?? groups[0];
  return { blue, green: blue === groups[0] ? groups[1] : groups[0] };
}
