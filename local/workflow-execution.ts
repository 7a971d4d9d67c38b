// Runs one execution of a synthesized definition: admission (names, input size, repeats), the
// task overrides, compressed waits on a virtual clock, nested executions, and the result.
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import {
  dataLimitCause,
  historyEventsFor,
  MAX_HISTORY_EVENTS,
  payloadOverLimit,
  retryIntervalMs,
  taskTimeouts,
  withoutTaskTimeouts,
} from './sfn-rules.ts';
import { admitExecution, executions } from './workflow-admission.ts';
import { type AslMachine, type AslState, collectStates, referencePath } from './workflow-asl.ts';
import {
  dataLimitError,
  lambdaFunctionError,
  optimizedNaming,
  runtimeError,
  sdkNaming,
  stateError,
} from './workflow-errors.ts';
import {
  findBinding,
  type Integration,
  invokeResult,
  OPTIMIZED,
  type OptimizedIntegration,
  parseResource,
  SDK_SERVICES,
  type SdkService,
} from './workflow-integrations.ts';
import { callAws, commandOf, loadSdk, toJson } from './workflow-sdk.ts';
import {
  closedTokens,
  type TokenEntry,
  tokenListeners,
  tokenOwnerPort,
  tokenRegistry,
} from './workflow-tokens.ts';
import {
  type ChildWorkflowRunner,
  COMPRESSED_TASK_TIMEOUT_MS,
  DEFAULT_ACCOUNT_ID,
  type LambdaBinding,
  RunEnded,
  type RunWorkflowOptions,
  StartExecutionRefused,
  type VirtualClock,
  WorkflowHarnessError,
  type WorkflowResult,
} from './workflow-types.ts';

// ---------------------------------------------------------------------------------------------
// The run

/** Definitions this process has validated already, by their JSON. */
const validatedDefinitions = new Set<string>();

/**
 * The library validates a definition against the ASL schema each time a machine is built, compiling
 * the schema each time (a fifth of a workflow test process's CPU). The same definition is validated
 * once per process: on its first run, and again only if that first validation threw.
 */
function buildMachine(definition: StateMachineDefinition, validate: boolean | undefined): StateMachine {
  if (validate === false) return new StateMachine(definition, { validationOptions: { noValidate: true } });
  const key = JSON.stringify(definition);
  const machine = new StateMachine(definition, {
    validationOptions: validatedDefinitions.has(key)
      ? { noValidate: true }
      : { checkPaths: true, checkArn: true },
  });
  validatedDefinitions.add(key);
  return machine;
}

// aws-local-stepfunctions does not export its States.Timeout error class, and `States.TaskFailed`
// must not match a timeout: the class is taken once from a run that times out after 1 ms.
let statesTimeoutErrorClass: (new () => Error) | undefined;

async function statesTimeoutError(): Promise<Error> {
  if (!statesTimeoutErrorClass) {
    const probe = new StateMachine(
      {
        StartAt: 'Probe',
        States: {
          Probe: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            TimeoutSeconds: 0.001,
            End: true,
          },
        },
      } as unknown as StateMachineDefinition,
      { validationOptions: { noValidate: true } },
    );
    let release: () => void = () => undefined;
    const hang = new Promise<null>((resolve) => {
      release = () => resolve(null);
    });
    try {
      await probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: () => hang } } }).result;
    } catch (error) {
      const cause = error instanceof ExecutionError ? error.cause : undefined;
      if (cause instanceof Error && cause.name === 'States.Timeout') {
        statesTimeoutErrorClass = cause.constructor as new () => Error;
      }
    } finally {
      release();
    }
  }
  return statesTimeoutErrorClass
    ? new statesTimeoutErrorClass()
    : stateError('States.Timeout', 'States.Timeout');
}

type TaskOverride = (input: unknown) => Promise<unknown>;

interface StateEvent {
  type: string;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  retry?: {
    retrier: { IntervalSeconds?: number; BackoffRate?: number; MaxDelaySeconds?: number };
    attempt: number;
  };
}

