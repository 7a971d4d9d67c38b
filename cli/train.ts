// `ops train start | status | abort`: release trains from the command line. Locally (the default)
// the synthesized release-train workflow runs on the emulator in this process, with each service's
// rollout nested in it; `ops train status` and `ops train abort` in another terminal read and stop
// it through its record, as they would on AWS. With --aws --outputs <cdk outputs file> the same
// commands start, follow and stop the deployed state machine.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { TrainInputDraft } from '../events/train-input.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { systemClock } from '../functions/shared/clock.ts';
import { type Db, documentClient } from '../functions/shared/dynamo.ts';
import { operatorExecutionName } from '../functions/shared/execution-names.ts';
import type { OperatorDeps } from '../functions/shared/rollouts/operator.ts';
import { getRolloutRecord } from '../functions/shared/rollouts/record.ts';
import { stepFunctionsCallbacks } from '../functions/shared/task-callbacks.ts';
import {
  findTrainRecord,
  getTrainRecord,
  listTrainRecords,
  type TrainRecord,
  type TrainServiceRecord,
  trainServices,
} from '../functions/shared/trains/record.ts';
import { greenTaskLimit } from '../functions/train-step/rules.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { localOperatorDeps, rolloutEnvironment } from '../local/rollouts.ts';
import { VirtualClock } from '../local/virtual-clock.ts';
import { runDeployedWorkflow } from '../local/workflows.ts';
import { loadLocalState } from './local-state.ts';
import { renderTrainReport, type TrainReportData } from './report/train-render.ts';
import { startAndFollow } from './target.ts';
import { gateWaitMs, type Out, UsageError } from './usage.ts';

export interface TrainFlags {
  file?: string;
  watch?: boolean;
  reason?: string;
  aws?: boolean;
  outputs?: string;
  'gate-wait'?: string;
  /** Go ahead inside a freeze window, with this reason (journaled and alerted). */
  'break-glass'?: string;
  /** Where `ops train report` writes its page. */
  out?: string;
}

const operator = () => `ops-cli/${userInfo().username}`;

export async function trainCommand(
  action: string | undefined,
  ref: string | undefined,
  flags: TrainFlags,
  out: Out,
) {
  switch (action) {
    case 'start':
      return start(flags, out);
    case 'status':
      return status(ref, flags, out);
    case 'abort':
      return abort(ref, flags, out);
    case 'report':
      return report(ref, flags, out);
    default:
      throw new UsageError(
        'ops train start --file <train.json> [--watch] [--break-glass "..."] | report [TRAIN] [--out FILE.html] | status [TRAIN] | abort TRAIN [--reason "..."]',
      );
  }
}

