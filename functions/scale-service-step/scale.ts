// The decision steps of the scale-service workflow. `validate` checks the input against the
// schema, the configuration and the cluster; `decide` takes the leases, reads the service and its
// history and applies the guardrails; `raise-capacity` adds instances first when new tasks would
// not fit; the state machine applies the change through SDK integrations; `verify` reads the
// service back until it reached the new count (or the timeout); `finish` and `abort` journal,
// alert and release the leases. Every decision is explained in plain words in the output and the
// journal, also when the answer is "did nothing".
import {
  type ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
} from '@aws-sdk/client-application-auto-scaling';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  DESIRED_COUNT_DIMENSION,
  ScaleInputSchema,
  type ScalePlan,
  ScalePlanSchema,
  type ScaleRequest,
  ScaleRequestSchema,
  scalableTargetId,
} from '../../events/scale-input.ts';
import { type Alert, consoleLinks, raiseAlert } from '../shared/alerts.ts';
import { type Clock, iso } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { InvalidInputError, LockHeldError, UnknownResourceError } from '../shared/errors.ts';
import { describeOccurrence, freezeWindowsOf, windowsInForce } from '../shared/freeze-windows.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import { acquireLock, releaseLock } from '../shared/lock.ts';
import { acquireServiceLock, serviceLockHolder, serviceLockResource } from '../shared/service-lock.ts';
import { requestCapacity } from '../shared/spot/capacity.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { planCapacity } from './capacity.ts';
import type { Guardrails, ScaleStepEnv } from './config.ts';
import { clockTime, decide, type ServiceSnapshot } from './guardrails.ts';
import { claimRequest, readHistory, recordAction } from './history.ts';

export interface ScaleDeps {
  ecs: ECSClient;
  autoscaling: AutoScalingClient;
  aas: ApplicationAutoScalingClient;
  /** Alerts go onto the alert queue; the alert-router publishes them. */
  sqs: SQSClient;
  db: Db;
  clock: Clock;
  env: ScaleStepEnv;
}

export const scalingLeaseResource = (cluster: string, service: string) => `scaling/${cluster}/${service}`;

const name = (r: Pick<ScaleRequest, 'cluster' | 'service'>) => `${r.cluster}/${r.service}`;

// -------------------------------------------------------------------------------------------
// validate

/** The first state: the input's shape, then that the service is configured and exists. */
export async function validateRequest(
  deps: Pick<ScaleDeps, 'ecs' | 'clock' | 'env'>,
  input: unknown,
  execution: { id: string; name: string },
): Promise<ScaleRequest> {
  const parsed = parseOrThrow(ScaleInputSchema, input, 'input');
  const scaled = deps.env.SCALED_SERVICES;
  if (!scaled.some((s) => s.cluster === parsed.cluster)) {
    const clusters = [...new Set(scaled.map((s) => s.cluster))].join(', ') || 'none';
    throw new InvalidInputError(
      'input.cluster',
      `has no scaled services (clusters with some: ${clusters})`,
      parsed.cluster,
    );
  }
  if (!scaled.some((s) => s.cluster === parsed.cluster && s.service === parsed.service)) {
    const services = scaled.filter((s) => s.cluster === parsed.cluster).map((s) => s.service);
    throw new InvalidInputError(
      'input.service',
      `is not a scaled service of cluster ${parsed.cluster} (scaled: ${services.join(', ')})`,
      parsed.service,
    );
  }
  const service = await describeService(deps.ecs, parsed.cluster, parsed.service);
  if (service?.status !== 'ACTIVE') {
    throw new InvalidInputError(
      'input.service',
      `was not found in cluster ${parsed.cluster}${service ? ` (it is ${service.status})` : ''}`,
      parsed.service,
    );
  }
  return {
    ...parsed,
    requestId: parsed.requestId ?? execution.name,
    executionId: execution.id,
    requestedAt: iso(deps.clock.now()),
  };
}

// -------------------------------------------------------------------------------------------
// decide

