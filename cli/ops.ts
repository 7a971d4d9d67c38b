// ops: the local front door to the control plane.
//   ops emulator start|stop|status        the local AWS emulator (moto server)
//   ops seed [--instances N] [--spot-fraction F]   deploy the control plane + a miniature stack into it
//   ops invoke <function> --event <file|->   run a function's handler against the emulator, then
//                                            the executions it started
//   ops run <workflow> --input <file|->      run a synthesized workflow against the emulator
//   ops alerts                               run the alert router, then alerts published since the last read
//   ops silence --service S|--kind K|--dedup-key D --for 2h --reason "..."   silence alerts for a while
//   ops silences / ops unsilence <id>        list silences / end one now
//   ops journal                              the action journal
//   ops scale --service S --to N | --by +N|-N|+P% [--dry-run]   scale a service inside its guardrails
//   ops rollout --service S --image I --strategy canary:10:5m [--watch]   blue/green rollout
//   ops approve|reject|abort <execution>, ops rollback <service>          answer or stop a rollout
//   ops traffic --green errors:12            load balancer metrics for a local rollout to judge
//   ops remediate --alarm NAME [--dry-run]   run the alarm's runbook by hand, guarded and verified
//   ops doctor [--env NAME] [--aws]          is an existing estate ready for the control plane

// Add --json to any command for machine-readable output.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isActive } from '../functions/alert-router/rules.ts';
import { addSilence, expireSilence, listSilences, type Silence } from '../functions/alert-router/silences.ts';
import { systemClock } from '../functions/shared/clock.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { operatorExecutionName } from '../functions/shared/execution-names.ts';
import { operatorReason } from '../functions/shared/validation.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { deployControlPlane, readJournal, takeAlertsInOrder } from '../local/control-plane.ts';
import { emulatorStatus, resetEmulator, startEmulatorDaemon, stopEmulatorDaemon } from '../local/emulator.ts';
import { eventSources } from '../local/event-sources.ts';
import { localFunction } from '../local/lambda-host.ts';
import { REPO_ROOT } from '../local/python-env.ts';
import { seed } from '../local/seed.ts';
import { VirtualClock } from '../local/virtual-clock.ts';
import {
  isWorkflowName,
  listExecutions,
  runDeployedWorkflow,
  runStartedExecutions,
  WORKFLOWS,
  type WorkflowName,
} from '../local/workflows.ts';
import { doctorCommand } from './doctor/command.ts';
import { keepSeededWorld, loadLocalState, pointAt, STATE_DIR } from './local-state.ts';
import { answerRemediationCommand, remediateCommand } from './remediate.ts';
import { reportCommand } from './report.ts';
import { operatorCommand, type RolloutFlags, rolloutCommand } from './rollout.ts';
import {
  describeScaleRun,
  joinNegativeValues,
  type ScaleFlags,
  scaledServices,
  scaleInputFromFlags,
  scaleRunJson,
} from './scale.ts';
import { statusCommand } from './status.ts';
import { controlPlaneOutputs, onAws, outputOf, startAndFollow } from './target.ts';
import { TRAFFIC_PROFILES, type TrafficFlags, trafficCommand } from './traffic.ts';

