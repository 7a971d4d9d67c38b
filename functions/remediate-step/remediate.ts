// The decision steps of the remediate-alarm workflow. `validate` reads the alarm; `decide` picks
// the runbook and checks every guard (first transition after a deploy, one run per transition,
// the lease, guard alarms, the rollout lock, cooldown, runs per hour, blast radius, dry run,
// approval) before anything changes; `execute` runs the runbooks that need code (the workflow
// runs scale-out through the scaling workflow and force-new-deployment through an SDK task, and
// `record` notes their result); `verify` watches the alarm until it is OK or the window ends;
// `finish` and `abort` release the lease, journal and alert. Every decision is explained in plain
// words, also "did nothing, because".

import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { type ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type RemediationInput,
  RemediationInputSchema,
  type RemediationPlan,
  type RunbookPlan,
} from '../../events/remediation-input.ts';
import { type Alert, consoleLinks, raiseAlert, type Severity } from '../shared/alerts.ts';
import { type Clock, iso } from '../shared/clock.ts';
import { locateContainerInstances } from '../shared/container-instances.ts';
import { drainContainerInstances } from '../shared/drain.ts';
import { type Db, isConditionFailure, ttlSeconds } from '../shared/dynamo.ts';
import { InvalidInputError, LockHeldError } from '../shared/errors.ts';
import { childExecutionName } from '../shared/execution-names.ts';
import { type JournalEntry, type Outcome, writeJournal } from '../shared/journal.ts';
import { acquireLock, releaseLock } from '../shared/lock.ts';
import {
  abortRollout,
  type OperatorDeps,
  OperatorRefusedError,
  type OperatorResult,
  rollbackService,
} from '../shared/rollouts/operator.ts';
import { getRolloutRecord, TERMINAL_PHASES } from '../shared/rollouts/record.ts';
import { serviceLockHolder, serviceLockResource } from '../shared/service-lock.ts';
import type { TaskCallbacks } from '../shared/task-callbacks.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { alarmNameMatches, type RemediateStepEnv, type Runbook } from './config.ts';
import {
  type AlarmView,
  alarmTags,
  blastRadius,
  describeAlarms,
  describeService,
  findUnhealthyTasks,
  RunbookRefusedError,
  stopTasks,
} from './runbooks.ts';

