// The decisions of the blue-green-rollout workflow, one function per Lambda task. Each takes the
// workflow state and returns the next one; each is safe to repeat (the state machine retries
// throttled calls), and each leaves a journal record of what it decided and why.
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { type ECSClient, UpdateServicePrimaryTaskSetCommand } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  blindReason,
  describeAnalysis,
  GateAnswerSchema,
  lambdaArnParts,
  planSeconds,
  type RolloutPlan,
  type RolloutState,
  type Stop,
  stepsOf,
  strategyText,
} from '../../events/rollout-input.ts';
import { iso } from '../shared/clock.ts';
import { InvalidInputError, OpsError } from '../shared/errors.ts';
import type { RolloutEnv } from '../shared/rollouts/config.ts';
import { alert, describeVerdict, type EvidenceDeps, journal } from '../shared/rollouts/notify.ts';
import {
  getRolloutRecord,
  putRolloutRecord,
  type RolloutPhase,
  updateRolloutRecord,
} from '../shared/rollouts/record.ts';
import { driftOf, ListenerDriftError, readWeights, setWeights } from '../shared/rollouts/traffic.ts';
import { acquireServiceLock, releaseServiceLock } from '../shared/service-lock.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { resolveRolloutInput } from './defaults.ts';
import { hookName, hookRequest } from './pre-traffic.ts';
import {
  checkCapacity,
  containerImage,
  createGreenTaskSet,
  describeTaskDefinition,
  describeTaskSets,
  discoverTestRoute,
  greenReadiness,
  InsufficientCapacityError,
  inspectService,
  PreconditionFailedError,
  registerWithImage,
  removeGreen,
} from './service.ts';

export interface StepDeps extends EvidenceDeps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  /** Only validation reads alarms here (analysis has its own function). */
  cloudwatch: () => CloudWatchClient;
  env: RolloutEnv;
}

/** `ops abort` was asked for this rollout. */
export class RolloutAbortedError extends OpsError {
  override readonly name = 'RolloutAborted';
}

/** Extra time on the lease beyond the longest the plan can take. */
const LEASE_MARGIN_SECONDS = 3600;

// ------------------------------------------------------------------------------------------
// First state: validate the input against the schema and the live service; change nothing.

export async function validate(
  deps: StepDeps,
  raw: unknown,
  execution: { id: string; name: string },
): Promise<RolloutState> {
  const { input, managed } = resolveRolloutInput(deps.env.MANAGED_SERVICES, raw);
  const view = await inspectService(deps.ecs, deps.elb, managed);
  const blueTaskDefinition = await describeTaskDefinition(deps.ecs, view.primary.taskDefinition as string);
  if (!blueTaskDefinition)
    throw new PreconditionFailedError(`blue's task definition ${view.primary.taskDefinition} is gone`);
  const container = input.container ?? view.loadBalancer.containerName;
  const containers = (blueTaskDefinition.containerDefinitions ?? []).map((c) => c.name);
  if (!containers.includes(container)) {
    throw new InvalidInputError(
      'input.container',
      `is not a container of ${blueTaskDefinition.family} (containers: ${containers.join(', ')})`,
      container,
    );
  }
  if (input.taskDefinition) {
    const given = await describeTaskDefinition(deps.ecs, input.taskDefinition);
    if (!given)
      throw new InvalidInputError(
        'input.taskDefinition',
        'is not a registered task definition',
        input.taskDefinition,
      );
    if (!given.containerDefinitions?.some((c) => c.name === view.loadBalancer.containerName)) {
      throw new InvalidInputError(
        'input.taskDefinition',
        `has no container ${view.loadBalancer.containerName} (the one behind the load balancer)`,
        input.taskDefinition,
      );
    }
  }
  await checkAlarmsExist(deps, input.analysis.alarms);
  const hook = input.preTraffic?.hookFunctionArn;
  const region = process.env.AWS_REGION;
  if (hook && region && lambdaArnParts(hook)?.region !== region) {
    throw new InvalidInputError(
      'input.preTraffic.hookFunctionArn',
      `must be a function in ${region}, the region of the rollout (the state machine may invoke its own region's hooks only)`,
      hook,
    );
  }
  let topology = view.topology;
  if (input.preTraffic?.testTraffic) {
    const test = await discoverTestRoute(deps.elb, topology);
    if (!test) {
      throw new InvalidInputError(
        'input.preTraffic.testTraffic',
        `${managed.loadBalancerName} has no test listener: no other listener (or rule) forwards to ${topology.blueTargetGroupArn} and ${topology.greenTargetGroupArn} only`,
        true,
      );
    }
    topology = { ...topology, test };
  }
  const maxSeconds = planSeconds(input);
  const steps = stepsOf(input.strategy);
  const plan: RolloutPlan = {
    id: execution.name,
    execution: execution.id,
    cluster: input.cluster,
    service: input.service,
    ...(input.image ? { image: input.image } : {}),
    ...(input.taskDefinition ? { taskDefinition: input.taskDefinition } : {}),
    container,
    steps,
    analysis: input.analysis,
    approval: input.approval,
    ...(input.preTraffic ? { preTraffic: input.preTraffic } : {}),
    spotStorm: input.spotStorm,
    rollbackWindowSeconds: input.rollbackWindowSeconds,
    terminationWaitSeconds: input.terminationWaitSeconds,
    onFailure: input.onFailure,
    greenReadyTimeoutSeconds: input.greenReadyTimeoutSeconds,
    requestedBy: input.requestedBy ?? 'console',
    startedAt: iso(deps.clock.now()),
    maxSeconds,
  };
  const blueImage = containerImage(blueTaskDefinition, container);
  return {
    rollout: plan,
    topology,
    blue: {
      taskSetArn: view.primary.taskSetArn as string,
      taskDefinition: view.primary.taskDefinition as string,
      ...(blueImage ? { image: blueImage } : {}),
      desiredCount: view.service.desiredCount ?? 0,
      loadBalancer: {
        containerName: view.loadBalancer.containerName,
        containerPort: view.loadBalancer.containerPort,
      },
    },
    progress: { index: -1, weight: 0, bakeSeconds: 0, last: false },
  };
}

