// The release train's steps: check the whole train before anything starts, open each wave,
// admit each service under the budget (or make it wait, or skip it), record how its rollout
// ended, stop the line when the budget is spent, and finish with one journal record and one alert.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { RolloutInputDraft } from '../../events/rollout-input.ts';
import {
  type TrainBudget,
  type TrainInput,
  TrainInputSchema,
  type TrainService,
} from '../../events/train-input.ts';
import { consoleLinks, raiseAlert } from '../shared/alerts.ts';
import { type Clock, iso } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { ErrorBudgetBurningError, FrozenError, InvalidInputError } from '../shared/errors.ts';
import { childExecutionName } from '../shared/execution-names.ts';
import {
  describeOccurrence,
  freezeRefusal,
  freezeWindowsOf,
  type WindowOccurrence,
  windowsInForce,
} from '../shared/freeze-windows.ts';
import type { RolloutEnv } from '../shared/rollouts/config.ts';
import { resolveRolloutInput } from '../shared/rollouts/defaults.ts';
import {
  type MetricTarget,
  metricTargets,
  readServicePoints,
  serviceTargetGroupArns,
} from '../shared/slo/metrics.ts';
import { burnReason, judgeBurn, longestWindowMinutes, sloConfigOf, sloOf } from '../shared/slo/objectives.ts';
import type { TaskCallbacks } from '../shared/task-callbacks.ts';
import {
  admitService,
  finishTrainRecord,
  getTrainRecord,
  getTrainService,
  markSkipped,
  markWaiting,
  putTrainRecord,
  recordServiceEnd,
  TERMINAL_SERVICE_PHASES,
  type TrainRecord,
  trainRecordId,
  trainServiceId,
  trainServices,
} from '../shared/trains/record.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { journalTrain } from './evidence.ts';
import {
  admissionRoom,
  admissionWaitSeconds,
  budgetStopReason,
  finalStatus,
  greenTaskLimit,
  MAX_PLAN_BYTES,
  rolloutEnd,
  summarizeTrain,
} from './rules.ts';
import { abortRunningRollouts, stopLine } from './stop.ts';

export interface TrainDeps {
  db: Db;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  /** Created on first use: only the end of a train raises an alert. */
  sqs: () => SQSClient;
  /** Created on first use: only a train of services with SLOs reads metrics. */
  cloudwatch: () => CloudWatchClient;
  /** Answers a rollout's waiting gate when the train aborts it. */
  callbacks: TaskCallbacks;
  clock: Clock;
  env: RolloutEnv;
}

/** The train as every step after the first receives it (the Map states pass it to each item). */
export interface TrainRef {
  /** The execution name: the train's id, its record's key and its rollouts' name prefix. */
  id: string;
  execution: string;
  name: string;
  onStop: TrainInput['onStop'];
  budget: TrainBudget;
  requestedBy: string;
  startedAt: string;
  /** Its break-glass reason: its rollouts go ahead inside freeze windows, and so does its line. */
  breakGlass?: { reason: string };
  /** Services with an SLO whose budget had no traffic to judge when the train started. */
  budgetsNotJudged?: string[];
  /** What the break glass overrode at the start (freeze windows, burning budgets), and why. */
  override?: { overridden: string[]; reason: string };
}

export interface PlannedService {
  wave: number;
  index: number;
  cluster: string;
  service: string;
  desiredCount: number;
  /**
   * What the train's input says of the service's rollout (with its cluster found): the rollout's
   * input adds the train's own fields at its turn (rolloutInputOf), and the service's defaults
   * fill in the rest in its first state. Kept short: the plan holds one per service.
   */
  rollout: TrainService;
}

export interface PlannedWave {
  index: number;
  name: string;
  maxConcurrency: number;
  services: PlannedService[];
}

export interface TrainPlan {
  train: TrainRef;
  clusterTasks: Record<string, number>;
  waves: PlannedWave[];
}

const DESCRIBE_SERVICES_BATCH = 10;

// ------------------------------------------------------------------------------------------
// First state: the whole train checked, every service's rollout input too; nothing written.