export interface RemediateDeps {
  cloudwatch: CloudWatchClient;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  sqs: SQSClient;
  db: Db;
  clock: Clock;
  env: RemediateStepEnv;
  /** Answers a rollout's waiting task (rollback-rollout): SendTaskSuccess on AWS. */
  callbacks: TaskCallbacks;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const HISTORY_KEEP_MS = 25 * HOUR;
/** The lease outlives the approval wait, the runbook and the verification window. */
const LEASE_MARGIN_MS = 15 * MINUTE;

export const remediationLeaseResource = (runbook: Runbook, plan: RemediationPlan): string =>
  runbook.service
    ? `remediation/${runbook.cluster}/${runbook.service}`
    : `remediation/${runbook.cluster}/instance/${plan.alarm.dimensions.InstanceId ?? plan.alarm.name}`;
export const episodeKey = (alarmName: string) => `remediation/${alarmName}`;
export const escalationKey = (alarmName: string) => `remediation/${alarmName}/escalated`;
const historyKey = (runbookId: string) => `remediation-history#${runbookId}`;
const transitionKey = (alarmArn: string, at: string) => `remediation-transition#${alarmArn}#${at}`;
/** The newest transition of an alarm that an execution has taken up (any state). */
const latestTransitionKey = (alarmArn: string) => `remediation-latest-transition#${alarmArn}`;
export const gateRecordId = (executionName: string) => `remediation-gate/${executionName}`;

// -------------------------------------------------------------------------------------------
// validate

/** The first state: the input's shape, then that the alarm exists. */
export async function validateRemediation(
  deps: Pick<RemediateDeps, 'cloudwatch' | 'clock'>,
  input: unknown,
  execution: { id: string; name: string },
): Promise<RemediationPlan> {
  const request: RemediationInput = parseOrThrow(RemediationInputSchema, input);
  const [alarm] = await describeAlarms(deps.cloudwatch, [request.alarmName]);
  if (!alarm) {
    throw new InvalidInputError('alarmName', 'no CloudWatch alarm of this name exists', request.alarmName);
  }
  const state = request.state ?? {
    value: alarm.state,
    reason: alarm.reason,
    timestamp: alarm.stateUpdatedAt,
  };
  return {
    execution,
    alarm: {
      name: alarm.name,
      arn: request.alarmArn ?? alarm.arn,
      state,
      ...(request.previousState ? { previousState: request.previousState } : {}),
      dimensions: alarm.dimensions,
    },
    trigger: request.trigger ?? { kind: 'operator', id: execution.name, at: iso(deps.clock.now()) },
    dryRun: request.dryRun,
    ...(request.reason ? { reason: request.reason } : {}),
  };
}

// -------------------------------------------------------------------------------------------
// decide

export async function decideRemediation(
  deps: RemediateDeps,
  plan: RemediationPlan,
): Promise<RemediationPlan> {
  const { alarm } = plan;
  const runbook = await chooseRunbook(deps, plan);

  // Events arrive in no particular order: a transition older than one already taken up must not
  // undo it (an ALARM running a runbook after the newer OK, an OK closing a newer ALARM's episode).
  // ALARM is checked below, after the deploy-noise check.
  const checkOrder = plan.trigger.kind === 'alarm' && !plan.dryRun;
  if (checkOrder && alarm.state.value !== 'ALARM') {
    const stale = await staleTransition(deps, plan);
    if (stale) return conclude(deps, plan, runbook, 'skipped', 'unchanged', [stale]);
  }
  if (alarm.state.value === 'OK') return closeEpisode(deps, plan, runbook);
  if (alarm.state.value === 'INSUFFICIENT_DATA') {
    return conclude(deps, plan, runbook, 'skipped', 'unchanged', [
      `alarm ${alarm.name} has no data (INSUFFICIENT_DATA): there is nothing to remediate`,
    ]);
  }
  if (!runbook) {
    const done = await conclude(deps, plan, undefined, 'unknown-alarm', 'unchanged', [
      `no runbook in the registry matches alarm ${alarm.name}: journaled, nothing changed`,
    ]);
    await alert(deps, done, {
      severity: 'info',
      kind: 'remediation-unknown-alarm',
      title: `No runbook for alarm ${alarm.name}`,
      whatWeDid: 'Nothing: no runbook matches this alarm.',
      nextSteps: [
        `Add a runbook for ${alarm.name} to config/remediation/<environment>.json, or look at the alarm yourself`,
      ],
      dedupKey: `${episodeKey(alarm.name)}/unknown`,
    });
    return done;
  }

  const noise = await firstTransitionNoise(deps, plan, runbook);
  if (noise) return conclude(deps, plan, runbook, 'skipped', 'unchanged', [noise]);

  // One run per alarm transition: the trigger names executions after it, and this record also
  // catches a second execution of the same transition (a redelivery after the first ended).
  if (checkOrder) {
    const stale = await staleTransition(deps, plan);
    if (stale) return conclude(deps, plan, runbook, 'skipped', 'unchanged', [stale]);
    const claim = await claimTransition(deps, plan);
    if (claim) return conclude(deps, plan, runbook, 'skipped', 'unchanged', [claim]);
  }

  const leaseResource = remediationLeaseResource(runbook, plan);
  const leaseMs =
    (runbook.requiresApproval ? runbook.approval.timeoutSeconds * 1000 : 0) +
    runbook.verify.windowSeconds * 1000 +
    LEASE_MARGIN_MS;
  try {
    await acquireLock(deps.db, deps.env.LOCKS_TABLE, deps.clock, {
      resource: leaseResource,
      owner: plan.execution.id,
      leaseMs,
      reason: `remediation of alarm ${alarm.name} (${runbook.id})`,
    });
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    return refuse(deps, plan, runbook, [
      `another remediation (${error.holder}) is acting on ${leaseResource.replace(/^remediation\//, '')} until ${error.expiresAt}: did nothing`,
    ]);
  }
  const leased: RemediationPlan = { ...plan, lease: { resource: leaseResource, owner: plan.execution.id } };

  try {
    const refusal = (await guardAlarmRefusal(deps, runbook)) ?? (await rateRefusal(deps, leased, runbook));
    if (refusal) return await refuse(deps, leased, runbook, refusal.why, refusal.alert);
    const runbookPlan = await planRunbook(deps, leased, runbook);
    const explanation = [
      `alarm ${alarm.name} is in ALARM (${alarm.state.reason || 'no reason given'}): runbook ${runbook.id} (${runbook.runbook}${runbook.service ? ` on ${runbook.cluster}/${runbook.service}` : ''})`,
      ...describePlan(runbookPlan),
    ];
    if (plan.dryRun) {
      await releaseLock(deps.db, deps.env.LOCKS_TABLE, leased.lease as { resource: string; owner: string });
      return await conclude(deps, { ...plan, runbook: runbookPlan }, runbook, 'dry-run', 'unchanged', [
        ...explanation,
        'dry run: nothing was changed',
      ]);
    }
    await recordRun(deps, runbook, plan.execution.id);
    const decided: RemediationPlan = {
      ...leased,
      runbook: runbookPlan,
      decision: runbook.requiresApproval ? 'approve' : 'execute',
      summary: explanation[0],
      explanation,
      ...(runbook.requiresApproval ? { approval: runbook.approval } : {}),
    };
    await journal(deps, decided, runbook, {
      action: runbook.requiresApproval ? 'request-remediation-approval' : 'start-remediation',
      outcome: 'unchanged',
      reason: explanation.join('; '),
    });
    return decided;
  } catch (error) {
    if (!(error instanceof RunbookRefusedError)) {
      await releaseLock(deps.db, deps.env.LOCKS_TABLE, leased.lease as { resource: string; owner: string });
      throw error;
    }
    return refuse(deps, leased, runbook, [error.message]);
  }
}

async function chooseRunbook(deps: RemediateDeps, plan: RemediationPlan): Promise<Runbook | undefined> {
  const runbooks = deps.env.REMEDIATION_CONFIG.runbooks;
  const byName = runbooks.find(
    (r) => 'alarmName' in r.match && alarmNameMatches(r.match.alarmName, plan.alarm.name),
  );
  if (byName) return byName;
  const byTags = runbooks.filter((r) => 'tags' in r.match);
  if (byTags.length === 0) return undefined;
  const tags = await alarmTags(deps.cloudwatch, plan.alarm.arn);
  return byTags.find(
    (r) => 'tags' in r.match && Object.entries(r.match.tags).every(([k, v]) => tags[k] === v),
  );
}

/** An alarm's first transition out of INSUFFICIENT_DATA right after it was (re)configured is deploy noise. */
async function firstTransitionNoise(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook,
): Promise<string | undefined> {
  if (runbook.actOnFirstTransition || plan.alarm.previousState?.value !== 'INSUFFICIENT_DATA')
    return undefined;
  const [alarm] = await describeAlarms(deps.cloudwatch, [plan.alarm.name]);
  const configuredAt = alarm?.configurationUpdatedAt ? Date.parse(alarm.configurationUpdatedAt) : undefined;
  const at = Date.parse(plan.alarm.state.timestamp);
  const settle = deps.env.REMEDIATION_CONFIG.settleSeconds * 1000;
  if (configuredAt === undefined || Number.isNaN(at) || at - configuredAt > settle) return undefined;
  return `alarm ${plan.alarm.name} left INSUFFICIENT_DATA for the first time ${Math.round((at - configuredAt) / 1000)} s after it was configured (settle time ${deps.env.REMEDIATION_CONFIG.settleSeconds} s): treated as deploy noise, no runbook (set actOnFirstTransition to act)`;
}

async function claimTransition(deps: RemediateDeps, plan: RemediationPlan): Promise<string | undefined> {
  const now = deps.clock.now();
  const id = transitionKey(plan.alarm.arn, plan.alarm.state.timestamp);
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.env.OPERATIONS_TABLE,
        Item: { id, execution: plan.execution.id, at: iso(now), expiresAt: ttlSeconds(now + 7 * 24 * HOUR) },
        // A retried decide step of the same execution claims it again.
        ConditionExpression: 'attribute_not_exists(id) OR execution = :me',
        ExpressionAttributeValues: { ':me': plan.execution.id },
      }),
    );
    return undefined;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const out = await deps.db.send(
      new GetCommand({ TableName: deps.env.OPERATIONS_TABLE, Key: { id }, ConsistentRead: true }),
    );
    return `the transition of ${plan.alarm.name} to ALARM at ${plan.alarm.state.timestamp} was already handled by ${String(out.Item?.execution ?? 'another execution')}: delivered again, acted on once`;
  }
}