export async function decideScale(deps: ScaleDeps, raw: unknown): Promise<ScalePlan> {
  const request = parseOrThrow(ScaleRequestSchema, raw, 'request');
  const g = guardrailsFor(deps.env, request);
  const leaseMs = (g.verifyTimeoutSeconds + 300) * 1000;
  const { cluster, service: serviceName, executionId } = request;
  const held: ScalePlan['leases'] = [];
  const release = async () => {
    for (const lease of held.splice(0)) await releaseLock(deps.db, deps.env.LOCKS_TABLE, lease);
  };

  const read = await readService(deps, cluster, serviceName);
  const base: ScalePlan = {
    request,
    decision: 'no-change',
    summary: '',
    explanation: [],
    direction: 'none',
    from: read.snapshotFields,
    to: {},
    leases: held,
    needsCapacity: false,
    resourceId: scalableTargetId(cluster, serviceName),
  };
  const early = async (why: string, blockedBy: NonNullable<ScalePlan['blockedBy']>): Promise<ScalePlan> =>
    conclude(deps, { ...base, explanation: [`did nothing because ${why}`], blockedBy }, release);

  if (!request.dryRun) {
    const claim = await claimRequest(
      deps.db,
      deps.env.OPERATIONS_TABLE,
      deps.clock,
      request.requestId,
      executionId,
    );
    if (!claim.claimed) {
      return early(`request ${request.requestId} was already handled by ${claim.holder} at ${claim.at}`, {
        guardrail: 'duplicate',
      });
    }
    try {
      await acquireLock(deps.db, deps.env.LOCKS_TABLE, deps.clock, {
        resource: scalingLeaseResource(cluster, serviceName),
        owner: executionId,
        leaseMs,
        reason: `scale ${name(request)}: ${request.reason}`.slice(0, 300),
      });
      held.push({ resource: scalingLeaseResource(cluster, serviceName), owner: executionId });
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      return early(
        `another scaling action (${error.holder}) is in progress until ${clockTime(Date.parse(error.expiresAt))}`,
        { guardrail: 'scaling-lease', until: error.expiresAt },
      );
    }
  }

  try {
    // Read again under the lease: the execution that held it may have just changed the service.
    const current = held.length > 0 ? await readService(deps, cluster, serviceName) : read;
    const rollout = await serviceLockHolder(deps.db, deps.env.LOCKS_TABLE, deps.clock, cluster, serviceName);
    const freezes = windowsInForce(freezeWindowsOf(deps.env.FREEZE_WINDOWS), deps.clock.now(), 'scale-in', [
      `${cluster}/${serviceName}`,
    ]);
    const guard = decide({
      request,
      guardrails: g,
      service: current.snapshot,
      history: await readHistory(deps.db, deps.env.OPERATIONS_TABLE, cluster, serviceName),
      ...(rollout ? { rolloutHolder: rollout } : {}),
      freezes,
      now: deps.clock.now(),
    });
    let plan: ScalePlan = {
      ...base,
      from: current.snapshotFields,
      decision: guard.decision,
      direction: guard.direction,
      to: guard.to,
      explanation: guard.explanation,
      ...(guard.blockedBy ? { blockedBy: guard.blockedBy } : {}),
    };
    const changes = guard.decision === 'scale' || guard.decision === 'set-limits';
    if (changes && guard.direction === 'in' && freezes.length > 0 && request.breakGlass && !request.dryRun) {
      await alert(deps, plan, {
        severity: 'warning',
        kind: 'freeze-override',
        title: `${name(request)}: freeze overridden to scale in`,
        whatWeDid: `Scaling in as asked, inside ${freezes.map(describeOccurrence).join(' and ')}: ${request.breakGlass.reason}`,
        nextSteps: [],
      });
    }

    // Scale-in takes the service's lease: a rollout cannot start halfway through it.
    if (changes && guard.direction === 'in' && !request.dryRun) {
      try {
        await acquireServiceLock(deps.db, deps.env.LOCKS_TABLE, deps.clock, {
          cluster,
          service: serviceName,
          owner: executionId,
          leaseMs,
          reason: `scale-in: ${request.reason}`.slice(0, 300),
        });
        held.push({ resource: serviceLockResource(cluster, serviceName), owner: executionId });
      } catch (error) {
        if (!(error instanceof LockHeldError)) throw error;
        plan = refusedByLock(plan, error);
      }
    }

    if (plan.decision === 'scale' && guard.direction === 'out' && guard.to.desiredCount !== undefined) {
      const capacity = await planCapacity(deps, {
        cluster,
        service: current.service,
        target: guard.to.desiredCount,
        groups: capacityGroups(deps.env, g),
      });
      plan = {
        ...plan,
        capacity: {
          kind: capacity.kind,
          tasksToPlace: capacity.tasksToPlace,
          slots: capacity.slots,
          raise: capacity.raise,
        },
        needsCapacity: capacity.raise.length > 0,
        explanation: [...plan.explanation, ...capacity.explanation.map((line) => `capacity: ${line}`)],
      };
    }

    if (request.dryRun && (plan.decision === 'scale' || plan.decision === 'set-limits')) {
      plan = { ...plan, decision: 'dry-run', needsCapacity: false };
      plan.explanation = [...plan.explanation, 'dry run: nothing was changed'];
    }
    if (plan.decision === 'scale' || plan.decision === 'set-limits') {
      return { ...plan, leases: [...held], summary: progressSummary(plan) };
    }
    return await conclude(deps, plan, release);
  } catch (error) {
    // A step that fails must not leave its leases behind (a retry takes them again).
    await release();
    throw error;
  }
}