export async function validate(
  deps: TrainDeps,
  raw: unknown,
  execution: { id: string; name: string },
): Promise<TrainPlan> {
  const input = parseOrThrow(TrainInputSchema, raw, 'input');
  const name = input.name ?? execution.name;
  const requestedBy = input.requestedBy ?? 'console';
  const placed = new Map<string, string>();
  const ref = {
    id: execution.name,
    name,
    requestedBy,
    ...(input.breakGlass ? { breakGlass: input.breakGlass } : {}),
  };
  const waves: PlannedWave[] = input.waves.map((wave, w) => ({
    index: w,
    name: wave.name ?? `wave ${w + 1}`,
    maxConcurrency: wave.maxConcurrency,
    services: wave.services.map((s, i) => {
      const field = `input.waves.${w}.services.${i}`;
      let resolved: ReturnType<typeof resolveRolloutInput>;
      try {
        // The whole input the rollout will get, checked as its first state checks it.
        resolved = resolveRolloutInput(deps.env.MANAGED_SERVICES, rolloutInputOf(s, ref));
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        // The rollout's own check, named where the train's input holds it.
        throw new InvalidInputError(error.field.replace(/^input/, field), error.problem, error.received);
      }
      const key = `${resolved.input.cluster}/${resolved.input.service}`;
      const first = placed.get(key);
      if (first)
        throw new InvalidInputError(
          `${field}.service`,
          `${key} is already in the train (${first}): a service rolls out once per train`,
          s.service,
        );
      placed.set(key, field);
      return {
        wave: w,
        index: i,
        cluster: resolved.input.cluster,
        service: resolved.input.service,
        desiredCount: 0,
        rollout: { ...s, cluster: resolved.input.cluster },
      };
    }),
  }));
  const desired = await liveDesiredCounts(deps, [
    ...new Set(waves.flatMap((w) => w.services.map((s) => s.cluster))),
  ]);
  for (const wave of waves) {
    for (const s of wave.services) {
      const count = desired.services.get(`${s.cluster}/${s.service}`);
      if (count === undefined)
        throw new InvalidInputError(
          `input.waves.${s.wave}.services.${s.index}.service`,
          `is not an active service in cluster ${s.cluster}`,
          s.service,
        );
      s.desiredCount = count;
    }
  }
  const { burning, unjudged } = await errorBudgets(deps, [...placed.keys()], desired.targetGroups);
  if (burning.length > 0 && !input.breakGlass)
    throw new ErrorBudgetBurningError(
      `refused: ${burning.join('; ')}; nothing was changed. Fix the cause first, or to go ahead anyway (a fix rolled forward), give breakGlass: {"reason": "..."} (journaled and alerted)`,
    );
  const now = deps.clock.now();
  const frozen = trainFreezes(deps, now, [...placed.keys()]);
  if (frozen.length > 0 && !input.breakGlass)
    throw new FrozenError(freezeRefusal(frozen, `release train ${name}`) as string);
  const plan: TrainPlan = {
    train: {
      id: execution.name,
      execution: execution.id,
      name,
      onStop: input.onStop,
      budget: input.budget,
      requestedBy,
      startedAt: iso(now),
      ...(input.breakGlass ? { breakGlass: input.breakGlass } : {}),
      ...(unjudged.length > 0 ? { budgetsNotJudged: unjudged } : {}),
      ...((frozen.length > 0 || burning.length > 0) && input.breakGlass
        ? {
            override: {
              overridden: [...frozen.map(describeOccurrence), ...burning],
              reason: input.breakGlass.reason,
            },
          }
        : {}),
    },
    clusterTasks: desired.clusters,
    waves,
  };
  const bytes = Buffer.byteLength(JSON.stringify(plan));
  if (bytes > MAX_PLAN_BYTES)
    throw new InvalidInputError(
      'input.waves',
      `the train's plan takes ${Math.round(bytes / 1024)} KiB, more than a Step Functions execution carries between states (${MAX_PLAN_BYTES / 1024} KiB of its 256 KiB): split it into smaller trains`,
    );
  return plan;
}

/** Windows in force that freeze `services` in a train: a train is rollouts, so either kind does. */
function trainFreezes(deps: TrainDeps, now: number, services: readonly string[]): WindowOccurrence[] {
  const windows = freezeWindowsOf(deps.env.FREEZE_WINDOWS);
  return [
    ...windowsInForce(windows, now, 'trains', services),
    ...windowsInForce(windows, now, 'rollouts', services),
  ].filter((w, i, all) => all.findIndex((o) => o.name === w.name) === i);
}

