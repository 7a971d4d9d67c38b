// `ops scale`: the scale-service workflow, run locally on the emulator or started and followed on
// AWS; the guardrails are the workflow's own.
import { operatorExecutionName } from '../functions/shared/execution-names.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { VirtualClock } from '../local/virtual-clock.ts';
import { runDeployedWorkflow } from '../local/workflows.ts';
import { loadLocalState } from './local-state.ts';
import {
  describeScaleRun,
  type ScaleFlags,
  scaledServices,
  scaleInputFromFlags,
  scaleRunJson,
} from './scale.ts';
import { controlPlaneOutputs, onAws, outputOf, startAndFollow, type TargetFlags } from './target.ts';
import { type Out, UsageError } from './usage.ts';

export async function scaleCommand(flags: ScaleFlags & TargetFlags, out: Out): Promise<number> {
  if (onAws(flags)) return scaleOnAws(flags, out);
  const { stack } = await loadLocalState();
  let input: ReturnType<typeof scaleInputFromFlags>;
  try {
    input = scaleInputFromFlags(flags, scaledServices(stack));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const result = await runDeployedWorkflow(stack, 'scale-service', input, { clock: new VirtualClock() });
  out(describeScaleRun(result), scaleRunJson(result));
  if (result.status !== 'SUCCEEDED') return 1;
  // A refusal is an answer, not a failure of the command, but scripts may want to tell it apart.
  return (result.output as { decision?: string } | undefined)?.decision === 'refused' ? 3 : 0;
}

/** On AWS: the deployed scale-service workflow, started and followed; the guardrails are its own. */
async function scaleOnAws(flags: ScaleFlags & TargetFlags, out: Out): Promise<number> {
  const outputs = await controlPlaneOutputs(flags);
  const [cluster, service] = (flags.service ?? '').includes('/')
    ? (flags.service as string).split('/')
    : [flags.cluster, flags.service];
  if (!cluster || !service)
    throw new UsageError('on AWS, name the service as --service CLUSTER/SERVICE (or add --cluster)');
  let input: ReturnType<typeof scaleInputFromFlags>;
  try {
    input = scaleInputFromFlags({ ...flags, service: `${cluster}/${service}` }, [{ cluster, service }]);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const arn = outputOf(outputs, CONTROL_PLANE_OUTPUTS.scaleStateMachineArn, 'scaling');
  const execution = await startAndFollow(
    arn,
    operatorExecutionName('scale', service, Date.now()),
    input,
    (started) => console.error(`started ${started}`),
  );
  const plan = execution.output
    ? (JSON.parse(execution.output) as { decision?: string; summary?: string; explanation?: string[] })
    : undefined;
  const human = plan
    ? [
        plan.summary ?? '',
        ...(plan.explanation ?? []).map((l) => `  - ${l}`),
        `execution: ${execution.executionArn} (${execution.status})`,
      ]
    : [
        `${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`.trim(),
        `execution: ${execution.executionArn}`,
      ];
  out(human.join('\n'), {
    status: execution.status,
    executionArn: execution.executionArn,
    error: execution.error,
    cause: execution.cause,
    plan,
  });
  if (execution.status !== 'SUCCEEDED') return 1;
  return plan?.decision === 'refused' ? 3 : 0;
}