/** Ends a decision that changes nothing: leases released, journaled, and alerted when refused. */
async function conclude(deps: ScaleDeps, plan: ScalePlan, release: () => Promise<void>): Promise<ScalePlan> {
  await release();
  const done: ScalePlan = { ...plan, leases: [] };
  done.summary = finalSummary(done);
  const outcome = plan.decision === 'refused' ? 'refused' : 'unchanged';
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [journalEntry(done, outcome)]);
  if (done.decision === 'refused') {
    await alert(deps, done, {
      severity: 'warning',
      kind: 'scale-refused',
      title: `${name(plan.request)}: scaling refused`,
      whatWeDid: 'Changed nothing.',
      nextSteps: nextStepsFor(done),
    });
  }
  return done;
}

function refusedByLock(plan: ScalePlan, error: LockHeldError): ScalePlan {
  return {
    ...plan,
    decision: 'refused',
    to: {},
    blockedBy: { guardrail: 'rollout-lock', until: error.expiresAt },
    explanation: [
      ...plan.explanation,
      `refused because ${error.holder} took the service's lock (until ${clockTime(Date.parse(error.expiresAt))}); scale-in waits for it to end`,
    ],
  };
}

// -------------------------------------------------------------------------------------------
// raise-capacity

export async function raiseCapacity(deps: ScaleDeps, raw: unknown): Promise<ScalePlan> {
  const plan = parseOrThrow(ScalePlanSchema, raw, 'plan');
  const capacity = plan.capacity;
  if (!capacity || capacity.raise.length === 0) return plan;
  const cluster = deps.env.MANAGED_CLUSTERS.find((c) => c.name === plan.request.cluster);
  const raised: typeof capacity.raise = [];
  const entries: JournalEntry[] = [];
  for (const r of capacity.raise) {
    const result = await requestCapacity(
      {
        autoscaling: deps.autoscaling,
        db: deps.db,
        locksTable: deps.env.LOCKS_TABLE,
        clock: deps.clock,
        owner: plan.request.executionId,
      },
      r.group,
      cluster?.spotAsg === r.group ? 'spot' : 'on-demand',
      r.add,
    );
    raised.push({ ...r, before: result.before, after: result.after });
    entries.push({
      resource: `asg/${r.group}`,
      action: 'raise-capacity',
      outcome: result.after > result.before ? 'changed' : 'unchanged',
      reason: `${capacity.tasksToPlace} new task(s) of ${name(plan.request)} would not fit (room for ${capacity.slots}): desired capacity ${result.before} -> ${result.after}${result.clamped ? ` (clamped at the group's maximum ${result.max})` : ''}`,
      trigger: trigger(plan),
      actor: plan.request.executionId,
      before: { desiredCapacity: result.before },
      after: { desiredCapacity: result.after },
    });
  }
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, entries);
  const lines = raised.map(
    (r) => `raised ${r.group} from ${r.before} to ${r.after} instance(s) before scaling`,
  );
  return { ...plan, capacity: { ...capacity, raise: raised }, explanation: [...plan.explanation, ...lines] };
}

