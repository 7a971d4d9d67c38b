// The lifecycle hook of an ECS-controlled deployment (BLUE_GREEN, CANARY, LINEAR): ECS moves the
// traffic, this hook judges it. At each analysed stage it bakes (answering IN_PROGRESS with a
// callback delay that covers the rest of the bake), then judges green exactly as the task-set
// controller's analysis does (shared/rollouts/analysis/judge.ts). A failing verdict, a listener
// rule that does not carry the weights the stage should have left, an abort or a rejected gate
// answers FAILED, and ECS rolls back. Gates wait on the service's rollout record, where `ops
// approve|reject|abort` claim their answers. Every decision is journaled and alerted as the
// task-set controller's are, on the same record, so `ops status`, reports and DORA figures
// cover both models. The answer a stage got is kept: ECS asking again gets the same answer.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ANALYSED_HOOK_STAGES,
  deploymentIdOf,
  type HookDetails,
  HookDetailsSchema,
  type HookStage,
  type LifecycleHookPayload,
  LifecycleHookPayloadSchema,
  type LifecycleHookResponse,
} from '../../events/ecs-lifecycle-hook.ts';
import { type Analysis, AnalysisSchema, ApprovalSchema } from '../../events/rollout-input.ts';
import type { RolloutPlan, Stop, Topology, Verdict } from '../../events/rollout-state.ts';
import { iso } from '../shared/clock.ts';
import { InvalidInputError, LockHeldError, PreconditionFailedError } from '../shared/errors.ts';
import { judgeBake } from '../shared/rollouts/analysis/judge.ts';
import type { RolloutEnv } from '../shared/rollouts/config.ts';
import { alert, describeVerdict, type EvidenceDeps, journal } from '../shared/rollouts/notify.ts';
import {
  claimGateAnswer,
  getRolloutRecord,
  type HookProgress,
  type HookStageRecord,
  putRolloutRecord,
  type RolloutRecord,
  TERMINAL_PHASES,
  updateRolloutRecord,
} from '../shared/rollouts/record.ts';
import {
  loadBalancerNameOf,
  readShares,
  ruleActions,
  shareOf,
  sharesOf,
  type Weights,
} from '../shared/rollouts/traffic.ts';
import { acquireServiceLock, releaseServiceLock } from '../shared/service-lock.ts';
import { parseOrThrow } from '../shared/validation.ts';
import {
  bakeKeyOf,
  callBackDelay,
  expectedProductionWeight,
  expectedTestWeight,
  GATE_POLL_SECONDS,
  type Gate,
  serviceOfArn,
  stageAction,
} from './rules.ts';

export interface HookDeps extends EvidenceDeps {
  cloudwatch: CloudWatchClient;
  elb: ElasticLoadBalancingV2Client;
  ecs: ECSClient;
  env: RolloutEnv;
}

/** The service lease is renewed on every call; beyond ECS's own bakes, this outlasts the longest callback delay. */
const LEASE_MS = 2 * 3600 * 1000;
/** Called back this soon when another action holds the service for a moment. */
const LOCK_RETRY_SECONDS = 30;
/** The hook's gate tokens: no task waits on them, ops approve|reject answers them on the record. */
const HOOK_GATE_TOKEN_PREFIX = 'ecs-hook:';

/** The deployment as the evidence helpers name it (the plan of a task-set rollout, for ECS). */
type HookPlan = Pick<
  RolloutPlan,
  'cluster' | 'service' | 'execution' | 'id' | 'startedAt' | 'requestedBy'
> & {
  controller: 'ecs';
};

interface Call {
  payload: LifecycleHookPayload;
  details: HookDetails;
  stage: HookStage;
  analysis: Analysis;
  approval: ReturnType<typeof ApprovalSchema.parse>;
  plan: HookPlan;
}