/** An alarm timestamp (CloudWatch writes `+0000` offsets) in epoch milliseconds. */
const transitionMs = (timestamp: string) => Date.parse(timestamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));

/**
 * Records this transition as the alarm's newest one taken up, unless a newer one already was:
 * then it is stale and the reason says which newer transition, handled by whom, supersedes it.
 * The same transition again (a retried step, a second execution) is not stale: claimTransition
 * tells those apart.
 */
async function staleTransition(deps: RemediateDeps, plan: RemediationPlan): Promise<string | undefined> {
  const { state } = plan.alarm;
  const atMs = transitionMs(state.timestamp);
  if (Number.isNaN(atMs)) return undefined;
  const now = deps.clock.now();
  const id = latestTransitionKey(plan.alarm.arn);
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.env.OPERATIONS_TABLE,
        Key: { id },
        UpdateExpression:
          'SET atMs = :at, stateValue = :value, stateAt = :ts, execution = :me, expiresAt = :ttl',
        ConditionExpression: 'attribute_not_exists(id) OR atMs <= :at',
        ExpressionAttributeValues: {
          ':at': atMs,
          ':value': state.value,
          ':ts': state.timestamp,
          ':me': plan.execution.id,
          ':ttl': ttlSeconds(now + 7 * 24 * HOUR),
        },
      }),
    );
    return undefined;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const out = await deps.db.send(
      new GetCommand({ TableName: deps.env.OPERATIONS_TABLE, Key: { id }, ConsistentRead: true }),
    );
    const newer = out.Item ?? {};
    return `the transition of ${plan.alarm.name} to ${state.value} at ${state.timestamp} is older than its transition to ${String(newer.stateValue ?? '?')} at ${String(newer.stateAt ?? '?')}, already handled by ${String(newer.execution ?? 'another execution')}: delivered late, nothing done`;
  }
}

async function guardAlarmRefusal(
  deps: RemediateDeps,
  runbook: Runbook,
): Promise<{ why: string[]; alert: boolean } | undefined> {
  const names = [...deps.env.REMEDIATION_CONFIG.guardAlarms, ...runbook.guardAlarms];
  if (names.length === 0) return undefined;
  const firing = (await describeAlarms(deps.cloudwatch, names)).filter((a) => a.state === 'ALARM');
  if (firing.length === 0) return undefined;
  return {
    why: [
      `guard alarm${firing.length > 1 ? 's' : ''} ${firing.map((a) => a.name).join(', ')} ${firing.length > 1 ? 'are' : 'is'} in ALARM: runbook ${runbook.id} aborted before any change`,
    ],
    alert: true,
  };
}

interface PastRun {
  at: number;
  execution: string;
}

async function readRuns(deps: RemediateDeps, runbookId: string): Promise<PastRun[]> {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.env.OPERATIONS_TABLE,
      Key: { id: historyKey(runbookId) },
      ConsistentRead: true,
    }),
  );
  return ((out.Item?.runs as PastRun[] | undefined) ?? []).map((r) => ({ ...r, at: Number(r.at) }));
}

/** Cooldown and runs per hour, counted per runbook over executions that acted (dry runs do not). */
async function rateRefusal(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook,
): Promise<{ why: string[]; alert: boolean } | undefined> {
  const now = deps.clock.now();
  const runs = (await readRuns(deps, runbook.id)).filter((r) => r.execution !== plan.execution.id);
  const last = runs.at(-1);
  if (last && now < last.at + runbook.cooldownSeconds * 1000) {
    return {
      why: [
        `did nothing because runbook ${runbook.id} is cooling down until ${clock(last.at + runbook.cooldownSeconds * 1000)} (it last ran at ${clock(last.at)}, ${last.execution.split(':').pop()})`,
      ],
      alert: false,
    };
  }
  const inHour = runs.filter((r) => r.at > now - HOUR);
  if (inHour.length >= runbook.maxPerHour) {
    return {
      why: [
        `did nothing because runbook ${runbook.id} already ran ${inHour.length} times in the last hour (at most ${runbook.maxPerHour}); the next run is allowed at ${clock((inHour[0] as PastRun).at + HOUR)}`,
      ],
      alert: true,
    };
  }
  return undefined;
}

