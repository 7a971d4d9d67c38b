// Runs a deployed workflow locally: its definition as synthesized (and deployed into the
// emulator), its Lambda tasks bound to the in-process handlers with the same environment.
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { awsClient } from '../functions/shared/clients.ts';
import type { Clock } from '../functions/shared/clock.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import type { DeployedStack } from './deploy.ts';
import { RIG_CLOSED_EXECUTION } from './emulator.ts';
import { actAs, asRig, callerOf, checkAs } from './iam-enforcement.ts';
import { INTEGRATIONS } from './iam-operations.ts';
import { localFunction } from './lambda-host.ts';
import { observerClient } from './observer.ts';
import type { WorkflowName } from './workflow-names.ts';
import {
  type ChildWorkflowRunner,
  type LambdaBinding,
  runWorkflow,
  StartExecutionRefused,
  type WorkflowResult,
} from './workflow-runner.ts';

/** Workflow names (as in workflows/<name>.ts) and the stack output that holds each state machine's ARN. */
export const WORKFLOWS: Record<WorkflowName, string> = {
  'spot-surge': CONTROL_PLANE_OUTPUTS.surgeStateMachineArn,
  'blue-green-rollout': CONTROL_PLANE_OUTPUTS.rolloutStateMachineArn,
  'release-train': CONTROL_PLANE_OUTPUTS.trainStateMachineArn,
  'scale-service': CONTROL_PLANE_OUTPUTS.scaleStateMachineArn,
  'remediate-alarm': CONTROL_PLANE_OUTPUTS.remediationStateMachineArn,
};
export type { WorkflowName };

export function isWorkflowName(name: string): name is WorkflowName {
  return name in WORKFLOWS;
}

export function deployedWorkflow(stack: DeployedStack, name: WorkflowName) {
  const arn = stack.outputs[WORKFLOWS[name]];
  const machine = Object.values(stack.stateMachines).find((m) => m.arn === arn);
  if (!machine)
    throw new Error(`workflow ${name} not found in ${stack.stackName} (output ${WORKFLOWS[name]} is ${arn})`);
  return machine;
}

export interface LocalRunOptions {
  clock?: Clock & { advance(ms: number): void };
  executionName?: string;
  signal?: AbortSignal;
  /**
   * How long a .waitForTaskToken task waits for its callback here, whatever its timeout: a
   * TimeoutSecondsPath (a rollout's approval gate, its rollback window) is otherwise waited
   * for in real time.
   */
  taskTokenTimeoutMs?: number;
  /**
   * Called before each Lambda task with the function's name and event: tests play the world's
   * reaction there (an alarm's metric recovering once a runbook acted) at the moment it matters.
   */
  beforeLambda?: (functionName: string, event: unknown) => Promise<void>;
  /** Real duration of each compressed Wait state (default 1 ms). */
  waitMs?: number;
  /** Called as each execution ends, nested ones included (benches count their transitions). */
  onEnded?: (stateMachineName: string, result: WorkflowResult) => void;
}