export async function answerLifecycleHook(deps: HookDeps, raw: unknown): Promise<LifecycleHookResponse> {
  const call = parseCall(deps, raw);
  const { plan } = call;
  let record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
  const ours = record?.execution === plan.execution ? record : undefined;
  // A rollback is never held: whoever started it (this hook, ECS's alarms, a stop), ECS calls the
  // traffic-shift hooks again with green at 0, and gets SUCCEEDED before anything else is looked at.
  if (await isRollbackCall(deps, call, ours)) return rollbackCall(deps, call, ours);
  if (ours && TERMINAL_PHASES.includes(ours.phase)) {
    // Asked again (a lost answer): the same answer; any other stage after the end goes on. A stage
    // ECS sent no weights for is matched by name: FAILED is the answer it can have had last.
    const expected = expectedProductionWeight(call.payload);
    const asked = Object.entries(ours.hook?.stages ?? {}).filter(([key]) =>
      expected === undefined ? key.startsWith(`${call.stage}@`) : key === bakeKeyOf(call.stage, expected),
    );
    return { hookStatus: asked.some(([, stage]) => stage.answered === 'FAILED') ? 'FAILED' : 'SUCCEEDED' };
  }
  if (!(await takeLease(deps, call))) return { hookStatus: 'IN_PROGRESS', callBackDelay: LOCK_RETRY_SECONDS };
  // A deployment first seen now has just read the production rule: its shares are this call's.
  let started: Weights | undefined;
  try {
    if (ours) record = ours;
    else ({ record, production: started } = await startDeployment(deps, call));
  } catch (error) {
    // The deployment could not be started (its service names no production rule, say): the error
    // makes ECS roll back, and the lease must not outlive it.
    await releaseLease(deps, plan);
    throw error;
  }
  // The first deployment of a service has no blue to judge against, or to go back to.
  if (TERMINAL_PHASES.includes(record.phase)) return { hookStatus: 'SUCCEEDED' };

  const now = deps.clock.now();
  const production = started ?? rounded(await readShares(deps.elb, record.topology));
  const expected = expectedProductionWeight(call.payload);
  const key = bakeKeyOf(call.stage, expected ?? production.green);
  const stageRecord = record.hook?.stages[key];
  // Asked again after this stage's answer (a lost answer, a retried invocation): the same answer.
  if (stageRecord?.answered) return { hookStatus: stageRecord.answered };

  const drift = await driftFrom(deps, call, record, production, expected);
  if (drift) {
    // ECS may call a traffic-shift hook a moment before the rule reads its new weights: a short
    // grace, then the weights the stage should have left are a failure (ListenerDrift).
    const since = stageRecord?.driftSince ?? iso(now);
    if (now - Date.parse(since) < DRIFT_GRACE_MS) {
      if (!stageRecord?.driftSince) await noteDrift(deps, call, record, key, since);
      return { hookStatus: 'IN_PROGRESS', callBackDelay: DRIFT_RECHECK_SECONDS };
    }
    return fail(deps, call, record, key, { cause: 'listener-drift', reason: drift });
  }
  if (record.abortRequested) {
    const { by, reason } = record.abortRequested;
    return fail(deps, call, record, key, {
      cause: 'abort',
      reason: `aborted by ${by}${reason ? `: ${reason}` : ''}`,
    });
  }

  const action = stageAction(call.stage, production.green, call.details, call.approval.gate);
  if (action.kind === 'continue') {
    await recordStage(deps, call, record, key, production, { at: iso(now), bakes: false });
    return { hookStatus: 'SUCCEEDED' };
  }

  let bakeStartedAt = stageRecord?.bakeStartedAt;
  if (!bakeStartedAt) {
    bakeStartedAt = iso(now);
    await recordStage(deps, call, record, key, production, { at: bakeStartedAt, bakes: true });
  }
  if (record.gate?.token.startsWith(`${HOOK_GATE_TOKEN_PREFIX}${plan.execution}:${key}:`))
    return waitAtGate(deps, call, record, key, action.gate);
  if (stageRecord?.verdict !== undefined)
    throw new PreconditionFailedError(`${key} was judged ${stageRecord.verdict} and has no open gate`);
  const remainingMs = Date.parse(bakeStartedAt) + action.bakeSeconds * 1000 - now;
  if (remainingMs > 0) return { hookStatus: 'IN_PROGRESS', callBackDelay: callBackDelay(remainingMs) };

  const judged = await judgeBake(deps.cloudwatch, {
    analysis: call.analysis,
    step: analysedBefore(record),
    weight: action.weight,
    bakeSeconds: action.bakeSeconds,
    window: { startMs: Date.parse(bakeStartedAt), endMs: now },
    targets: {
      loadBalancerArn: record.topology.loadBalancerArn,
      greenTargetGroupArn: record.topology.greenTargetGroupArn,
      blueTargetGroupArn: record.topology.blueTargetGroupArn,
    },
  });
  const { verdict } = judged;
  await recordVerdict(deps, call, record, key, verdict);
  if (judged.cause) {
    return fail(
      deps,
      call,
      record,
      key,
      { cause: judged.cause, reason: verdict.reasons.join('; ') },
      verdict,
    );
  }
  if (verdict.verdict === 'inconclusive') {
    const { timeoutSeconds, defaultAction } = call.analysis.inconclusive;
    return openGate(deps, call, record, key, 'inconclusive', timeoutSeconds, defaultAction, verdict);
  }
  if (action.gate) {
    return openGate(
      deps,
      call,
      record,
      key,
      action.gate,
      call.approval.timeoutSeconds,
      call.approval.defaultAction,
      verdict,
    );
  }
  return pass(deps, call, record, key);
}