/** Runs `definition` to completion (or abort) and reports how it ended; a FAILED run returns, not throws. */
export async function runWorkflow(opts: RunWorkflowOptions): Promise<WorkflowResult> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const accountId = process.env.AWS_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID;
  const stateMachineName = opts.stateMachineName ?? 'LocalStateMachine';
  const executionName = opts.executionName ?? randomUUID();
  const stateMachineArn = `arn:aws:states:${region}:${accountId}:stateMachine:${stateMachineName}`;
  const executionArn = `arn:aws:states:${region}:${accountId}:execution:${stateMachineName}:${executionName}`;
  // StartExecution's checks come first: a refused start runs nothing and takes no name.
  const admitted = admitExecution(executionArn, executionName, opts.input);
  if ('joined' in admitted) return admitted.joined;
  const entry: { input: string; running?: Promise<WorkflowResult> } = { input: admitted.input };
  executions.set(executionArn, entry);
  entry.running = runExecution(opts, {
    accountId,
    stateMachineName,
    stateMachineArn,
    executionName,
    executionArn,
  });
  try {
    return await entry.running;
  } finally {
    delete entry.running;
  }
}

async function runExecution(
  opts: RunWorkflowOptions,
  ids: {
    accountId: string;
    stateMachineName: string;
    stateMachineArn: string;
    executionName: string;
    executionArn: string;
  },
): Promise<WorkflowResult> {
  const { accountId, stateMachineName, stateMachineArn, executionName, executionArn } = ids;
  const definition = opts.definition as AslMachine;
  const lambdas = opts.lambdas ?? {};
  const waitMs = Math.max(0, opts.waitMs ?? 1);
  const runId = randomUUID();
  const virtualNow = () => opts.clock?.now?.() ?? Date.now();
  // Each Task's input as it entered (before InputPath and Parameters), for its timeout paths.
  const enteredInputs = new Map<string, unknown>();
  // Set once the run has started (below): moves the virtual clock and checks the execution timeout.
  let advanceClock: (ms: number) => void = (ms) => opts.clock?.advance(ms);

  const states = collectStates(definition);
  const integrations = new Map<string, Integration>();
  for (const [name, state] of states) {
    if (state.Type === 'Task') integrations.set(name, parseResource(name, state.Resource));
  }
  await checkBindings(integrations, states, lambdas, opts.childWorkflows ?? {});

  let harnessFailure: WorkflowHarnessError | undefined;
  let forcedFailure: { error: string; cause: string } | undefined;
  let aborted = false;

  // $$.Task.Token: minted when a task's Parameters read it, taken by that task's override.
  let mintedToken: string | undefined;
  const newToken = () => `local-task-token-${tokenOwnerPort}-${randomUUID()}`;
  const taskContext = Object.defineProperty({}, 'Token', {
    enumerable: true,
    get: () => {
      mintedToken ??= newToken();
      return mintedToken;
    },
  });
  const takeToken = () => {
    const token = mintedToken ?? newToken();
    mintedToken = undefined;
    return token;
  };
  const context = {
    Execution: {
      Id: executionArn,
      Name: executionName,
      RoleArn: `arn:aws:iam::${accountId}:role/local-workflow`,
    },
    StateMachine: { Id: stateMachineArn, Name: stateMachineName },
    Task: taskContext,
  };

  // A callback task waits in compressed real time: its nearer limit (heartbeat or timeout) takes
  // at most COMPRESSED_TASK_TIMEOUT_MS (or taskTokenTimeoutMs), the other is scaled alike; when
  // a limit passes, the virtual clock is moved to it and the task fails as Step Functions fails it.
  const waitForCallback = async (
    token: string,
    stateName: string,
    limits: { timeoutSeconds?: number; heartbeatSeconds?: number },
    call: () => Promise<unknown>,
  ) => {
    let settle: TokenEntry['settle'] = () => undefined;
    const outcome = new Promise<{ output: unknown } | { error: Error }>((resolve) => {
      settle = resolve;
    });
    const startedAt = virtualNow();
    let lastBeatAt = startedAt;
    let limitHit: (which: 'timeout' | 'heartbeat') => void = () => undefined;
    const timedOut = new Promise<'timeout' | 'heartbeat'>((resolve) => {
      limitHit = resolve;
    });
    const nearest = Math.min(limits.timeoutSeconds ?? Infinity, limits.heartbeatSeconds ?? Infinity);
    const msPerSecond = Number.isFinite(nearest)
      ? (opts.taskTokenTimeoutMs ?? Math.min(nearest * 1000, COMPRESSED_TASK_TIMEOUT_MS)) / nearest
      : undefined;
    // Beyond setTimeout's range (about 24.8 days) a timer would fire at once: such a limit never
    // passes in a local run.
    const after = (seconds: number | undefined, which: 'timeout' | 'heartbeat') => {
      if (seconds === undefined || msPerSecond === undefined) return undefined;
      const ms = seconds * msPerSecond;
      return ms <= 2_147_483_647 ? setTimeout(() => limitHit(which), ms) : undefined;
    };
    let heartbeatTimer: NodeJS.Timeout | undefined;
    const armHeartbeat = () => {
      clearTimeout(heartbeatTimer);
      heartbeatTimer = after(limits.heartbeatSeconds, 'heartbeat');
    };
    // Registered before the call, so a handler may answer from inside it.
    const entry: TokenEntry = {
      token,
      stateName,
      executionName,
      runId,
      settle,
      beat: () => {
        lastBeatAt = virtualNow();
        armHeartbeat();
      },
    };
    tokenRegistry.set(token, entry);
    for (const listener of [...tokenListeners]) listener({ token, stateName, executionName });
    let timeoutTimer: NodeJS.Timeout | undefined;
    try {
      await call();
      timeoutTimer = after(limits.timeoutSeconds, 'timeout');
      armHeartbeat();
      const result = await Promise.race([outcome, timedOut]);
      if (result === 'timeout' || result === 'heartbeat') {
        tokenRegistry.delete(token);
        closedTokens.add(token);
        const deadline =
          result === 'timeout'
            ? startedAt + (limits.timeoutSeconds ?? 0) * 1000
            : lastBeatAt + (limits.heartbeatSeconds ?? 0) * 1000;
        const behind = deadline - virtualNow();
        if (behind > 0) advanceClock(behind);
        if (result === 'heartbeat')
          throw stateError('States.HeartbeatTimeout', `no heartbeat within ${limits.heartbeatSeconds} s`);
        throw await statesTimeoutError();
      }
      if ('error' in result) throw result.error;
      return result.output;
    } finally {
      clearTimeout(timeoutTimer);
      clearTimeout(heartbeatTimer);
      if (tokenRegistry.get(token) === entry) {
        tokenRegistry.delete(token);
        closedTokens.add(token);
      }
    }
  };

  const invokeBinding = async (ref: string, payload: unknown): Promise<unknown> => {
    const binding = findBinding(lambdas, ref);
    // Static references are checked before the run; one chosen at run time may name nothing.
    if (!binding) {
      throw stateError(
        'Lambda.ResourceNotFoundException',
        `Function not found: ${ref} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: null; Proxy: null)`,
      );
    }
    let result: unknown;
    try {
      // Lambda hands the function a parsed copy of the JSON payload, never the caller's object.
      result = await binding(toJson(payload ?? {}));
    } catch (error) {
      throw lambdaFunctionError(error);
    }
    return toJson(result);
  };

  // TimeoutSecondsPath and HeartbeatSecondsPath point into the state's input (after InputPath).
  const timeoutsOf = (stateName: string, state: AslState | undefined) => {
    const raw = enteredInputs.get(stateName);
    const pathContext = { ...context, Execution: { ...context.Execution, Input: opts.input } };
    let input: unknown = raw;
    if (state?.InputPath === null) input = {};
    else if (state?.InputPath !== undefined) input = referencePath(state.InputPath, raw, pathContext).value;
    const limits = taskTimeouts(state ?? {}, (path) => referencePath(path, input, pathContext));
    if ('error' in limits) throw runtimeError(limits.error);
    return limits;
  };

  const override = (stateName: string, integration: Integration): TaskOverride => {
    return async (input: unknown) => {
      // Taken synchronously: the library evaluated this task's Parameters just before calling us.
      const token = 'token' in integration && integration.token ? takeToken() : undefined;
      if (!token) mintedToken = undefined;
      try {
        // The event log catches up first: a Wait or retry before this task moves the clock, and
        // this task's input as it entered is noted for its timeout paths.
        await new Promise((resolve) => setImmediate(resolve));
        if (aborted) throw new RunEnded('the run was aborted');
        const state = states.get(stateName);
        const inputSize = payloadOverLimit(input);
        if (inputSize !== undefined)
          throw dataLimitError(state, dataLimitCause(`input of ${stateName} after Parameters`, inputSize));
        const limits = timeoutsOf(stateName, state);
        const params = (input ?? {}) as Record<string, unknown>;
        let call: () => Promise<unknown>;
        switch (integration.kind) {
          case 'lambda-arn':
            call = () => invokeBinding(integration.functionRef, input);
            break;
          case 'lambda-invoke':
            call = async () => {
              const ref = params.FunctionName;
              if (typeof ref !== 'string')
                throw new WorkflowHarnessError(`task "${stateName}": FunctionName is missing`);
              if (params.InvocationType === 'DryRun') return { Payload: '', StatusCode: 204 };
              if (params.InvocationType === 'Event') {
                // An asynchronous invoke reports acceptance only; the function's failure is not the task's.
                await invokeBinding(ref, params.Payload).catch((error: unknown) => {
                  if (error instanceof WorkflowHarnessError) throw error;
                });
                return { Payload: '', StatusCode: 202 };
              }
              return invokeResult(await invokeBinding(ref, params.Payload), virtualNow());
            };
            break;
          case 'sdk': {
            const service = SDK_SERVICES[integration.service] as SdkService;
            call = () => callAws(service, integration.action, input, sdkNaming(service));
            break;
          }
          case 'child':
            call = () => runChild(opts.childWorkflows ?? {}, params, integration.outputAsJson);
            break;
          case 'optimized': {
            const spec = OPTIMIZED[integration.key] as OptimizedIntegration;
            const service = SDK_SERVICES[spec.service] as SdkService;
            const request = toJson(input) as Record<string, unknown>;
            spec.jsonFields(request);
            call = () => callAws(service, integration.action, request, optimizedNaming(spec));
            break;
          }
        }
        const startedAt = virtualNow();
        const result = token
          ? await waitForCallback(
              token,
              stateName,
              {
                ...(limits.explicitTimeout || opts.taskTokenTimeoutMs !== undefined
                  ? { timeoutSeconds: limits.timeoutSeconds }
                  : {}),
                ...(limits.heartbeatSeconds !== undefined
                  ? { heartbeatSeconds: limits.heartbeatSeconds }
                  : {}),
              },
              call,
            )
          : await call();
        // A task that ran past its TimeoutSeconds on the virtual clock timed out.
        if (!token && limits.explicitTimeout && virtualNow() - startedAt > limits.timeoutSeconds * 1000)
          throw await statesTimeoutError();
        const resultSize = payloadOverLimit(result);
        if (resultSize !== undefined)
          throw dataLimitError(state, dataLimitCause(`result of ${stateName}`, resultSize));
        return result;
      } catch (error) {
        if (error instanceof WorkflowHarnessError) harnessFailure ??= error;
        throw error;
      }
    };
  };

  const taskResourceLocalHandlers: Record<string, TaskOverride> = {};
  for (const [name, integration] of integrations)
    taskResourceLocalHandlers[name] = override(name, integration);
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [name, state] of states) {
    if (state.Type === 'Wait') waitTimeOverrides[name] = Math.max(1, waitMs);
    if (state.Retry) retryIntervalOverrides[name] = waitMs;
  }

  const machine = buildMachine(
    withoutTaskTimeouts(definition) as unknown as StateMachineDefinition,
    opts.validate,
  );
  const startedAt = Date.now();
  const execution = machine.run(toJson(opts.input ?? {}) as never, {
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides,
      retryIntervalOverrides,
    } as RunOptions['overrides'],
    context: context as RunOptions['context'],
  });

  // Tasks still waiting for a callback end with the run (and release the library's task timers).
  const endWaitingTasks = (why: string) => {
    for (const entry of [...tokenRegistry.values()]) {
      if (entry.runId !== runId) continue;
      tokenRegistry.delete(entry.token);
      entry.settle({ error: new RunEnded(why) });
    }
  };
  const abort = () => {
    if (aborted) return;
    aborted = true;
    execution.abort();
    endWaitingTasks('the run was aborted');
  };
  const onSignal = () => abort();
  if (opts.signal?.aborted) queueMicrotask(abort);
  opts.signal?.addEventListener('abort', onSignal, { once: true });

  const events: unknown[] = [];
  const entered: string[] = [];
  let transitions = 0;
  let virtualElapsedMs = 0;
  const executionTimeoutMs =
    typeof definition.TimeoutSeconds === 'number' ? definition.TimeoutSeconds * 1000 : undefined;
  // Waits, retries and callback timeouts move the virtual clock; the execution's own
  // TimeoutSeconds is measured on it (plus the real time the run took).
  advanceClock = (ms: number) => {
    virtualElapsedMs += ms;
    opts.clock?.advance(ms);
    if (
      executionTimeoutMs !== undefined &&
      virtualElapsedMs + (Date.now() - startedAt) >= executionTimeoutMs
    ) {
      forcedFailure ??= {
        error: 'States.Timeout',
        cause: `the execution exceeded its TimeoutSeconds (${definition.TimeoutSeconds})`,
      };
      abort();
    }
  };
  // Time that passes in the run itself counts too (the library's own timer is taken off: see
  // withoutTaskTimeouts). A timer's longest delay is 2^31-1 ms; a longer timeout is checked then.
  const executionTimer =
    executionTimeoutMs === undefined
      ? undefined
      : setTimeout(() => advanceClock(0), Math.min(executionTimeoutMs, 2 ** 31 - 1));
  executionTimer?.unref();

  const onWaitEntered = (stateName: string, rawInput: unknown) => {
    const state = states.get(stateName);
    if (!state) return;
    const intended = intendedWaitMs(
      state,
      rawInput,
      { ...context, Execution: { ...context.Execution, Input: opts.input } },
      opts.clock,
    );
    if ('error' in intended) {
      // The library skips this evaluation for an overridden Wait; Step Functions fails the run.
      forcedFailure ??= { error: 'States.Runtime', cause: intended.error };
      abort();
      return;
    }
    if (intended.ms > 0) advanceClock(intended.ms);
  };

  const failWith = (error: string, cause: string) => {
    forcedFailure ??= { error, cause };
    abort();
  };
  let historyEvents = 0;
  const consumeEvents = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      const e = event as StateEvent;
      historyEvents += historyEventsFor(e);
      if (historyEvents > MAX_HISTORY_EVENTS) {
        failWith('States.Runtime', `the execution history would pass ${MAX_HISTORY_EVENTS} events`);
      }
      if (e.type === 'StateRetried') {
        transitions++;
        // The retry waited its interval (compressed in real time): the clock moves by it.
        if (e.retry) advanceClock(retryIntervalMs(e.retry.retrier, e.retry.attempt));
      }
      if (e.type === 'StateExited' && e.state) {
        // Terminal: a state's output over 256 KiB fails the execution.
        const size = payloadOverLimit(e.state.output);
        if (size !== undefined)
          failWith('States.DataLimitExceeded', dataLimitCause(`output of ${e.state.name}`, size));
      }
      if (e.type !== 'StateEntered' || !e.state) continue;
      transitions++;
      entered.push(e.state.name);
      if (e.state.type === 'Task') enteredInputs.set(e.state.name, e.state.input);
      if (e.state.type === 'Wait') onWaitEntered(e.state.name, e.state.input);
    }
  })();

  const base = { executionArn, states: entered, events };
  let result: WorkflowResult;
  try {
    const output = await execution.result;
    result = { ...base, status: 'SUCCEEDED', output, transitions: 0 };
  } catch (error) {
    if (harnessFailure) throw harnessFailure;
    if (forcedFailure) {
      result = { ...base, status: 'FAILED', ...forcedFailure, transitions: 0 };
    } else if (error instanceof ExecutionAbortedError) {
      result = { ...base, status: 'ABORTED', transitions: 0 };
    } else if (error instanceof ExecutionTimeoutError) {
      result = {
        ...base,
        status: 'FAILED',
        error: 'States.Timeout',
        cause: 'the execution exceeded its TimeoutSeconds',
        transitions: 0,
      };
    } else if (error instanceof ExecutionError && error.cause instanceof Error) {
      result = {
        ...base,
        status: 'FAILED',
        error: error.cause.name,
        cause: error.cause.message,
        transitions: 0,
      };
    } else {
      throw error;
    }
  } finally {
    clearTimeout(executionTimer);
    opts.signal?.removeEventListener('abort', onSignal);
    endWaitingTasks('the run has ended');
  }
  // Every ending closes the event log; the bound only guards against a library change.
  await Promise.race([consumeEvents, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  result.transitions = transitions;
  if (result.status === 'FAILED' && !forcedFailure) describeFailState(result, events, states);
  return result;
}

/**
 * A `states:startExecution.sync` task: the child runs to its end; its DescribeExecution is the
 * task's result, and a child that did not succeed fails the task with States.TaskFailed and that
 * description as the cause, as Step Functions reports it.
 */
async function runChild(
  children: Record<string, ChildWorkflowRunner>,
  params: Record<string, unknown>,
  outputAsJson: boolean,
): Promise<unknown> {
  const arn = params.StateMachineArn;
  const naming = optimizedNaming(OPTIMIZED['states:startExecution'] as OptimizedIntegration);
  // StartExecution's refusals reach the task as the integration names them (catchable).
  const refused = (code: string, message: string) =>
    stateError(
      `StepFunctions.${code.endsWith('Exception') ? code : `${code}Exception`}`,
      naming.cause(message, 400, code, undefined),
    );
  const child = typeof arn === 'string' ? children[arn] : undefined;
  if (!child) {
    // A static ARN is checked before the run (checkBindings); one chosen at run time may name nothing.
    throw refused('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(arn)}'`);
  }
  const input = typeof params.Input === 'string' ? JSON.parse(params.Input) : (params.Input ?? {});
  const name = typeof params.Name === 'string' ? params.Name : randomUUID();
  const startDate = Date.now();
  let result: WorkflowResult;
  try {
    result = await child(input, name);
  } catch (error) {
    if (error instanceof StartExecutionRefused) throw refused(error.code, error.message);
    throw error;
  }
  const description = {
    ExecutionArn: result.executionArn,
    StateMachineArn: arn,
    Name: name,
    Status: result.status,
    StartDate: startDate,
    StopDate: Date.now(),
    Input: outputAsJson ? input : JSON.stringify(input),
    ...(result.status === 'SUCCEEDED'
      ? { Output: outputAsJson ? (result.output ?? null) : JSON.stringify(result.output ?? null) }
      : { Error: result.error, Cause: result.cause }),
  };
  if (result.status !== 'SUCCEEDED') throw stateError('States.TaskFailed', JSON.stringify(description));
  return description;
}

/** A Fail state without Error/Cause reports none (the library fills in defaults). */
function describeFailState(result: WorkflowResult, events: unknown[], states: Map<string, AslState>): void {
  const failed = [...events].reverse().find((e) => (e as StateEvent).type === 'StateFailed') as
    | StateEvent
    | undefined;
  if (failed?.state?.type !== 'Fail') return;
  const state = states.get(failed.state.name);
  if (!state) return;
  if (state.Error === undefined && state.ErrorPath === undefined) delete result.error;
  if (state.Cause === undefined && state.CausePath === undefined) delete result.cause;
}

function intendedWaitMs(
  state: AslState,
  rawInput: unknown,
  context: unknown,
  clock: VirtualClock | undefined,
): { ms: number } | { error: string } {
  let input = rawInput;
  if (state.InputPath === null) input = {};
  else if (state.InputPath !== undefined) {
    const selected = referencePath(state.InputPath, rawInput, context);
    if (!selected.found) return { error: `Path expression '${state.InputPath}' does not point to a value` };
    input = selected.value;
  }
  const now = clock?.now?.() ?? Date.now();
  if (typeof state.Seconds === 'number') return { ms: state.Seconds * 1000 };
  if (typeof state.Timestamp === 'string') return { ms: Date.parse(state.Timestamp) - now };
  if (state.SecondsPath) {
    const seconds = referencePath(state.SecondsPath, input, context);
    if (!seconds.found) return { error: `Path expression '${state.SecondsPath}' does not point to a value` };
    if (typeof seconds.value !== 'number' || !Number.isInteger(seconds.value) || seconds.value < 0) {
      return { error: `Path expression '${state.SecondsPath}' must point to a non-negative integer` };
    }
    return { ms: seconds.value * 1000 };
  }
  if (state.TimestampPath) {
    const timestamp = referencePath(state.TimestampPath, input, context);
    if (!timestamp.found)
      return { error: `Path expression '${state.TimestampPath}' does not point to a value` };
    const at = typeof timestamp.value === 'string' ? Date.parse(timestamp.value) : Number.NaN;
    if (Number.isNaN(at))
      return { error: `Path expression '${state.TimestampPath}' must point to an RFC 3339 timestamp` };
    return { ms: at - now };
  }
  return { ms: 0 };
}

/** Fails before running when a Lambda is unbound or an SDK package or command is missing. */
async function checkBindings(
  integrations: Map<string, Integration>,
  states: Map<string, AslState>,
  lambdas: Record<string, LambdaBinding>,
  childWorkflows: Record<string, ChildWorkflowRunner>,
): Promise<void> {
  for (const [name, integration] of integrations) {
    let ref: unknown;
    if (integration.kind === 'lambda-arn') ref = integration.functionRef;
    if (integration.kind === 'lambda-invoke') ref = states.get(name)?.Parameters?.FunctionName;
    // A FunctionName chosen at run time (FunctionName.$) is checked when the task runs.
    if (integration.kind === 'child') {
      const arn = states.get(name)?.Parameters?.StateMachineArn;
      if (typeof arn === 'string' && !childWorkflows[arn])
        throw new WorkflowHarnessError(`task "${name}" starts ${arn}, which has no local state machine`);
    }
    if (typeof ref === 'string' && !findBinding(lambdas, ref)) {
      throw new WorkflowHarnessError(
        `task "${name}" invokes Lambda function ${ref}, which has no in-process handler (bound: ${Object.keys(lambdas).join(', ') || 'none'})`,
      );
    }
    if (integration.kind === 'sdk' || integration.kind === 'optimized') {
      const serviceKey =
        integration.kind === 'sdk'
          ? integration.service
          : (OPTIMIZED[integration.key] as OptimizedIntegration).service;
      const service = SDK_SERVICES[serviceKey] as SdkService;
      commandOf(await loadSdk(service), service, integration.action);
    }
  }
}