async function checkAlarmsExist(deps: StepDeps, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const found = new Set<string>();
  let nextToken: string | undefined;
  do {
    const out = await deps.cloudwatch().send(
      new DescribeAlarmsCommand({
        AlarmNames: [...names],
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken: nextToken,
      }),
    );
    for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])])
      if (a.AlarmName) found.add(a.AlarmName);
    nextToken = out.NextToken;
  } while (nextToken);
  const missing = names.findIndex((n) => !found.has(n));
  if (missing >= 0)
    throw new InvalidInputError(
      `input.analysis.alarms.${missing}`,
      'is not a CloudWatch alarm',
      names[missing],
    );
}

// ------------------------------------------------------------------------------------------
// Lock, then green.

export async function lock(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const target = plan.image ?? plan.taskDefinition ?? '?';
  const lease = await acquireServiceLock(deps.db, deps.env.LOCKS_TABLE, deps.clock, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
    leaseMs: (plan.maxSeconds + LEASE_MARGIN_SECONDS) * 1000,
    reason: `blue/green rollout ${plan.id} of ${target}`,
  });
  const blind = blindReason(plan);
  const analysisPlan = describeAnalysis(plan);
  try {
    await putRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, {
      execution: plan.execution,
      executionName: plan.id,
      cluster: plan.cluster,
      service: plan.service,
      phase: 'starting',
      weights: { blue: 100, green: 0 },
      step: { index: -1, total: plan.steps.length },
      plan: {
        weights: plan.steps.map((s) => s.weight),
        strategy: strategyText(plan),
        analysis: analysisPlan,
        blind: blind !== undefined,
      },
      verdicts: [],
      topology: state.topology,
      blue: {
        taskSetArn: state.blue.taskSetArn,
        taskDefinition: state.blue.taskDefinition,
        ...(state.blue.image ? { image: state.blue.image } : {}),
      },
      ...(plan.image ? { image: plan.image } : {}),
      requestedBy: plan.requestedBy,
      startedAt: plan.startedAt,
    });
    await journal(
      deps,
      plan,
      'rollout-started',
      'changed',
      `took the service lock; plan ${strategyText(plan)}; ${blind === undefined ? 'analysis on' : 'analysis OFF (a blind rollout)'}`,
      {
        before: { image: state.blue.image, taskDefinition: state.blue.taskDefinition },
        after: { image: plan.image, taskDefinition: plan.taskDefinition },
        details: {
          plan: plan.steps,
          analysis: plan.analysis,
          analysisPlan,
          approval: plan.approval,
          onFailure: plan.onFailure,
        },
      },
    );
    if (blind) await announceBlind(deps, plan, blind);
    await alert(deps, plan, {
      severity: 'info',
      kind: 'rollout-started',
      title: `Rollout of ${plan.cluster}/${plan.service} started`,
      summary: `${target} replaces ${state.blue.image ?? state.blue.taskDefinition}: ${strategyText(plan)}`,
      whatHappened: `${plan.requestedBy} started a blue/green rollout (${plan.id}).`,
      whatWeDid:
        'Took the service lock; scaling and remediation leave the service alone until the rollout ends.',
      nextSteps: [`ops abort ${plan.id} stops it and goes back to blue`],
    });
  } catch (error) {
    await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
      cluster: plan.cluster,
      service: plan.service,
      owner: plan.execution,
    });
    throw error;
  }
  return {
    ...state,
    lease: { resource: lease.resource, owner: lease.owner, expiresAtMs: lease.expiresAtMs },
  };
}

/**
 * The lock step failed in a way the workflow does not retry (a timeout after its work, an error
 * after the lock was taken): give the lock back at once, or the service stays locked until the
 * lease ends. Nothing else had changed yet. Safe to repeat: the release is conditional on the
 * owner, and the evidence is written only while the record still says the rollout is starting.
 */
