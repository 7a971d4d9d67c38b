// The control plane's monthly AWS cost, at idle and at a stated activity level, from numbers
// measured here: each kind of event (a rollout, an alarm remediation, an alarm-driven scale-out,
// a spot interruption, the scheduled scaling runs, a group of alerts) runs once per run on the
// emulator, through the synthesized workflows and the in-process handlers, while a meter counts
// state transitions, Lambda invocations and their durations, SQS, SNS and DynamoDB requests (with
// request units from the requests themselves) and the log bytes the functions write. Fixed costs
// (alarms, keys, idle polling) come from the synthesized prod control-plane template; the prices
// and the arithmetic are in bench/cost-model.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import type { ScalePlan } from '../../events/scale-input.ts';
import { awsClient, resetClients } from '../../functions/shared/clients.ts';
import type { Clock } from '../../functions/shared/clock.ts';
import { logger } from '../../functions/shared/logger.ts';
import { loadScalingConfig, scheduledInput } from '../../infra/scaling.ts';
import { burstAlert } from '../../local/alert-burst.ts';
import {
  LOCAL_ALERT_GROUP_WINDOW_SECONDS,
  setAlertGroupWindow,
  synthControlPlane,
  takeAlerts,
} from '../../local/control-plane.ts';
import { type CfnTemplate, type DeployedStack, deployTemplate } from '../../local/deploy.ts';
import { registerGroupInstances } from '../../local/ecs-agent.ts';
import { type Emulator, localAwsEnv, startEmulator } from '../../local/emulator.ts';
import { type FaultProxy, identifyOperation, startFaultProxy } from '../../local/fault-proxy.ts';
import { type LocalFunction, localFunction } from '../../local/lambda-host.ts';
import { OBSERVER_ENDPOINT_VAR } from '../../local/observer.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import {
  installPercentileStandIn,
  newExecutionName,
  putTargetGroupMetrics,
  takeRaisedAlerts,
} from '../../local/rollouts.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { putEvents, sampleEvent } from '../../local/spot-harness.ts';
import { drainEventSource } from '../../local/sqs-event-source.ts';
import { useStepFunctionsEndpoint } from '../../local/step-functions-endpoint.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { type LambdaBinding, runWorkflow, type WorkflowResult } from '../../local/workflow-runner.ts';
import { deployedWorkflow, type WorkflowName } from '../../local/workflows.ts';
import {
  alarmMetricCount,
  billChecks,
  COMPONENTS,
  chunks64k,
  costOf,
  DAYS_PER_MONTH,
  DYNAMODB_BEFORE_NOV_2024,
  dynamoUnits,
  type EventKind,
  emptyUsage,
  formatPrice,
  formatQuantity,
  formatUsd,
  historyEvents,
  IDLE_POLLERS_PER_MAPPING,
  idlePollingRequests,
  LAMBDA_PLATFORM_LOG_BYTES,
  LONG_POLL_SECONDS,
  lambdaGbSeconds,
  monthlyBill,
  PRICE_REGION,
  PRICES,
  PRICES_TAKEN_ON,
  SFN_LOG_EVENT_BYTES,
  steadyStateStoredGb,
  total,
  type Usage,
  WEEKDAYS_PER_MONTH,
} from '../cost-model.ts';
import { type Cell, median, type SuiteContext, type SuiteResult } from '../run.ts';

export const name = 'cost';
export const description =
  "The control plane's monthly AWS cost (us-east-1 list prices, no free tier) at idle and at a stated activity level, from transitions, invocations, durations, requests and log bytes measured per event on the emulator.";

/** The activity level the second column prices. */
export const ACTIVITY = {
  rolloutsPerDay: 20,
  remediationsPerDay: 30,
  alarmScaleOutsPerDay: 10,
  spotInterruptionsPerDay: 50,
  alertsPerDay: 2_000,
  /** Alerts arrive in groups: this many firing inside one window, then as many resolved. */
  alertsPerGroup: 10,
} as const;

const HOUR = 3_600_000;
const GIB = 2 ** 30;
const CLUSTER = 'web';
const API = 'api';
const SHADOWING_VARS = ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];
const ALARM_SAMPLE = join(REPO_ROOT, 'events/samples/aws/cloudwatch-alarm-state-change.json');

// ---------------------------------------------------------------------------------------------
// The meter: counts only while active, so the harness's own calls (seeding, putting events,
// reading results, the local event source's receives) stay out of the numbers.

interface FunctionUse {
  invocations: number;
  durationsMs: number[];
  logBytes: number;
}

class Meter {
  /** Calls that reached the emulator while active, by "service:Operation" (the fault proxy's count). */
  readonly proxyCalls: Record<string, number> = {};
  /** The same calls as the SDK middleware saw them. */
  readonly sdkCalls: Record<string, number> = {};
  sqsChunks = 0;
  snsChunks = 0;
  sqsSends = 0;
  largestPayload = 0;
  wru = 0;
  readonly dynamoByTable: Record<string, { calls: number; wru: number; rru: number }> = {};
  rru = 0;
  dynamoBytesPut = 0;
  largestItemBytes = 0;
  metricsRequested = 0;
  readonly functions: Record<string, FunctionUse> = {};
  transitions = 0;
  executions = 0;
  childExecutions = 0;
  /** Step Functions log bytes by log group retention (days). */
  readonly sfnLogBytes: Record<number, number> = {};
  esmInvocations = 0;
  esmRequests = 0;
  eventBridgeDeliveries = 0;
  schedulerInvocations = 0;
  /** Alerts this event raised onto the alert queue (routing them is priced in the alerts row). */
  alertsRaised = 0;
  /** Alerts a group raises, with their SendMessage (the alerts row only). */
  modeledRaises = 0;
  private snapshot: Record<string, number> | undefined;