const HELP = `ops — the local front door to the ECS operations control plane

Usage:
  ops emulator start|stop|status         Start (idempotent), stop or show the local AWS emulator
  ops seed [--instances N] [--spot-fraction F]
                                          Reset the emulator, deploy the control plane from the
                                          synthesized template, and create a miniature stack
  ops invoke <function> --event <file|-> [--bundled]
                                          Run a function's handler against the emulator, then
                                          the executions it started (scale-alarm,
                                          remediation-trigger, spot-interruption)
  ops run <workflow> --input <file|->     Run a synthesized workflow against the emulator
  ops alerts                              Run the alert router over raised alerts (waiting for group
                                          windows), then print (and acknowledge) what was published
  ops silence (--service S | --kind K | --dedup-key D) --for 2h --reason "..."
                                          Silence matching alerts for a while (at most 7 days);
                                          silenced alerts are not published and are journaled
  ops silences                            List silences (active and recently ended)
  ops unsilence <id>                      End a silence now
  ops journal [--limit N]                 Print the action journal, oldest first
  ops status [--limit N]                  What is in flight: running executions, rollouts, approvals
                                          waiting, held locks, active silences, latest journal entries
  ops scale --service [CLUSTER/]S (--to N | --by +N|-N|+P%|-P%) [--dry-run] [--reason "..."]
                                          Run the scale-service workflow: guardrails, capacity,
                                          verification; prints every decision in plain words
  ops rollout --service [CLUSTER/]S (--image I | --task-definition TD) [--strategy S] [--watch]
              [--approval none|before-traffic|before-finalize] [--input <file>] [--gate-wait 30s]
              [--no-analysis] [--aws --outputs <cdk outputs file>]
                                          Blue/green rollout; strategies: all-at-once, canary:10:5m,
                                          linear:25:10m, steps:10@5m,50@10m,100@0 (default: the
                                          service's, else canary:10:5m). Every step is analysed
                                          against blue unless --no-analysis (a blind rollout, alerted
                                          as a warning); the plan is printed before it starts.
                                          Locally it runs on the emulator here; --watch shows
                                          weights, steps, verdicts
  ops traffic [--green P] [--blue P] [--hours 2]
                                          Write the seeded service's load balancer metrics into the
                                          emulator (P: ${TRAFFIC_PROFILES}),
                                          so a local rollout has data to judge (no data is no pass)
  ops remediate --alarm NAME [--dry-run] [--reason "..."] [--gate-wait 30s] [--aws --outputs <file>]
                                          Run the alarm's runbook the way an alarm would: registry,
                                          guards, approval, runbook, verification, escalation
  ops report <execution|[CLUSTER/]SERVICE> [--out FILE.html]
                                          Write a rollout's report: one self-contained HTML page
                                          (listener weights, green/blue 5xx and p95 over time,
                                          every verdict, gate answers, outcome); prints its path
  ops doctor [--env NAME] [--aws]         Check that what a control-plane-only environment
                                          (config/NAME.json) references is ready for the control
                                          plane: deployment controllers, target groups and listener
                                          rules, named alarms, capacity providers and Auto Scaling
                                          groups, spot draining, task roles; says how to fix each
                                          problem. Locally without --env: the seeded world
  ops approve|reject <execution> [--reason "..."]
                                          Answer the gate a rollout or a remediation waits at
  ops abort <execution> [--reason "..."]  Stop a rollout: traffic back on blue at once, green removed
  ops rollback [CLUSTER/]SERVICE          Inside the rollback window after promotion: 100% back on
                                          blue at once (one listener update, read back)
  ops help                                This text
  ops --version                           The project's version and the Node it runs on

Every command takes --json for machine-readable output and --verbose to show function logs.
Against a real account: add --aws --outputs <file> (from cdk deploy --outputs-file), or --profile P
(implies --aws). Workflow commands then start and follow the deployed state machines; status,
journal and silences read and write the stack's tables. Nothing runs locally.
Functions: spot-interruption, spot-surge-step, alert-router, scale-service-step, scale-alarm,
remediation-trigger, remediate-step, rollout-step, rollout-analysis. Workflows: ${Object.keys(WORKFLOWS).join(', ')}.
Examples:
  ops emulator start && ops seed --instances 40 --spot-fraction 0.75
  ops invoke spot-interruption --event events/samples/aws/ec2-spot-instance-interruption-warning.json
  ops run spot-surge --input events/inputs/spot-surge.json
  ops silence --service api --for 2h --reason "deploying a fix for the health check"
  ops traffic --green errors:12 && ops rollout --service api --image registry.local/api:2 --strategy canary:10:5m --watch
  ops remediate --alarm web-api-cpu-high --dry-run
  ops doctor && ops doctor --env adopted --aws --profile prod
`;