export async function startFailed(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = stopFromFailure(state.failure);
  await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
  // No record of this execution: the lock step failed before taking the lock (or gave it back).
  if (record?.execution !== plan.execution || record.phase !== 'starting') return { ...state, stop };
  await recordRolledBack(deps, plan, `start failed: ${stop.reason}`);
  await journal(
    deps,
    plan,
    'rollout-rolled-back',
    'unchanged',
    `the start failed after taking the service lock (${stop.reason}); nothing had changed; released the lock`,
    { details: { stop } },
  );
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'rollout-start-failed',
    title: `Rollout of ${plan.cluster}/${plan.service} failed to start`,
    summary: stop.reason,
    whatHappened: `The rollout's first step failed after it took the service lock: ${stop.reason}.`,
    whatWeDid: 'Changed nothing on the service; released the service lock.',
    nextSteps: [`Start it again: ops rollout --service ${plan.service} --image ${plan.image ?? '<image>'}`],
  });
  return { ...state, stop };
}

/** A rollout that judges no metric: journaled on its own and alerted as a warning. */
async function announceBlind(deps: StepDeps, plan: RolloutPlan, why: string): Promise<void> {
  const where = `${plan.cluster}/${plan.service}`;
  const alarms = plan.analysis.alarms.length > 0 ? plan.analysis.alarms.join(', ') : 'none named';
  await journal(
    deps,
    plan,
    'analysis-off',
    'unchanged',
    `${plan.requestedBy} started ${plan.id} blind (${why}): no metric of green is judged; only alarms (${alarms})`,
    { details: { analysis: plan.analysis, why } },
  );
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'rollout-blind',
    title: `Blind rollout of ${where}: analysis is off`,
    summary: `${plan.requestedBy} started ${plan.id} (${strategyText(plan)}) blind, because ${why}: green's errors and latency are not judged; only alarms (${alarms}) can stop it.`,
    whatHappened:
      'A rollout started that judges no metric of green (--no-analysis, analysis.enabled: false, or no step with a bake).',
    whatWeDid: 'Started it as asked, and recorded that it runs blind in the journal and its report.',
    nextSteps: [`ops abort ${plan.id} stops it and goes back to blue`, `ops report ${plan.id} when it ends`],
  });
}

export async function prepare(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const key = recordKey(plan);
  await setPhase(deps, plan, 'preparing');
  const sets = await describeTaskSets(deps.ecs, plan.cluster, plan.service);
  const others = sets.filter((t) => t.taskSetArn !== state.blue.taskSetArn && t.externalId !== plan.id);
  if (others.length > 0) {
    throw new PreconditionFailedError(
      `the service has ${others.length} task set(s) besides blue: ${others.map((t) => `${t.taskSetArn} (externalId ${t.externalId ?? '-'})`).join(', ')}; finish or remove them first`,
    );
  }
  const weights = await readWeights(deps.elb, state.topology);
  if (weights.green !== 0) {
    throw new PreconditionFailedError(
      `the listener already sends ${weights.green}% to ${state.topology.greenTargetGroupArn}`,
    );
  }

  const blueTd = await describeTaskDefinition(deps.ecs, state.blue.taskDefinition);
  if (!blueTd)
    throw new PreconditionFailedError(`blue's task definition ${state.blue.taskDefinition} is gone`);
  const like = sets.find((t) => t.taskSetArn === state.blue.taskSetArn);
  if (!like) throw new PreconditionFailedError(`blue's task set ${state.blue.taskSetArn} is gone`);
  let capacityNote = 'capacity is managed by the capacity provider strategy';
  const usesCapacityProviders = (like.capacityProviderStrategy ?? []).length > 0;
  if (!usesCapacityProviders && like.launchType === 'EC2') {
    const capacity = await checkCapacity(deps.ecs, plan.cluster, blueTd, state.blue.desiredCount);
    capacityNote = capacity.note;
    if (capacity.fits < capacity.needed)
      throw new InsufficientCapacityError(`green does not fit: ${capacity.note}`);
  }

  const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
  let taskDefinition =
    plan.taskDefinition ?? (record?.execution === plan.execution ? record.green?.taskDefinition : undefined);
  if (!taskDefinition) {
    taskDefinition = await registerWithImage(deps.ecs, blueTd, plan.container, plan.image as string, plan.id);
    await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key, {
      set: { green: { taskDefinition, ...(plan.image ? { image: plan.image } : {}) } },
    });
  }
  const green = await createGreenTaskSet(deps.ecs, {
    cluster: plan.cluster,
    service: plan.service,
    rolloutId: plan.id,
    taskDefinition,
    targetGroupArn: state.topology.greenTargetGroupArn,
    loadBalancer: state.blue.loadBalancer,
    like,
  });
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, key, {
    set: {
      phase: 'waiting-for-green',
      green: { taskSetArn: green.taskSetArn, taskDefinition, ...(plan.image ? { image: plan.image } : {}) },
    },
  });
  await journal(
    deps,
    plan,
    'create-green',
    'changed',
    `green task set behind ${state.topology.greenTargetGroupArn} at ${state.blue.desiredCount} task(s); ${capacityNote}`,
    {
      after: { taskSet: green.taskSetArn, taskDefinition },
    },
  );
  return {
    ...state,
    green: {
      taskSetArn: green.taskSetArn as string,
      taskDefinition,
      status: 'waiting',
      checks: 0,
      readyBy: iso(deps.clock.now() + plan.greenReadyTimeoutSeconds * 1000),
    },
  };
}