  constructor(private readonly proxy: FaultProxy) {}

  get active(): boolean {
    return this.snapshot !== undefined;
  }

  private resume(): void {
    this.snapshot = { ...this.proxy.stats().forwardedByOperation };
  }

  private pause(): void {
    const before = this.snapshot ?? {};
    for (const [op, n] of Object.entries(this.proxy.stats().forwardedByOperation)) {
      const d = n - (before[op] ?? 0);
      if (d > 0) this.proxyCalls[op] = (this.proxyCalls[op] ?? 0) + d;
    }
    this.snapshot = undefined;
  }

  async inside<T>(f: () => Promise<T>): Promise<T> {
    if (this.active) return f();
    this.resume();
    try {
      return await f();
    } finally {
      this.pause();
    }
  }

  async outside<T>(f: () => Promise<T>): Promise<T> {
    if (!this.active) return f();
    this.pause();
    try {
      return await f();
    } finally {
      this.resume();
    }
  }

  fn(name: string): FunctionUse {
    this.functions[name] ??= { invocations: 0, durationsMs: [], logBytes: 0 };
    return this.functions[name];
  }
}

let current: Meter | undefined;
let currentFunction: string | undefined;

// ---------------------------------------------------------------------------------------------
// SDK middleware on the shared clients the handlers use: operation, payload size, and DynamoDB
// request units from the marshalled request and the returned items.

type Next = (args: unknown) => Promise<{ output?: unknown }>;
interface Stack {
  add(
    mw: (next: Next, context: { commandName?: string }) => Next,
    opts: { step: 'build' | 'initialize'; name: string },
  ): void;
}
const instrumented = new WeakSet<object>();

function instrument(client: object, service: 'dynamodb' | 'sqs' | 'sns'): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  (client as unknown as { middlewareStack: Stack }).middlewareStack.add(
    (next) => async (args) => {
      const meter = current;
      if (!meter?.active) return next(args);
      const request = (
        args as {
          request?: { method?: string; path?: string; headers?: Record<string, string>; body?: unknown };
        }
      ).request;
      // JSON bodies arrive as a Uint8Array adapter at this step, query bodies as strings.
      const raw = request?.body;
      const body =
        typeof raw === 'string' ? raw : raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : '';
      const op = identifyOperation(
        request?.method ?? 'POST',
        request?.path ?? '/',
        request?.headers ?? {},
        Buffer.from(body),
      ).operation;
      let output: unknown;
      try {
        const result = await next(args);
        output = result.output;
        return result;
      } finally {
        const key = `${service}:${op}`;
        meter.sdkCalls[key] = (meter.sdkCalls[key] ?? 0) + 1;
        const bytes = Buffer.byteLength(body);
        if (service === 'dynamodb') {
          const request = body ? (JSON.parse(body) as { TableName?: string; RequestItems?: object }) : {};
          const u = dynamoUnits(op, request, output);
          // Tables by their construct: physical names carry the stack name and a hash.
          const table = (request.TableName ?? Object.keys(request.RequestItems ?? {}).join('+'))
            .replace(/^.*-ControlPlane-/, '')
            .replace(/[0-9A-F]{8}$/, '');
          const byTable = meter.dynamoByTable[`${table} ${op}`] ?? { calls: 0, wru: 0, rru: 0 };
          meter.dynamoByTable[`${table} ${op}`] = byTable;
          byTable.calls++;
          byTable.wru += u.wru;
          byTable.rru += u.rru;
          meter.wru += u.wru;
          meter.rru += u.rru;
          meter.dynamoBytesPut += u.bytesPut;
          meter.largestItemBytes = Math.max(meter.largestItemBytes, u.largestItemBytes);
        } else {
          meter.largestPayload = Math.max(meter.largestPayload, bytes);
          if (service === 'sqs') {
            meter.sqsChunks += chunks64k(bytes);
            if (op.startsWith('SendMessage')) meter.sqsSends++;
          } else meter.snsChunks += op === 'Publish' || op === 'PublishBatch' ? chunks64k(bytes) : 1;
        }
      }
    },
    { step: 'build', name: 'costMeter' },
  );
}

function instrumentCloudWatch(client: object): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  (client as unknown as { middlewareStack: Stack }).middlewareStack.add(
    (next, context) => async (args) => {
      const meter = current;
      if (meter?.active && context.commandName === 'GetMetricDataCommand') {
        const queries = (args as { input?: { MetricDataQueries?: { MetricStat?: unknown }[] } }).input
          ?.MetricDataQueries;
        meter.metricsRequested += (queries ?? []).filter((q) => q.MetricStat !== undefined).length;
      }
      return next(args);
    },
    { step: 'initialize', name: 'costMeterMetrics' },
  );
}

/** Set by the rig (local/iam-enforcement.ts) and called by functions/shared/clients.ts per client built. */
const RIG_CLIENT_HOOK = Symbol.for('ecs-ops.rig.client-hook');

/**
 * Meters every client built from now on, the document client's own DynamoDB client and clients
 * rebuilt for a new endpoint included, by chaining onto the rig's client hook; clients built
 * before are dropped so that they are rebuilt through it. Returns the undo.
 */
function meterEveryClient(): () => void {
  const slot = globalThis as Record<symbol, unknown>;
  const previous = slot[RIG_CLIENT_HOOK] as ((client: unknown) => void) | undefined;
  slot[RIG_CLIENT_HOOK] = (client: object) => {
    previous?.(client);
    const service = (client as { config?: { serviceId?: string } }).config?.serviceId;
    if (service === 'DynamoDB') instrument(client, 'dynamodb');
    else if (service === 'SQS') instrument(client, 'sqs');
    else if (service === 'SNS') instrument(client, 'sns');
    else if (service === 'CloudWatch') instrumentCloudWatch(client);
  };
  resetClients();
  return () => {
    slot[RIG_CLIENT_HOOK] = previous;
    resetClients();
  };
}

