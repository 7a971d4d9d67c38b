// The first two steps: `validate` reads the alarm the input names; `decide` picks the runbook and
// checks every guard before anything changes, and explains a refusal in plain words.
import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type RemediationInput,
  RemediationInputSchema,
  type RemediationPlan,
  type RunbookPlan,
} from '../../events/remediation-input.ts';
import { claimForExecution } from '../shared/claims.ts';
import { iso } from '../shared/clock.ts';
import { locateContainerInstances } from '../shared/container-instances.ts';
import { isConditionFailure, ttlSeconds } from '../shared/dynamo.ts';
import { InvalidInputError, LockHeldError } from '../shared/errors.ts';
import { childExecutionName } from '../shared/execution-names.ts';
import type { Outcome } from '../shared/journal.ts';
import { acquireLock, releaseLock } from '../shared/lock.ts';
import { getRolloutRecord, TERMINAL_PHASES } from '../shared/rollouts/record.ts';
import { serviceLockHolder } from '../shared/service-lock.ts';
import { parseOrThrow } from '../shared/validation.ts';
import type { Runbook } from './config.ts';
import {
  deployNoise,
  describePlan,
  drainRadius,
  guardAlarmsRefusal,
  HISTORY_KEEP_MS,
  leaseMs,
  mayBeDeployNoise,
  newDeploymentRadius,
  type PastRun,
  type Refusal,
  RunbookRefusedError,
  rateRefusal,
  rollbackTargets,
  runbookByName,
  runbookByTags,
  runsWith,
  unhealthyTargets,
} from './guards.ts';
import {
  alert,
  episodeKey,
  escalationKey,
  HOUR,
  historyKey,
  journal,
  LEASE_MARGIN_MS,
  latestTransitionKey,
  type RemediateDeps,
  remediationLeaseResource,
  transitionKey,
} from './remediate-deps.ts';
import { alarmTags, describeAlarms, describeService, findUnhealthyTasks } from './runbooks.ts';

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
  try {
    await acquireLock(deps.db, deps.env.LOCKS_TABLE, deps.clock, {
      resource: leaseResource,
      owner: plan.execution.id,
      leaseMs: leaseMs(runbook, LEASE_MARGIN_MS),
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
    const refusal = (await guardAlarmRefusal(deps, runbook)) ?? (await rateRefusalNow(deps, leased, runbook));
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
  const byName = runbookByName(runbooks, plan.alarm.name);
  if (byName || !runbooks.some((r) => 'tags' in r.match)) return byName;
  return runbookByTags(runbooks, await alarmTags(deps.cloudwatch, plan.alarm.arn));
}

/** Reads the alarm's configuration time only when the transition could be deploy noise. */
async function firstTransitionNoise(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook,
): Promise<string | undefined> {
  if (!mayBeDeployNoise(plan, runbook)) return undefined;
  const [alarm] = await describeAlarms(deps.cloudwatch, [plan.alarm.name]);
  const configuredAt = alarm?.configurationUpdatedAt ? Date.parse(alarm.configurationUpdatedAt) : undefined;
  return deployNoise(plan, configuredAt, deps.env.REMEDIATION_CONFIG.settleSeconds);
}

async function claimTransition(deps: RemediateDeps, plan: RemediationPlan): Promise<string | undefined> {
  // A retried decide step of the same execution claims it again.
  const claim = await claimForExecution(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, {
    id: transitionKey(plan.alarm.arn, plan.alarm.state.timestamp),
    execution: plan.execution.id,
    holderAttribute: 'execution',
    ttlMs: 7 * 24 * HOUR,
  });
  if (claim.claimed) return undefined;
  return `the transition of ${plan.alarm.name} to ALARM at ${plan.alarm.state.timestamp} was already handled by ${claim.holder}: delivered again, acted on once`;
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

async function guardAlarmRefusal(deps: RemediateDeps, runbook: Runbook): Promise<Refusal | undefined> {
  const names = [...deps.env.REMEDIATION_CONFIG.guardAlarms, ...runbook.guardAlarms];
  if (names.length === 0) return undefined;
  const alarms = await describeAlarms(deps.cloudwatch, names);
  return guardAlarmsRefusal(
    runbook,
    alarms.filter((a) => a.state === 'ALARM').map((a) => a.name),
  );
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

async function rateRefusalNow(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Runbook,
): Promise<Refusal | undefined> {
  return rateRefusal(runbook, await readRuns(deps, runbook.id), plan.execution.id, deps.clock.now());
}

/** Counts this execution as a run (before it acts: a run that crashes counted too). */
async function recordRun(deps: RemediateDeps, runbook: Runbook, execution: string): Promise<void> {
  const now = deps.clock.now();
  const runs = runsWith(await readRuns(deps, runbook.id), execution, now);
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
      const view = record && {
        execution: record.execution,
        executionName: record.executionName,
        phase: record.phase,
        windowEndsAt: record.windowEndsAt,
        inFlight: !TERMINAL_PHASES.includes(record.phase) && record.phase !== 'reverting',
      };
      return { ...base, targets: rollbackTargets(cluster, service, view, deps.clock.now()) };
    }
    case 'force-new-deployment': {
      if (rollout) throw lockedOut('a new deployment');
      const svc = await describeService(deps.ecs, cluster, service);
      const radius = newDeploymentRadius(runbook, cluster, service, {
        controller: svc.deploymentController?.type,
        running: svc.runningCount ?? 0,
        minimumHealthyPercent: svc.deploymentConfiguration?.minimumHealthyPercent ?? 100,
      });
      return { ...base, blastRadius: radius };
    }
    case 'replace-unhealthy-tasks': {
      if (rollout) throw lockedOut('replacing tasks');
      const found = await findUnhealthyTasks(deps.ecs, deps.elb, cluster, service);
      const { targets, radius } = unhealthyTargets(
        runbook,
        cluster,
        service,
        found.running,
        found.unhealthy.map((u) => u.taskArn),
      );
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
      const radius = drainRadius(runbook, instanceId, tasks);
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
export async function conclude(
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