export async function greenStatus(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const green = state.green;
  if (!green?.taskSetArn) throw new PreconditionFailedError('green was not created');
  const aborted = await abortRequest(deps, plan);
  if (aborted) {
    return {
      ...state,
      green: { ...green, status: 'failed', note: 'aborted' },
      stop: {
        cause: 'abort',
        reason: `aborted by ${aborted.by}${aborted.reason ? `: ${aborted.reason}` : ''}`,
      },
    };
  }
  const readiness = await greenReadiness(deps.ecs, deps.elb, {
    cluster: plan.cluster,
    service: plan.service,
    taskSetArn: green.taskSetArn,
    targetGroupArn: state.topology.greenTargetGroupArn,
  });
  const checks = green.checks + 1;
  if (readiness.ready) {
    await journal(
      deps,
      plan,
      'green-ready',
      'unchanged',
      `green is steady with healthy targets: ${readiness.note}`,
    );
    return { ...state, green: { ...green, status: 'ready', checks, note: readiness.note } };
  }
  if (deps.clock.now() >= Date.parse(green.readyBy)) {
    const reason = `green was not ready by ${green.readyBy}: ${readiness.note}`;
    await journal(deps, plan, 'green-not-ready', 'failed', reason);
    return {
      ...state,
      green: { ...green, status: 'failed', checks, note: readiness.note },
      stop: { cause: 'green-not-ready', reason },
    };
  }
  return { ...state, green: { ...green, status: 'waiting', checks, note: readiness.note } };
}

// ------------------------------------------------------------------------------------------
// Before production traffic: test traffic on the test listener, then the pre-traffic hook.

/** Points the test listener at green (read back) if asked, and prepares what the hook is sent. */
export async function preTraffic(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const aborted = await abortRequest(deps, plan);
  if (aborted)
    throw new RolloutAbortedError(`aborted by ${aborted.by}${aborted.reason ? `: ${aborted.reason}` : ''}`);
  await setPhase(deps, plan, 'pre-traffic');
  const test = state.topology.test;
  if (plan.preTraffic?.testTraffic) {
    if (!test) throw new PreconditionFailedError('test traffic was asked for, but no test route was found');
    const before = await readWeights(deps.elb, { ...state.topology, route: test.route });
    const after = await setWeights(
      deps.elb,
      { ...state.topology, route: test.route, stickiness: test.stickiness },
      100,
    );
    await journal(
      deps,
      plan,
      'test-traffic',
      'changed',
      `test listener (port ${test.port}) sends 100% to green, read back from the ${test.route.kind}; production traffic is still 100% blue; green answers at ${test.endpoint}`,
      { before, after, details: { route: test.route.arn, endpoint: test.endpoint } },
    );
  }
  const { preTraffic: _p, ...rest } = state;
  return { ...rest, preTraffic: { request: { ...hookRequest(state) } } };
}

/** Records the judge's verdict on the hook; a failed hook stops the rollout before any traffic. */
export async function preTrafficResult(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const arn = plan.preTraffic?.hookFunctionArn;
  if (!arn) throw new PreconditionFailedError('no pre-traffic hook to judge');
  const verdict = state.preTraffic?.verdict;
  if (!verdict) throw new PreconditionFailedError('the pre-traffic hook has no verdict');
  const reason = `pre-traffic hook ${hookName(arn)} ${verdict.finding}`;
  await journal(
    deps,
    plan,
    'pre-traffic-hook',
    verdict.status === 'passed' ? 'unchanged' : 'failed',
    reason,
    {
      details: { hook: arn, answer: verdict.answer, testTraffic: state.topology.test?.endpoint },
    },
  );
  const next: RolloutState = {
    ...state,
    preTraffic: { result: { status: verdict.status, reason, at: iso(deps.clock.now()) } },
  };
  return verdict.status === 'passed' ? next : { ...next, stop: { cause: 'pre-traffic-hook', reason } };
}

// ------------------------------------------------------------------------------------------
// Traffic steps.

export async function shift(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const index = state.progress.index + 1;
  const step = plan.steps[index];
  if (!step) throw new PreconditionFailedError(`no step ${index + 1} in a plan of ${plan.steps.length}`);
  const aborted = await abortRequest(deps, plan);
  if (aborted)
    throw new RolloutAbortedError(`aborted by ${aborted.by}${aborted.reason ? `: ${aborted.reason}` : ''}`);
  const before = { blue: 100 - state.progress.weight, green: state.progress.weight };
  // A route changed by someone else since the last step stops the rollout before it shifts.
  const drift = driftOf(await readWeights(deps.elb, state.topology), before, {
    blue: 100 - step.weight,
    green: step.weight,
  });
  if (drift) throw new ListenerDriftError(`before step ${index + 1}, ${drift}`);
  const after = await setWeights(deps.elb, state.topology, step.weight);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'baking', weights: after, step: { index, total: plan.steps.length } },
  });
  await journal(
    deps,
    plan,
    'shift-traffic',
    'changed',
    `step ${index + 1} of ${plan.steps.length}: ${step.weight}% to green, read back from the ${state.topology.route.kind}; bake ${step.bakeSeconds}s`,
    { before, after, details: { step: index, route: state.topology.route.arn } },
  );
  const { verdict: _v, outcome: _o, gate: _g, answer: _a, gateTimeout: _t, ...rest } = state;
  return {
    ...rest,
    progress: {
      index,
      weight: step.weight,
      bakeSeconds: step.bakeSeconds,
      bakeStartedAt: iso(deps.clock.now()),
      last: index === plan.steps.length - 1,
    },
  };
}