/** Function logs go to the meter of the function running, not to the terminal. */
function captureLogs(): () => void {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  for (const [i, stream] of streams.entries()) {
    const original = originals[i] as typeof stream.write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const fn = currentFunction;
      if (fn && current) {
        current.fn(fn).logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        if (done) queueMicrotask(done);
        return true;
      }
      return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof stream.write;
  }
  return () => {
    for (const [i, stream] of streams.entries()) stream.write = originals[i] as typeof stream.write;
  };
}

// ---------------------------------------------------------------------------------------------
// What the template says: memory sizes, log levels and retention, fixed resources.

interface TemplateFacts {
  memoryMb: Record<string, number>;
  functionLogRetentionDays: Record<string, number>;
  /** By state machine logical id. */
  machineLogs: Record<string, { level: string; retentionDays: number }>;
  kmsKeys: number;
  alarms: number;
  alarmMetrics: number;
  eventSourceMappings: number;
  schedules: number;
  logGroups: number;
}

type Resource = CfnTemplate['Resources'][string];

function templateFacts(template: CfnTemplate): TemplateFacts {
  const resources = template.Resources;
  const retention = (ref: unknown): number => {
    const id =
      (ref as { Ref?: string }).Ref ?? (ref as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
    const days = resources[id ?? '']?.Properties?.RetentionInDays;
    // A log group without retention keeps its logs forever; price a year of them.
    return typeof days === 'number' ? days : 365;
  };
  const facts: TemplateFacts = {
    memoryMb: {},
    functionLogRetentionDays: {},
    machineLogs: {},
    kmsKeys: 0,
    alarms: 0,
    alarmMetrics: 0,
    eventSourceMappings: 0,
    schedules: 0,
    logGroups: 0,
  };
  for (const [id, r] of Object.entries(resources) as [string, Resource][]) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::Lambda::Function': {
        const env = (p.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
        const fn = env.POWERTOOLS_SERVICE_NAME ?? id;
        facts.memoryMb[fn] = typeof p.MemorySize === 'number' ? p.MemorySize : 128;
        facts.functionLogRetentionDays[fn] = retention(
          (p.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup ?? {},
        );
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const logging = p.LoggingConfiguration as
          | { Level?: string; Destinations?: { CloudWatchLogsLogGroup?: { LogGroupArn?: unknown } }[] }
          | undefined;
        facts.machineLogs[id] = {
          level: logging?.Level ?? 'OFF',
          retentionDays: retention(logging?.Destinations?.[0]?.CloudWatchLogsLogGroup?.LogGroupArn ?? {}),
        };
        break;
      }
      case 'AWS::KMS::Key':
        facts.kmsKeys++;
        break;
      case 'AWS::CloudWatch::Alarm':
        facts.alarms++;
        facts.alarmMetrics += alarmMetricCount(p as { Metrics?: { MetricStat?: unknown }[] });
        break;
      case 'AWS::Lambda::EventSourceMapping':
        facts.eventSourceMappings++;
        break;
      case 'AWS::Scheduler::Schedule':
        facts.schedules++;
        break;
      case 'AWS::Logs::LogGroup':
        facts.logGroups++;
        break;
    }
  }
  return facts;
}

/** State types by name, nested Map/Parallel states included. */
function stateTypes(definition: Record<string, unknown>, into = new Map<string, string>()) {
  const states = (definition.States ?? {}) as Record<string, Record<string, unknown>>;
  for (const [stateName, s] of Object.entries(states)) {
    into.set(stateName, String(s.Type));
    for (const nested of [s.Iterator, s.ItemProcessor, ...((s.Branches as unknown[]) ?? [])])
      if (nested && typeof nested === 'object') stateTypes(nested as Record<string, unknown>, into);
  }
  return into;
}

// ---------------------------------------------------------------------------------------------
// The world: one emulator, the local control plane deployed from its template, a seeded cluster.

