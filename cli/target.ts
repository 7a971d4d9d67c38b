// Where an `ops` command acts: the local emulator (default: what `ops seed` deployed there), or a
// real account with `--aws --outputs <cdk outputs file>` (or `--profile P`, which implies --aws).
// On AWS the CLI only starts and follows the deployed state machines and reads the stack's
// tables; it never runs the control plane's logic itself.
import { readFileSync } from 'node:fs';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { awsClient, resetClients } from '../functions/shared/clients.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { loadLocalState } from './local-state.ts';
import { UsageError } from './usage.ts';

export interface TargetFlags {
  aws?: boolean;
  profile?: string;
  outputs?: string;
}

export const onAws = (flags: TargetFlags): boolean => Boolean(flags.aws || flags.profile);

/** The control-plane stack's outputs (table names, state machine ARNs) where the command acts. */
export async function controlPlaneOutputs(flags: TargetFlags): Promise<Record<string, string>> {
  if (!onAws(flags)) return (await loadLocalState()).stack.outputs;
  if (flags.profile) {
    process.env.AWS_PROFILE = flags.profile;
    resetClients();
  }
  if (!flags.outputs) {
    throw new UsageError('--aws needs --outputs <file> (written by cdk deploy --outputs-file)');
  }
  const stack = stackWithOutput(flags.outputs, CONTROL_PLANE_OUTPUTS.journalTable);
  if (!stack)
    throw new UsageError(
      `${flags.outputs} holds no control-plane stack (no ${CONTROL_PLANE_OUTPUTS.journalTable} output)`,
    );
  return stack;
}

/** The outputs of the stack in a cdk outputs file that has `key` among them. */
export function stackWithOutput(file: string, key: string): Record<string, string> | undefined {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
  return Object.values(parsed).find((o) => o[key]);
}

export function outputOf(outputs: Record<string, string>, key: string, what: string): string {
  const value = outputs[key];
  if (!value)
    throw new UsageError(`the control-plane stack has no ${key} output (${what} is not deployed there)`);
  return value;
}

/** How often a followed execution is described (OPS_POLL_MS for tests; 5 s by default). */
const pollMs = () => Number(process.env.OPS_POLL_MS ?? 5000);

/** Starts a deployed state machine and follows it with DescribeExecution until it ends. */
export async function startAndFollow(
  stateMachineArn: string,
  name: string,
  input: unknown,
  onStarted: (executionArn: string) => void = () => undefined,
  /** Called before each look at the execution (`--watch` prints a record there). */
  onPoll: () => Promise<void> = async () => undefined,
): Promise<DescribeExecutionCommandOutput> {
  const sfn = awsClient(SFNClient);
  const started = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
  );
  onStarted(started.executionArn as string);
  for (;;) {
    await onPoll();
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') return execution;
    await new Promise((r) => setTimeout(r, pollMs()));
  }
}
