// The cost suite's world: the control plane deployed on the emulator, metered functions, and the
// helpers that deliver events and run the executions they start.
import { readFileSync } from 'node:fs';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { SQSEvent } from 'aws-lambda';
import { awsClient, resetClients } from '../../functions/shared/clients.ts';
import type { Clock } from '../../functions/shared/clock.ts';
import {
  LOCAL_ALERT_GROUP_WINDOW_SECONDS,
  setAlertGroupWindow,
  synthControlPlane,
} from '../../local/control-plane.ts';
import { type DeployedStack, deployTemplate } from '../../local/deploy.ts';
import { type Emulator, localAwsEnv, startEmulator } from '../../local/emulator.ts';
import { type FaultProxy, startFaultProxy } from '../../local/fault-proxy.ts';
import { type LocalFunction, localFunction } from '../../local/lambda-host.ts';
import { OBSERVER_ENDPOINT_VAR } from '../../local/observer.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
import { putCpuAlarm, type Seed, seed } from '../../local/seed.ts';
import { putEvents } from '../../local/spot-harness.ts';
import { drainEventSource } from '../../local/sqs-event-source.ts';
import { useStepFunctionsEndpoint } from '../../local/step-functions-endpoint.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { type LambdaBinding, runWorkflow, type WorkflowResult } from '../../local/workflow-runner.ts';
import { deployedWorkflow, type WorkflowName } from '../../local/workflows.ts';
import { historyEvents, SFN_LOG_EVENT_BYTES } from '../cost-model.ts';
import type { SuiteContext } from '../run.ts';
import { ALARM_SAMPLE, API, CLUSTER, countLogsOf, current, type Meter, SHADOWING_VARS } from './metering.ts';
import { stateTypes, type TemplateFacts, templateFacts } from './template.ts';

// ---------------------------------------------------------------------------------------------
// The world: one emulator, the local control plane deployed from its template, a seeded cluster.

export interface World {
  emulator: Emulator;
  proxy: FaultProxy;
  stack: DeployedStack;
  seed: Seed;
  clock: VirtualClock;
  /** Never advanced: real time, for the alert router (alerts carry their real time). */
  realClock: VirtualClock;
  facts: TemplateFacts;
  localFacts: TemplateFacts;
  fns: Map<Clock, Map<string, LocalFunction>>;
  seen: Map<string, Set<string>>;
  spotUsed: number;
}

export async function openWorld(ctx: SuiteContext): Promise<World> {
  const emulator = await startEmulator();
  const proxy = await startFaultProxy({ target: emulator.endpoint, throttleRate: 0 });
  for (const key of SHADOWING_VARS) delete process.env[key];
  Object.assign(process.env, localAwsEnv(proxy.endpoint));
  // The rig's own reads (event sources' receives, alerts, journal) go straight to the emulator:
  // the proxy then counts only what the functions and workflows call, as the SDK meter does.
  process.env[OBSERVER_ENDPOINT_VAR] = emulator.endpoint;
  await useStepFunctionsEndpoint(proxy.endpoint);
  resetClients();
  ctx.log('synthesizing the local control plane and deploying it into the emulator');
  const local = await synthControlPlane('local');
  const stack = await deployTemplate(local.stackName, local.template);
  setAlertGroupWindow(stack, LOCAL_ALERT_GROUP_WINDOW_SECONDS);
  ctx.log('synthesizing the prod control plane (fixed resources, memory sizes)');
  const prod = await synthControlPlane('prod');
  const seeded = await seed(stack, { instances: 12, spotFraction: 0.5 });
  installPercentileStandIn();
  await putCpuAlarm(awsClient(CloudWatchClient), 'web-api-cpu-high');
  return {
    emulator,
    proxy,
    stack,
    seed: seeded,
    clock: new VirtualClock(),
    realClock: new VirtualClock(),
    facts: templateFacts(prod.template),
    localFacts: templateFacts(local.template),
    fns: new Map(),
    seen: new Map(),
    spotUsed: 0,
  };
}

/** The handler of `fnName`, timed and logged into the current meter. */
async function meteredFunction(world: World, fnName: string, clock: Clock): Promise<LocalFunction> {
  let byName = world.fns.get(clock);
  if (!byName) {
    byName = new Map();
    world.fns.set(clock, byName);
  }
  const cached = byName.get(fnName);
  if (cached) return cached;
  const local = await localFunction(world.stack, fnName, { clock });
  const fn: LocalFunction = {
    name: fnName,
    invoke: async (event) => {
      const meter = current;
      const t = performance.now();
      countLogsOf(fnName);
      try {
        return await local.invoke(event);
      } finally {
        countLogsOf(undefined);
        if (meter) {
          const use = meter.fn(fnName);
          use.invocations++;
          use.durationsMs.push(performance.now() - t);
        }
      }
    },
  };
  byName.set(fnName, fn);
  return fn;
}

interface RunOpts {
  clock: Clock & { advance(ms: number): void };
  executionName?: string;
  taskTokenTimeoutMs?: number;
  beforeLambda?: (fnName: string, event: unknown) => Promise<void>;
}