/** A service's rollout input as the train starts it: its own fields, then the train's. */
function rolloutInputOf(
  s: TrainService,
  train: Pick<TrainRef, 'id' | 'name' | 'requestedBy' | 'breakGlass'>,
): RolloutInputDraft {
  return {
    ...(s.cluster ? { cluster: s.cluster } : {}),
    service: s.service,
    ...(s.image ? { image: s.image } : {}),
    ...(s.taskDefinition ? { taskDefinition: s.taskDefinition } : {}),
    ...(s.strategy ? { strategy: s.strategy } : {}),
    requestedBy: `train ${train.name} (${train.requestedBy})`.slice(0, 255),
    train: trainRecordId(train.id),
    // The train's break glass covers its rollouts; the train journals and alerts it once.
    ...(train.breakGlass
      ? { breakGlass: { reason: `release train ${train.name}: ${train.breakGlass.reason}`.slice(0, 300) } }
      : {}),
  };
}

/**
 * The desired count of every managed service of `clusters` (ACTIVE ones), and their sum per
 * cluster: the green-task budget's base. Services the control plane does not manage are left
 * out, so the budget is never looser than it says.
 */
async function liveDesiredCounts(deps: TrainDeps, clusters: string[]) {
  const services = new Map<string, number>();
  const targetGroups = new Map<string, string[]>();
  const totals: Record<string, number> = {};
  for (const cluster of clusters) {
    totals[cluster] = 0;
    const names = deps.env.MANAGED_SERVICES.filter((m) => m.cluster === cluster).map((m) => m.service);
    for (let i = 0; i < names.length; i += DESCRIBE_SERVICES_BATCH) {
      const out = await deps.ecs.send(
        new DescribeServicesCommand({ cluster, services: names.slice(i, i + DESCRIBE_SERVICES_BATCH) }),
      );
      for (const s of out.services ?? []) {
        if (s.status !== 'ACTIVE' || !s.serviceName) continue;
        const count = s.desiredCount ?? 0;
        services.set(`${cluster}/${s.serviceName}`, count);
        targetGroups.set(`${cluster}/${s.serviceName}`, serviceTargetGroupArns(s));
        totals[cluster] = (totals[cluster] ?? 0) + count;
      }
    }
  }
  return { services, targetGroups, clusters: totals };
}

/**
 * The train's services whose error budget burns too fast now (their SLO's burn-rate rules fire),
 * each in words, and those with an SLO whose budget could not be judged (no traffic in any rule's
 * long window). Services without an SLO are not judged.
 */
async function errorBudgets(
  deps: TrainDeps,
  services: readonly string[],
  targetGroups: ReadonlyMap<string, readonly string[]>,
): Promise<{ burning: string[]; unjudged: string[] }> {
  const config = sloConfigOf(deps.env.SERVICE_SLOS);
  const judged = services.flatMap((key) => {
    const [cluster, service] = key.split('/') as [string, string];
    const slo = sloOf(config, cluster, service);
    return slo ? [{ key, slo }] : [];
  });
  if (judged.length === 0) return { burning: [], unjudged: [] };
  const loadBalancerOf = new Map<string, string>();
  for (const { key } of judged) {
    const [cluster, service] = key.split('/');
    const managed = deps.env.MANAGED_SERVICES.find((m) => m.cluster === cluster && m.service === service);
    for (const tg of targetGroups.get(key) ?? []) loadBalancerOf.set(tg, managed?.loadBalancerName ?? '');
  }
  const targets = await metricTargets(
    deps.elb,
    [...loadBalancerOf.keys()],
    (tg) => loadBalancerOf.get(tg) ?? '',
  );
  const now = deps.clock.now();
  const points = await readServicePoints(
    deps.cloudwatch(),
    new Map(
      judged.map(({ key }) => [
        key,
        (targetGroups.get(key) ?? []).flatMap((tg) =>
          targets.get(tg) ? [targets.get(tg) as MetricTarget] : [],
        ),
      ]),
    ),
    { start: now - longestWindowMinutes(config.burnRates) * 60_000, end: now, periodSeconds: 60 },
  );
  const verdicts = judged.map(({ key, slo }) => judgeBurn(slo, config.burnRates, points.get(key) ?? [], now));
  return {
    burning: verdicts.flatMap((v) => {
      const why = burnReason(v);
      return why ? [why] : [];
    }),
    unjudged: verdicts.filter((v) => !v.judged).map((v) => v.service),
  };
}

