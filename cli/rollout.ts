// `ops rollout | approve | reject | abort | rollback`: blue/green rollouts from the command line.
// Locally (the default) the synthesized workflow runs on the emulator in this process; operators
// in another terminal answer its gates with SendTaskSuccess, which the rig's Step Functions
// endpoint delivers to this process's waiting task, as AWS would. With --aws --outputs <cdk
// outputs file> the same commands start and answer the deployed state machine.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { parseStrategyShorthand, type RolloutInputDraft } from '../events/rollout-input.ts';
import { causeText } from '../functions/rollout-step/steps.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { systemClock } from '../functions/shared/clock.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { effectivePlan } from '../functions/shared/rollouts/defaults.ts';
import {
  abortRollout,
  answerGate,
  type OperatorDeps,
  type OperatorResult,
  rollbackService,
} from '../functions/shared/rollouts/operator.ts';
import {
  findRolloutRecord,
  getRolloutRecord,
  type RolloutRecord,
} from '../functions/shared/rollouts/record.ts';
import { stepFunctionsCallbacks } from '../functions/shared/task-callbacks.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { localOperatorDeps, newExecutionName, rolloutEnvironment, runRollout } from '../local/rollouts.ts';
import { VirtualClock } from '../local/virtual-clock.ts';
import { loadLocalState } from './local-state.ts';
import { gateWaitMs, type Out, UsageError } from './usage.ts';

export interface RolloutFlags {
  service?: string;
  image?: string;
  'task-definition'?: string;
  strategy?: string;
  approval?: string;
  input?: string;
  reason?: string;
  watch?: boolean;
  aws?: boolean;
  outputs?: string;
  'gate-wait'?: string;
  /** A blind rollout: analysis.enabled false (journaled, alerted as a warning, in the report). */
  'no-analysis'?: boolean;
  /** When the image was pushed (ISO 8601): lead time for changes counts from it. */
  'image-pushed-at'?: string;
  json?: boolean;
  cluster?: string;
  /** Go ahead inside a freeze window, with this reason (journaled and alerted). */
  'break-glass'?: string;
}

const operator = () => `ops-cli/${userInfo().username}`;

/** The rollout input from flags (and --input, whose fields the flags override). */
export function rolloutInputFromFlags(
  flags: RolloutFlags,
  readInput: (file: string) => unknown,
): RolloutInputDraft {
  const base = (flags.input ? readInput(flags.input) : {}) as Partial<RolloutInputDraft>;
  const target =
    flags.service ?? (base.cluster && base.service ? `${base.cluster}/${base.service}` : base.service);
  if (!target)
    throw new UsageError('ops rollout needs --service [CLUSTER/]SERVICE (or an --input file naming one)');
  // Without a cluster the first state finds the one managed service of that name.
  const [cluster, service] = target.includes('/')
    ? (target.split('/') as [string, string])
    : [flags.cluster ?? base.cluster, target];
  let strategy = base.strategy;
  if (flags.strategy) {
    try {
      strategy = parseStrategyShorthand(flags.strategy);
    } catch (error) {
      throw new UsageError(`--strategy ${(error as Error).message}`);
    }
  }
  const image = flags.image ?? base.image;
  const taskDefinition = flags['task-definition'] ?? base.taskDefinition;
  const analysis = flags['no-analysis'] ? { ...(base.analysis ?? {}), enabled: false } : base.analysis;
  return {
    ...base,
    ...(cluster ? { cluster } : {}),
    service,
    ...(image ? { image } : {}),
    ...(taskDefinition ? { taskDefinition } : {}),
    // No strategy: the service's default, else DEFAULT_STRATEGY (the first state applies them).
    ...(strategy ? { strategy } : {}),
    ...(analysis ? { analysis } : {}),
    ...(flags.approval ? { approval: flags.approval as never } : {}),
    ...(flags['image-pushed-at'] ? { imagePushedAt: flags['image-pushed-at'] } : {}),
    ...(flags['break-glass'] ? { breakGlass: { reason: flags['break-glass'] } } : {}),
    requestedBy: base.requestedBy ?? operator(),
  };
}

