// `ops remediate --alarm NAME [--dry-run]`: the same path an alarm takes, started by hand. Locally
// the remediate-alarm workflow runs on the emulator in this process (an approval gate waits
// `--gate-wait` for `ops approve|reject` from another terminal); with `--aws --outputs <file>` it
// starts the deployed state machine and follows it with DescribeExecution.

import { userInfo } from 'node:os';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { RemediationInputDraft, RemediationPlan } from '../events/remediation-input.ts';
import {
  answerRemediationGate,
  findRemediationGate,
  type GateDeps,
  RemediationGateRefusedError,
} from '../functions/remediate-step/operator.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { systemClock } from '../functions/shared/clock.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { operatorExecutionName } from '../functions/shared/execution-names.ts';
import { stepFunctionsCallbacks } from '../functions/shared/task-callbacks.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import type { DeployedStack } from '../local/deploy.ts';
import { VirtualClock } from '../local/virtual-clock.ts';
import { nextTaskToken, type WorkflowResult } from '../local/workflow-runner.ts';
import { runDeployedWorkflow } from '../local/workflows.ts';
import { loadLocalState } from './local-state.ts';
import { controlPlaneOutputs, onAws, outputOf, startAndFollow, type TargetFlags } from './target.ts';
import { gateWaitMs, type Out, UsageError } from './usage.ts';

export interface RemediateFlags extends TargetFlags {
  alarm?: string;
  'dry-run'?: boolean;
  reason?: string;
  'gate-wait'?: string;
}

export const REMEDIATE_USAGE =
  'ops remediate --alarm NAME [--dry-run] [--reason "..."] [--aws --outputs <file>]';

export function remediateInputFromFlags(
  flags: RemediateFlags,
  operator = userInfo().username,
): RemediationInputDraft {
  if (!flags.alarm) throw new UsageError(`--alarm is required: ${REMEDIATE_USAGE}`);
  return {
    alarmName: flags.alarm,
    dryRun: flags['dry-run'] ?? false,
    reason: flags.reason ?? `started by ${operator} (ops remediate)`,
    trigger: { kind: 'operator', id: operator },
  };
}

/** The workflow's own words: summary, every decision, the outcome. */
export function describeRemediation(
  result: { status: string; error?: string; cause?: string; executionArn: string },
  plan?: RemediationPlan,
): string {
  const lines = plan
    ? [plan.summary ?? plan.decision ?? '', ...(plan.explanation ?? []).slice(1).map((l) => `  - ${l}`)]
    : [`${result.status}: ${result.error ?? ''}${result.cause ? ` ${causeText(result.cause)}` : ''}`];
  if (plan?.action?.done) lines.push(`  done: ${plan.action.done}`);
  lines.push(`execution: ${result.executionArn} (${result.status})`);
  return lines.join('\n');
}

function causeText(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorType?: string; errorMessage?: string };
    if (parsed.errorMessage) return `${parsed.errorType ?? ''}: ${parsed.errorMessage}`;
  } catch {
    // A Fail state's own cause.
  }
  return cause;
}

/** 0 decided or remediated, 3 refused (an answer, not a failure), 1 failed or escalated. */
export function exitCodeOf(status: string, plan?: RemediationPlan): number {
  if (status !== 'SUCCEEDED') return 1;
  return plan?.decision === 'refused' ? 3 : 0;
}

export async function remediateCommand(flags: RemediateFlags, out: Out): Promise<number> {
  const input = remediateInputFromFlags(flags);
  if (onAws(flags)) return remediateOnAws(flags, input, out);
  const { stack } = await loadLocalState();
  const result = await runLocally(stack, input, flags);
  const plan = result.status === 'SUCCEEDED' ? (result.output as RemediationPlan) : undefined;
  out(describeRemediation(result, plan), {
    status: result.status,
    executionArn: result.executionArn,
    error: result.error,
    cause: result.cause,
    plan,
  });
  return exitCodeOf(result.status, plan);
}

async function runLocally(
  stack: DeployedStack,
  input: RemediationInputDraft,
  flags: RemediateFlags,
): Promise<WorkflowResult> {
  const executionName = operatorExecutionName('remediate-manual', input.alarmName, Date.now());
  // The answer comes from another terminal through SendTaskSuccess, to this process's endpoint.
  const announceGate = nextTaskToken({ timeoutMs: 2 ** 31 - 1 }).then(
    () =>
      console.error(`waiting for approval: ops approve ${executionName} (or ops reject ${executionName})`),
    () => undefined,
  );
  const result = await runDeployedWorkflow(stack, 'remediate-alarm', input, {
    clock: new VirtualClock(),
    executionName,
    taskTokenTimeoutMs: gateWaitMs(flags['gate-wait']),
  });
  void announceGate;
  return result;
}

async function remediateOnAws(
  flags: RemediateFlags,
  input: RemediationInputDraft,
  out: Out,
): Promise<number> {
  const outputs = await controlPlaneOutputs(flags);
  const arn = outputOf(outputs, CONTROL_PLANE_OUTPUTS.remediationStateMachineArn, 'remediation');
  const execution = await startAndFollow(
    arn,
    operatorExecutionName('remediate-manual', input.alarmName, Date.now()),
    input,
    (started) => console.error(`started ${started}`),
  );
  const plan = execution.output ? (JSON.parse(execution.output) as RemediationPlan) : undefined;
  const status = execution.status ?? 'UNKNOWN';
  const result = {
    status,
    executionArn: execution.executionArn as string,
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
  };
  out(describeRemediation(result, plan), { ...result, plan });
  return exitCodeOf(status, plan);
}

/** `ops approve|reject <execution>` when the execution is a remediation; undefined when it is not. */
export async function answerRemediationCommand(
  action: 'approve' | 'reject',
  ref: string,
  flags: RemediateFlags,
  out: Out,
): Promise<number | undefined> {
  const deps = await gateDeps(flags);
  if (!(await findRemediationGate(deps, ref))) return undefined;
  try {
    const result = await answerRemediationGate(deps, ref, action, userInfo().username, flags.reason);
    out(`${result.execution}: ${result.message}`, result);
    return 0;
  } catch (error) {
    if (!(error instanceof RemediationGateRefusedError)) throw error;
    out(error.message, { refused: true, message: error.message });
    return 3;
  }
}

async function gateDeps(flags: RemediateFlags): Promise<GateDeps> {
  const outputs = await controlPlaneOutputs(flags);
  const env = {
    OPERATIONS_TABLE: outputOf(outputs, CONTROL_PLANE_OUTPUTS.operationsTable, 'the control plane'),
  };
  return {
    db: documentClient(),
    clock: systemClock,
    env,
    callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
  };
}