type Flags = {
  json?: boolean;
  instances?: string;
  'spot-fraction'?: string;
  event?: string;
  input?: string;
  bundled?: boolean;
  limit?: string;
  help?: boolean;
  service?: string;
  kind?: string;
  'dedup-key'?: string;
  for?: string;
  reason?: string;
  alarm?: string;
  profile?: string;
  out?: string;
  env?: string;
} & ScaleFlags &
  RolloutFlags &
  TrafficFlags;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(argv, ['--by']),
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      instances: { type: 'string' },
      'spot-fraction': { type: 'string' },
      event: { type: 'string' },
      input: { type: 'string' },
      bundled: { type: 'boolean' },
      limit: { type: 'string' },
      service: { type: 'string' },
      kind: { type: 'string' },
      'dedup-key': { type: 'string' },
      for: { type: 'string' },
      reason: { type: 'string' },
      to: { type: 'string' },
      by: { type: 'string' },
      'dry-run': { type: 'boolean' },
      cluster: { type: 'string' },
      image: { type: 'string' },
      'task-definition': { type: 'string' },
      strategy: { type: 'string' },
      approval: { type: 'string' },
      watch: { type: 'boolean' },
      aws: { type: 'boolean' },
      outputs: { type: 'string' },
      'gate-wait': { type: 'string' },
      'no-analysis': { type: 'boolean' },
      green: { type: 'string' },
      blue: { type: 'string' },
      hours: { type: 'string' },
      alarm: { type: 'string' },
      profile: { type: 'string' },
      out: { type: 'string', short: 'o' },
      env: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
  // Function logs would mix with the command's output: shown only with --verbose.
  if (!values.verbose) process.env.OPS_LOG_LEVEL ??= 'SILENT';
  const flags = values as Flags;
  // --profile P means a real account through that profile: every command then acts as with --aws.
  if (flags.profile) {
    flags.aws = true;
    process.env.AWS_PROFILE = flags.profile;
  }
  const [command, ...rest] = positionals;
  const out = (human: string, data: unknown) =>
    console.log(flags.json ? JSON.stringify(data, null, 2) : human);

  if (values.version || command === 'version') {
    const project = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    out(`ops ${project.version} on Node ${process.version}`, {
      version: project.version,
      node: process.version,
      nodePath: process.execPath,
    });
    return 0;
  }
  if (!command || command === 'help' || flags.help) {
    console.log(HELP);
    return 0;
  }
  switch (command) {
    case 'emulator':
      return emulator(rest[0], out);
    case 'seed':
      return seedCommand(flags, out);
    case 'invoke':
      return invoke(rest[0], flags, out);
    case 'run':
      return run(rest[0], flags, out);
    case 'alerts':
      return alerts(out);
    case 'silence':
      return silence(flags, out);
    case 'silences':
      return silences(flags, out);
    case 'unsilence':
      return unsilence(rest[0], flags, out);
    case 'status':
      return statusCommand(flags, out);
    case 'report':
      return reportCommand(rest[0], flags, out);
    case 'journal':
      return journal(flags, out);
    case 'scale':
      return scale(flags, out);
    case 'rollout':
      return rolloutCommand(flags, out, (file) => readJsonArg('input', file));
    case 'traffic':
      return trafficCommand(flags, out);
    case 'remediate':
      return remediateCommand(flags, out);
    case 'doctor':
      return doctorCommand(flags, out);
    case 'approve':
    case 'reject': {
      checkReason(flags.reason);
      // A remediation waiting for approval answers to its execution name; anything else is a rollout's.
      const answered = rest[0] ? await answerRemediationCommand(command, rest[0], flags, out) : undefined;
      return answered ?? operatorCommand(command, rest[0], flags, out);
    }
    case 'abort':
    case 'rollback':
      checkReason(flags.reason);
      return operatorCommand(command, rest[0], flags, out);
    default:
      throw new UsageError(`unknown command "${command}"; run \`ops help\` for the list`);
  }
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A gate's answer carries the reason into the workflow: refused before anything is looked up. */
function checkReason(reason: string | undefined): void {
  try {
    operatorReason(reason);
  } catch (error) {
    throw new UsageError(`--${(error as Error).message}`);
  }
}

type Out = (human: string, data: unknown) => void;

async function emulator(action: string | undefined, out: Out): Promise<number> {
  if (action === 'start') {
    const started = await startEmulatorDaemon({ stateDir: STATE_DIR });
    out(
      `${started.alreadyRunning ? 'already running' : 'started'}: ${started.endpoint} (pid ${started.pid})`,
      started,
    );
    return 0;
  }
  if (action === 'stop') {
    const stopped = await stopEmulatorDaemon({ stateDir: STATE_DIR });
    out(stopped.stopped ? 'stopped' : 'was not running', stopped);
    return 0;
  }
  if (action === 'status') {
    const status = await emulatorStatus({ stateDir: STATE_DIR });
    out(status.running ? `running: ${status.endpoint} (pid ${status.pid})` : 'not running', status);
    return 0;
  }
  throw new UsageError('ops emulator takes start, stop or status');
}