/** One line per change of the rollout's record: weights, step, verdicts, gates. */
export function describeRecord(record: RolloutRecord, previous?: RolloutRecord): string[] {
  const lines: string[] = [];
  const w = record.weights;
  if (!previous || previous.phase !== record.phase || previous.weights.green !== w.green) {
    // An ECS deployment's record knows no total: ECS decides its steps.
    const step =
      record.step.index >= 0
        ? ` step ${record.step.index + 1}${record.step.total > 0 ? `/${record.step.total}` : ''}`
        : '';
    lines.push(
      `${record.phase.padEnd(18)} blue ${String(w.blue).padStart(3)}% / green ${String(w.green).padStart(3)}%${step}`,
    );
  }
  for (const v of record.verdicts.slice(previous?.verdicts.length ?? 0)) {
    lines.push(
      `  verdict step ${v.step + 1} at ${v.weight}%: ${v.verdict}${v.reasons.length ? ` (${v.reasons.join('; ')})` : ''}`,
    );
  }
  if (record.gate && record.gate.token !== previous?.gate?.token) {
    lines.push(
      record.gate.kind === 'window'
        ? `  rollback window open until ${record.gate.expiresAt}: ops rollback ${record.cluster}/${record.service}`
        : `  waiting at the ${record.gate.kind} gate until ${record.gate.expiresAt} (then: ${record.gate.defaultAction}): ops approve|reject ${record.executionName}`,
    );
  }
  return lines;
}