// -------------------------------------------------------------------------------------------
// verify

export async function verifyScale(deps: ScaleDeps, raw: unknown): Promise<ScalePlan> {
  const plan = parseOrThrow(ScalePlanSchema, raw, 'plan');
  const g = guardrailsFor(deps.env, plan.request);
  const now = deps.clock.now();
  const deadline = plan.verification?.deadline ?? iso(now + g.verifyTimeoutSeconds * 1000);
  const checks = (plan.verification?.checks ?? 0) + 1;
  const { cluster, service } = plan.request;
  let reached: boolean;
  let observed: NonNullable<ScalePlan['verification']>['observed'];
  if (plan.decision === 'set-limits') {
    const target = await scalableTarget(deps.aas, cluster, service);
    observed = target ? { min: target.min, max: target.max } : {};
    reached = target?.min === plan.to.min && target?.max === plan.to.max;
  } else {
    const found = await describeService(deps.ecs, cluster, service);
    observed = { desiredCount: found?.desiredCount ?? 0, runningCount: found?.runningCount ?? 0 };
    reached =
      observed.desiredCount === plan.to.desiredCount && observed.runningCount === plan.to.desiredCount;
  }
  const status = reached ? 'reached' : now >= Date.parse(deadline) ? 'timed-out' : 'waiting';
  return { ...plan, verification: { status, deadline, checks, observed } };
}

// -------------------------------------------------------------------------------------------
// finish / abort

export async function finishScale(deps: ScaleDeps, raw: unknown): Promise<ScalePlan> {
  const plan = parseOrThrow(ScalePlanSchema, raw, 'plan');
  const { request } = plan;
  const v = plan.verification;
  const limits = plan.decision === 'set-limits';
  const fromText = limits ? limitsText(plan.from) : String(plan.from.desiredCount);
  const toText = limits ? limitsText(plan.to) : String(plan.to.desiredCount);
  const reached = v?.status === 'reached';
  const line = reached
    ? limits
      ? `verified: the scalable target reads back ${toText}`
      : `verified: ${v?.observed?.runningCount} of ${plan.to.desiredCount} tasks running after ${v?.checks} check(s)`
    : `not verified by ${v?.deadline}: ${limits ? `the scalable target reads ${limitsText(v?.observed ?? {})}` : `desired ${v?.observed?.desiredCount}, running ${v?.observed?.runningCount} of ${plan.to.desiredCount}`}`;
  const done: ScalePlan = { ...plan, explanation: [...plan.explanation, line] };
  done.summary = finalSummary(done);

  await recordAction(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, request.cluster, request.service, {
    at: deps.clock.now(),
    kind: limits ? 'limits' : plan.direction === 'in' ? 'in' : 'out',
    from: fromText,
    to: toText,
    executionId: request.executionId,
  });
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [journalEntry(done, 'changed')]);
  await alert(deps, done, {
    severity: reached ? 'info' : 'warning',
    kind: reached ? (limits ? 'scaling-limits-changed' : 'service-scaled') : 'scale-not-verified',
    title: limits
      ? `${name(request)}: scaling limits ${fromText} -> ${toText}`
      : `${name(request)} scaled ${plan.direction} from ${fromText} to ${toText}${reached ? '' : ' (not reached yet)'}`,
    whatWeDid: done.explanation.join('\n'),
    nextSteps: reached
      ? []
      : [
          'Check the service events for tasks that cannot be placed or fail to start.',
          'Check the Auto Scaling groups for instances that did not launch or register.',
        ],
  });
  await releaseAll(deps, done);
  return { ...done, leases: [] };
}

export async function abortScale(
  deps: ScaleDeps,
  raw: { plan: unknown; failure?: { Error?: string; Cause?: string } },
): Promise<ScalePlan> {
  const plan = parseOrThrow(ScalePlanSchema, raw.plan, 'plan');
  const error = raw.failure?.Error ?? 'Error';
  const cause = (raw.failure?.Cause ?? '').slice(0, 1000);
  const done: ScalePlan = {
    ...plan,
    explanation: [...plan.explanation, `failed with ${error}: ${cause}`],
  };
  done.summary = `${name(plan.request)}: scaling failed (${error}); the journal has what was done before`;
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [journalEntry(done, 'failed')]);
  await alert(deps, done, {
    severity: 'warning',
    kind: 'scale-failed',
    title: `${name(plan.request)}: scaling failed`,
    whatWeDid: done.explanation.join('\n'),
    nextSteps: [
      'Read the execution history for the failed state, then retry with the same input if it still applies.',
    ],
  });
  await releaseAll(deps, done);
  return { ...done, leases: [] };
}

