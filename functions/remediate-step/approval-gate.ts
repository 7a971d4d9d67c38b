// The approval gate of a risky runbook: opened with the workflow's task token and announced,
// closed with the operator's answer or the timeout's default.
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import { iso } from '../shared/clock.ts';
import { ttlSeconds } from '../shared/dynamo.ts';
import { releaseLock } from '../shared/lock.ts';
import { conclude } from './decide.ts';
import { alert, episodeKey, gateRecordId, HOUR, journal, type RemediateDeps } from './remediate-deps.ts';

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