interface World {
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

async function openWorld(ctx: SuiteContext): Promise<World> {
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
  await awsClient(CloudWatchClient).send(
    new PutMetricAlarmCommand({
      AlarmName: 'web-api-cpu-high',
      Namespace: 'AWS/ECS',
      MetricName: 'CPUUtilization',
      Statistic: 'Average',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 80,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
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
      currentFunction = fnName;
      try {
        return await local.invoke(event);
      } finally {
        currentFunction = undefined;
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
async function runMetered(
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
async function deliver(world: World, fnName: string, clock: Clock): Promise<number> {
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
async function putBusEvents(events: Record<string, unknown>[]): Promise<void> {
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

async function runStarted(world: World, wf: WorkflowName, opts: RunOpts): Promise<WorkflowResult[]> {
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

async function desired(): Promise<number> {
  const out = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [API] }),
  );
  return out.services?.[0]?.desiredCount ?? -1;
}

async function setDesired(count: number): Promise<void> {
  await awsClient(ECSClient).send(
    new UpdateServiceCommand({ cluster: CLUSTER, service: API, desiredCount: count }),
  );
}

function alarmEvent(world: World, alarm: string, state: 'ALARM' | 'OK'): Record<string, unknown> {
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

const setAlarm = (alarm: string, state: 'ALARM' | 'OK') =>
  awsClient(CloudWatchClient).send(
    new SetAlarmStateCommand({ AlarmName: alarm, StateValue: state, StateReason: `bench set ${state}` }),
  );

const expectOk = (label: string, r: WorkflowResult | undefined, ok: (output: unknown) => boolean) => {
  if (r?.status !== 'SUCCEEDED' || !ok(r.output))
    throw new Error(
      `${label}: ${r ? `${r.status} ${r.error ?? ''} ${r.cause ?? ''} ${JSON.stringify(r.output)}` : 'no run'}`,
    );
};

// ---------------------------------------------------------------------------------------------
// The events.

/** A canary 10% rollout with a 5-minute bake, healthy green: what a normal deploy costs. */
async function rollout(world: World, run: number): Promise<void> {
  const meter = current as Meter;
  world.clock.advance(6 * HOUR);
  const lb = world.seed.loadBalancer;
  const service = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [API] }),
  );
  const primary = service.services?.[0]?.taskSets?.find((t) => t.status === 'PRIMARY');
  const live = primary?.loadBalancers?.[0]?.targetGroupArn ?? lb.blueTargetGroupArn;
  const healthy = (m: number) => ({
    requests: 1000 + (m % 7) * 13,
    errors: m % 3 === 0 ? 1 : 0,
    latencyMs: 48,
  });
  const from = world.clock.now() - 120_000;
  const to = world.clock.now() + 3 * HOUR;
  for (const targetGroupArn of [
    live,
    live === lb.blueTargetGroupArn ? lb.greenTargetGroupArn : lb.blueTargetGroupArn,
  ])
    await putTargetGroupMetrics({ loadBalancerArn: lb.arn, targetGroupArn, from, to, traffic: healthy });
  const input = {
    cluster: CLUSTER,
    service: API,
    image: `bench/api:cost-${run}`,
    strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
    analysis: { maxErrorRate: 0.01, maxP95LatencyMs: 400 },
    rollbackWindowSeconds: 900,
    terminationWaitSeconds: 300,
    requestedBy: 'bench',
  };
  const r = await meter.inside(() =>
    runMetered(world, deployedWorkflow(world.stack, 'blue-green-rollout'), input, {
      clock: world.clock,
      executionName: newExecutionName(API, world.clock.now()),
      // Gates and the rollback window time out at once, as nobody answers them.
      taskTokenTimeoutMs: 20,
    }),
  );
  expectOk('rollout', r, () => true);
}

/** web-api-cpu-high: ALARM starts a scale-out remediation (nested scaling run); OK resolves it. */
async function remediation(world: World): Promise<void> {
  const alarm = 'web-api-cpu-high';
  world.clock.advance(3 * HOUR);
  await setDesired(4);
  await setAlarm(alarm, 'ALARM');
  const from = await desired();
  await putBusEvents([alarmEvent(world, alarm, 'ALARM')]);
  await deliver(world, 'remediation-trigger', world.clock);
  const [run] = await runStarted(world, 'remediate-alarm', {
    clock: world.clock,
    // CloudWatch's part: the metric recovers once the scale-out is visible.
    beforeLambda: async (fn, event) => {
      if (
        fn === 'remediate-step' &&
        (event as { action?: string }).action === 'verify' &&
        (await desired()) >= from + 2
      )
        await setAlarm(alarm, 'OK');
    },
  });
  expectOk('remediation', run, (o) => (o as RemediationPlan).outcome === 'remediated');
  await putBusEvents([alarmEvent(world, alarm, 'OK')]);
  await deliver(world, 'remediation-trigger', world.clock);
  const [ok] = await runStarted(world, 'remediate-alarm', { clock: world.clock });
  expectOk('remediation resolved', ok, (o) => (o as RemediationPlan).decision === 'resolved');
}

/** web-api-cpu-burst in ALARM: the scale-alarm trigger starts a scale-service run. */
async function alarmScaleOut(world: World): Promise<void> {
  world.clock.advance(3 * HOUR);
  await setDesired(4);
  await putBusEvents([alarmEvent(world, 'web-api-cpu-burst', 'ALARM')]);
  await deliver(world, 'scale-alarm', world.clock);
  const [run] = await runStarted(world, 'scale-service', { clock: world.clock });
  expectOk('alarm scale-out', run, (o) => (o as ScalePlan).decision === 'scale');
}

/** A rebalance recommendation (surge: replacement first, then drain), then the interruption warning. */
async function spotInterruption(world: World): Promise<void> {
  const meter = current as Meter;
  const target = world.seed.containerInstances.filter((c) => c.spot)[world.spotUsed++];
  if (!target) throw new Error('no unused spot instance left in the seeded cluster');
  // Spot episodes are timed against the events' real time.
  const clock = new VirtualClock();
  await putBusEvents([sampleEvent('ec2-instance-rebalance-recommendation', target.ec2InstanceId)]);
  await deliver(world, 'spot-interruption', clock);
  // The Auto Scaling group launched the replacement; its ECS agent registers it.
  await meter.outside(() => registerGroupInstances(world.seed.cluster, world.seed.autoScalingGroups.spot));
  const [surge] = await runStarted(world, 'spot-surge', { clock });
  expectOk('spot surge', surge, (o) => (o as { status?: string }).status === 'drained');
  await putBusEvents([sampleEvent('ec2-spot-instance-interruption-warning', target.ec2InstanceId)]);
  await deliver(world, 'spot-interruption', clock);
}

/** Both configured schedules of a weekday (raise the floor, then lower it), as Scheduler starts them. */
async function scheduledScaling(world: World): Promise<void> {
  const meter = current as Meter;
  const api = loadScalingConfig('local')?.find((s) => s.service === API);
  if (!api || api.schedules.length === 0)
    throw new Error('config/scaling/local.json has no schedule for web/api');
  for (const schedule of api.schedules) {
    world.clock.advance(HOUR);
    const input = scheduledInput(api, schedule, new Date(world.clock.now()).toISOString());
    meter.schedulerInvocations++;
    const r = await meter.inside(() =>
      runMetered(world, deployedWorkflow(world.stack, 'scale-service'), input, { clock: world.clock }),
    );
    expectOk(`schedule ${schedule.name}`, r, () => true);
  }
}

/** N alerts firing inside one group window, then all resolved: one message each way. */
async function alertGroup(world: World, run: number): Promise<void> {
  const meter = current as Meter;
  const queueUrl = world.stack.outputs.AlertQueueUrl as string;
  const sqs = awsClient(SQSClient);
  const router = world.stack.functions['alert-router'] ? 'alert-router' : '';
  if (!router) throw new Error('no alert-router in the stack');
  let published = 0;
  for (const state of ['firing', 'resolved'] as const) {
    const alerts = Array.from({ length: ACTIVITY.alertsPerGroup }, (_, i) =>
      burstAlert(`cost${run}`, i, state, { count: ACTIVITY.alertsPerGroup }),
    );
    // Producers raise one SendMessage per alert; priced as such, sent here in batches.
    meter.modeledRaises += alerts.length;
    for (let i = 0; i < alerts.length; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: alerts.slice(i, i + 10).map((a, j) => ({ Id: String(j), MessageBody: JSON.stringify(a) })),
        }),
      );
    // Routed now; the window's flush is a delayed message on the same queue, waited for here.
    for (let waited = 0; ; waited += 200) {
      await deliver(world, router, world.realClock);
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesDelayed',
            'ApproximateNumberOfMessagesNotVisible',
          ],
        }),
      );
      const left = Object.values(attrs.Attributes ?? {}).reduce((n, v) => n + Number(v), 0);
      if (left === 0) break;
      if (waited > 30_000) throw new Error(`alert queue not quiet after 30 s: ${left} message(s)`);
      await new Promise((r) => setTimeout(r, 200));
    }
    published += (await takeAlerts(world.seed.alertQueues.warning)).length;
  }
  if (published !== 2) throw new Error(`an alert group published ${published} messages, expected 2`);
}

