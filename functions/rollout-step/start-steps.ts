// The rollout's first steps: validate the input against the live service, take the service's
// lease and record the rollout, start green, and wait until green is ready for traffic.
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  blindReason,
  describeAnalysis,
  lambdaArnParts,
  planSeconds,
  stepsOf,
  strategyText,
} from '../../events/rollout-input.ts';
import type { RolloutPlan, RolloutState } from '../../events/rollout-state.ts';
import { iso } from '../shared/clock.ts';
import { FrozenError, InvalidInputError, OpsError } from '../shared/errors.ts';
import { writeJournal } from '../shared/journal.ts';
import { resolveRolloutInput } from '../shared/rollouts/defaults.ts';
import { alert, journal } from '../shared/rollouts/notify.ts';
import { getRolloutRecord, putRolloutRecord, updateRolloutRecord } from '../shared/rollouts/record.ts';
import { readWeights } from '../shared/rollouts/traffic.ts';
import { acquireServiceLock, releaseServiceLock, serviceLockResource } from '../shared/service-lock.ts';
import { containerImage, describeTaskDefinition, registerWithImage } from '../shared/task-definitions.ts';
import { getTrainRecordById } from '../shared/trains/train-id.ts';
import { recordRolledBack } from './rollback-steps.ts';
import { abortReason } from './rules.ts';
import {
  checkCapacity,
  createGreenTaskSet,
  describeTaskSets,
  discoverTestRoute,
  greenReadiness,
  InsufficientCapacityError,
  inspectService,
  PreconditionFailedError,
} from './service.ts';
import {
  abortRequest,
  LEASE_MARGIN_SECONDS,
  recordKey,
  type StepDeps,
  setPhase,
  stopFromFailure,
} from './step-deps.ts';

// ------------------------------------------------------------------------------------------
// First state: validate the input against the schema and the live service; change nothing.

export async function validate(
  deps: StepDeps,
  raw: unknown,
  execution: { id: string; name: string },
): Promise<RolloutState> {
  const { input, managed } = resolveRolloutInput(deps.env.MANAGED_SERVICES, raw);
  const service = `${input.cluster}/${input.service}`;
  // Loaded only where the environment has freeze windows: most cold starts never need it.
  const freezes = deps.env.FREEZE_WINDOWS ? await import('../shared/freeze-windows.ts') : undefined;
  const frozen = freezes
    ? freezes.windowsInForce(freezes.freezeWindowsOf(deps.env.FREEZE_WINDOWS), deps.clock.now(), 'rollouts', [
        service,
      ])
    : [];
  if (freezes && frozen.length > 0 && !input.breakGlass) {
    const why = freezes.freezeRefusal(frozen, `rollouts of ${service}`) as string;
    await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
      {
        resource: serviceLockResource(input.cluster, input.service),
        action: 'freeze-refused',
        outcome: 'refused',
        reason: why,
        trigger: { kind: 'rollout', id: execution.id, source: input.requestedBy ?? 'console' },
        actor: `rollout/${execution.name}`,
        details: { execution: execution.id, windows: frozen.map((w) => w.name) },
      },
    ]);
    throw new FrozenError(why);
  }
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
    ...(input.imagePushedAt ? { imagePushedAt: input.imagePushedAt } : {}),
    ...(input.train ? { train: input.train } : {}),
    ...(input.breakGlass ? { breakGlass: input.breakGlass } : {}),
    ...(freezes && frozen.length > 0 && input.breakGlass
      ? { override: { windows: frozen.map(freezes.describeOccurrence), reason: input.breakGlass.reason } }
      : {}),
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

/** A release train's line stopped between this rollout's admission and its start. */
export class TrainStoppedError extends OpsError {
  override readonly name = 'TrainStopped';
}

async function refuseIfTrainStopped(deps: StepDeps, trainId: string): Promise<void> {
  const train = await getTrainRecordById(deps.db, deps.env.OPERATIONS_TABLE, trainId);
  if (train && train.status !== 'running')
    throw new TrainStoppedError(
      `release train ${train.name} stopped (${train.stop?.reason ?? train.status}) before this rollout started; nothing was changed`,
    );
}

export async function lock(deps: StepDeps, state: RolloutState): Promise<RolloutState> {
  const plan = state.rollout;
  if (plan.train) await refuseIfTrainStopped(deps, plan.train);
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
          ...(plan.imagePushedAt ? { imagePushedAt: plan.imagePushedAt } : {}),
          plan: plan.steps,
          analysis: plan.analysis,
          analysisPlan,
          approval: plan.approval,
          onFailure: plan.onFailure,
        },
      },
    );
    if (blind) await announceBlind(deps, plan, blind);
    if (plan.override) await announceOverride(deps, plan, plan.override);
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

/** A rollout inside a freeze window, by break glass: journaled; alerted unless its train alerted it. */
async function announceOverride(
  deps: StepDeps,
  plan: RolloutPlan,
  override: NonNullable<RolloutPlan['override']>,
): Promise<void> {
  const windows = override.windows.join(' and ');
  await journal(
    deps,
    plan,
    'freeze-override',
    'changed',
    `${plan.requestedBy} went ahead inside ${windows} by break glass: ${override.reason}`,
    { details: { windows: override.windows, reason: override.reason } },
  );
  if (plan.train) return;
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'freeze-override',
    title: `Freeze overridden: rollout of ${plan.cluster}/${plan.service}`,
    summary: `${plan.requestedBy} rolls out ${plan.cluster}/${plan.service} inside ${windows}: ${override.reason}`,
    whatHappened: 'A rollout started inside a freeze window with a break-glass reason.',
    whatWeDid: 'Started it as asked, and journaled who overrode the freeze and why.',
    nextSteps: [`ops abort ${plan.id} stops it and goes back to blue`],
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
    taskDefinition = await registerWithImage(deps.ecs, blueTd, plan.container, plan.image as string, [
      { key: 'ecs-ops:rollout', value: plan.id },
    ]);
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
      stop: { cause: 'abort', reason: abortReason(aborted) },
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
