// The cost suite's meter: every AWS call the functions and workflows make, counted per service
// with DynamoDB request units from the requests themselves, and the log bytes each function writes.
import { join } from 'node:path';
import { resetClients } from '../../functions/shared/clients.ts';
import { type FaultProxy, identifyOperation } from '../../local/fault-proxy.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { chunks64k, dynamoUnits } from '../cost-model.ts';

export const HOUR = 3_600_000;
export const GIB = 2 ** 30;
export const CLUSTER = 'web';
export const API = 'api';
export const SHADOWING_VARS = ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];
export const ALARM_SAMPLE = join(REPO_ROOT, 'events/samples/aws/cloudwatch-alarm-state-change.json');

// ---------------------------------------------------------------------------------------------
// The meter: counts only while active, so the harness's own calls (seeding, putting events,
// reading results, the local event source's receives) stay out of the numbers.

interface FunctionUse {
  invocations: number;
  durationsMs: number[];
  logBytes: number;
}

export class Meter {
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

export let current: Meter | undefined;
export let currentFunction: string | undefined;

/** The meter the calls made from now on count into (undefined: none). */
export function meterInto(meter: Meter | undefined): void {
  current = meter;
}

/** The function whose log lines are counted from now on (undefined: none). */
export function countLogsOf(fnName: string | undefined): void {
  currentFunction = fnName;
}

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
export function meterEveryClient(): () => void {
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
export function captureLogs(): () => void {
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