async function seedCommand(flags: Flags, out: Out): Promise<number> {
  const instances = flags.instances === undefined ? 12 : Number(flags.instances);
  const spotFraction = flags['spot-fraction'] === undefined ? 0.5 : Number(flags['spot-fraction']);
  if (!Number.isInteger(instances) || instances < 1 || instances > 5000) {
    throw new UsageError(`--instances must be a whole number from 1 to 5000 (got ${flags.instances})`);
  }
  if (!(spotFraction >= 0 && spotFraction <= 1)) {
    throw new UsageError(`--spot-fraction must be between 0 and 1 (got ${flags['spot-fraction']})`);
  }
  const { endpoint } = await startEmulatorDaemon({ stateDir: STATE_DIR });
  await resetEmulator(endpoint);
  await pointAt(endpoint);
  const stack = await deployControlPlane();
  const world = await seed(stack, { instances, spotFraction });
  await keepSeededWorld(endpoint, stack, world);
  const spot = world.containerInstances.filter((c) => c.spot).length;
  out(
    [
      `emulator ${endpoint} (reset)`,
      `control plane ${stack.stackName}: ${Object.keys(stack.functions).length} functions, ${Object.keys(stack.stateMachines).length} workflow(s), ${stack.eventSourceMappings.length} event source(s)`,
      `cluster ${world.cluster}: ${world.containerInstances.length} container instances (${spot} spot, ${world.containerInstances.length - spot} on-demand)`,
      `auto scaling groups: ${world.autoScalingGroups.spot}, ${world.autoScalingGroups.onDemand}`,
      `service ${world.service.name}; load balancer with blue and green target groups`,
      `alert queues: ${Object.keys(world.alertQueues).join(', ')}`,
      'next: ops doctor, ops invoke spot-interruption --event <file>, ops alerts, ops journal (--json for everything)',
    ].join('\n'),
    { endpoint, stackName: stack.stackName, outputs: stack.outputs, ...world },
  );
  return 0;
}