/** Counts this execution as a run (before it acts: a run that crashes counted too). */
async function recordRun(deps: RemediateDeps, runbook: Runbook, execution: string): Promise<void> {
  const now = deps.clock.now();
  const runs = (await readRuns(deps, runbook.id))
    .filter((r) => r.execution !== execution && r.at > now - HISTORY_KEEP_MS)
    .concat({ at: now, execution })
    .slice(-200);
  // Runs of one runbook share its lease's resource, so this read-modify-write has one writer.
  await deps.db.send(
    new PutCommand({
      TableName: deps.env.OPERATIONS_TABLE,
      Item: { id: historyKey(runbook.id), runs, expiresAt: ttlSeconds(now + HISTORY_KEEP_MS) },
    }),
  );
}

/** What the runbook would touch, checked against the rollout lock and the blast radius. */
async function planRunbook(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook,
): Promise<RunbookPlan> {
  const base: RunbookPlan = {
    id: runbook.id,
    kind: runbook.runbook,
    cluster: runbook.cluster,
    ...(runbook.service ? { service: runbook.service } : {}),
  };
  const { cluster } = runbook;
  const service = runbook.service as string;
  const rollout = runbook.service
    ? await serviceLockHolder(deps.db, deps.env.LOCKS_TABLE, deps.clock, cluster, service)
    : undefined;
  // A scale-in holds the same lease as a rollout does (for its duration): name which one it is.
  const holder = rollout?.reason.startsWith('scale-in') ? 'scale-in' : 'rollout';
  const lockedOut = (what: string) =>
    new RunbookRefusedError(
      `${what} would fight the ${holder} ${rollout?.owner.split(':').pop() ?? ''} that holds ${cluster}/${service} until ${rollout?.expiresAt ?? ''}: did nothing (a rollback-rollout runbook acts on rollouts)`,
    );

  switch (runbook.runbook) {
    case 'notify-only':
      return { ...base, severity: runbook.severity };
    case 'scale-out': {
      // The scaling workflow applies its own guardrails (and lets a scale-out run during a rollout).
      const amount = runbook.delta !== undefined ? { delta: runbook.delta } : { percent: runbook.percent };
      return {
        ...base,
        scaleInput: {
          cluster,
          service,
          ...amount,
          reason: `remediation of alarm ${plan.alarm.name} (runbook ${runbook.id})`.slice(0, 500),
          requestId: plan.execution.name,
          trigger: { kind: 'alarm', id: plan.alarm.arn, at: plan.alarm.state.timestamp },
        },
        // `<ours>-scale` passes 80 characters once an alarm's name has 37 or more.
        scaleExecutionName: childExecutionName(plan.execution.name, 'scale'),
      };
    }
    case 'rollback-rollout': {
      if (!deps.env.MANAGED_SERVICES.some((s) => s.cluster === cluster && s.service === service))
        throw new RunbookRefusedError(`${cluster}/${service} is not a service that rollouts manage`);
      const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, cluster, service);
      const inFlight = record && !TERMINAL_PHASES.includes(record.phase) && record.phase !== 'reverting';
      const inWindow =
        record?.phase === 'window' &&
        record.windowEndsAt !== undefined &&
        deps.clock.now() < Date.parse(record.windowEndsAt);
      if (!record || (!inFlight && !inWindow)) {
        throw new RunbookRefusedError(
          record
            ? `no rollout of ${cluster}/${service} to roll back: the last one (${record.executionName}) is ${record.phase}${record.windowEndsAt ? `, its rollback window closed at ${record.windowEndsAt}` : ''}`
            : `no rollout of ${cluster}/${service} to roll back`,
        );
      }
      return { ...base, targets: [record.execution] };
    }
    case 'force-new-deployment': {
      if (rollout) throw lockedOut('a new deployment');
      const svc = await describeService(deps.ecs, cluster, service);
      if (svc.deploymentController?.type === 'EXTERNAL') {
        throw new RunbookRefusedError(
          `${cluster}/${service} uses the EXTERNAL deployment controller: a new deployment is a rollout (ops rollout), not force-new-deployment`,
        );
      }
      const running = svc.runningCount ?? 0;
      const minHealthy = svc.deploymentConfiguration?.minimumHealthyPercent ?? 100;
      // A rolling deployment replaces up to (100 - minimumHealthyPercent)% of the tasks at once.
      const atOnce = Math.max(1, Math.ceil((running * (100 - minHealthy)) / 100));
      const radius = blastRadius(runbook, running, atOnce);
      if (atOnce > radius.allowed) {
        throw new RunbookRefusedError(
          `a new deployment would replace ${atOnce} of ${running} tasks at once (minimumHealthyPercent ${minHealthy}); the blast radius allows ${radius.allowed}: did nothing`,
        );
      }
      return { ...base, blastRadius: radius };
    }
    case 'replace-unhealthy-tasks': {
      if (rollout) throw lockedOut('replacing tasks');
      const found = await findUnhealthyTasks(deps.ecs, deps.elb, cluster, service);
      const radius = blastRadius(runbook, found.running, found.unhealthy.length);
      if (found.unhealthy.length === 0)
        throw new RunbookRefusedError(
          `no task of ${cluster}/${service} is behind an unhealthy target: nothing to replace`,
        );
      if (radius.allowed < 1) {
        throw new RunbookRefusedError(
          `the blast radius (${runbook.blastRadius.maxTasks} tasks, ${runbook.blastRadius.maxPercent}% of ${found.running} running) allows no task to be stopped`,
        );
      }
      const targets = found.unhealthy.slice(0, radius.allowed).map((u) => u.taskArn);
      return { ...base, targets, blastRadius: radius };
    }
    case 'drain-instance': {
      const instanceId = plan.alarm.dimensions.InstanceId;
      if (!instanceId)
        throw new RunbookRefusedError(
          `alarm ${plan.alarm.name} has no InstanceId dimension: no instance to drain`,
        );
      const located = (await locateContainerInstances(deps.ecs, [cluster], [instanceId])).get(instanceId);
      if (!located)
        throw new RunbookRefusedError(`${instanceId} is not a container instance of cluster ${cluster}`);
      if (located.status === 'DRAINING')
        throw new RunbookRefusedError(`${instanceId} is already DRAINING: nothing to do`);
      const tasks = (await serviceTasksOnInstance(deps, cluster, located.containerInstanceArn)).length;
      const radius = { ...blastRadius(runbook, tasks, tasks), allowed: runbook.blastRadius.maxTasks };
      if (tasks > radius.allowed) {
        throw new RunbookRefusedError(
          `draining ${instanceId} would move ${tasks} tasks at once; the blast radius allows ${radius.allowed}: did nothing`,
        );
      }
      return { ...base, instanceId, targets: [located.containerInstanceArn], blastRadius: radius };
    }
  }
}