// ---------------------------------------------------------------------------------------------
// From a meter to usage.

interface Measured {
  usage: Usage;
  meter: Meter;
}

function toUsage(world: World, m: Meter, initMs: Record<string, number>): Measured {
  const memory = (fn: string) => world.facts.memoryMb[fn] ?? world.localFacts.memoryMb[fn] ?? 128;
  let gbSeconds = 0;
  let initGbSeconds = 0;
  let invocations = 0;
  let logBytesByRetention: Record<number, number> = { ...m.sfnLogBytes };
  for (const [fn, use] of Object.entries(m.functions)) {
    invocations += use.invocations;
    for (const ms of use.durationsMs) gbSeconds += lambdaGbSeconds(memory(fn), ms);
    // One cold start per function per event: at these rates instances rarely stay warm.
    initGbSeconds += lambdaGbSeconds(memory(fn), initMs[fn] ?? 0);
    const days = world.facts.functionLogRetentionDays[fn] ?? 90;
    logBytesByRetention = {
      ...logBytesByRetention,
      [days]: (logBytesByRetention[days] ?? 0) + use.logBytes + use.invocations * LAMBDA_PLATFORM_LOG_BYTES,
    };
  }
  const logBytes = Object.values(logBytesByRetention).reduce((a, b) => a + b, 0);
  const storedGb = Object.entries(logBytesByRetention).reduce(
    (n, [days, bytes]) => n + steadyStateStoredGb(bytes / GIB, Number(days)),
    0,
  );
  const sqsRequests = m.sqsChunks + m.esmRequests + m.eventBridgeDeliveries + m.modeledRaises;
  const usage: Usage = {
    ...emptyUsage(),
    transitions: m.transitions,
    lambdaRequests: invocations,
    lambdaGbSeconds: gbSeconds + initGbSeconds,
    sqsRequests,
    snsPublishes: m.snsChunks,
    dynamoWriteUnits: m.wru,
    dynamoReadUnits: m.rru,
    // A month's new items, held all month (an upper bound: nothing expires).
    dynamoStorageGb: m.dynamoBytesPut / GIB,
    // Upper bound: no data key reuse, so one KMS call per encrypted send, receive and publish.
    kmsRequests: m.sqsSends + m.modeledRaises + m.eventBridgeDeliveries + m.esmRequests / 2 + m.snsChunks,
    logsIngestedGb: logBytes / GIB,
    logsStoredGb: storedGb,
    metricsRequested: m.metricsRequested,
    traces: m.executions + m.esmInvocations,
    schedulerInvocations: m.schedulerInvocations,
  };
  return { usage, meter: m };
}