/** Shares are compared to a tenth of a percent: ECS's percentages go in steps of 0.1. */
const roundShare = (share: number) => Math.round(share * 10) / 10;
const rounded = (shares: Weights): Weights => ({
  blue: roundShare(shares.blue),
  green: roundShare(shares.green),
});
/** Weights within this of what the stage should have left are the same weights. */
const SHARE_TOLERANCE = 0.5;
/** How long a rule may lag its stage's weights before it is drift, and how often it is read meanwhile. */
const DRIFT_GRACE_MS = 60_000;
const DRIFT_RECHECK_SECONDS = 10;
/** Each lifecycle stage ends after 24 hours (ECS rolls back): the hook's gates close before that. */
const STAGE_LIMIT_MS = 24 * 3600 * 1000 - 10 * 60 * 1000;

/**
 * The service's lease for this deployment, renewed on every call. It outlasts ECS's own bake
 * between two stages (hookDetails.stepBakeSeconds). ECS runs one deployment of a service at a
 * time: a lease an earlier deployment of the service left is taken over.
 */
async function takeLease(deps: HookDeps, call: Call): Promise<boolean> {
  const { plan } = call;
  const request = {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
    leaseMs: LEASE_MS + call.details.stepBakeSeconds * 1000,
    reason: `ECS deployment ${plan.id} (lifecycle hook at ${call.stage})`,
  };
  try {
    await acquireServiceLock(deps.db, deps.env.LOCKS_TABLE, deps.clock, request);
    return true;
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    const earlier = error.holder.includes(`:service-deployment/${plan.cluster}/${plan.service}/`);
    if (!earlier) return false;
    // Taken over in one conditional write: should anyone else take the lease first, this fails.
    try {
      await acquireServiceLock(deps.db, deps.env.LOCKS_TABLE, deps.clock, {
        ...request,
        replaces: error.holder,
      });
      return true;
    } catch (again) {
      if (again instanceof LockHeldError) return false;
      throw again;
    }
  }
}

/**
 * Whether ECS is rolling back: a traffic-shift stage whose weights give green 0 after green had
 * traffic (AWS: "check the productionTrafficWeights"), or, where ECS sent no weights, a production
 * rule that gives green nothing once the record saw it shifted.
 */
async function isRollbackCall(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord | undefined,
): Promise<boolean> {
  const { stage, payload } = call;
  if (stage !== 'PRODUCTION_TRAFFIC_SHIFT' && stage !== 'TEST_TRAFFIC_SHIFT') return false;
  const { targetServiceRevisionArn: green } = payload.executionDetails;
  const weights =
    stage === 'PRODUCTION_TRAFFIC_SHIFT'
      ? payload.executionDetails.productionTrafficWeights
      : payload.executionDetails.testTrafficWeights;
  if (green in weights) return weights[green] === 0 && Object.values(weights).some((w) => w > 0);
  if (stage !== 'PRODUCTION_TRAFFIC_SHIFT' || !record?.hook?.shifted) return false;
  return roundShare((await readShares(deps.elb, record.topology)).green) === 0;
}

/**
 * ECS's rollback calls the hook again: SUCCEEDED at once. A rollback the hook did not ask for
 * (ECS's alarms, its circuit breaker, a stop, a hook that timed out, or one during ECS's bake
 * after promotion) ends the record here: journaled, alerted, the lease given back.
 */