async function serviceTasksOnInstance(deps: RemediateDeps, cluster: string, containerInstanceArn: string) {
  // Every service's tasks on that instance move when it drains: count them all.
  const out = await deps.ecs.send(
    new ListTasksCommand({ cluster, containerInstance: containerInstanceArn, desiredStatus: 'RUNNING' }),
  );
  return out.taskArns ?? [];
}

function describePlan(p: RunbookPlan): string[] {
  switch (p.kind) {
    case 'notify-only':
      return [`notify-only: a ${p.severity} alert, no change`];
    case 'scale-out':
      return [
        `scale out ${p.cluster}/${p.service} by ${p.scaleInput?.delta !== undefined ? `+${String(p.scaleInput.delta)}` : `${String(p.scaleInput?.percent)}%`} through the scale-service workflow (its guardrails apply)`,
      ];
    case 'rollback-rollout':
      return [`roll back the rollout ${p.targets?.[0]?.split(':').pop() ?? ''} of ${p.cluster}/${p.service}`];
    case 'force-new-deployment':
      return [
        `force a new deployment of ${p.cluster}/${p.service} (up to ${p.blastRadius?.wanted} tasks replaced at once, blast radius ${p.blastRadius?.allowed})`,
      ];
    case 'replace-unhealthy-tasks':
      return [
        `stop ${p.targets?.length} of ${p.blastRadius?.wanted} tasks behind unhealthy targets (blast radius: ${p.blastRadius?.allowed} of this run)${(p.blastRadius?.wanted ?? 0) > (p.targets?.length ?? 0) ? '; the rest wait for the next run' : ''}`,
      ];
    case 'drain-instance':
      return [
        `drain container instance ${p.instanceId} in ${p.cluster} (${p.blastRadius?.wanted} tasks move)`,
      ];
  }
}

/** OK ends the episode: a resolved alert goes out at once (its firing alerts were on these keys). */
async function closeEpisode(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook | undefined,
): Promise<RemediationPlan> {
  const done = await conclude(deps, plan, runbook, 'resolved', 'unchanged', [
    `alarm ${plan.alarm.name} is OK again (${plan.alarm.state.reason || 'no reason given'}): the episode is closed`,
  ]);
  for (const dedupKey of [episodeKey(plan.alarm.name), escalationKey(plan.alarm.name)]) {
    await alert(deps, done, {
      state: 'resolved',
      severity: dedupKey.endsWith('/escalated') ? 'critical' : 'warning',
      kind: dedupKey.endsWith('/escalated') ? 'remediation-escalated' : 'remediation',
      title: `Resolved: alarm ${plan.alarm.name} is OK`,
      whatWeDid: 'Closed the remediation episode.',
      nextSteps: [],
      dedupKey,
    });
  }
  return done;
}

async function refuse(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook,
  why: string[],
  announce = true,
): Promise<RemediationPlan> {
  if (plan.lease) await releaseLock(deps.db, deps.env.LOCKS_TABLE, plan.lease);
  const { lease: _released, ...rest } = plan;
  const done = await conclude(deps, rest, runbook, 'refused', 'refused', why);
  if (announce) {
    await alert(deps, done, {
      severity: 'warning',
      kind: 'remediation-refused',
      title: `Alarm ${plan.alarm.name}: runbook ${runbook.id} held back`,
      whatWeDid: why.join(' '),
      nextSteps: [
        `Look at alarm ${plan.alarm.name} yourself: the control plane did not act`,
        `ops remediate --alarm ${plan.alarm.name} --dry-run shows what it would do now`,
      ],
      dedupKey: `${episodeKey(plan.alarm.name)}/refused`,
    });
  }
  return done;
}

/** Ends the decision here: output and journal say why. */
async function conclude(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook | undefined,
  decision: NonNullable<RemediationPlan['decision']>,
  outcome: Outcome,
  explanation: string[],
): Promise<RemediationPlan> {
  const done: RemediationPlan = { ...plan, decision, summary: explanation[0], explanation };
  await journal(deps, done, runbook, {
    action: `remediation-${decision}`,
    outcome,
    reason: explanation.join('; '),
  });
  return done;
}

// -------------------------------------------------------------------------------------------
// approval