// ------------------------------------------------------------------------------------------
// Start, waves, services.

export async function start(deps: TrainDeps, plan: TrainPlan): Promise<void> {
  const t = plan.train;
  const record = await putTrainRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, {
    execution: t.execution,
    executionName: t.id,
    name: t.name,
    onStop: t.onStop,
    budget: t.budget,
    requestedBy: t.requestedBy,
    startedAt: t.startedAt,
    clusterTasks: plan.clusterTasks,
    waves: plan.waves.map((w) => ({
      name: w.name,
      services: w.services.map((s) => `${s.cluster}/${s.service}`),
    })),
  });
  const total = plan.waves.reduce((sum, w) => sum + w.services.length, 0);
  const limits = Object.entries(plan.clusterTasks)
    .map(([cluster, tasks]) => `${cluster} ${greenTaskLimit(tasks, t.budget)} of ${tasks} tasks`)
    .join(', ');
  await journalTrain(
    deps,
    record,
    'train-started',
    'changed',
    `${total} services in ${plan.waves.length} waves; at most ${t.budget.maxFailedServices} may fail; green at most ${t.budget.maxGreenTaskPercent}% of each cluster's tasks (${limits}); on stop: ${t.onStop}${t.budgetsNotJudged ? `; error budgets not judged, no traffic in any rule's window: ${t.budgetsNotJudged.join(', ')}` : ''}`,
    {
      details: { waves: record.waves, budget: t.budget, onStop: t.onStop },
    },
  );
  if (t.override) await announceOverride(deps, record, t.override);
}

/**
 * A train started by break glass, inside a freeze window or with a service's error budget
 * burning: journaled and alerted once for all its rollouts.
 */
async function announceOverride(
  deps: TrainDeps,
  record: TrainRecord,
  override: NonNullable<TrainRef['override']>,
) {
  const overridden = override.overridden.join(' and ');
  await journalTrain(
    deps,
    record,
    'freeze-override',
    'changed',
    `${record.requestedBy} went ahead by break glass despite ${overridden}: ${override.reason}`,
    {
      details: { overridden: override.overridden, reason: override.reason },
    },
  );
  const env = deps.env.OPS_ENVIRONMENT ? `[${deps.env.OPS_ENVIRONMENT}] ` : '';
  await raiseAlert(deps.sqs(), deps.env.ALERT_QUEUE_URL, {
    severity: 'warning',
    state: 'firing',
    kind: 'freeze-override',
    title: `${env}Break glass: release train ${record.name}`,
    summary: `${record.requestedBy} runs release train ${record.name} despite ${overridden}: ${override.reason}`,
    resources: [record.execution],
    whatHappened:
      'A release train started by break glass, inside a freeze window or with an error budget burning.',
    whatWeDid: 'Started it as asked; each of its rollouts journals the override too.',
    nextSteps: [`ops train abort ${record.executionName} stops its line`],
    dedupKey: `freeze-override/${record.id}`,
    at: iso(deps.clock.now()),
  });
}

/** Whether the wave starts: not once the line has stopped. Journaled (again, if the step is retried). */
export async function openWave(
  deps: TrainDeps,
  train: TrainRef,
  wave: PlannedWave,
): Promise<{ open: boolean; reason?: string }> {
  const record = await requireTrain(deps, train);
  if (record.status !== 'running') {
    return {
      open: false,
      reason: `the line stopped before ${wave.name}: ${record.stop?.reason ?? record.status}`,
    };
  }
  await journalTrain(
    deps,
    record,
    'wave-started',
    'changed',
    `${wave.name}: ${wave.services.length} services, at most ${wave.maxConcurrency} at once`,
    {
      details: { wave: wave.index, services: wave.services.map((s) => `${s.cluster}/${s.service}`) },
    },
  );
  return { open: true };
}

export type AdmissionDecision =
  | { decision: 'start'; executionName: string; input: RolloutInputDraft }
  | { decision: 'wait'; waitSeconds: number; reason: string }
  | { decision: 'skip'; reason: string };