async function rollbackCall(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord | undefined,
): Promise<LifecycleHookResponse> {
  const promotedThenRolledBack = record?.phase === 'finalized';
  if (!record || (TERMINAL_PHASES.includes(record.phase) && !promotedThenRolledBack))
    return { hookStatus: 'SUCCEEDED' };
  const plan = planOf(call, record);
  const reason = promotedThenRolledBack
    ? `ECS rolled deployment ${plan.id} back after green was promoted (during its bake): its alarms, or a stop`
    : `ECS rolled deployment ${plan.id} back at ${record.phase} (green ${record.weights.green}%): its alarms, circuit breaker, a stop or a hook timeout; the hook had not failed it`;
  const claimed = await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: {
      phase: 'rolled-back',
      finishedAt: iso(deps.clock.now()),
      outcome: `rolled back by ECS: ${reason}`,
      weights: { blue: 100, green: 0 },
    },
    remove: ['gate', 'answer'],
    condition: {
      expression: '#phase = :phase',
      names: { '#phase': 'phase' },
      values: { ':phase': record.phase },
    },
  });
  if (!claimed) return { hookStatus: 'SUCCEEDED' };
  const stop: Stop = { cause: 'ecs-rollback', reason };
  await journal(
    deps,
    plan,
    'rollout-rolled-back',
    'changed',
    `${reason}; the hook answered SUCCEEDED at ${call.stage}`,
    {
      details: { stop, stage: call.stage },
    },
  );
  await releaseLease(deps, plan);
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'rollout-rolled-back',
    title: `ECS rolled back its deployment of ${plan.cluster}/${plan.service}`,
    summary: reason,
    whatHappened: `ECS called the lifecycle hook at ${call.stage} with green at 0%: a rollback.`,
    whatWeDid: 'Let the rollback through, ended the record and released the service lock.',
    nextSteps: [
      'aws ecs describe-service-deployments shows why ECS rolled back (its statusReason)',
      'ops journal shows every stage and verdict of this deployment',
    ],
  });
  return { hookStatus: 'SUCCEEDED' };
}

function parseCall(deps: HookDeps, raw: unknown): Call {
  const payload = parseOrThrow(LifecycleHookPayloadSchema, raw);
  const details = parseOrThrow(HookDetailsSchema, payload.hookDetails ?? {}, 'hookDetails');
  const { cluster, service } = serviceOfArn(payload.executionDetails.serviceArn);
  const managed = deps.env.MANAGED_SERVICES.find(
    (m) => m.cluster === cluster && m.service === service && m.controller === 'ecs',
  );
  if (!managed) {
    const known = deps.env.MANAGED_SERVICES.filter((m) => m.controller === 'ecs').map(
      (m) => `${m.cluster}/${m.service}`,
    );
    throw new InvalidInputError(
      'executionDetails.serviceArn',
      `is not a service whose ECS deployments this hook judges (${known.join(', ') || 'none is configured'})`,
      payload.executionDetails.serviceArn,
    );
  }
  const defaults = managed.defaults ?? {};
  return {
    payload,
    details,
    stage: payload.lifecycleStage,
    analysis: AnalysisSchema.parse(defaults.analysis ?? {}),
    approval: ApprovalSchema.parse(defaults.approval ?? {}),
    plan: {
      controller: 'ecs',
      cluster,
      service,
      execution: payload.resourceArn,
      id: deploymentIdOf(payload.resourceArn),
      // Replaced by the record's start on every later call.
      startedAt: iso(deps.clock.now()),
      requestedBy: 'ecs',
    },
  };
}

/**
 * The first call of a deployment: where blue and green are (the service's load balancer
 * configuration; green is the target group the production rule gives nothing yet), the record,
 * the journal and the alert.
 */