export async function openApprovalGate(
  deps: RemediateDeps,
  plan: RemediationPlan,
  token: string,
): Promise<RemediationPlan> {
  const now = deps.clock.now();
  const timeout = plan.approval?.timeoutSeconds ?? 900;
  await deps.db.send(
    new PutCommand({
      TableName: deps.env.OPERATIONS_TABLE,
      Item: {
        id: gateRecordId(plan.execution.name),
        execution: plan.execution.id,
        executionName: plan.execution.name,
        token,
        alarm: plan.alarm.name,
        runbook: plan.runbook?.id,
        openedAt: iso(now),
        closesAt: iso(now + timeout * 1000),
        expiresAt: ttlSeconds(now + timeout * 1000 + 24 * HOUR),
      },
    }),
  );
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'remediation-approval',
    title: `Approve runbook ${plan.runbook?.id} for alarm ${plan.alarm.name}?`,
    whatWeDid: `Waiting for a human before acting: ${plan.explanation?.slice(1).join('; ') ?? ''}. Without an answer by ${iso(now + timeout * 1000)} the default is to ${plan.approval?.defaultAction ?? 'reject'}.`,
    nextSteps: [`ops approve ${plan.execution.name}`, `ops reject ${plan.execution.name}`],
    dedupKey: `${episodeKey(plan.alarm.name)}/approval/${plan.execution.name}`,
  });
  return plan;
}

/** After the gate: an approval goes on to act; anything else ends here, unchanged. */
export async function closeApprovalGate(
  deps: RemediateDeps,
  plan: RemediationPlan & { answer?: { decision?: string; by?: string; reason?: string } },
): Promise<RemediationPlan> {
  let answer = plan.answer ?? {};
  if (answer.by === 'timeout') {
    // An operator's answer claimed on the gate record still counts when its callback never
    // reached the task (lost, throttled, or sent as the gate timed out).
    const gate = await deps.db.send(
      new GetCommand({
        TableName: deps.env.OPERATIONS_TABLE,
        Key: { id: gateRecordId(plan.execution.name) },
        ConsistentRead: true,
      }),
    );
    const claimed = gate.Item?.answer as typeof answer | undefined;
    if (claimed?.decision) answer = claimed;
  }
  const approved = answer.decision === 'approve';
  const why = `${answer.by === 'timeout' ? `no answer in time: the default (${answer.decision})` : `${answer.by ?? 'someone'} chose to ${answer.decision ?? 'reject'}`}${answer.reason ? ` (${answer.reason})` : ''}`;
  const { answer: _answer, ...rest } = plan;
  if (approved) {
    await journal(deps, rest, undefined, {
      action: 'approve-remediation',
      outcome: 'unchanged',
      reason: why,
    });
    return { ...rest, decision: 'execute' };
  }
  if (rest.lease) await releaseLock(deps.db, deps.env.LOCKS_TABLE, rest.lease);
  const { lease: _lease, ...released } = rest;
  return conclude(deps, { ...released, outcome: 'rejected' }, undefined, 'refused', 'refused', [
    `runbook ${plan.runbook?.id} was not approved: ${why}; nothing was changed`,
  ]);
}

// -------------------------------------------------------------------------------------------
// execute, record

export async function executeRunbook(deps: RemediateDeps, plan: RemediationPlan): Promise<RemediationPlan> {
  const rb = plan.runbook;
  if (!rb) throw new InvalidInputError('runbook', 'the plan carries no runbook');
  let done: string;
  let details: Record<string, unknown> | undefined;
  switch (rb.kind) {
    case 'notify-only': {
      await alert(deps, plan, {
        severity: rb.severity ?? 'warning',
        kind: 'remediation',
        title: `Alarm ${plan.alarm.name} is in ALARM`,
        whatWeDid: 'Nothing automatic: this alarm is notify-only.',
        nextSteps: [`Look at alarm ${plan.alarm.name}`],
        dedupKey: episodeKey(plan.alarm.name),
      });
      return finishWith(
        deps,
        { ...plan, action: { done: `announced alarm ${plan.alarm.name} (notify-only)` } },
        'remediated',
      );
    }
    case 'rollback-rollout': {
      const execution = rb.targets?.[0] as string;
      const operator: OperatorDeps = {
        db: deps.db,
        elb: deps.elb,
        clock: deps.clock,
        env: { OPERATIONS_TABLE: deps.env.OPERATIONS_TABLE, JOURNAL_TABLE: deps.env.JOURNAL_TABLE },
        callbacks: deps.callbacks,
      };
      const by = `remediation:${plan.execution.name}`;
      const record = await getRolloutRecord(
        deps.db,
        deps.env.OPERATIONS_TABLE,
        rb.cluster as string,
        rb.service as string,
      );
      let result: OperatorResult;
      try {
        result =
          record?.phase === 'window'
            ? await rollbackService(operator, execution, by)
            : await abortRollout(operator, execution, by, `alarm ${plan.alarm.name} is in ALARM`);
      } catch (error) {
        if (!(error instanceof OperatorRefusedError)) throw error;
        // The rollout moved on since the decision (promoted, finished, already going back):
        // nothing was changed, so a human decides, with the reason.
        const next = { ...plan, action: { done: `did not roll back rollout ${execution.split(':').pop()}` } };
        return finishWith(
          deps,
          { ...next, verification: notRecovered(deps, rb, error.message) },
          'escalated',
        );
      }
      done = `${result.action === 'rollback' ? 'rolled back' : 'aborted'} rollout ${execution.split(':').pop()}: ${result.message}`;
      details = { execution, ...(result.weights ? { weights: result.weights } : {}) };
      break;
    }
    case 'replace-unhealthy-tasks': {
      const stopped = await stopTasks(
        deps.ecs,
        rb.cluster as string,
        rb.targets ?? [],
        `ecs-ops remediation ${plan.execution.name}: target unhealthy (alarm ${plan.alarm.name})`,
      );
      done = `stopped ${stopped.length} task${stopped.length === 1 ? '' : 's'} behind unhealthy targets (blast radius ${rb.blastRadius?.allowed}); ECS starts replacements`;
      details = { stopped };
      break;
    }
    case 'drain-instance': {
      const result = await drainContainerInstances(deps.ecs, rb.cluster as string, rb.targets ?? []);
      if (result.failed.length > 0)
        throw new Error(`drain of ${rb.instanceId} not confirmed: ${result.failed[0]?.reason}`);
      done = `set container instance ${rb.instanceId} to DRAINING (read back)`;
      details = { drained: result.drained };
      break;
    }
    case 'scale-out':
    case 'force-new-deployment':
      throw new InvalidInputError(
        'runbook.kind',
        `${rb.kind} runs in the workflow, not in this step`,
        rb.kind,
      );
  }
  return startVerification(deps, { ...plan, action: { done, ...(details ? { details } : {}) } });
}

