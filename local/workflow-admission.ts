// Admission of a new execution, as StartExecution decides it: the name's length and characters,
// the input's size, and a repeated start (the same input joins the running execution; any other
// is ExecutionAlreadyExists). One registry per process.
import { executionNameProblem, MAX_EXECUTION_NAME_LENGTH } from '../functions/shared/execution-names.ts';
import { dataLimitCause, payloadOverLimit } from './sfn-rules.ts';
import { StartExecutionRefused, type WorkflowResult } from './workflow-types.ts';

export const executions = new Map<string, { input: string; running?: Promise<WorkflowResult> }>();

export function admitExecution(
  executionArn: string,
  executionName: string,
  input: unknown,
): { joined: Promise<WorkflowResult> } | { input: string } {
  // A length outside 1-80 fails the API's own validation; a forbidden character is InvalidName.
  const length = [...executionName].length;
  if (length < 1 || length > MAX_EXECUTION_NAME_LENGTH)
    throw new StartExecutionRefused(
      'ValidationException',
      `1 validation error detected: Value '${executionName}' at 'name' failed to satisfy constraint: Member must have length ${length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_EXECUTION_NAME_LENGTH}`}`,
    );
  const problem = executionNameProblem(executionName);
  if (problem) throw new StartExecutionRefused('InvalidName', `Invalid Name: '${executionName}': ${problem}`);
  const text = JSON.stringify(input ?? {});
  const size = payloadOverLimit(input ?? {});
  if (size !== undefined)
    throw new StartExecutionRefused('ValidationException', dataLimitCause('execution input', size));
  const existing = executions.get(executionArn);
  if (existing?.running && existing.input === text) return { joined: existing.running };
  if (existing)
    throw new StartExecutionRefused('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
  return { input: text };
}