async function startDeployment(
  deps: HookDeps,
  call: Call,
): Promise<{ record: RolloutRecord; production: Weights }> {
  const { plan, payload } = call;
  const described = await deps.ecs.send(
    new DescribeServicesCommand({ cluster: plan.cluster, services: [plan.service] }),
  );
  const svc = described.services?.[0];
  const lb = svc?.loadBalancers?.find((l) => l.advancedConfiguration?.productionListenerRule);
  const advanced = lb?.advancedConfiguration;
  if (!lb?.targetGroupArn || !advanced?.productionListenerRule) {
    throw new PreconditionFailedError(
      `${plan.cluster}/${plan.service} has no load balancer with a production listener rule (loadBalancers[].advancedConfiguration)`,
    );
  }
  const groups = [lb.targetGroupArn, advanced.alternateTargetGroupArn ?? ''];
  const ruleArn = advanced.productionListenerRule;
  const actions = await ruleActions(deps.elb, ruleArn);
  const shares = groups.map((arn) => roundShare(shareOf(actions, arn)));
  // Before any production shift blue carries everything; a deployment first seen later is not judged blind.
  const expected = expectedProductionWeight(payload) ?? 0;
  const greenIndex = shares.findIndex((share) => Math.abs(share - expected) <= SHARE_TOLERANCE);
  const blueIndex = greenIndex === 0 ? 1 : 0;
  if (greenIndex < 0 || Math.abs((shares[blueIndex] ?? 0) - (100 - expected)) > SHARE_TOLERANCE) {
    throw new PreconditionFailedError(
      `the production rule ${ruleArn} reads ${groups.map((g, i) => `${g}=${shares[i]}%`).join(', ')}: cannot tell green from blue at ${call.stage} (attach the hook from POST_SCALE_UP on)`,
    );
  }
  const green = groups[greenIndex] as string;
  const blue = groups[blueIndex] as string;
  const production: Weights = { blue: shares[blueIndex] ?? 0, green: shares[greenIndex] ?? 0 };
  const loadBalancerArn = loadBalancerOfRule(ruleArn);
  const topology: Topology = {
    loadBalancerArn,
    loadBalancerName: loadBalancerNameOf(loadBalancerArn),
    route: { kind: 'rule', arn: ruleArn, listenerArn: listenerOfRule(ruleArn) },
    blueTargetGroupArn: blue,
    greenTargetGroupArn: green,
  };
  const startedAt = iso(deps.clock.now());
  const strategy = svc?.deploymentConfiguration?.strategy ?? 'ECS';
  // No target in blue's group: the service's first deployment. Nothing serves, so there is nothing
  // to compare green with or to go back to: it goes through, journaled as not judged.
  const health = await deps.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: blue }));
  const first = (health.TargetHealthDescriptions ?? []).length === 0;
  const record = await putRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, {
    controller: 'ecs',
    execution: plan.execution,
    executionName: plan.id,
    cluster: plan.cluster,
    service: plan.service,
    phase: first ? 'finalized' : 'starting',
    ...(first
      ? {
          finishedAt: startedAt,
          outcome: `the first deployment of the service: no target in blue's group ${blue}, nothing to judge against; let through`,
        }
      : {}),
    weights: { blue: 100 - expected, green: expected },
    step: { index: 0, total: 0 },
    plan: {
      weights: [],
      strategy: `${strategy} (ECS deployment controller; lifecycle hook at ${describeStages()})`,
      ...(call.analysis.enabled ? {} : { blind: true }),
    },
    verdicts: [],
    topology,
    blue: { taskSetArn: blueRevisionOf(payload) ?? '', taskDefinition: '' },
    green: { taskDefinition: payload.executionDetails.targetServiceRevisionArn },
    requestedBy: 'ecs',
    startedAt,
    hook: {
      stages: {},
      shifted: false,
      ...(advanced.testListenerRule ? { testRuleArn: advanced.testListenerRule } : {}),
    },
  });
  const started = { ...plan, startedAt };
  await journal(
    deps,
    started,
    'rollout-started',
    'changed',
    `ECS started deployment ${plan.id} of ${payload.executionDetails.targetServiceRevisionArn} (${strategy}); the lifecycle hook judges it`,
    {
      details: {
        controller: 'ecs',
        targetServiceRevisionArn: payload.executionDetails.targetServiceRevisionArn,
        topology,
        analysis: call.analysis,
        approval: call.approval,
        hookDetails: call.details,
      },
    },
  );
  if (first) {
    await journal(deps, started, 'rollout-complete', 'changed', record.outcome ?? 'first deployment', {
      details: { firstDeployment: true },
    });
    await releaseLease(deps, plan);
    return { record, production };
  }
  await alert(deps, started, {
    severity: call.analysis.enabled ? 'info' : 'warning',
    kind: call.analysis.enabled ? 'rollout-started' : 'rollout-blind',
    title: `ECS deployment of ${plan.cluster}/${plan.service} started (${strategy})`,
    summary: `ECS rolls out ${payload.executionDetails.targetServiceRevisionArn}; the lifecycle hook analyses each traffic step against blue${call.analysis.enabled ? '' : ' (analysis is off: alarms only)'}.`,
    whatHappened: `ECS called the lifecycle hook at ${call.stage} for deployment ${plan.id}.`,
    whatWeDid:
      'Took the service lock, read where blue and green are from the production rule, and started the record.',
    nextSteps: [`ops abort ${plan.id} tells ECS to roll back at the hook's next call`],
  });
  return { record, production };
}

/** `…:listener-rule/app/<lb>/<id>/<listener>/<rule>` is a rule of `…:listener/app/<lb>/<id>/<listener>`. */
const listenerOfRule = (ruleArn: string) => ruleArn.replace(/:listener-rule\/(.*)\/[^/]+$/, ':listener/$1');
/** …and of the load balancer `…:loadbalancer/app/<lb>/<id>`. */
const loadBalancerOfRule = (ruleArn: string) =>
  ruleArn.replace(/:listener-rule\/(app\/[^/]+\/[^/]+)\/.*$/, ':loadbalancer/$1');

const describeStages = () => ANALYSED_HOOK_STAGES.join(', ');