/** After a runbook the workflow ran itself (scale-out, force-new-deployment): note what happened. */
export async function recordRunbookResult(
  deps: RemediateDeps,
  plan: RemediationPlan & { result?: unknown },
): Promise<RemediationPlan> {
  const { result, ...rest } = plan;
  const rb = rest.runbook;
  if (rb?.kind === 'scale-out') {
    const child = (result ?? {}) as {
      Output?: { decision?: string; summary?: string };
      ExecutionArn?: string;
    };
    const scaled = child.Output?.decision === 'scale';
    const done = `scale-service ${child.ExecutionArn?.split(':').pop() ?? ''}: ${child.Output?.summary ?? child.Output?.decision ?? 'no summary'}`;
    const next = {
      ...rest,
      action: { done, details: { scaleExecution: child.ExecutionArn, decision: child.Output?.decision } },
    };
    if (!scaled) {
      // Nothing changed, so waiting for the alarm would only delay the escalation.
      return finishWith(
        deps,
        { ...next, verification: notRecovered(deps, rb, 'the scaling workflow did not scale') },
        'escalated',
      );
    }
    return startVerification(deps, next);
  }
  return startVerification(deps, {
    ...rest,
    action: { done: `forced a new deployment of ${rb?.cluster}/${rb?.service}` },
  });
}

function notRecovered(
  deps: RemediateDeps,
  rb: RunbookPlan,
  lastState: string,
): RemediationPlan['verification'] {
  const runbook = findRunbook(deps, rb.id);
  return {
    status: 'not-recovered',
    deadline: iso(deps.clock.now()),
    pollSeconds: runbook?.verify.pollSeconds ?? 30,
    checks: 0,
    lastState,
  };
}

async function startVerification(deps: RemediateDeps, plan: RemediationPlan): Promise<RemediationPlan> {
  const runbook = findRunbook(deps, plan.runbook?.id);
  const verify = runbook?.verify ?? { windowSeconds: 600, pollSeconds: 30 };
  await journal(deps, plan, runbook, {
    action: `run-${plan.runbook?.kind}`,
    outcome: 'changed',
    reason: plan.action?.done ?? '',
    ...(plan.action?.details ? { details: plan.action.details } : {}),
  });
  await alert(deps, plan, {
    severity: 'warning',
    kind: 'remediation',
    title: `Alarm ${plan.alarm.name}: ran runbook ${plan.runbook?.id}`,
    whatWeDid: `${plan.action?.done}. Watching the alarm for up to ${verify.windowSeconds} s.`,
    nextSteps: [
      `If ${plan.alarm.name} stays in ALARM the control plane escalates; no second attempt is made`,
    ],
    dedupKey: episodeKey(plan.alarm.name),
  });
  return {
    ...plan,
    verification: {
      status: 'waiting',
      deadline: iso(deps.clock.now() + verify.windowSeconds * 1000),
      pollSeconds: verify.pollSeconds,
      checks: 0,
    },
  };
}

// -------------------------------------------------------------------------------------------
// verify, finish, abort

export async function verifyRemediation(
  deps: RemediateDeps,
  plan: RemediationPlan,
): Promise<RemediationPlan> {
  const v = plan.verification;
  if (!v) throw new InvalidInputError('verification', 'the plan has no verification to continue');
  const [alarm] = await describeAlarms(deps.cloudwatch, [plan.alarm.name]);
  const state = alarm?.state ?? 'INSUFFICIENT_DATA';
  const checks = v.checks + 1;
  if (state === 'OK')
    return { ...plan, verification: { ...v, status: 'recovered', checks, lastState: state } };
  const status = deps.clock.now() >= Date.parse(v.deadline) ? 'not-recovered' : 'waiting';
  return { ...plan, verification: { ...v, status, checks, lastState: state } };
}

export async function finishRemediation(
  deps: RemediateDeps,
  plan: RemediationPlan,
): Promise<RemediationPlan> {
  const recovered = plan.verification?.status === 'recovered';
  return finishWith(deps, plan, recovered ? 'remediated' : 'escalated');
}

