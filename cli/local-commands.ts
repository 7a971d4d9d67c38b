// The commands that act on the local rig itself: the emulator daemon, seeding it, invoking a
// function or running a workflow there, and reading what the alert topics' subscribers received.
import { deployControlPlane, takeAlertsInOrder } from '../local/control-plane.ts';
import { emulatorStatus, resetEmulator, startEmulatorDaemon, stopEmulatorDaemon } from '../local/emulator.ts';
import { eventSources } from '../local/event-sources.ts';
import { localFunction } from '../local/lambda-host.ts';
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
import { loadLocalState, pointAt, STATE_DIR } from './local-state.ts';
import { keepSeededWorld } from './seeded-world.ts';
import { type Out, readJsonArg, UsageError } from './usage.ts';

export interface LocalFlags {
  instances?: string;
  'spot-fraction'?: string;
  event?: string;
  input?: string;
  bundled?: boolean;
}

export async function emulator(action: string | undefined, out: Out): Promise<number> {
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

export async function seedCommand(flags: LocalFlags, out: Out): Promise<number> {
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

export async function invoke(name: string | undefined, flags: LocalFlags, out: Out): Promise<number> {
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

export async function run(name: string | undefined, flags: LocalFlags, out: Out): Promise<number> {
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

export async function alerts(out: Out): Promise<number> {
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
