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
import { alarmNameMatches, type Runbook } from './config.ts';
import {
  alert,
  clock,
  episodeKey,
  escalationKey,
  HISTORY_KEEP_MS,
  HOUR,
  historyKey,
  journal,
  LEASE_MARGIN_MS,
  latestTransitionKey,
  type RemediateDeps,
  remediationLeaseResource,
  transitionKey,
} from './remediate-deps.ts';
import {
  alarmTags,
  blastRadius,
  describeAlarms,
  describeService,
  findUnhealthyTasks,
  RunbookRefusedError,
} from './runbooks.ts';

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