// ------------------------------------------------------------------------------------------
// Gates: the task waits for `ops approve|reject`, or times out into the default action.

export async function openGate(
  deps: StepDeps,
  state: RolloutState,
  token: string,
): Promise<{ opened: string }> {
  const plan = state.rollout;
  const gate = state.gate;
  if (!gate) throw new PreconditionFailedError('no gate to open');
  const now = deps.clock.now();
  const expiresAt = iso(now + gate.timeoutSeconds * 1000);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'gate',
      gate: { kind: gate.kind, token, openedAt: iso(now), expiresAt, defaultAction: gate.defaultAction },
    },
    remove: ['answer'],
  });
  const question = {
    'before-traffic': `Green (${plan.image ?? plan.taskDefinition}) is running with healthy targets and no traffic. Send it production traffic (${strategyText(plan)})?`,
    inconclusive: `The analysis of step ${state.progress.index + 1} (${state.progress.weight}% green) is inconclusive: ${state.verdict ? describeVerdict(state.verdict) : 'no verdict'}. Continue?`,
    'before-finalize': `Green serves 100% of traffic and passed every analysis. Make it primary and retire blue?`,
  }[gate.kind];
  await journal(
    deps,
    plan,
    'open-gate',
    'unchanged',
    `${gate.kind} gate waits for an answer until ${expiresAt} (then: ${gate.defaultAction})`,
    {
      details: { gate: gate.kind, verdict: state.verdict },
    },
  );
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'rollout-approval',
    title: `Rollout of ${plan.cluster}/${plan.service} waits for a decision (${gate.kind})`,
    summary: question,
    whatHappened: `The rollout ${plan.id} reached its ${gate.kind} gate.`,
    whatWeDid: `Paused. Without an answer by ${expiresAt} the rollout will ${gate.defaultAction === 'approve' ? 'continue' : 'roll back'}.`,
    nextSteps: [`ops approve ${plan.id}   (continue)`, `ops reject ${plan.id}    (roll back to blue)`],
  });
  return { opened: gate.kind };
}

export async function closeGate(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const gate = state.gate;
  if (!gate) throw new PreconditionFailedError('no gate to close');
  let answer =
    state.answer === undefined ? undefined : parseOrThrow(GateAnswerSchema, state.answer, 'answer');
  if (answer === undefined) {
    // An operator's answer claimed on the record still decides the gate when its callback
    // never reached the task (lost, throttled, or sent as the gate timed out).
    const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
    if (record?.execution === plan.execution && record.phase === 'gate' && record.answer) {
      const { token: _token, ...claimed } = record.answer;
      answer = parseOrThrow(GateAnswerSchema, claimed, 'answer');
    }
  }
  const timedOut = state.gateTimeout !== undefined && answer === undefined;
  const decision = answer?.decision ?? gate.defaultAction;
  const by = answer?.by ?? `timeout after ${gate.timeoutSeconds}s (default: ${gate.defaultAction})`;
  const approved = decision === 'approve';
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: approved ? 'shifting' : 'rolling-back' },
    remove: ['gate', 'answer'],
  });
  await journal(
    deps,
    plan,
    timedOut ? 'gate-timed-out' : 'gate-answered',
    'unchanged',
    `${gate.kind} gate: ${decision} by ${by}${answer?.reason ? ` (${answer.reason})` : ''}`,
    { details: { gate: gate.kind, decision, by, timedOut } },
  );
  const { answer: _a, gateTimeout: _t, ...rest } = state;
  const outcomeDecision = decision === 'rollback' ? 'reject' : decision;
  const next: RolloutState = { ...rest, outcome: { decision: outcomeDecision, by, timedOut } };
  if (approved) return next;
  const stop: Stop =
    decision === 'abort'
      ? { cause: 'abort', reason: `aborted by ${by} at the ${gate.kind} gate` }
      : timedOut
        ? {
            cause: 'approval-timeout',
            reason: `the ${gate.kind} gate timed out after ${gate.timeoutSeconds}s; default action: ${gate.defaultAction}`,
          }
        : {
            cause: 'approval-rejected',
            reason: `${by} rejected the rollout at the ${gate.kind} gate${answer?.reason ? `: ${answer.reason}` : ''}`,
          };
  return { ...next, stop };
}

// ------------------------------------------------------------------------------------------
// Promotion, the rollback window, the end.