/** runDeployedWorkflow, with every Lambda task and nested execution metered. */
export async function runMetered(
  world: World,
  machine: DeployedStack['stateMachines'][string],
  input: unknown,
  opts: RunOpts,
  topLevel = true,
): Promise<WorkflowResult> {
  const meter = current as Meter;
  const lambdas: Record<string, LambdaBinding> = {};
  for (const f of Object.values(world.stack.functions)) {
    const fn = await meteredFunction(world, f.name, opts.clock);
    lambdas[f.arn] = async (event) => {
      const hook = opts.beforeLambda;
      if (hook) await meter.outside(() => hook(f.name, event));
      return fn.invoke(event);
    };
  }
  const childWorkflows: Record<string, (i: unknown, n: string) => Promise<WorkflowResult>> = {};
  for (const child of Object.values(world.stack.stateMachines))
    childWorkflows[child.arn] = (childInput, executionName) =>
      runMetered(world, child, childInput, { ...opts, executionName }, false);
  const result = await runWorkflow({
    definition: machine.definition,
    input,
    lambdas,
    childWorkflows,
    stateMachineName: machine.name,
    clock: opts.clock,
    ...(opts.executionName ? { executionName: opts.executionName } : {}),
    ...(opts.taskTokenTimeoutMs !== undefined ? { taskTokenTimeoutMs: opts.taskTokenTimeoutMs } : {}),
  });
  meter.transitions += result.transitions;
  if (topLevel) meter.executions++;
  else meter.childExecutions++;
  const logs = world.facts.machineLogs[machine.logicalId] ?? world.localFacts.machineLogs[machine.logicalId];
  if (logs?.level === 'ALL') {
    const types = stateTypes(machine.definition);
    const retries = result.events.filter((e) => (e as { type?: string }).type === 'StateRetried').length;
    const events = historyEvents(
      result.states.map((s) => types.get(s) ?? 'Pass'),
      retries,
    );
    meter.sfnLogBytes[logs.retentionDays] =
      (meter.sfnLogBytes[logs.retentionDays] ?? 0) + events * SFN_LOG_EVENT_BYTES;
  }
  return result;
}

/** Drains a function's queue as its event source mapping would; only the handler is metered. */
export async function deliver(world: World, fnName: string, clock: Clock): Promise<number> {
  const meter = current as Meter;
  const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === fnName);
  if (!mapping) throw new Error(`no event source mapping for ${fnName}`);
  const fn = await meteredFunction(world, fnName, clock);
  const result = await meter.outside(() =>
    drainEventSource(mapping, (event: SQSEvent) => {
      // Lambda's poller: a receive per 10 messages, a DeleteMessageBatch per 10 handled.
      meter.esmInvocations++;
      meter.esmRequests += 2 * Math.ceil(event.Records.length / 10);
      return meter.inside(() => fn.invoke(event));
    }),
  );
  if (result.errors.length > 0 || result.failed > 0)
    throw new Error(`${fnName}: ${result.failed} failed, ${result.errors.join('; ')}`);
  return result.delivered;
}

/** Events put on the bus: AWS service events are free; the rule's SendMessage to the queue is not. */
export async function putBusEvents(events: Record<string, unknown>[]): Promise<void> {
  const meter = current as Meter;
  meter.eventBridgeDeliveries += events.length;
  await meter.outside(() => putEvents(events));
}

/** Executions of `name` that functions started in the emulator since the last look, oldest first. */
async function startedExecutions(world: World, wf: WorkflowName) {
  const sfn = awsClient(SFNClient);
  const { arn } = deployedWorkflow(world.stack, wf);
  const seen = world.seen.get(wf) ?? new Set<string>();
  world.seen.set(wf, seen);
  const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
  const started: { name: string; input: unknown }[] = [];
  for (const e of (out.executions ?? []).reverse()) {
    if (!e.executionArn || !e.name || seen.has(e.executionArn)) continue;
    seen.add(e.executionArn);
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    started.push({ name: e.name, input: JSON.parse(d.input ?? '{}') });
  }
  return started;
}

export async function runStarted(world: World, wf: WorkflowName, opts: RunOpts): Promise<WorkflowResult[]> {
  const meter = current as Meter;
  const started = await meter.outside(() => startedExecutions(world, wf));
  const results: WorkflowResult[] = [];
  for (const s of started)
    results.push(
      await meter.inside(() =>
        runMetered(world, deployedWorkflow(world.stack, wf), s.input, { ...opts, executionName: s.name }),
      ),
    );
  return results;
}

export async function desired(): Promise<number> {
  const out = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [API] }),
  );
  return out.services?.[0]?.desiredCount ?? -1;
}

export async function setDesired(count: number): Promise<void> {
  await awsClient(ECSClient).send(
    new UpdateServiceCommand({ cluster: CLUSTER, service: API, desiredCount: count }),
  );
}

export function alarmEvent(world: World, alarm: string, state: 'ALARM' | 'OK'): Record<string, unknown> {
  const event = JSON.parse(readFileSync(ALARM_SAMPLE, 'utf8').split('ServerCpuTooHigh').join(alarm)) as {
    resources: string[];
    detail: { state: Record<string, unknown>; previousState: Record<string, unknown> };
  };
  event.resources = [`arn:aws:cloudwatch:${world.stack.region}:${world.stack.accountId}:alarm:${alarm}`];
  event.detail.state.value = state;
  event.detail.state.timestamp = new Date(world.clock.now()).toISOString();
  event.detail.previousState.value = state === 'OK' ? 'ALARM' : 'OK';
  return event as unknown as Record<string, unknown>;
}

export const setAlarm = (alarm: string, state: 'ALARM' | 'OK') =>
  awsClient(CloudWatchClient).send(
    new SetAlarmStateCommand({ AlarmName: alarm, StateValue: state, StateReason: `bench set ${state}` }),
  );

export const expectOk = (label: string, r: WorkflowResult | undefined, ok: (output: unknown) => boolean) => {
  if (r?.status !== 'SUCCEEDED' || !ok(r.output))
    throw new Error(
      `${label}: ${r ? `${r.status} ${r.error ?? ''} ${r.cause ?? ''} ${JSON.stringify(r.output)}` : 'no run'}`,
    );
};