/** Module init time per function: the cold-start suite's medians when present, else one import each. */
function initTimes(ctx: SuiteContext, functions: string[]): { ms: Record<string, number>; source: string } {
  const latest = join(REPO_ROOT, 'bench', 'results', 'latest.json');
  if (existsSync(latest)) {
    const report = JSON.parse(readFileSync(latest, 'utf8')) as {
      suites?: { name: string; rows: Record<string, Cell>[] }[];
    };
    const rows = report.suites?.find((s) => s.name === 'cold-start')?.rows ?? [];
    const ms = Object.fromEntries(
      rows
        .filter((r) => typeof r['init ms'] === 'number')
        .map((r) => [String(r.function), r['init ms'] as number]),
    );
    if (functions.every((f) => f in ms))
      return { ms, source: 'the cold-start suite (bench/results/latest.json)' };
  }
  const ms: Record<string, number> = {};
  for (const fn of functions) {
    const bundle = join(REPO_ROOT, 'dist', 'functions', fn, 'index.mjs');
    if (!existsSync(bundle)) continue;
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(bundle).href)}); process.stdout.write(String(performance.now() - t));`;
    ms[fn] = Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_REGION: 'us-east-1' },
      }),
    );
  }
  ctx.log(
    `init times: ${Object.entries(ms)
      .map(([f, t]) => `${f} ${t.toFixed(0)} ms`)
      .join(', ')}`,
  );
  return {
    ms,
    source:
      Object.keys(ms).length === functions.length
        ? 'one import of each dist/functions bundle in a fresh Node process'
        : 'dist/functions bundles where built (npm run build); functions without one are priced without INIT',
  };
}

// ---------------------------------------------------------------------------------------------

interface KindSpec {
  name: string;
  idlePerMonth: number;
  activePerMonth: number;
  perDayLabel: string;
  measure: (world: World, run: number) => Promise<void>;
}

export const KINDS: KindSpec[] = [
  {
    name: 'rollout (canary 10%, 5 min bake)',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.rolloutsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.rolloutsPerDay}/day`,
    measure: rollout,
  },
  {
    name: 'alarm remediation (scale-out, then OK)',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.remediationsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.remediationsPerDay}/day`,
    measure: (w) => remediation(w),
  },
  {
    name: 'alarm-driven scale-out',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.alarmScaleOutsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.alarmScaleOutsPerDay}/day`,
    measure: (w) => alarmScaleOut(w),
  },
  {
    name: 'spot interruption (rebalance + surge + warning)',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.spotInterruptionsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.spotInterruptionsPerDay}/day`,
    measure: (w) => spotInterruption(w),
  },
  {
    name: 'scheduled scaling (2 runs)',
    idlePerMonth: WEEKDAYS_PER_MONTH,
    activePerMonth: WEEKDAYS_PER_MONTH,
    perDayLabel: 'each weekday',
    measure: (w) => scheduledScaling(w),
  },
  {
    name: `alert group (${ACTIVITY.alertsPerGroup} firing + ${ACTIVITY.alertsPerGroup} resolved)`,
    idlePerMonth: 0,
    activePerMonth: (ACTIVITY.alertsPerDay / (2 * ACTIVITY.alertsPerGroup)) * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.alertsPerDay / (2 * ACTIVITY.alertsPerGroup)}/day (${ACTIVITY.alertsPerDay.toLocaleString('en-US')} alerts)`,
    measure: alertGroup,
  },
];

/**
 * The counts that must be the same in every run of a kind. DynamoDB units may not: records near
 * 1 KB (operations, journal) grow with the service's recorded history, so they take the median.
 */
const countsOf = (u: Usage) => [u.transitions, u.lambdaRequests, u.sqsRequests, u.snsPublishes].join('/');

