// Runs a deployed workflow locally: its definition as synthesized (and deployed into the
// emulator), its Lambda tasks bound to the in-process handlers with the same environment.
import type { Clock } from '../functions/shared/clock.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/control-plane-stack.ts';
import type { DeployedStack } from './deploy.ts';
import { localFunction } from './lambda-host.ts';
import { type LambdaBinding, runWorkflow, type WorkflowResult } from './workflow-runner.ts';

/** Workflow names (as in workflows/<name>.ts) and the stack output that holds each state machine's ARN. */
export const WORKFLOWS = {
  'spot-surge': CONTROL_PLANE_OUTPUTS.surgeStateMachineArn,
  'blue-green-rollout': CONTROL_PLANE_OUTPUTS.rolloutStateMachineArn,
  'scale-service': CONTROL_PLANE_OUTPUTS.scaleStateMachineArn,
} as const;
export type WorkflowName = keyof typeof WORKFLOWS;

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
}

export async function runDeployedWorkflow(
  stack: DeployedStack,
  name: WorkflowName,
  input: unknown,
  opts: LocalRunOptions = {},
): Promise<WorkflowResult> {
  const machine = deployedWorkflow(stack, name);
  const lambdas: Record<string, LambdaBinding> = {};
  for (const fn of Object.values(stack.functions)) {
    const local = await localFunction(stack, fn.name, opts.clock ? { clock: opts.clock } : {});
    lambdas[fn.arn] = (event) => local.invoke(event);
  }
  return runWorkflow({
    definition: machine.definition,
    input,
    lambdas,
    stateMachineName: machine.name,
    ...(opts.executionName ? { executionName: opts.executionName } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.taskTokenTimeoutMs !== undefined ? { taskTokenTimeoutMs: opts.taskTokenTimeoutMs } : {}),
  });
}