export async function runDeployedWorkflow(
  stack: DeployedStack,
  name: WorkflowName,
  input: unknown,
  opts: LocalRunOptions = {},
): Promise<WorkflowResult> {
  const machine = deployedWorkflow(stack, name);
  // A run of an execution a function or the CLI started in the emulator closes it there, however
  // the run ends; a start the runner refused (a bad or used name) leaves the emulator's as it is.
  const close = async (outcome: Parameters<typeof closeEmulatedExecution>[1]) => {
    if (!opts.executionName) return;
    const executionArn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${opts.executionName}`;
    await closeEmulatedExecution(executionArn, outcome).catch((error: Error) => {
      if (error.name !== 'ExecutionDoesNotExist') throw error;
    });
  };
  let result: WorkflowResult;
  try {
    result = await runMachine(stack, machine, input, opts);
  } catch (error) {
    if (!(error instanceof StartExecutionRefused))
      await close({ status: 'FAILED', error: (error as Error).name, cause: (error as Error).message });
    throw error;
  }
  await close(result);
  return result;
}

async function runMachine(
  stack: DeployedStack,
  machine: DeployedStack['stateMachines'][string],
  input: unknown,
  opts: LocalRunOptions,
): Promise<WorkflowResult> {
  // The machine's SDK integrations run as its role; invoking a function or starting a nested
  // execution is checked against that role too, as Step Functions would.
  const role = callerOf(machine.arn);
  const at = { region: stack.region, accountId: stack.accountId };
  const lambdas: Record<string, LambdaBinding> = {};
  for (const fn of Object.values(stack.functions)) {
    const local = await localFunction(stack, fn.name, opts.clock ? { clock: opts.clock } : {});
    lambdas[fn.arn] = async (event) => {
      await checkAs(role, INTEGRATIONS.invokeFunction(fn.arn), 'Lambda.AWSLambdaException');
      // The test's hook plays the world, not the workflow: it acts as the rig.
      await asRig(async () => opts.beforeLambda?.(fn.name, event));
      return local.invoke(event);
    };
  }
  // Nested executions (states:startExecution.sync) run here too, sharing the clock and hooks.
  const childWorkflows: Record<string, ChildWorkflowRunner> = {};
  for (const child of Object.values(stack.stateMachines)) {
    childWorkflows[child.arn] = async (childInput, executionName) => {
      const execution = `${child.arn.replace(':stateMachine:', ':execution:')}:${executionName}`;
      await checkAs(
        role,
        INTEGRATIONS.startExecutionSync(at, child.arn, execution),
        'StepFunctions.AccessDeniedException',
      );
      return asRig(() => runMachine(stack, child, childInput, { ...opts, executionName }));
    };
  }
  const result = await actAs(machine.arn, () =>
    runWorkflow({
      definition: machine.definition,
      input,
      lambdas,
      childWorkflows,
      stateMachineName: machine.name,
      ...(opts.waitMs !== undefined ? { waitMs: opts.waitMs } : {}),
      ...(opts.executionName ? { executionName: opts.executionName } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.taskTokenTimeoutMs !== undefined ? { taskTokenTimeoutMs: opts.taskTokenTimeoutMs } : {}),
    }),
  );
  opts.onEnded?.(machine.name, result);
  return result;
}

/** Every execution of a deployed workflow the emulator has recorded, newest first. */
export async function listExecutions(
  stack: DeployedStack,
  name: WorkflowName,
): Promise<{ executionArn?: string; name?: string }[]> {
  const sfn = awsClient(SFNClient);
  const arn = deployedWorkflow(stack, name).arn;
  const listed: { executionArn?: string; name?: string }[] = [];
  let nextToken: string | undefined;
  do {
    const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, nextToken }));
    listed.push(...(out.executions ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  return listed;
}

/**
 * Closes an execution the emulator recorded with the outcome of the run here, so that it is no
 * longer listed as running and its name is taken for good, as on AWS (local/emulator.ts).
 */
export async function closeEmulatedExecution(
  executionArn: string,
  result: Pick<WorkflowResult, 'status' | 'output' | 'error' | 'cause'>,
): Promise<void> {
  const outcome = {
    status: result.status,
    ...(result.output !== undefined ? { output: JSON.stringify(result.output) } : {}),
    ...(result.error !== undefined ? { error: result.error } : {}),
    ...(result.cause !== undefined ? { cause: result.cause } : {}),
  };
  // A rig-only signal to the patched emulator: on AWS, StopExecution's error is a short string
  // and always aborts; only moto, as local/emulator.ts patches it, reads an outcome from it.
  await observerClient(SFNClient).send(
    new StopExecutionCommand({ executionArn, error: `${RIG_CLOSED_EXECUTION}${JSON.stringify(outcome)}` }),
  );
}

/**
 * Executions that functions started in the emulator (moto records a StartExecution but runs
 * nothing) are run here, from the synthesized definition, with their name and input. `seen`
 * holds the ARNs already run, so each execution runs once.
 */
export async function runStartedExecutions(
  stack: DeployedStack,
  name: WorkflowName,
  seen: Set<string>,
  opts: Omit<LocalRunOptions, 'executionName'> = {},
): Promise<(WorkflowResult & { executionName: string; input: unknown })[]> {
  const sfn = awsClient(SFNClient);
  const listed = await listExecutions(stack, name);
  const results: (WorkflowResult & { executionName: string; input: unknown })[] = [];
  // Oldest first, as they were started.
  for (const execution of listed.reverse()) {
    if (!execution.executionArn || !execution.name || seen.has(execution.executionArn)) continue;
    seen.add(execution.executionArn);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    const input = JSON.parse(described.input ?? '{}') as unknown;
    const result = await runDeployedWorkflow(stack, name, input, { ...opts, executionName: execution.name });
    results.push({ ...result, executionName: execution.name, input });
  }
  return results;
}