function readTrainFile(file: string | undefined): TrainInputDraft {
  if (!file) throw new UsageError('ops train start needs --file <train.json> (the release-train input)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--file ${file}: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--file ${file}: expected a JSON object (the release-train input)`);
  // The first state checks everything else, naming the field, as it does on AWS.
  return { requestedBy: operator(), ...(parsed as TrainInputDraft) };
}

async function start(flags: TrainFlags, out: Out): Promise<number> {
  const input = readTrainFile(flags.file);
  if (flags['break-glass']) input.breakGlass = { reason: flags['break-glass'] };
  const executionName = operatorExecutionName('train', input.name ?? 'train', Date.now());
  if (flags.aws) return startOnAws(input, executionName, flags, out);
  const { stack } = await loadLocalState();
  const table = rolloutEnvironment(stack).OPERATIONS_TABLE as string;
  let done = false;
  const print = statusPrinter(table, executionName);
  const watcher = (async () => {
    while (flags.watch && !done) {
      await print();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const result = await runDeployedWorkflow(stack, 'release-train', input, {
    clock: new VirtualClock(),
    executionName,
    taskTokenTimeoutMs: gateWaitMs(flags['gate-wait']),
  }).finally(() => {
    done = true;
  });
  await watcher;
  const record = await getTrainRecord(documentClient(), table, executionName);
  const lines = record ? statusLines(record, await trainServices(documentClient(), table, record)) : [];
  out(
    [
      `${executionName}: ${result.status}${result.status === 'SUCCEEDED' ? '' : ` ${result.error}: ${result.cause}`}`,
      ...lines,
    ].join('\n'),
    { ...result, executionName, train: record },
  );
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

async function startOnAws(
  input: TrainInputDraft,
  name: string,
  flags: TrainFlags,
  out: Out,
): Promise<number> {
  const outputs = awsOutputs(flags);
  const stateMachineArn = outputs[CONTROL_PLANE_OUTPUTS.trainStateMachineArn] as string;
  const started = (executionArn: string) =>
    out(
      `started ${executionArn}${flags.watch ? '' : `\n(ops train status ${name} --aws shows where it is)`}`,
      { executionArn },
    );
  if (!flags.watch) {
    const sfn = awsClient(SFNClient);
    const out = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    started(out.executionArn as string);
    return 0;
  }
  const print = statusPrinter(outputs[CONTROL_PLANE_OUTPUTS.operationsTable] as string, name);
  const execution = await startAndFollow(stateMachineArn, name, input, started, print);
  await print();
  out(
    `${name}: ${execution.status}${execution.error ? ` ${execution.error}: ${execution.cause}` : ''}`,
    execution,
  );
  return execution.status === 'SUCCEEDED' ? 0 : 1;
}

async function status(ref: string | undefined, flags: TrainFlags, out: Out): Promise<number> {
  const { table } = await tables(flags);
  const record = ref
    ? await findTrainRecord(documentClient(), table, ref)
    : (await listTrainRecords(documentClient(), table))[0];
  if (!record) {
    out(ref ? `no release train matches "${ref}"` : 'no release train has run here', { found: false });
    return ref ? 3 : 0;
  }
  const services = await trainServices(documentClient(), table, record);
  out(statusLines(record, services).join('\n'), { train: record, services });
  return 0;
}

async function abort(ref: string | undefined, flags: TrainFlags, out: Out): Promise<number> {
  if (!ref) throw new UsageError('ops train abort <TRAIN> (its execution name or label) [--reason "..."]');
  const deps = await operatorDeps(flags);
  const found = await findTrainRecord(deps.db, deps.env.OPERATIONS_TABLE, ref);
  if (!found) {
    out(`no release train matches "${ref}"`, { refused: true });
    return 3;
  }
  // Imported here: it brings the functions' logger, which must not be set up before a local run sets its level.
  const { abortTrain } = await import('../functions/train-step/stop.ts');
  const { stopped, record } = await abortTrain(deps, found.executionName, operator(), flags.reason);
  if (!stopped) {
    const message = `release train ${found.name} is not running (${record?.status ?? found.status}${record?.stop ? `: ${record.stop.reason}` : ''}); nothing was changed`;
    out(message, { refused: true, message });
    return 3;
  }
  out(
    `stopped the line of release train ${found.name}: services not yet started will not start; running rollouts ${found.onStop === 'rollback' ? 'were aborted and go back to blue' : 'run to their own end'}`,
    { stopped, train: record },
  );
  return 0;
}

/** `ops train report [TRAIN]`: the train's HTML report (the latest train by default). */
async function report(ref: string | undefined, flags: TrainFlags, out: Out): Promise<number> {
  const { table } = await tables(flags);
  const db = documentClient();
  const record = ref ? await findTrainRecord(db, table, ref) : (await listTrainRecords(db, table))[0];
  if (!record) {
    out(ref ? `no release train matches "${ref}"` : 'no release train has run here', { found: false });
    return 3;
  }
  const data = await trainReportData(db, table, record, Date.now());
  const services = data.services;
  const file = resolve(flags.out ?? `train-report-${record.executionName}.html`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderTrainReport(data));
  out(
    `${file}\nrelease train ${record.name}: ${record.status}, ${services.length} of ${record.waves.reduce((n, w) => n + w.services.length, 0)} services reached`,
    {
      file,
      train: record.executionName,
      status: record.status,
    },
  );
  return 0;
}

/** What a train's report shows: its record, its services, and each rollout's last verdict. */
export async function trainReportData(
  db: Db,
  table: string,
  record: TrainRecord,
  now: number,
): Promise<TrainReportData> {
  const services = await trainServices(db, table, record);
  const verdicts: Record<string, { verdict: string; reasons: string[] }> = {};
  for (const s of services) {
    if (!s.execution) continue;
    // The service's record, while it is still this train's rollout's: its last verdict.
    const rollout = await getRolloutRecord(db, table, s.cluster, s.service);
    const last = rollout?.executionName === s.execution ? rollout.verdicts.at(-1) : undefined;
    if (last) verdicts[`${s.cluster}/${s.service}`] = { verdict: last.verdict, reasons: last.reasons };
  }
  return { generatedAt: new Date(now).toISOString(), train: record, services, verdicts };
}

/** Prints the train's status each time it changed since the last look (--watch). */
function statusPrinter(table: string, executionName: string): () => Promise<void> {
  let last = '';
  return async () => {
    const record = await getTrainRecord(documentClient(), table, executionName);
    if (!record) return;
    const text = statusLines(record, await trainServices(documentClient(), table, record)).join('\n');
    if (text === last) return;
    last = text;
    console.log(text);
  };
}

/** The train in a few lines: status, budget, green in flight per cluster, each wave's services. */
export function statusLines(record: TrainRecord, services: readonly TrainServiceRecord[]): string[] {
  const byId = new Map(services.map((s) => [s.id, s]));
  const lines = [
    `release train ${record.name} (${record.executionName}): ${record.status}${record.stop ? ` (${record.stop.reason}, by ${record.stop.by})` : ''}`,
    `  budget: at most ${record.budget.maxFailedServices} failed (${record.counts.failed} so far); green at most ${record.budget.maxGreenTaskPercent}% of a cluster's tasks; on stop: ${record.onStop}`,
    ...Object.entries(record.clusterTasks).map(
      ([cluster, tasks]) =>
        `  ${cluster}: ${record.green[cluster] ?? 0} of at most ${greenTaskLimit(tasks, record.budget)} tasks in green (${tasks} tasks)`,
    ),
  ];
  record.waves.forEach((wave, w) => {
    lines.push(`  ${wave.name}:`);
    wave.services.forEach((name, i) => {
      const s = byId.get(`${record.id}/${w}.${i}`);
      const phase = s?.phase ?? 'not started';
      const detail =
        s?.phase === 'rolling'
          ? ` (${s.execution})`
          : s?.phase === 'waiting'
            ? ` for green room since ${s.waitingSince}`
            : s?.reason && s.phase !== 'succeeded'
              ? `: ${s.reason}`
              : '';
      lines.push(`    ${name.padEnd(28)} ${phase}${detail}`);
    });
  });
  return lines;
}

// ------------------------------------------------------------------------------------------

function awsOutputs(flags: TrainFlags): Record<string, string> {
  if (!flags.outputs)
    throw new UsageError('--aws needs --outputs <file> (written by cdk deploy --outputs-file)');
  const parsed = JSON.parse(readFileSync(flags.outputs, 'utf8')) as Record<string, Record<string, string>>;
  const stack = Object.values(parsed).find((o) => o[CONTROL_PLANE_OUTPUTS.trainStateMachineArn]);
  if (!stack)
    throw new UsageError(`${flags.outputs} has no ${CONTROL_PLANE_OUTPUTS.trainStateMachineArn} output`);
  return stack;
}

async function tables(flags: TrainFlags): Promise<{ table: string; journal: string }> {
  if (flags.aws) {
    const outputs = awsOutputs(flags);
    return {
      table: outputs[CONTROL_PLANE_OUTPUTS.operationsTable] as string,
      journal: outputs[CONTROL_PLANE_OUTPUTS.journalTable] as string,
    };
  }
  const env = rolloutEnvironment((await loadLocalState()).stack);
  return { table: env.OPERATIONS_TABLE as string, journal: env.JOURNAL_TABLE as string };
}

async function operatorDeps(flags: TrainFlags): Promise<OperatorDeps> {
  if (!flags.aws) return localOperatorDeps((await loadLocalState()).stack, systemClock);
  const { table, journal } = await tables(flags);
  return {
    db: documentClient(),
    elb: awsClient(ElasticLoadBalancingV2Client),
    clock: systemClock,
    env: { OPERATIONS_TABLE: table, JOURNAL_TABLE: journal },
    callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
  };
}