const summary = (u: Usage) =>
  `${formatQuantity(u.transitions)} transitions, ${formatQuantity(u.lambdaRequests)} invocations (${u.lambdaGbSeconds.toFixed(2)} GB-s), ` +
  `${formatQuantity(u.sqsRequests)} SQS, ${formatQuantity(u.snsPublishes)} SNS, ` +
  `${formatQuantity(u.dynamoWriteUnits)} WRU, ${formatQuantity(u.dynamoReadUnits)} RRU, ${((u.logsIngestedGb * GIB) / 1024).toFixed(1)} KB logs`;

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const savedLevel = logger.getLevelName();
  const savedEnvLevel = process.env.OPS_LOG_LEVEL;
  ctx.log('starting the emulator');
  // Before the world opens: the clients it sets up (the percentile stand-in's) are then metered.
  const unmeterClients = meterEveryClient();
  const world = await openWorld(ctx);
  // The deployed level (INFO): the log bytes are part of the bill.
  process.env.OPS_LOG_LEVEL = 'INFO';
  logger.setLogLevel('INFO');
  const restoreLogs = captureLogs();
  try {
    const measured = new Map<string, Measured[]>();
    for (let i = 0; i < ctx.runs; i++) {
      for (const kind of KINDS) {
        const meter = new Meter(world.proxy);
        current = meter;
        const t = performance.now();
        try {
          await kind.measure(world, i);
        } finally {
          current = undefined;
        }
        meter.alertsRaised = (await takeRaisedAlerts(world.stack.outputs.AlertQueueUrl as string)).length;
        const runs = measured.get(kind.name) ?? [];
        runs.push(toUsage(world, meter, {}));
        measured.set(kind.name, runs);
        ctx.log(`run ${i + 1}: ${kind.name} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
    }

    const functions = Object.keys(world.stack.functions).map(
      (id) => world.stack.functions[id]?.name as string,
    );
    const init = initTimes(ctx, functions);
    const checks: SuiteResult['checks'] = [];
    const kinds: EventKind[] = [];
    const perKind: { spec: KindSpec; usage: Usage; first: Measured; runs: Measured[] }[] = [];
    for (const spec of KINDS) {
      const runs = (measured.get(spec.name) ?? []).map((m) => toUsage(world, m.meter, init.ms));
      const first = runs[0] as Measured;
      // Counts from the first run; compute (timed) and DynamoDB units (size-dependent) are medians.
      const mid = (key: keyof Usage) => median(runs.map((r) => r.usage[key]));
      const usage: Usage = {
        ...first.usage,
        lambdaGbSeconds: mid('lambdaGbSeconds'),
        dynamoWriteUnits: mid('dynamoWriteUnits'),
        dynamoReadUnits: mid('dynamoReadUnits'),
      };
      kinds.push({
        name: spec.name,
        idlePerMonth: spec.idlePerMonth,
        activePerMonth: spec.activePerMonth,
        perEvent: usage,
      });
      perKind.push({ spec, usage, first, runs });
      checks.push({
        name: `${spec.name}: every run made the same transitions, invocations, SQS and SNS requests`,
        ok: runs.every((r) => countsOf(r.usage) === countsOf(first.usage)),
        detail: runs.map((r) => countsOf(r.usage)).join(' | '),
      });
      for (const service of ['dynamodb', 'sqs', 'sns']) {
        const sum = (calls: Record<string, number>) =>
          Object.entries(calls)
            .filter(([op]) => op.startsWith(`${service}:`))
            .reduce((n, [, c]) => n + c, 0);
        const proxy = sum(first.meter.proxyCalls);
        const sdk = sum(first.meter.sdkCalls);
        checks.push({
          name: `${spec.name}: every ${service} call the fault proxy counted was priced`,
          ok: proxy === sdk,
          detail: `proxy ${proxy}, priced ${sdk}`,
        });
      }
    }

    const f = world.facts;
    const fixed: Usage = {
      ...emptyUsage(),
      kmsKeys: f.kmsKeys,
      alarmMetrics: f.alarmMetrics,
      sqsRequests: idlePollingRequests(f.eventSourceMappings),
    };
    const bill = monthlyBill(fixed, kinds);
    const fixedCost = total(costOf(fixed));
    checks.push(...billChecks(fixed, kinds, bill));
    const largestPayload = Math.max(...perKind.map((k) => k.first.meter.largestPayload));
    checks.push({
      name: 'every SQS and SNS payload fits one 64 KB chunk',
      ok: largestPayload <= 65_536,
      detail: `largest ${largestPayload} bytes`,
    });
    const largestItem = Math.max(...perKind.map((k) => k.first.meter.largestItemBytes));
    const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];
    const READS = ['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems'];
    const callsOf = (m: Meter, ops: string[]) =>
      ops.reduce((n, op) => n + (m.sdkCalls[`dynamodb:${op}`] ?? 0), 0);
    checks.push({
      name: 'every DynamoDB write costs at least 1 WRU and every read at least 0.5 RRU',
      ok: perKind.every(
        (k) =>
          k.usage.dynamoWriteUnits >= callsOf(k.first.meter, WRITES) &&
          k.usage.dynamoReadUnits >= 0.5 * callsOf(k.first.meter, READS),
      ),
      detail: perKind
        .map(
          (k) =>
            `${k.usage.dynamoWriteUnits} WRU/${callsOf(k.first.meter, WRITES)} writes, ${k.usage.dynamoReadUnits} RRU/${callsOf(k.first.meter, READS)} reads`,
        )
        .join('; '),
    });
    const raisedPerDay = perKind.reduce(
      (n, k) => n + (k.first.meter.alertsRaised * k.spec.activePerMonth) / DAYS_PER_MONTH,
      0,
    );
    checks.push({
      name: `the activities raise no more alerts than the ${ACTIVITY.alertsPerDay.toLocaleString('en-US')}/day the alert row routes`,
      ok: raisedPerDay <= ACTIVITY.alertsPerDay,
      detail: `${raisedPerDay.toFixed(0)}/day raised by the other rows`,
    });

    const rows: Record<string, Cell>[] = COMPONENTS.map((c) => {
      const p = PRICES[c.key];
      return {
        item: c.label,
        price: formatPrice(p),
        idleQuantity: formatQuantity(bill.idle.usage[c.key]),
        idleCost: formatUsd(bill.idle.cost[c.key]),
        activeQuantity: formatQuantity(bill.activity.usage[c.key]),
        activeCost: formatUsd(bill.activity.cost[c.key]),
        source: p.url,
      };
    });
    rows.push({
      item: '**Total per month**',
      price: null,
      idleQuantity: null,
      idleCost: `**${formatUsd(bill.idle.total)}**`,
      activeQuantity: null,
      activeCost: `**${formatUsd(bill.activity.total)}**`,
      source: null,
    });
    rows.push({
      item: 'of which: fixed (KMS key, alarms, idle queue polling)',
      price: null,
      idleQuantity: null,
      idleCost: formatUsd(fixedCost),
      activeQuantity: null,
      activeCost: formatUsd(fixedCost),
      source: null,
    });
    for (const [i, k] of perKind.entries()) {
      const share = bill.byKind[i];
      rows.push({
        item: `of which: ${k.spec.name}, ${k.spec.perDayLabel}`,
        price: `${formatUsd(share?.perEventCost ?? 0)} per event`,
        idleQuantity: k.spec.idlePerMonth > 0 ? formatQuantity(k.spec.idlePerMonth) : null,
        idleCost: k.spec.idlePerMonth > 0 ? formatUsd(share?.idleMonthlyCost ?? 0) : null,
        activeQuantity: formatQuantity(k.spec.activePerMonth),
        activeCost: formatUsd(share?.monthlyCost ?? 0),
        source: `per event: ${summary(k.usage)}`,
      });
    }

    const activityLine =
      `${ACTIVITY.rolloutsPerDay} rollouts, ${ACTIVITY.remediationsPerDay} alarm remediations, ${ACTIVITY.alarmScaleOutsPerDay} alarm-driven scale-outs, ` +
      `${ACTIVITY.spotInterruptionsPerDay} spot interruptions and ${ACTIVITY.alertsPerDay.toLocaleString('en-US')} alerts a day, plus the scheduled scaling runs`;
    const dynamoOld =
      (bill.activity.usage.dynamoWriteUnits * DYNAMODB_BEFORE_NOV_2024.writeUnits +
        bill.activity.usage.dynamoReadUnits * DYNAMODB_BEFORE_NOV_2024.readUnits) /
      1e6;
    const notes = [
      `Idle: nothing happens but the ${f.schedules} configured schedules (2 scaling runs per weekday, ${WEEKDAYS_PER_MONTH.toFixed(1)} weekdays a month). Activity level: ${activityLine}. A month is 730 hours (${DAYS_PER_MONTH.toFixed(2)} days).`,
      `Prices: ${PRICE_REGION} list prices as written down on ${PRICES_TAKEN_ON} from the pricing pages in the last column, without network access to re-read them: re-check each before relying on the totals. Free tiers (Lambda, SQS, SNS, DynamoDB, KMS requests, X-Ray, Logs) are excluded. DynamoDB uses the on-demand prices after the November 2024 reduction ($0.625 per million WRU, $0.125 per million RRU); at the earlier $1.25/$0.25 the DynamoDB request lines would total ${formatUsd(dynamoOld)} instead of ${formatUsd(bill.activity.cost.dynamoWriteUnits + bill.activity.cost.dynamoReadUnits)}.`,
      `Fixed costs, from the synthesized prod control-plane template: ${f.kmsKeys} KMS key (${formatUsd(PRICES.kmsKeys.usd)}/month; automatic yearly rotation adds $1/month for each of the first two rotations), ${f.alarms} CloudWatch alarms evaluating ${f.alarmMetrics} metrics (metric-math alarms pay per metric), and the empty receives of ${f.eventSourceMappings} SQS event source mappings: ${IDLE_POLLERS_PER_MAPPING} pollers each long-polling ${LONG_POLL_SECONDS} s (an observed idle figure, not a documented one) is ${formatQuantity(idlePollingRequests(f.eventSourceMappings))} requests a month. Together ${formatUsd(fixedCost)} of the idle ${formatUsd(bill.idle.total)}.`,
      "Measured per event (counts from the first run; every run must agree): each event runs the synthesized definitions (aws-local-stepfunctions) and the in-process handlers against moto behind the counting fault proxy; a meter counts only the functions and the state machines, not the harness (seeding, putting events, the local event source's receives, reading results). Transitions are StateEntered plus retries, nested executions included.",
      "Modeled, not measured: Lambda's event source receives and deletes (one ReceiveMessage and one DeleteMessageBatch per 10 messages handled), the SQS SendMessage of an EventBridge rule delivering an AWS service event (the events themselves are free), one SendMessage per alert a producer raises, KMS requests (an upper bound: one per encrypted send, receive and publish, ignoring the 5-minute data key reuse), X-Ray traces (one per top-level execution and per queue-triggered invocation, all sampled at these rates).",
      `Lambda compute: memory sizes from the template (arm64), billed duration = measured in-process handler wall time rounded up to 1 ms (median of the runs), which is dominated by the emulator's latency and so only indicates AWS's. Plus INIT (billed since August 2025; re-check) for one cold start per function per event, with init times from ${init.source}.`,
      `DynamoDB units are computed per call (largest item seen: ${largestItem} bytes) from the marshalled request and the returned items by DynamoDB's sizing rules (1 WRU per KB written, 1 RRU per 4 KB strongly consistent, half eventually consistent, batch items one by one); UpdateItem is sized from its key and new values. Storage is an upper bound: a month's new items (plus 100 bytes each) held all month, nothing expiring, with PITR on it.`,
      `Logs: the bytes the handlers wrote at the deployed level (INFO) plus ${LAMBDA_PLATFORM_LOG_BYTES} bytes of START/END/REPORT lines per invocation, and for workflows logging at level ALL (without execution data) ${SFN_LOG_EVENT_BYTES} bytes per history event (entered/exited per state, scheduled/started/succeeded per task). Storage is the steady state for each log group's retention, uncompressed (an upper bound).`,
      'Not priced: API calls to ECS, EC2, Elastic Load Balancing, Auto Scaling, Application Auto Scaling and the Step Functions API (no per-request charge), EventBridge rules on AWS service events (free), SNS deliveries to SQS subscribers (free; e-mail, HTTP or chat deliveries are priced per notification), data transfer inside the region, and the application stacks (docs/cost.md).',
      `Alerts raised per event: ${perKind.map((k) => `${k.spec.name} ${k.first.meter.alertsRaised}`).join(', ')}; they are routed in the alert row, whose ${ACTIVITY.alertsPerDay.toLocaleString('en-US')} alerts a day include them.`,
    ];
    return {
      title: 'monthly AWS cost of the control plane, idle and at an activity level',
      columns: [
        { key: 'item', label: 'item' },
        { key: 'price', label: `unit price (${PRICE_REGION})` },
        { key: 'idleQuantity', label: 'idle: quantity/month', align: 'right' },
        { key: 'idleCost', label: 'idle: $/month', align: 'right' },
        { key: 'activeQuantity', label: 'activity: quantity/month', align: 'right' },
        { key: 'activeCost', label: 'activity: $/month', align: 'right' },
        { key: 'source', label: 'price source / measured per event' },
      ],
      rows,
      notes,
      checks,
      details: {
        activity: ACTIVITY,
        pricesTakenOn: PRICES_TAKEN_ON,
        prices: PRICES,
        fixed,
        template: f,
        initMs: init.ms,
        bill,
        perEvent: perKind.map((k) => ({
          kind: k.spec.name,
          usage: k.usage,
          runs: k.runs.map((r) => r.usage),
          functions: Object.fromEntries(
            Object.entries(k.first.meter.functions).map(([fn, u]) => [
              fn,
              {
                invocations: u.invocations,
                durationsMs: u.durationsMs.map((d) => Math.round(d)),
                logBytes: u.logBytes,
              },
            ]),
          ),
          calls: k.first.meter.proxyCalls,
          dynamodb: k.runs.map((r) => r.meter.dynamoByTable),
          alertsRaised: k.first.meter.alertsRaised,
          childExecutions: k.first.meter.childExecutions,
        })),
      },
    };
  } finally {
    unmeterClients();
    restoreLogs();
    logger.setLogLevel(savedLevel);
    if (savedEnvLevel === undefined) delete process.env.OPS_LOG_LEVEL;
    else process.env.OPS_LOG_LEVEL = savedEnvLevel;
    await world.proxy.stop();
    await world.emulator.stop();
    delete process.env[OBSERVER_ENDPOINT_VAR];
    resetClients();
  }
}