export async function promote(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const green = state.green;
  if (!green?.taskSetArn) throw new PreconditionFailedError('green was not created');
  // Claimed on the record before green becomes primary: an abort that got there first wins and
  // the rollout goes back; one that comes later is refused, so nobody moves the listener away
  // from the new primary.
  const windowEndsAt = iso(deps.clock.now() + plan.rollbackWindowSeconds * 1000);
  const claimed = await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'finalizing', weights: { blue: 0, green: 100 }, windowEndsAt },
    condition: { expression: 'attribute_not_exists(#abort)', names: { '#abort': 'abortRequested' } },
  });
  if (!claimed) {
    const aborted = await abortRequest(deps, plan);
    if (aborted)
      throw new RolloutAbortedError(`aborted by ${aborted.by}${aborted.reason ? `: ${aborted.reason}` : ''}`);
    throw new PreconditionFailedError(
      `the rollout record of ${plan.cluster}/${plan.service} belongs to another execution`,
    );
  }
  await deps.ecs.send(
    new UpdateServicePrimaryTaskSetCommand({
      cluster: plan.cluster,
      service: plan.service,
      primaryTaskSet: green.taskSetArn,
    }),
  );
  await journal(
    deps,
    plan,
    'promote',
    'changed',
    `green is primary at 100%; blue stays scaled up until ${windowEndsAt}`,
    {
      before: { primaryTaskSet: state.blue.taskSetArn },
      after: { primaryTaskSet: green.taskSetArn },
      details: { verdicts: state.verdict ? [state.verdict] : [] },
    },
  );
  const window = plan.rollbackWindowSeconds > 0;
  await alert(deps, plan, {
    severity: 'info',
    kind: 'rollout-promoted',
    title: `Rollout of ${plan.cluster}/${plan.service}: green is primary`,
    summary: `${plan.image ?? plan.taskDefinition} serves 100% of traffic.${window ? ` Blue stays ready until ${windowEndsAt}.` : ''}`,
    whatHappened: `Every step of ${strategyText(plan)} passed its analysis.`,
    whatWeDid: 'Made green the primary task set.',
    nextSteps: window
      ? [
          `ops rollback ${plan.cluster}/${plan.service} before ${windowEndsAt} flips traffic back to blue at once`,
        ]
      : [],
  });
  return state;
}

export async function openWindow(
  deps: StepDeps,
  state: RolloutState,
  token: string,
): Promise<{ opened: string }> {
  const plan = state.rollout;
  const now = deps.clock.now();
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'window',
      windowEndsAt: iso(now + plan.rollbackWindowSeconds * 1000),
      gate: {
        kind: 'window',
        token,
        openedAt: iso(now),
        expiresAt: iso(now + plan.rollbackWindowSeconds * 1000),
        defaultAction: 'finalize',
      },
    },
    remove: ['answer'],
  });
  return { opened: 'window' };
}

/** End of the window: finalize, unless an operator rolled back inside it (they win the race or we do). */
export async function closeWindow(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const answer =
    state.answer === undefined ? undefined : parseOrThrow(GateAnswerSchema, state.answer, 'answer');
  const { answer: _a, gateTimeout: _t, ...rest } = state;
  if (answer?.decision === 'rollback' || answer?.decision === 'abort') {
    const revert = answer.decision === 'rollback';
    return {
      ...rest,
      outcome: { decision: revert ? 'revert' : 'abort', by: answer.by, timedOut: false },
      stop: {
        cause: revert ? 'operator-rollback' : 'abort',
        reason: `${answer.by} ${revert ? 'rolled back' : 'aborted'} inside the rollback window${answer.reason ? `: ${answer.reason}` : ''}`,
      },
    };
  }
  const claimed = await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'finalizing' },
    remove: ['gate'],
    condition: {
      expression: '#phase <> :reverting',
      names: { '#phase': 'phase' },
      values: { ':reverting': 'reverting' },
    },
  });
  if (!claimed) {
    const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
    if (record?.execution === plan.execution && record.phase === 'reverting') {
      // The operator claimed the rollback as the window closed; their read-back did not reach
      // us, so the way back starts with traffic again (the full rollback path).
      const by = record.answer?.by ?? 'an operator';
      return {
        ...rest,
        outcome: { decision: 'abort', by, timedOut: true },
        stop: { cause: 'operator-rollback', reason: `${by} rolled back as the rollback window closed` },
      };
    }
    throw new PreconditionFailedError(
      `the rollout record of ${plan.cluster}/${plan.service} belongs to another execution`,
    );
  }
  // The window task ends by timing out; anything else means it never opened (its step failed),
  // so nobody could roll back in it. The release still stands, but the journal must say so.
  const notOpened = windowFailure(state.gateTimeout);
  await journal(
    deps,
    plan,
    'close-rollback-window',
    notOpened ? 'failed' : 'unchanged',
    notOpened
      ? `the rollback window could not be opened (${notOpened}): no rollback was offered; blue is retired`
      : 'the rollback window closed without a rollback: blue is retired',
  );
  return { ...rest, outcome: { decision: 'finalize', by: 'window timeout', timedOut: true } };
}

/** Why the rollback window task failed, unless it simply timed out (its normal end). */
function windowFailure(caught: unknown): string | undefined {
  if (!caught || typeof caught !== 'object') return undefined;
  const { Error: error, Cause: cause } = caught as { Error?: unknown; Cause?: unknown };
  if (typeof error !== 'string' || error === 'States.HeartbeatTimeout' || error === 'States.Timeout')
    return undefined;
  const text = causeText(typeof cause === 'string' ? cause : undefined);
  return `${error}${text ? `: ${text}` : ''}`;
}