/** Blue's revision: the other one in the stage's weights, when ECS sent any. */
function blueRevisionOf(payload: LifecycleHookPayload): string | undefined {
  const { productionTrafficWeights, testTrafficWeights, targetServiceRevisionArn } = payload.executionDetails;
  return Object.keys({ ...productionTrafficWeights, ...testTrafficWeights }).find(
    (arn) => arn !== targetServiceRevisionArn,
  );
}

/**
 * Why the listener rules do not carry what this stage should have left on them (a stack update
 * that reset the weights, a hand edit), or undefined when they do.
 */
async function driftFrom(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord,
  production: Weights,
  expected: number | undefined,
): Promise<string | undefined> {
  const problems: string[] = [];
  if (expected !== undefined && Math.abs(production.green - expected) > SHARE_TOLERANCE)
    problems.push(
      `the production rule reads blue ${production.blue}% / green ${production.green}% where ${call.stage} should have left green at ${expected}%`,
    );
  const testRuleArn = record.hook?.testRuleArn;
  const expectedTest = expectedTestWeight(call.payload);
  if (testRuleArn && expectedTest !== undefined) {
    const test = rounded(sharesOf(await ruleActions(deps.elb, testRuleArn), record.topology));
    if (Math.abs(test.green - expectedTest) > SHARE_TOLERANCE)
      problems.push(
        `the test rule reads blue ${test.blue}% / green ${test.green}% where ${call.stage} should have left green at ${expectedTest}%`,
      );
  }
  return problems.length > 0 ? `listener drift: ${problems.join('; ')}` : undefined;
}

const recordKey = (call: Call) => ({
  cluster: call.plan.cluster,
  service: call.plan.service,
  execution: call.plan.execution,
});

const planOf = (call: Call, record: RolloutRecord): HookPlan => ({
  ...call.plan,
  startedAt: record.startedAt,
});

/** The deployment's lease on the service, given back when the hook's work on it ends. */
const releaseLease = (deps: HookDeps, plan: Pick<HookPlan, 'cluster' | 'service' | 'execution'>) =>
  releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });

/** How many stages of the deployment were judged before this one: its verdict's step index. */
const analysedBefore = (record: RolloutRecord): number =>
  Object.values(record.hook?.stages ?? {}).filter((stage) => stage.verdict !== undefined).length;

/** The record's hook progress with one stage changed. */
function hookWith(
  record: RolloutRecord,
  key: string,
  change: Partial<HookStageRecord>,
  shifted?: boolean,
): HookProgress {
  const progress = record.hook ?? { stages: {}, shifted: false };
  const stage: HookStageRecord = { ...progress.stages[key], ...change };
  return { ...progress, stages: { ...progress.stages, [key]: stage }, shifted: shifted ?? progress.shifted };
}

/**
 * A stage's first call, its weights read back, recorded and journaled: a stage that only checks is
 * answered at once (once: the caller returns an answered stage's answer); an analysed stage's bake
 * starts at `at`, the instant the call judges by (a stage without a bake is judged in this call).
 */
async function recordStage(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord,
  key: string,
  production: Weights,
  stage: { at: string; bakes: boolean },
): Promise<void> {
  const shifted = (record.hook?.shifted ?? false) || production.green > 0;
  record.hook = hookWith(
    record,
    key,
    stage.bakes ? { bakeStartedAt: stage.at } : { bakeStartedAt: stage.at, answered: 'SUCCEEDED' },
    shifted,
  );
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: {
      weights: production,
      hook: record.hook,
      ...(stage.bakes
        ? // ECS decides the number of steps: the record counts the analysed ones so far.
          { phase: 'baking', step: { index: analysedBefore(record), total: 0 } }
        : { phase: production.green > 0 ? 'shifting' : 'preparing' }),
    },
  });
  await journal(
    deps,
    planOf(call, record),
    'shift-traffic',
    'unchanged',
    `${call.stage}: ECS left blue ${production.blue}% / green ${production.green}% (read back from the production rule)${stage.bakes ? '; baking before the analysis' : ''}`,
    { after: production, details: { stage: call.stage } },
  );
}

/** The rules first read other weights than the stage should have left: the grace starts. */
async function noteDrift(deps: HookDeps, call: Call, record: RolloutRecord, key: string, since: string) {
  record.hook = hookWith(record, key, { driftSince: since });
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: { hook: record.hook },
  });
}

async function recordVerdict(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord,
  key: string,
  verdict: Verdict,
) {
  record.hook = hookWith(record, key, { verdict: verdict.verdict });
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: { hook: record.hook },
    appendVerdict: {
      step: verdict.step,
      weight: verdict.weight,
      verdict: verdict.verdict,
      reasons: verdict.reasons,
      at: verdict.at,
    },
    verdictKey: `${call.plan.execution}:${key}`,
  });
  await journal(deps, planOf(call, record), 'analyse-step', 'unchanged', describeVerdict(verdict), {
    details: { verdict, stage: call.stage },
  });
}

