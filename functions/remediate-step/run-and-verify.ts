// After the decision: run the runbook (or record what the workflow ran), watch the alarm, then
// finish or clean up after a failure, releasing the lease, journaling and alerting once.
import type { RemediationPlan, RunbookPlan } from '../../events/remediation-input.ts';
import { iso } from '../shared/clock.ts';
import { drainContainerInstances } from '../shared/drain.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { releaseLock } from '../shared/lock.ts';
import {
  abortRollout,
  type OperatorDeps,
  OperatorRefusedError,
  type OperatorResult,
  rollbackService,
} from '../shared/rollouts/operator.ts';
import { getRolloutRecord } from '../shared/rollouts/record.ts';
import {
  alert,
  episodeKey,
  escalationKey,
  findRunbook,
  journal,
  type RemediateDeps,
} from './remediate-deps.ts';
import { describeAlarms, stopTasks } from './runbooks.ts';

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