export async function finish(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const cleanupFailed = state.failure
    ? `${state.failure.Error}: ${causeText(state.failure.Cause)}`
    : undefined;
  await resetTestTraffic(deps, state);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'finalized',
      finishedAt: iso(deps.clock.now()),
      outcome: cleanupFailed ? 'succeeded; blue not removed' : 'succeeded',
    },
    remove: ['gate', 'answer'],
  });
  await journal(
    deps,
    plan,
    'rollout-complete',
    cleanupFailed ? 'failed' : 'changed',
    cleanupFailed
      ? `green is primary; removing blue failed (${cleanupFailed})`
      : `green is primary; blue task set ${state.blue.taskSetArn} scaled to zero and deleted after ${plan.terminationWaitSeconds}s`,
    { before: { taskSet: state.blue.taskSetArn }, after: { taskSet: state.green?.taskSetArn } },
  );
  await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  await alert(deps, plan, {
    severity: cleanupFailed ? 'warning' : 'info',
    state: cleanupFailed ? 'firing' : 'resolved',
    kind: 'rollout-complete',
    title: `Rollout of ${plan.cluster}/${plan.service} complete`,
    summary: `${plan.image ?? plan.taskDefinition} serves all traffic.${cleanupFailed ? ` Blue could not be removed: ${cleanupFailed}` : ''}`,
    whatHappened: `${strategyText(plan)} passed; the rollback window closed.`,
    whatWeDid: cleanupFailed
      ? 'Released the service lock; blue was left in place.'
      : 'Retired blue and released the service lock.',
    nextSteps: cleanupFailed ? [`Delete task set ${state.blue.taskSetArn} once nothing needs it.`] : [],
  });
  const { failure: _f, ...rest } = state;
  return rest;
}

/**
 * After a promotion the test listener goes to the now idle group (blue's), where the next green
 * will be, as infra creates it. Best effort: it must not fail a good release.
 */
async function resetTestTraffic(deps: StepDeps, state: RolloutState): Promise<void> {
  const test = state.topology.test;
  if (!test) return;
  const plan = state.rollout;
  try {
    const after = await setWeights(
      deps.elb,
      { ...state.topology, route: test.route, stickiness: test.stickiness },
      0,
    );
    await journal(
      deps,
      plan,
      'test-traffic',
      'changed',
      `test listener (port ${test.port}) back on ${state.topology.blueTargetGroupArn}, now idle: the next rollout's green goes there`,
      { after, details: { route: test.route.arn } },
    );
  } catch (error) {
    await journal(
      deps,
      plan,
      'test-traffic',
      'failed',
      `could not point the test listener (port ${test.port}) back at the idle group: ${(error as Error).message}; the next rollout with test traffic sets it again`,
      { details: { route: test.route.arn } },
    );
  }
}

// ------------------------------------------------------------------------------------------
// Going back: traffic first (read back), then green, then the record, lock and alert.

export async function restoreBlue(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  await setPhase(deps, plan, 'rolling-back');
  const after = await setWeights(deps.elb, state.topology, 0);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { weights: after },
  });
  await journal(
    deps,
    plan,
    'restore-blue',
    'changed',
    `100% of traffic back on blue (read back from the ${state.topology.route.kind}): ${stop.reason}`,
    {
      before: { blue: 100 - state.progress.weight, green: state.progress.weight },
      after,
    },
  );
  return { ...state, stop };
}

export async function removeGreenStep(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  const removed = await removeGreen(deps.ecs, {
    cluster: plan.cluster,
    service: plan.service,
    rolloutId: plan.id,
    blueTaskSetArn: state.blue.taskSetArn,
    ...(state.green?.taskSetArn ? { greenTaskSetArn: state.green.taskSetArn } : {}),
  });
  await journal(
    deps,
    plan,
    'remove-green',
    removed.deleted ? 'changed' : 'unchanged',
    removed.deleted
      ? `deleted green task set${removed.primaryRestored ? ' after making blue primary again' : ''}`
      : 'no green task set to delete',
    { before: { greenTaskSet: removed.deleted }, after: { primaryTaskSet: state.blue.taskSetArn } },
  );
  return { ...state, stop };
}

/** The rollout's record says it ended on blue, and why. */
async function recordRolledBack(
  deps: StepDeps,
  plan: RolloutState['rollout'],
  outcome: string,
  remove: ('gate' | 'answer')[] = [],
): Promise<void> {
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: {
      phase: 'rolled-back',
      finishedAt: iso(deps.clock.now()),
      outcome,
      weights: { blue: 100, green: 0 },
    },
    ...(remove.length > 0 ? { remove } : {}),
  });
}