async function openGate(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord,
  key: string,
  kind: Gate | 'inconclusive',
  timeoutSeconds: number,
  defaultAction: 'approve' | 'reject',
  /** What the gate decides on: the stage's verdict, or the answer that let an inconclusive one pass. */
  basis: Verdict | string,
): Promise<LifecycleHookResponse> {
  const plan = planOf(call, record);
  const now = deps.clock.now();
  // A stage ends after 24 hours (ECS rolls back then): the gate closes, into its default, before.
  const stageStart = Date.parse(record.hook?.stages[key]?.bakeStartedAt ?? iso(now));
  const closesAt = Math.min(now + timeoutSeconds * 1000, stageStart + STAGE_LIMIT_MS);
  const expiresAt = iso(closesAt);
  const verdict = typeof basis === 'string' ? undefined : basis;
  const token = `${HOOK_GATE_TOKEN_PREFIX}${plan.execution}:${key}:${kind}`;
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: { phase: 'gate', gate: { kind, token, openedAt: iso(now), expiresAt, defaultAction } },
    remove: ['answer'],
  });
  await journal(
    deps,
    plan,
    'open-gate',
    'unchanged',
    `${kind} gate at ${call.stage} waits for an answer until ${expiresAt} (then: ${defaultAction})`,
    {
      details: { gate: kind, verdict, stage: call.stage },
    },
  );
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'rollout-approval',
    episode: `${kind}/${key}`,
    title: `ECS deployment of ${plan.cluster}/${plan.service} waits for a decision (${kind})`,
    summary: verdict
      ? `${kind === 'inconclusive' ? 'The analysis could not tell' : 'Green passed its analysis'}: ${describeVerdict(verdict)}`
      : String(basis),
    whatHappened: `Deployment ${plan.id} reached its ${kind} gate at ${call.stage}; ECS holds the stage while the hook waits.`,
    whatWeDid: `Paused. Without an answer by ${expiresAt} the deployment will ${defaultAction === 'approve' ? 'continue' : 'roll back'}.`,
    nextSteps: [`ops approve ${plan.id}   (continue)`, `ops reject ${plan.id}    (ECS rolls back to blue)`],
    answers: 'approve-reject',
  });
  return {
    hookStatus: 'IN_PROGRESS',
    callBackDelay: callBackDelay(closesAt - now, GATE_POLL_SECONDS),
  };
}

/** An open gate: its claimed answer, else its default once it expires, else wait. */
async function waitAtGate(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord,
  key: string,
  /** The approval gate of this stage, which an approved inconclusive verdict still has to pass. */
  approvalGate: Gate | undefined,
): Promise<LifecycleHookResponse> {
  const gate = record.gate;
  if (!gate) throw new PreconditionFailedError('no gate is open');
  const now = deps.clock.now();
  let answer = record.answer?.token === gate.token ? record.answer : undefined;
  const timedOut = answer === undefined && now >= Date.parse(gate.expiresAt);
  if (timedOut) {
    const claim = {
      token: gate.token,
      decision: gate.defaultAction === 'approve' ? ('approve' as const) : ('reject' as const),
      by: 'gate timeout',
      at: iso(now),
    };
    // Claimed like an operator's answer: one that lands at the same moment wins or loses whole.
    const claimed = await claimGateAnswer(
      deps.db,
      deps.env.OPERATIONS_TABLE,
      deps.clock,
      recordKey(call),
      claim,
    );
    answer = claimed
      ? claim
      : (await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, call.plan.cluster, call.plan.service))
          ?.answer;
  }
  if (!answer) {
    return {
      hookStatus: 'IN_PROGRESS',
      callBackDelay: callBackDelay(Date.parse(gate.expiresAt) - now, GATE_POLL_SECONDS),
    };
  }
  const plan = planOf(call, record);
  await journal(
    deps,
    plan,
    timedOut ? 'gate-timed-out' : 'gate-answered',
    'unchanged',
    `${gate.kind} gate: ${answer.decision} by ${answer.by}${answer.reason ? ` (${answer.reason})` : ''}`,
    {
      details: { gate: gate.kind, answer, stage: call.stage },
    },
  );
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: { phase: 'shifting' },
    remove: ['gate', 'answer'],
  });
  const { gate: _gate, answer: _answer, ...rest } = record;
  if (answer.decision === 'approve' && gate.kind === 'inconclusive' && approvalGate) {
    return openGate(
      deps,
      call,
      rest,
      key,
      approvalGate,
      call.approval.timeoutSeconds,
      call.approval.defaultAction,
      `The inconclusive verdict at ${call.stage} was approved by ${answer.by}; the ${approvalGate} gate still decides.`,
    );
  }
  if (answer.decision === 'approve') return pass(deps, call, rest, key);
  const cause: Stop['cause'] =
    answer.decision === 'abort' ? 'abort' : timedOut ? 'approval-timeout' : 'approval-rejected';
  return fail(deps, call, rest, key, {
    cause,
    reason: `${gate.kind} gate ${timedOut ? 'timed out into' : 'answered'} ${answer.decision} by ${answer.by}${answer.reason ? `: ${answer.reason}` : ''}`,
  });
}