/** A service's turn: start its rollout if the train runs and its cluster has green room. */
export async function admit(deps: TrainDeps, train: TrainRef, s: PlannedService): Promise<AdmissionDecision> {
  const table = deps.env.OPERATIONS_TABLE;
  const serviceId = trainServiceId(train.id, s.wave, s.index);
  const execution = childExecutionName(train.id, `w${s.wave}-${s.index}`);
  const started = {
    decision: 'start' as const,
    executionName: execution,
    input: rolloutInputOf(s.rollout, train),
  };
  const existing = await getTrainService(deps.db, table, serviceId);
  if (existing?.phase === 'rolling') return started;
  if (existing && TERMINAL_SERVICE_PHASES.includes(existing.phase))
    return { decision: 'skip', reason: `already ${existing.phase}` };
  const item = {
    id: serviceId,
    train: trainRecordId(train.id),
    wave: s.wave,
    index: s.index,
    cluster: s.cluster,
    service: s.service,
    desiredCount: s.desiredCount,
    // Kept when it is admitted after waiting: how long it waited for room shows in its status.
    ...(existing?.waitingSince ? { waitingSince: existing.waitingSince } : {}),
  };
  const record = await requireTrain(deps, train);
  if (record.status !== 'running') return skip(deps, record, item);
  if (!train.breakGlass) {
    // A freeze window that began while the train ran stops its line: nothing more starts.
    const frozen = trainFreezes(deps, deps.clock.now(), [`${s.cluster}/${s.service}`]);
    if (frozen.length > 0) {
      await stopLine(deps, record, {
        reason: `${frozen.map(describeOccurrence).join(' and ')} began`,
        by: 'freeze',
      });
      return skip(deps, await requireTrain(deps, train), item);
    }
  }
  const limit = greenTaskLimit(record.clusterTasks[s.cluster] ?? 0, record.budget);
  const { room, alone } = admissionRoom(limit, s.desiredCount);
  const admitted = await admitService(deps.db, table, deps.clock, {
    trainId: record.id,
    serviceId,
    cluster: s.cluster,
    desiredCount: s.desiredCount,
    execution,
    room,
    alone,
    item,
  });
  if (admitted) return started;
  // Which condition failed: our own admission (its answer lost), a stopped line, or no room.
  const [now, mine] = await Promise.all([
    requireTrain(deps, train),
    getTrainService(deps.db, table, serviceId),
  ]);
  if (mine?.phase === 'rolling' && mine.execution === execution) return started;
  if (now.status !== 'running') return skip(deps, now, item);
  await markWaiting(deps.db, table, deps.clock, item);
  const inGreen = now.green[s.cluster] ?? 0;
  return {
    decision: 'wait',
    waitSeconds: admissionWaitSeconds(
      existing?.waitingSince ? deps.clock.now() - Date.parse(existing.waitingSince) : 0,
    ),
    reason: alone
      ? `${s.cluster}/${s.service} (${s.desiredCount} tasks) is over the green limit of ${s.cluster} (${limit} tasks) by itself: it waits until nothing else of ${s.cluster} is in green (${inGreen} now)`
      : `${s.cluster} has ${inGreen} tasks in green; ${s.desiredCount} more would pass its limit of ${limit}`,
  };
}

async function skip(
  deps: TrainDeps,
  record: TrainRecord,
  item: Parameters<typeof markSkipped>[4],
): Promise<AdmissionDecision> {
  const reason = `the line stopped before it started: ${record.stop?.reason ?? record.status}`;
  await markSkipped(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, record.id, item, reason);
  return { decision: 'skip', reason };
}

/**
 * How a service's rollout ended, recorded once; a failure that spends the budget stops the line,
 * and a stopping line with onStop=rollback has its running rollouts aborted (again, harmlessly,
 * if a step that stopped it did so already).
 */