export async function rolledBack(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  await recordRolledBack(deps, plan, `rolled back: ${stop.reason}`, ['gate', 'answer']);
  const numbers =
    state.verdict && state.verdict.verdict !== 'pass' ? describeVerdict(state.verdict) : undefined;
  await journal(deps, plan, 'rollout-rolled-back', 'changed', `rolled back (${stop.cause}): ${stop.reason}`, {
    after: { weights: { blue: 100, green: 0 }, primaryTaskSet: state.blue.taskSetArn },
    details: { stop, verdict: state.verdict },
  });
  await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  const byOperator =
    stop.cause === 'operator-rollback' || stop.cause === 'approval-rejected' || stop.cause === 'abort';
  await alert(deps, plan, {
    severity: byOperator ? 'warning' : 'critical',
    kind: 'rollout-rolled-back',
    title: `Rollout of ${plan.cluster}/${plan.service} rolled back (${stop.cause})`,
    summary: numbers ? `${stop.reason}. ${numbers}` : stop.reason,
    whatHappened: `${plan.image ?? plan.taskDefinition} was ${stepText(state)} when the rollout stopped: ${stop.reason}.`,
    whatWeDid:
      'Put 100% of traffic back on blue (read back from the load balancer), removed green, released the service lock.',
    nextSteps: [
      'ops journal shows every step and verdict of this rollout',
      `Fix and roll out again: ops rollout --service ${plan.service} --image <fixed image>`,
    ],
  });
  return { ...state, stop };
}

export async function freeze(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase: 'frozen', finishedAt: iso(deps.clock.now()), outcome: `frozen: ${stop.reason}` },
    remove: ['gate', 'answer'],
  });
  await journal(
    deps,
    plan,
    'rollout-frozen',
    'unchanged',
    `onFailure=freeze: left traffic at ${state.progress.weight}% green and both task sets in place: ${stop.reason}`,
    {
      details: { stop, verdict: state.verdict },
    },
  );
  await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  await alert(deps, plan, {
    severity: 'critical',
    kind: 'rollout-frozen',
    title: `Rollout of ${plan.cluster}/${plan.service} frozen at ${state.progress.weight}% green`,
    summary: `${stop.reason}${state.verdict && state.verdict.verdict !== 'pass' ? `. ${describeVerdict(state.verdict)}` : ''}`,
    whatHappened: `The rollout failed (${stop.cause}) and was started with onFailure=freeze: it must not go back on its own.`,
    whatWeDid: 'Changed nothing: weights and both task sets stay as they are. Released the service lock.',
    nextSteps: [
      'Decide: fix forward with a new ops rollout, or move traffic by hand',
      'ops journal shows what happened at every step',
    ],
  });
  return { ...state, stop };
}

/** The rollback itself kept failing: release the lock no matter what and page someone. */
export async function rollbackFailed(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  const stop = state.stop ?? stopFromFailure(state.failure);
  const rollbackError = state.rollbackError;
  const why = rollbackError ? `${rollbackError.Error}: ${causeText(rollbackError.Cause)}` : 'unknown error';
  const released = await releaseServiceLock(deps.db, deps.env.LOCKS_TABLE, {
    cluster: plan.cluster,
    service: plan.service,
    owner: plan.execution,
  });
  // Evidence is best effort from here on: the lock is what must not stay behind.
  const attempts = [
    updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
      set: {
        phase: 'rollback-failed',
        finishedAt: iso(deps.clock.now()),
        outcome: `rollback failed: ${why}`,
      },
    }),
    journal(deps, plan, 'rollback-failed', 'failed', `rolling back after "${stop.reason}" failed: ${why}`, {
      details: { released },
    }),
    alert(deps, plan, {
      severity: 'critical',
      kind: 'rollout-rollback-failed',
      title: `Rollout of ${plan.cluster}/${plan.service}: ROLLBACK FAILED`,
      summary: `Going back to blue after "${stop.reason}" failed after retries: ${why}`,
      whatHappened: `The rollout stopped (${stop.cause}) and the automatic rollback could not finish.`,
      whatWeDid: 'Released the service lock. Traffic may still reach green.',
      nextSteps: [
        `Check the listener: blue ${state.topology.blueTargetGroupArn} must have weight 100`,
        `Delete green task set ${state.green?.taskSetArn ?? '(see ops journal)'} once traffic is on blue`,
      ],
    }),
  ];
  await Promise.allSettled(attempts);
  return { ...state, stop: { ...stop, reason: `${stop.reason}; rollback failed: ${why}` } };
}

// ------------------------------------------------------------------------------------------

function stepText(state: RolloutState): string {
  return state.progress.index < 0
    ? 'not yet receiving traffic'
    : `at step ${state.progress.index + 1} of ${state.rollout.steps.length} (${state.progress.weight}% of traffic)`;
}

export function causeText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

export function stopFromFailure(failure: RolloutState['failure']): Stop {
  const error = failure?.Error ?? 'UnknownError';
  const cause = causeText(failure?.Cause);
  if (error === 'RolloutAborted') return { cause: 'abort', reason: cause };
  return { cause: 'error', reason: `${error}${cause ? `: ${cause}` : ''}` };
}

const recordKey = (plan: RolloutPlan) => ({
  cluster: plan.cluster,
  service: plan.service,
  execution: plan.execution,
});

async function setPhase(deps: StepDeps, plan: RolloutPlan, phase: RolloutPhase): Promise<void> {
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase },
  });
}

async function abortRequest(deps: StepDeps, plan: RolloutPlan) {
  const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
  return record?.execution === plan.execution ? record.abortRequested : undefined;
}
