// `ops approve|reject <execution>` for a remediation waiting at its approval gate: the answer is
// claimed on the gate's record first (a conditional write, so two operators cannot both answer),
// then handed to the waiting task (Step Functions' SendTaskSuccess).
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Clock, iso } from '../shared/clock.ts';
import { type Db, isConditionFailure } from '../shared/dynamo.ts';
import { OpsError } from '../shared/errors.ts';
import type { TaskCallbacks } from '../shared/task-callbacks.ts';
import { operatorReason } from '../shared/validation.ts';
import { gateRecordId } from './remediate.ts';

export class RemediationGateRefusedError extends OpsError {
  override readonly name = 'Refused';
}

export interface RemediationGateRecord {
  id: string;
  execution: string;
  executionName: string;
  token: string;
  alarm: string;
  runbook?: string;
  openedAt: string;
  closesAt: string;
  answer?: { decision: 'approve' | 'reject'; by: string; at: string; reason?: string };
}

export interface GateDeps {
  db: Db;
  clock: Clock;
  env: { OPERATIONS_TABLE: string };
  callbacks: TaskCallbacks;
}

/** The gate record of an execution (its name or ARN), if it ever waited for approval. */
export async function findRemediationGate(
  deps: Pick<GateDeps, 'db' | 'env'>,
  ref: string,
): Promise<RemediationGateRecord | undefined> {
  const name = ref.includes(':') ? (ref.split(':').pop() as string) : ref;
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.env.OPERATIONS_TABLE,
      Key: { id: gateRecordId(name) },
      ConsistentRead: true,
    }),
  );
  return out.Item as RemediationGateRecord | undefined;
}

export async function answerRemediationGate(
  deps: GateDeps,
  ref: string,
  decision: 'approve' | 'reject',
  by: string,
  reasonGiven?: string,
): Promise<{ execution: string; message: string }> {
  const reason = operatorReason(reasonGiven);
  const gate = await findRemediationGate(deps, ref);
  if (!gate) throw new RemediationGateRefusedError(`no remediation waits for approval as "${ref}"`);
  const now = deps.clock.now();
  if (gate.answer) {
    throw new RemediationGateRefusedError(
      `the approval gate of ${gate.executionName} was already answered (${gate.answer.decision} by ${gate.answer.by})`,
    );
  }
  if (now > Date.parse(gate.closesAt)) {
    throw new RemediationGateRefusedError(
      `the approval gate of ${gate.executionName} closed at ${gate.closesAt}; its default action was taken`,
    );
  }
  const answer = { decision, by, at: iso(now), ...(reason ? { reason } : {}) };
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.env.OPERATIONS_TABLE,
        Key: { id: gate.id },
        UpdateExpression: 'SET #answer = :answer',
        ConditionExpression: 'attribute_not_exists(#answer)',
        ExpressionAttributeNames: { '#answer': 'answer' },
        ExpressionAttributeValues: { ':answer': answer },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    throw new RemediationGateRefusedError(`the approval gate of ${gate.executionName} was answered just now`);
  }
  await deps.callbacks.success(gate.token, answer);
  return {
    execution: gate.execution,
    message: `${decision === 'approve' ? 'approved' : 'rejected'} runbook ${gate.runbook ?? ''} for alarm ${gate.alarm}`,
  };
}