export async function rolloutCommand(
  flags: RolloutFlags,
  out: Out,
  readInput: (file: string) => unknown,
): Promise<number> {
  const input = rolloutInputFromFlags(flags, readInput);
  if (flags.aws) {
    // A service ECS deploys (the stack's outputs name them) is updated and followed here; the
    // workflow's first state would refuse it.
    const outputs = awsOutputs(flags);
    const ecsRollout = await import('./ecs-rollout.ts');
    const ecsDeployed = ecsRollout.ecsDeployedInOutputs(outputs, input);
    if (ecsDeployed) {
      ecsRollout.refuseTaskSetFlags(flags, `${ecsDeployed.cluster}/${ecsDeployed.service}`);
      return ecsRollout.ecsRolloutOnAws(
        ecsDeployed.cluster,
        ecsDeployed.service,
        input,
        {
          watch: flags.watch === true,
          operationsTable: outputs[CONTROL_PLANE_OUTPUTS.operationsTable] as string,
        },
        out,
      );
    }
    return startOnAws(outputs, flags, input, out);
  }
  // Refused before anything runs: halfway, the run would stop with green created and the lock held.
  if (input.preTraffic?.hookFunctionArn) {
    throw new UsageError(
      'a pre-traffic hook runs on AWS only (--aws --outputs <file>): the emulator cannot run Lambda code; locally, drop preTraffic.hookFunctionArn (testTraffic alone works)',
    );
  }
  const { stack } = await loadLocalState();
  const waitMs = gateWaitMs(flags['gate-wait']);
  const ecsRollout = await import('./ecs-rollout.ts');
  const managedByEcs = ecsRollout.ecsDeployed(rolloutEnvironment(stack).MANAGED_SERVICES, input);
  if (managedByEcs) {
    ecsRollout.refuseTaskSetFlags(flags, `${managedByEcs.cluster}/${managedByEcs.service}`);
    return ecsRollout.ecsRolloutLocally(
      stack,
      managedByEcs,
      input,
      { watch: flags.watch === true, json: flags.json === true, gateWaitMs: waitMs },
      out,
    );
  }
  // What every step will judge, before anything runs. A bad input is left to the first state,
  // which rejects it naming the field, as it would on AWS.
  const plan = effectivePlan(rolloutEnvironment(stack).MANAGED_SERVICES, input);
  if (plan && !flags.json) for (const line of plan) console.log(line);
  let previous: RolloutRecord | undefined;
  const clock = new VirtualClock();
  const result = await runRollout(stack, input as Record<string, unknown>, {
    clock,
    taskTokenTimeoutMs: waitMs,
    ...(flags.watch
      ? {
          onRecord: (record: RolloutRecord) => {
            if (!previous)
              console.log(
                `${record.executionName}: ${record.plan.strategy}${record.plan.blind ? ' (BLIND: analysis off)' : ''}`,
              );
            for (const line of describeRecord(record, previous)) console.log(line);
            previous = record;
          },
        }
      : {}),
  });
  const human = [
    `${result.executionName}: ${result.status} after ${result.transitions} state transitions`,
    result.status === 'SUCCEEDED'
      ? 'green is primary; blue was retired'
      : // A Lambda error's cause is JSON ({errorType, errorMessage}): the message is what a human reads.
        `${result.error}: ${causeText(result.cause)}`,
    `(gates and the rollback window wait ${waitMs / 1000} s here; bakes are compressed; see ops journal)`,
  ].join('\n');
  out(human, { ...result, ...(plan ? { analysis: plan } : {}) });
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

// ------------------------------------------------------------------------------------------
// On AWS: the deployed state machine, found through `cdk deploy --outputs-file`.

function awsOutputs(flags: RolloutFlags): Record<string, string> {
  if (!flags.outputs)
    throw new UsageError('--aws needs --outputs <file> (written by cdk deploy --outputs-file)');
  const parsed = JSON.parse(readFileSync(flags.outputs, 'utf8')) as Record<string, Record<string, string>>;
  const stack = Object.values(parsed).find((o) => o[CONTROL_PLANE_OUTPUTS.rolloutStateMachineArn]);
  if (!stack)
    throw new UsageError(`${flags.outputs} has no ${CONTROL_PLANE_OUTPUTS.rolloutStateMachineArn} output`);
  return stack;
}

async function startOnAws(
  outputs: Record<string, string>,
  flags: RolloutFlags,
  input: RolloutInputDraft,
  out: Out,
): Promise<number> {
  const sfn = awsClient(SFNClient);
  const name = newExecutionName(input.service);
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: outputs[CONTROL_PLANE_OUTPUTS.rolloutStateMachineArn],
      name,
      input: JSON.stringify(input),
    }),
  );
  out(
    `started ${started.executionArn}\n(the service's rollout defaults in the deployed stack fill in what the input leaves out${flags.watch ? '; the analysis of each step follows once the first state ran' : '; --watch shows the analysis of each step'})`,
    started,
  );
  if (!flags.watch) return 0;
  const table = outputs[CONTROL_PLANE_OUTPUTS.operationsTable] as string;
  let previous: RolloutRecord | undefined;
  let cluster = input.cluster;
  for (;;) {
    // Without a cluster the first state found it: the record, once written, names it.
    const record = cluster
      ? await getRolloutRecord(documentClient(), table, cluster, input.service)
      : await findRolloutRecord(documentClient(), table, name);
    if (record?.executionName === name) {
      cluster = record.cluster;
      if (!previous) for (const line of record.plan.analysis ?? []) console.log(`  ${line}`);
      for (const line of describeRecord(record, previous)) console.log(line);
      previous = record;
    }
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    if (execution.status !== 'RUNNING') {
      out(
        `${name}: ${execution.status}${execution.error ? ` ${execution.error}: ${execution.cause}` : ''}`,
        execution,
      );
      return execution.status === 'SUCCEEDED' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

async function operatorDeps(flags: RolloutFlags): Promise<OperatorDeps> {
  if (!flags.aws) {
    const { stack } = await loadLocalState();
    return localOperatorDeps(stack, systemClock);
  }
  const outputs = awsOutputs(flags);
  return {
    db: documentClient(),
    elb: awsClient(ElasticLoadBalancingV2Client),
    clock: systemClock,
    env: {
      OPERATIONS_TABLE: outputs[CONTROL_PLANE_OUTPUTS.operationsTable] as string,
      JOURNAL_TABLE: outputs[CONTROL_PLANE_OUTPUTS.journalTable] as string,
    },
    callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
  };
}

export async function operatorCommand(
  action: 'approve' | 'reject' | 'abort' | 'rollback',
  ref: string | undefined,
  flags: RolloutFlags,
  out: Out,
): Promise<number> {
  if (!ref) {
    throw new UsageError(
      action === 'rollback' ? 'ops rollback <[CLUSTER/]SERVICE>' : `ops ${action} <execution> (name or ARN)`,
    );
  }
  const deps = await operatorDeps(flags);
  let result: OperatorResult;
  try {
    if (action === 'rollback') result = await rollbackService(deps, ref, operator());
    else if (action === 'abort') result = await abortRollout(deps, ref, operator(), flags.reason);
    else result = await answerGate(deps, ref, action, operator(), flags.reason);
  } catch (error) {
    if ((error as Error).name === 'Refused') {
      out((error as Error).message, { refused: true, message: (error as Error).message });
      return 3;
    }
    throw error;
  }
  out(`${result.execution}: ${result.message}`, result);
  return 0;
}