export async function recordResult(
  deps: TrainDeps,
  train: TrainRef,
  s: PlannedService,
  executionName: string,
  failure: { Error?: string; Cause?: string } | undefined,
): Promise<{ service: string; phase: string }> {
  const end = rolloutEnd(failure);
  // A rollout that refused to start because its train had stopped never changed anything.
  const phase = end.error === 'TrainStopped' ? 'skipped' : end.phase;
  const applied = await recordServiceEnd(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, {
    trainId: trainRecordId(train.id),
    serviceId: trainServiceId(train.id, s.wave, s.index),
    cluster: s.cluster,
    desiredCount: s.desiredCount,
    execution: executionName,
    phase,
    ...(end.reason ? { reason: end.reason } : {}),
    ...(end.error ? { error: end.error } : {}),
  });
  let record = await requireTrain(deps, train);
  if (applied) {
    await journalTrain(
      deps,
      record,
      'train-service-ended',
      phase === 'failed' ? 'failed' : phase === 'skipped' ? 'unchanged' : 'changed',
      `${s.cluster}/${s.service} ${phase}${end.reason ? `: ${end.reason}` : ''}`,
      {
        details: {
          service: `${s.cluster}/${s.service}`,
          rollout: executionName,
          wave: s.wave,
          error: end.error,
        },
      },
    );
  }
  if (phase === 'failed' && record.status === 'running') {
    const why = budgetStopReason(record.counts.failed, record.budget);
    if (why) await stopLine(deps, record, { reason: `budget spent: ${why}`, by: 'budget' });
    record = await requireTrain(deps, train);
  }
  if (record.status === 'stopping' && record.onStop === 'rollback') await abortRunningRollouts(deps, record);
  return { service: `${s.cluster}/${s.service}`, phase };
}

export interface TrainOutcome {
  status: string;
  summary: string;
  counts: Record<string, number>;
}

/** The train's end: final status on the record, one journal record, one alert. */
export async function finish(
  deps: TrainDeps,
  train: TrainRef,
  failure: { Error?: string; Cause?: string } | undefined,
): Promise<TrainOutcome> {
  const record = await requireTrain(deps, train);
  const status = finalStatus(record, failure !== undefined);
  await finishTrainRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, train.id, status);
  const services = await trainServices(deps.db, deps.env.OPERATIONS_TABLE, record);
  const s = summarizeTrain(record, services, status);
  const why = failure ? `; the workflow failed: ${failure.Error}` : '';
  await journalTrain(
    deps,
    record,
    'train-finished',
    status === 'completed' ? 'changed' : 'failed',
    `${s.title}: ${s.summary}${why}`,
    {
      after: s.counts,
      details: { waves: s.waves, ...(record.stop ? { stop: record.stop } : {}) },
    },
  );
  const env = deps.env.OPS_ENVIRONMENT ? `[${deps.env.OPS_ENVIRONMENT}] ` : '';
  await raiseAlert(deps.sqs(), deps.env.ALERT_QUEUE_URL, {
    severity: s.severity,
    state: 'firing',
    kind: 'release-train',
    title: `${env}${s.title}`,
    summary: s.summary,
    resources: [record.execution],
    whatHappened: s.waves.join('\n'),
    whatWeDid:
      status === 'completed'
        ? 'Every wave ran; each service was rolled out and judged by its own rollout.'
        : `Stopped the line${record.stop ? ` (${record.stop.reason}, by ${record.stop.by})` : ''}: later waves and services not yet started did not start; running rollouts ${record.onStop === 'rollback' ? 'were aborted and went back to blue' : 'ran to their own end'}.${why}`,
    nextSteps: [
      `ops train status ${record.executionName}`,
      ...(s.counts.failed > 0
        ? ['ops journal: the failed rollouts say why (their verdicts and numbers)']
        : []),
      ...(status !== 'completed'
        ? ['fix the cause, then start a train of the services that did not roll out']
        : []),
    ],
    dedupKey: `release-train/${record.executionName}`,
    links: consoleLinks(process.env.AWS_REGION, { executionArn: record.execution }),
    at: iso(deps.clock.now()),
  });
  return { status, summary: `${s.title}: ${s.summary}`, counts: s.counts };
}

// ------------------------------------------------------------------------------------------

async function requireTrain(deps: TrainDeps, train: Pick<TrainRef, 'id'>): Promise<TrainRecord> {
  const record = await getTrainRecord(deps.db, deps.env.OPERATIONS_TABLE, train.id);
  if (!record) throw new Error(`train ${train.id} has no record (its start step never ran)`);
  return record;
}