function readJsonArg(flag: string, value: string | undefined): unknown {
  if (!value) throw new UsageError(`--${flag} <file|-> is required`);
  const text = value === '-' ? readFileSync(0, 'utf8') : readFileSync(value, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${flag} ${value} is not JSON: ${(error as Error).message}`);
  }
}

async function invoke(name: string | undefined, flags: Flags, out: Out): Promise<number> {
  if (!name) throw new UsageError('ops invoke <function> --event <file|->');
  const event = readJsonArg('event', flags.event);
  const { stack } = await loadLocalState();
  if (!stack.functions[name]) {
    throw new UsageError(`unknown function "${name}"; known: ${Object.keys(stack.functions).join(', ')}`);
  }
  const fn = await localFunction(stack, name, { bundled: flags.bundled ?? false });
  // A trigger starts executions that the emulator records but does not run: they run here,
  // so an event's path can be followed to its end (as ops remediate does).
  const started = TRIGGERS[name];
  const seen = new Set<string>();
  if (started) {
    for (const execution of await listExecutions(stack, started))
      if (execution.executionArn) seen.add(execution.executionArn);
  }
  const result = await fn.invoke(event);
  const runs = started ? await runStartedExecutions(stack, started, seen, { clock: new VirtualClock() }) : [];
  const human = [
    JSON.stringify(result, null, 2),
    ...runs.map(
      (run) =>
        `${started} ${run.executionName}: ${run.status}${run.status === 'SUCCEEDED' ? '' : ` (${run.error}: ${run.cause})`}`,
    ),
  ].join('\n');
  out(human, {
    result,
    executions: runs.map((run) => ({
      workflow: started,
      name: run.executionName,
      status: run.status,
      output: run.output,
      error: run.error,
      cause: run.cause,
    })),
  });
  return runs.every((run) => run.status === 'SUCCEEDED') ? 0 : 1;
}

/** The workflow each trigger function starts. */
const TRIGGERS: Record<string, WorkflowName | undefined> = {
  'scale-alarm': 'scale-service',
  'remediation-trigger': 'remediate-alarm',
  'spot-interruption': 'spot-surge',
};

async function run(name: string | undefined, flags: Flags, out: Out): Promise<number> {
  if (!name || !isWorkflowName(name)) {
    throw new UsageError(
      `ops run <workflow> --input <file|->; workflows: ${Object.keys(WORKFLOWS).join(', ')}`,
    );
  }
  const input = readJsonArg('input', flags.input);
  const { stack } = await loadLocalState();
  const result = await runDeployedWorkflow(stack, name, input, { clock: new VirtualClock() });
  const human = [
    `${name}: ${result.status} after ${result.transitions} state transitions`,
    `states: ${abbreviate(result.states)}`,
    result.status === 'SUCCEEDED'
      ? `output: ${JSON.stringify(result.output, null, 2)}`
      : `error: ${result.error}\ncause: ${result.cause}`,
  ].join('\n');
  out(human, result);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

/** A long loop of states reads better as its start, its end and a count. */
function abbreviate(states: string[]): string {
  if (states.length <= 12) return states.join(' -> ');
  return `${states.slice(0, 6).join(' -> ')} -> … ${states.length - 9} more … -> ${states.slice(-3).join(' -> ')}`;
}

async function alerts(out: Out): Promise<number> {
  const { stack, seed: world } = await loadLocalState();
  // What Lambda would have done meanwhile: the alert router takes raised alerts off its queue.
  await eventSources(stack).run();
  const all = await takeAlertsInOrder(world.alertQueues);
  const human =
    all.length === 0
      ? 'no new alerts'
      : all
          .map(
            (a) => `${a.subject}\n  ${String(a.alert.summary ?? '')}\n  ${String(a.alert.whatWeDid ?? '')}`,
          )
          .join('\n');
  out(human, all);
  return 0;
}

/** 90s, 15m, 2h, 1d -> milliseconds. */
function parseDuration(text: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text?.trim() ?? '');
  if (!match) throw new UsageError(`--for takes a duration such as 30m, 2h or 1d (got ${text ?? 'nothing'})`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(match[1]) * unit);
}

async function alertsTable(flags: Flags): Promise<string> {
  const outputs = await controlPlaneOutputs(flags);
  return outputOf(outputs, CONTROL_PLANE_OUTPUTS.stateTable, 'alerting');
}

async function silence(flags: Flags, out: Out): Promise<number> {
  const matcher = {
    ...(flags.service ? { service: flags.service } : {}),
    ...(flags.kind ? { kind: flags.kind } : {}),
    ...(flags['dedup-key'] ? { dedupKey: flags['dedup-key'] } : {}),
  };
  if (Object.keys(matcher).length === 0) {
    throw new UsageError('ops silence needs --service S, --kind K or --dedup-key D');
  }
  const durationMs = parseDuration(flags.for);
  if (!flags.reason?.trim()) throw new UsageError('ops silence needs --reason "why", for the next person');
  const table = await alertsTable(flags);
  const created = await addSilence(documentClient(), table, systemClock, {
    matcher,
    durationMs,
    reason: flags.reason,
    createdBy: `ops-cli/${userInfo().username}`,
  }).catch((error: Error) => {
    throw error.name === 'InvalidInput' ? new UsageError(error.message) : error;
  });
  out(
    `${created.id}: silenced ${describeMatcher(created)} until ${created.endsAt} (${created.reason})`,
    created,
  );
  return 0;
}

function describeMatcher(s: Silence): string {
  const m = s.matcher;
  return [
    m.service ? `service ${m.service}` : '',
    m.kind ? `kind ${m.kind}` : '',
    m.dedupKey ? `dedup key ${m.dedupKey}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
}

async function silences(flags: Flags, out: Out): Promise<number> {
  const table = await alertsTable(flags);
  const now = Date.now();
  const all = (await listSilences(documentClient(), table)).map((s) => ({ ...s, active: isActive(s, now) }));
  const human =
    all.length === 0
      ? 'no silences'
      : all
          .map(
            (s) =>
              `${s.id}  ${s.active ? 'active ' : 'ended  '} ${describeMatcher(s)} until ${s.endsAt}\n    ${s.reason} (${s.createdBy})`,
          )
          .join('\n');
  out(human, all);
  return 0;
}

async function unsilence(id: string | undefined, flags: Flags, out: Out): Promise<number> {
  if (!id) throw new UsageError('ops unsilence <id> (see ops silences)');
  const table = await alertsTable(flags);
  const ended = await expireSilence(documentClient(), table, systemClock, id);
  if (!ended) throw new UsageError(`no silence ${id} (see ops silences)`);
  out(`${id}: ended`, { id, ended: true });
  return 0;
}

async function journal(flags: Flags, out: Out): Promise<number> {
  const table = outputOf(await controlPlaneOutputs(flags), CONTROL_PLANE_OUTPUTS.journalTable, 'the journal');
  const records = await readJournal(table);
  const limit = flags.limit ? Number(flags.limit) : records.length;
  const shown = records.slice(-limit);
  const human =
    shown.length === 0
      ? 'the journal is empty'
      : shown
          .map(
            (r) =>
              `${r.at.slice(0, 23)}  ${r.outcome.padEnd(9)} ${r.action.padEnd(22)} ${r.resource}\n    ${r.reason}`,
          )
          .join('\n');
  out(human, shown);
  return 0;
}

async function scale(flags: Flags, out: Out): Promise<number> {
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
async function scaleOnAws(flags: Flags, out: Out): Promise<number> {
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(`${error.name}: ${error.message}`);
    process.exitCode = error.name === 'UsageError' ? 2 : 1;
  },
);