// -------------------------------------------------------------------------------------------
// reading the service

interface ServiceRead {
  service: Service;
  snapshot: ServiceSnapshot;
  snapshotFields: ScalePlan['from'];
}

async function describeService(
  ecs: ECSClient,
  cluster: string,
  service: string,
): Promise<Service | undefined> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  return out.services?.find((s) => s.serviceName === service);
}

async function scalableTarget(
  aas: ApplicationAutoScalingClient,
  cluster: string,
  service: string,
): Promise<{ min: number; max: number } | undefined> {
  const out = await aas.send(
    new DescribeScalableTargetsCommand({
      ServiceNamespace: 'ecs',
      ResourceIds: [scalableTargetId(cluster, service)],
      ScalableDimension: DESIRED_COUNT_DIMENSION,
    }),
  );
  const target = out.ScalableTargets?.find((t) => t.ResourceId === scalableTargetId(cluster, service));
  return target ? { min: target.MinCapacity ?? 0, max: target.MaxCapacity ?? 0 } : undefined;
}

async function readService(deps: ScaleDeps, cluster: string, serviceName: string): Promise<ServiceRead> {
  const service = await describeService(deps.ecs, cluster, serviceName);
  if (!service) throw new UnknownResourceError(`service ${serviceName} is not in cluster ${cluster}`);
  const target = await scalableTarget(deps.aas, cluster, serviceName);
  const snapshot: ServiceSnapshot = {
    desiredCount: service.desiredCount ?? 0,
    runningCount: service.runningCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    ...(target ? { scalableTarget: target } : {}),
  };
  return {
    service,
    snapshot,
    snapshotFields: {
      desiredCount: snapshot.desiredCount,
      runningCount: snapshot.runningCount,
      pendingCount: snapshot.pendingCount,
      ...(target ? { min: target.min, max: target.max } : {}),
    },
  };
}

// -------------------------------------------------------------------------------------------
// helpers

function guardrailsFor(env: ScaleStepEnv, request: Pick<ScaleRequest, 'cluster' | 'service'>): Guardrails {
  const g = env.SCALED_SERVICES.find((s) => s.cluster === request.cluster && s.service === request.service);
  if (!g) throw new UnknownResourceError(`${name(request)} is not a scaled service`);
  return g;
}

function capacityGroups(env: ScaleStepEnv, g: Guardrails): string[] {
  if (g.capacityGroups) return g.capacityGroups;
  const cluster = env.MANAGED_CLUSTERS.find((c) => c.name === g.cluster);
  return [cluster?.spotAsg, cluster?.onDemandAsg].filter((n): n is string => n !== undefined);
}

const limitsText = (l: { min?: number | undefined; max?: number | undefined }) =>
  l.min === undefined && l.max === undefined
    ? 'no scalable target'
    : `min ${l.min ?? '-'}, max ${l.max ?? '-'}`;

function progressSummary(plan: ScalePlan): string {
  const n = name(plan.request);
  if (plan.decision === 'set-limits')
    return `${n}: setting ${limitsText(plan.to)} (was ${limitsText(plan.from)})`;
  return `${n}: scaling ${plan.direction} from ${plan.from.desiredCount} to ${plan.to.desiredCount}`;
}