async function finishWith(
  deps: RemediateDeps,
  plan: RemediationPlan,
  outcome: 'remediated' | 'escalated',
): Promise<RemediationPlan> {
  if (plan.lease) await releaseLock(deps.db, deps.env.LOCKS_TABLE, plan.lease);
  const { lease: _lease, ...rest } = plan;
  const v = plan.verification;
  const summary =
    outcome === 'remediated'
      ? v
        ? `alarm ${plan.alarm.name} is OK again after runbook ${plan.runbook?.id} (${v.checks} check${v.checks === 1 ? '' : 's'})`
        : `runbook ${plan.runbook?.id} done for alarm ${plan.alarm.name}`
      : `alarm ${plan.alarm.name} is still ${v?.lastState ?? 'in ALARM'} after runbook ${plan.runbook?.id}: escalated to a human, no second attempt`;
  const done: RemediationPlan = {
    ...rest,
    outcome,
    summary,
    explanation: [...(plan.explanation ?? []), summary],
  };
  await journal(deps, done, findRunbook(deps, plan.runbook?.id), {
    action: outcome === 'remediated' ? 'remediation-verified' : 'escalate-remediation',
    outcome: outcome === 'remediated' ? 'changed' : 'failed',
    reason: `${plan.action?.done ?? ''}; ${summary}`,
  });
  if (outcome === 'escalated') {
    await alert(deps, done, {
      severity: 'critical',
      kind: 'remediation-escalated',
      title: `Alarm ${plan.alarm.name} not remediated: a human is needed`,
      whatWeDid: `Tried runbook ${plan.runbook?.id}: ${plan.action?.done ?? 'nothing'}. The alarm is still ${v?.lastState ?? 'ALARM'}${v ? ` after ${v.checks} check${v.checks === 1 ? '' : 's'} (window until ${v.deadline})` : ''}. No second attempt will be made.`,
      nextSteps: [
        `Look at alarm ${plan.alarm.name} and ${plan.runbook?.service ? `${plan.runbook.cluster}/${plan.runbook.service}` : 'the resource behind it'}`,
        'ops journal shows every step of this remediation',
      ],
      dedupKey: escalationKey(plan.alarm.name),
    });
  } else if (v) {
    await alert(deps, done, {
      state: 'resolved',
      severity: 'warning',
      kind: 'remediation',
      title: `Resolved: alarm ${plan.alarm.name} is OK after runbook ${plan.runbook?.id}`,
      whatWeDid: plan.action?.done ?? '',
      nextSteps: [],
      dedupKey: episodeKey(plan.alarm.name),
    });
  }
  return done;
}

export async function abortRemediation(
  deps: RemediateDeps,
  input: { plan: unknown; failure?: { Error?: string; Cause?: string } },
): Promise<RemediationPlan> {
  const plan = input.plan as RemediationPlan;
  if (plan.lease) await releaseLock(deps.db, deps.env.LOCKS_TABLE, plan.lease);
  const { lease: _lease, ...rest } = plan;
  const error = input.failure?.Error ?? 'Error';
  const cause = (input.failure?.Cause ?? '').slice(0, 1000);
  const done: RemediationPlan = {
    ...rest,
    outcome: 'failed',
    summary: `runbook ${plan.runbook?.id ?? '?'} for alarm ${plan.alarm?.name} failed: ${error}`,
  };
  await journal(deps, done, findRunbook(deps, plan.runbook?.id), {
    action: 'remediation-failed',
    outcome: 'failed',
    reason: `${done.summary}: ${cause}`,
  });
  await alert(deps, done, {
    severity: 'critical',
    kind: 'remediation-escalated',
    title: `Remediation of alarm ${plan.alarm?.name} failed`,
    whatWeDid: `Runbook ${plan.runbook?.id ?? '?'} failed with ${error}: ${cause}. The lease is released; no second attempt will be made.`,
    nextSteps: [
      `Look at alarm ${plan.alarm?.name} yourself`,
      'The Step Functions execution shows where it failed',
    ],
    dedupKey: escalationKey(plan.alarm?.name ?? 'unknown'),
  });
  return done;
}

// -------------------------------------------------------------------------------------------
// evidence

function findRunbook(deps: RemediateDeps, id: string | undefined): Runbook | undefined {
  return deps.env.REMEDIATION_CONFIG.runbooks.find((r) => r.id === id);
}

const clock = (ms: number) => `${iso(ms).slice(11, 19)} UTC`;

async function journal(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Pick<Runbook, 'cluster' | 'service' | 'id'> | undefined,
  entry: Pick<JournalEntry, 'action' | 'outcome' | 'reason'> & { details?: Record<string, unknown> },
): Promise<void> {
  const cluster = runbook?.cluster ?? plan.runbook?.cluster;
  const service = runbook?.service ?? plan.runbook?.service;
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: cluster && service ? serviceLockResource(cluster, service) : `alarm/${plan.alarm.name}`,
      action: entry.action,
      outcome: entry.outcome,
      reason: entry.reason,
      trigger: plan.trigger,
      actor: plan.execution.id,
      details: {
        alarm: plan.alarm.name,
        alarmState: plan.alarm.state,
        ...(runbook?.id || plan.runbook?.id ? { runbook: runbook?.id ?? plan.runbook?.id } : {}),
        ...(plan.dryRun ? { dryRun: true } : {}),
        ...(entry.details ?? {}),
      },
    },
  ]);
}

async function alert(
  deps: RemediateDeps,
  plan: RemediationPlan,
  parts: Pick<Alert, 'severity' | 'kind' | 'title' | 'whatWeDid' | 'nextSteps' | 'dedupKey'> & {
    state?: Alert['state'];
  },
): Promise<void> {
  const cluster = plan.runbook?.cluster;
  const service = plan.runbook?.service;
  await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
    state: parts.state ?? 'firing',
    severity: parts.severity as Severity,
    kind: parts.kind,
    title: parts.title,
    summary: plan.summary ?? parts.title,
    ...(cluster ? { cluster } : {}),
    ...(service ? { service } : {}),
    resources: [plan.alarm.arn, ...(cluster && service ? [`service/${cluster}/${service}`] : [])],
    whatHappened: `Alarm ${plan.alarm.name} went to ${plan.alarm.state.value} at ${plan.alarm.state.timestamp}${plan.alarm.state.reason ? `: ${plan.alarm.state.reason}` : ''}`,
    whatWeDid: parts.whatWeDid,
    nextSteps: parts.nextSteps,
    dedupKey: parts.dedupKey,
    links: consoleLinks(process.env.AWS_REGION, {
      ...(cluster ? { cluster } : {}),
      ...(service ? { service } : {}),
      executionArn: plan.execution.id,
      alarmName: plan.alarm.name,
    }),
    at: iso(deps.clock.now()),
  });
}

export type { AlarmView };
