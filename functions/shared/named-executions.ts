// Starting a workflow once per event: executions are named after what triggered them (an alarm
// ARN and its state's timestamp), Step Functions refuses a second execution of one name, and a
// conditional record tells a first start from a repeat (a repeat of a running execution with the
// same input is answered with the same ARN, not an error).
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Clock, iso } from './clock.ts';
import { type Db, isConditionFailure, ttlSeconds } from './dynamo.ts';
import { digest, executionName } from './execution-names.ts';

/** Execution names: at most 80 characters of letters, digits, - and _, unique per alarm transition. */
export function executionNameFor(
  prefix: string,
  alarmName: string,
  alarmArn: string,
  stateTimestamp: string,
): string {
  return executionName(prefix, alarmName, digest(`${alarmArn}|${stateTimestamp}`, 32));
}

export interface NamedStart {
  /** False when this name was started before (the event was delivered again). */
  first: boolean;
  executionArn?: string;
}

export async function startNamedExecution(
  deps: { sfn: SFNClient; db: Db; clock: Clock; operationsTable: string },
  req: { stateMachineArn: string; name: string; input: unknown; recordPrefix: string },
): Promise<NamedStart> {
  let executionArn: string | undefined;
  try {
    const out = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: req.stateMachineArn,
        name: req.name,
        input: JSON.stringify(req.input),
      }),
    );
    executionArn = out.executionArn;
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    return { first: false };
  }
  if (!executionArn) return { first: false };
  const now = deps.clock.now();
  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.operationsTable,
        Item: {
          id: `${req.recordPrefix}#${req.name}`,
          executionArn,
          at: iso(now),
          expiresAt: ttlSeconds(now + 7 * 86_400_000),
        },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
    return { first: true, executionArn };
  } catch (error) {
    if (isConditionFailure(error)) return { first: false, executionArn };
    throw error;
  }
}