/** A stage passed: ECS goes on. After the final 100% it is promoted, and the hook's work ends. */
async function pass(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord,
  key: string,
): Promise<LifecycleHookResponse> {
  const hook = hookWith(record, key, { answered: 'SUCCEEDED' });
  if (call.stage !== 'POST_PRODUCTION_TRAFFIC_SHIFT') {
    await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
      set: { phase: 'shifting', hook },
    });
    return { hookStatus: 'SUCCEEDED' };
  }
  const plan = planOf(call, record);
  const at = iso(deps.clock.now());
  await journal(
    deps,
    plan,
    'promote',
    'changed',
    'green carries all production traffic and passed its analysis: ECS promotes it',
    {
      after: { blue: 0, green: 100 },
    },
  );
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: {
      phase: 'finalized',
      hook,
      weights: { blue: 0, green: 100 },
      finishedAt: at,
      outcome: 'green promoted: the hook answered SUCCEEDED; ECS bakes and cleans up blue',
    },
  });
  await journal(
    deps,
    plan,
    'rollout-complete',
    'changed',
    `deployment ${plan.id} passed every analysed stage; ECS bakes and cleans up blue`,
  );
  await releaseLease(deps, plan);
  await alert(deps, plan, {
    severity: 'info',
    kind: 'rollout-complete',
    title: `ECS deployment of ${plan.cluster}/${plan.service} promoted`,
    summary: `Deployment ${plan.id} passed every analysed stage; green carries all production traffic.`,
    whatHappened: 'The lifecycle hook answered SUCCEEDED after the final analysis.',
    whatWeDid: 'Released the service lock; ECS bakes and then retires blue.',
    nextSteps: [`ops report ${plan.cluster}/${plan.service} shows the verdicts`],
  });
  return { hookStatus: 'SUCCEEDED' };
}

/** ECS is told FAILED and rolls back: journaled, one alert with the verdict's numbers. */
async function fail(
  deps: HookDeps,
  call: Call,
  record: RolloutRecord,
  key: string,
  stop: Stop,
  verdict?: Verdict,
): Promise<LifecycleHookResponse> {
  const plan = planOf(call, record);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(call), {
    set: {
      phase: 'rolled-back',
      hook: hookWith(record, key, { answered: 'FAILED' }),
      finishedAt: iso(deps.clock.now()),
      outcome: `ECS told FAILED (${stop.cause}): it rolls back to blue`,
    },
    remove: ['gate', 'answer'],
  });
  await journal(
    deps,
    plan,
    'rollout-rolled-back',
    'changed',
    `answered FAILED at ${call.stage} (${stop.cause}): ${stop.reason}; ECS rolls back`,
    {
      details: { stop, verdict, stage: call.stage },
    },
  );
  await releaseLease(deps, plan);
  const byOperator = stop.cause === 'approval-rejected' || stop.cause === 'abort';
  const numbers = verdict && verdict.verdict !== 'pass' ? describeVerdict(verdict) : undefined;
  await alert(deps, plan, {
    severity: byOperator ? 'warning' : 'critical',
    kind: 'rollout-rolled-back',
    title: `ECS deployment of ${plan.cluster}/${plan.service} rolled back (${stop.cause})`,
    summary: numbers ? `${stop.reason}. ${numbers}` : stop.reason,
    whatHappened: `At ${call.stage} (green ${record.weights.green}% of production traffic) the deployment stopped: ${stop.reason}.`,
    whatWeDid:
      'Answered FAILED to ECS, which rolls back to the last revision that deployed; released the service lock.',
    nextSteps: [
      'ops journal shows every stage and verdict of this deployment',
      `Fix and deploy again: ops rollout --service ${plan.service} --image <fixed image>`,
    ],
  });
  return { hookStatus: 'FAILED' };
}