/** One line for people: what happened (or would have), from what to what, and why. */
export function finalSummary(plan: ScalePlan): string {
  const n = name(plan.request);
  const why = `"${plan.request.reason}"`;
  const last = plan.explanation[plan.explanation.length - 1] ?? '';
  switch (plan.decision) {
    case 'scale': {
      const reached = plan.verification?.status === 'reached';
      return `${n}: scaled ${plan.direction} from ${plan.from.desiredCount} to ${plan.to.desiredCount}${reached ? '' : ' (not reached in time)'} because ${why}`;
    }
    case 'set-limits':
      return `${n}: scaling limits ${limitsText(plan.from)} -> ${limitsText(plan.to)} because ${why}`;
    case 'dry-run': {
      const what =
        plan.to.desiredCount !== undefined
          ? `scale ${plan.direction} from ${plan.from.desiredCount} to ${plan.to.desiredCount}`
          : `set ${limitsText(plan.to)} (now ${limitsText(plan.from)})`;
      const first = plan.capacity?.raise.length
        ? `, raising ${plan.capacity.raise.map((r) => `${r.group} +${r.add}`).join(', ')} first`
        : '';
      return `${n}: dry run, would ${what}${first}; changed nothing`;
    }
    default:
      return `${n}: ${plan.request.dryRun ? 'dry run, ' : ''}${last}`;
  }
}

function trigger(plan: ScalePlan): JournalEntry['trigger'] {
  const t = plan.request.trigger;
  return {
    kind: t.kind,
    id: t.id ?? plan.request.requestId,
    ...(t.at ? { at: t.at } : { at: plan.request.requestedAt }),
  };
}

function journalEntry(plan: ScalePlan, outcome: JournalEntry['outcome']): JournalEntry {
  const limits = plan.request.min !== undefined || plan.request.max !== undefined;
  return {
    resource: `service/${plan.request.cluster}/${plan.request.service}`,
    action: limits ? 'set-scaling-limits' : 'scale-service',
    outcome,
    reason: plan.summary,
    trigger: trigger(plan),
    actor: plan.request.executionId,
    before: plan.from,
    ...(outcome === 'changed' ? { after: plan.verification?.observed ?? plan.to } : {}),
    details: {
      decision: plan.decision,
      requestId: plan.request.requestId,
      dryRun: plan.request.dryRun,
      explanation: plan.explanation,
      ...(plan.blockedBy ? { blockedBy: plan.blockedBy } : {}),
      ...(plan.capacity ? { capacity: plan.capacity } : {}),
      ...(outcome !== 'changed' && plan.to && Object.keys(plan.to).length > 0 ? { wouldBe: plan.to } : {}),
    },
  };
}

function nextStepsFor(plan: ScalePlan): string[] {
  switch (plan.blockedBy?.guardrail) {
    case 'rollout-lock':
      return [
        'Wait for the rollout to finish (or abort it), then ask again; scale-out is allowed meanwhile.',
      ];
    case 'freeze':
      return [
        `Wait for the freeze window to end (${plan.blockedBy.until}), or ask again with breakGlass and a reason (journaled and alerted).`,
      ];
    case 'limit':
    case 'step':
      return [
        'If the demand is real, raise maxTasks or the largest step in config/scaling/<environment>.json and deploy.',
        'Or ask again within the limits (smaller steps).',
      ];
    default:
      return [];
  }
}

async function alert(
  deps: ScaleDeps,
  plan: ScalePlan,
  parts: Pick<Alert, 'severity' | 'kind' | 'title' | 'whatWeDid' | 'nextSteps'>,
): Promise<void> {
  const { request } = plan;
  await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
    ...parts,
    state: 'firing',
    summary: plan.summary,
    cluster: request.cluster,
    service: request.service,
    resources: [
      `service/${request.cluster}/${request.service}`,
      ...(plan.capacity?.raise.map((r) => `asg/${r.group}`) ?? []),
    ],
    whatHappened: `${request.trigger.kind === 'operator' ? 'An operator' : request.trigger.kind === 'alarm' ? `Alarm ${request.trigger.id ?? ''}` : `Schedule ${request.trigger.id ?? ''}`} asked: ${plan.explanation[0] ?? request.reason}`,
    dedupKey: `scale/${request.cluster}/${request.service}/${request.requestId}`,
    links: consoleLinks(process.env.AWS_REGION, {
      cluster: request.cluster,
      service: request.service,
      executionArn: request.executionId,
    }),
    at: iso(deps.clock.now()),
  });
}

async function releaseAll(deps: ScaleDeps, plan: ScalePlan): Promise<void> {
  for (const lease of plan.leases) await releaseLock(deps.db, deps.env.LOCKS_TABLE, lease);
}
