// Runs a synthesized Step Functions definition (JSONPath) locally with aws-local-stepfunctions:
// Lambda tasks call the in-process handlers, AWS SDK and optimized integrations make real SDK
// calls against the emulator, Wait states and Retry intervals are compressed to milliseconds
// while a virtual clock is moved by the time they stand for, and .waitForTaskToken tasks wait
// for sendTaskSuccess/sendTaskFailure from this process.
//
// Fidelity notes (why things are done the way they are):
// - aws-local-stepfunctions matches Retry/Catch on `error.name` and builds the catcher's
//   output as { Error: error.name, Cause: error.message }, so every error we raise into the
//   state machine carries the Step Functions error name as `name` and the cause as `message`.
// - Errors with `isRetryable`/`isCatchable` false (read by the library) fail the run outright:
//   we use that for harness problems (an unbound Lambda, a missing SDK package) so that a
//   `States.ALL` catcher cannot hide them; runWorkflow then throws instead of returning.
// - `$$.Task.Token` comes from a context object whose `Task.Token` is a getter: the library
//   evaluates Parameters and calls the task's override synchronously, so the token minted
//   while evaluating a task's Parameters is the one that task's override takes.
// - Overriding a Wait state skips the library's own evaluation of SecondsPath/TimestampPath,
//   so the intended duration is computed here from the StateEntered event, which is handled
//   (microtasks) before the compressed wait (a >= 1 ms timer) ends.

import { randomUUID } from 'node:crypto';
import { NormalizedSchema } from '@smithy/core/schema';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { awsClient, type ClientConfig } from '../functions/shared/clients.ts';
import { executionNameProblem, MAX_EXECUTION_NAME_LENGTH } from '../functions/shared/execution-names.ts';
import {
  dataLimitCause,
  historyEventsFor,
  MAX_HISTORY_EVENTS,
  payloadOverLimit,
  retryIntervalMs,
  taskTimeouts,
  withoutTaskTimeouts,
} from './sfn-rules.ts';

/** The in-process handler standing in for a Lambda function. */
export type LambdaBinding = (event: unknown) => Promise<unknown>;

/** Moved by the intended duration of every compressed Wait state; `now` (if any) anchors Timestamp waits. */
export interface VirtualClock {
  advance(ms: number): void;
  now?(): number;
}

export interface RunWorkflowOptions {
  /** The resolved ASL definition (see stateMachineDefinition in template.ts). */
  definition: object;
  input?: unknown;
  /** Handlers keyed by function name, full ARN, or anything ending in `:function:NAME`. */
  lambdas?: Record<string, LambdaBinding>;
  executionName?: string;
  stateMachineName?: string;
  /** Real duration of every Wait state (at least 1 ms, see the header) and Retry interval. Default 1. */
  waitMs?: number;
  clock?: VirtualClock;
  /** How long a .waitForTaskToken task waits for a callback; default: its TimeoutSeconds compressed (below). */
  taskTokenTimeoutMs?: number;
  /** Aborting it ends the run with status ABORTED (see abortAfter). */
  signal?: AbortSignal;
  /** Validate the definition with asl-validator first (the library's default). */
  validate?: boolean;
  /**
   * State machines a `states:startExecution.sync` task may start, keyed by ARN: each runs the
   * child to its end here, as Step Functions runs a nested execution and waits for it.
   */
  childWorkflows?: Record<string, ChildWorkflowRunner>;
}

/** Runs a nested execution to its end (see RunWorkflowOptions.childWorkflows). */
export type ChildWorkflowRunner = (input: unknown, executionName: string) => Promise<WorkflowResult>;

export interface WorkflowResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** StateEntered events plus retries (each retry is a billed transition), nested ones included. */
  transitions: number;
  /** Names of entered states in order, nested Map/Parallel states included. */
  states: string[];
  /** aws-local-stepfunctions event log (ExecutionStarted, StateEntered, StateRetried, ...). */
  events: unknown[];
  executionArn: string;
}

export interface PendingTaskToken {
  token: string;
  stateName: string;
  executionName: string;
}

/** A problem with the local setup rather than with the workflow: runWorkflow throws it. */
export class WorkflowHarnessError extends Error {
  override readonly name = 'WorkflowHarnessError';
  // Read by aws-local-stepfunctions: never retried, never caught by a Catch.
  readonly isRetryable = false;
  readonly isCatchable = false;
}

// Ends tasks still running when their run is over (aborted or finished); like a harness error
// it cannot be retried or caught, but it is not a failure of the setup.
class RunEnded extends Error {
  override readonly name = 'RunEnded';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** A .waitForTaskToken task with TimeoutSeconds waits at most this long for its callback. */
export const COMPRESSED_TASK_TIMEOUT_MS = 1_000;
const DEFAULT_ACCOUNT_ID = '123456789012';

/** An AbortSignal that fires after `ms`, for RunWorkflowOptions.signal. */
export function abortAfter(ms: number): AbortSignal {
  return AbortSignal.timeout(ms);
}

/**
 * StartExecution refused the run before it began (a bad name, a name already used, an input over
 * 256 KiB): `name` is the SFN API's error code. runWorkflow throws it; a nested start turns it
 * into the task's error (StepFunctions.<code>Exception).
 */
export class StartExecutionRefused extends Error {
  constructor(
    readonly code: 'InvalidName' | 'ExecutionAlreadyExists' | 'ValidationException',
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

// Every execution started in this process, by ARN: a name is used once per state machine, and a
// repeated start with the same input while it runs is that same execution.
const executions = new Map<string, { input: string; running?: Promise<WorkflowResult> }>();

function admitExecution(
  executionArn: string,
  executionName: string,
  input: unknown,
): { joined: Promise<WorkflowResult> } | { input: string } {
  // A length outside 1-80 fails the API's own validation; a forbidden character is InvalidName.
  const length = [...executionName].length;
  if (length < 1 || length > MAX_EXECUTION_NAME_LENGTH)
    throw new StartExecutionRefused(
      'ValidationException',
      `1 validation error detected: Value '${executionName}' at 'name' failed to satisfy constraint: Member must have length ${length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_EXECUTION_NAME_LENGTH}`}`,
    );
  const problem = executionNameProblem(executionName);
  if (problem) throw new StartExecutionRefused('InvalidName', `Invalid Name: '${executionName}': ${problem}`);
  const text = JSON.stringify(input ?? {});
  const size = payloadOverLimit(input ?? {});
  if (size !== undefined)
    throw new StartExecutionRefused('ValidationException', dataLimitCause('execution input', size));
  const existing = executions.get(executionArn);
  if (existing?.running && existing.input === text) return { joined: existing.running };
  if (existing)
    throw new StartExecutionRefused('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
  return { input: text };
}

// ---------------------------------------------------------------------------------------------
// Task tokens: one registry per process, so tests and handlers can answer any waiting task.

interface TokenEntry extends PendingTaskToken {
  runId: string;
  settle(outcome: { output: unknown } | { error: Error }): void;
  /** SendTaskHeartbeat: restarts the heartbeat timer. */
  beat(): void;
}

const tokenRegistry = new Map<string, TokenEntry>();
// Tokens whose task has ended (answered, timed out, or its run over): answering one again is
// refused with TaskTimedOut, as Step Functions does.
const closedTokens = new Set<string>();
const tokenListeners = new Set<(entry: PendingTaskToken) => void>();
// The port of this process's Step Functions endpoint (local/step-functions-endpoint.ts), carried
// in every token it mints so that a SendTaskSuccess from any process on the rig finds the task.
let tokenOwnerPort = 0;

/** Tokens minted from now on name `port` as the endpoint that answers them. */
export function setTaskTokenOwner(port: number): void {
  tokenOwnerPort = port;
}

/** The port a token names as its owner's endpoint, or undefined for a token the rig never minted. */
export function taskTokenOwner(token: string): number | undefined {
  const match = /^local-task-token-(\d{1,5})-[0-9a-f-]{36}$/.exec(token);
  return match ? Number(match[1]) : undefined;
}

/** Tokens of tasks waiting for a callback right now, oldest first. */
export function pendingTaskTokens(): PendingTaskToken[] {
  return [...tokenRegistry.values()].map(({ token, stateName, executionName }) => ({
    token,
    stateName,
    executionName,
  }));
}

/** Resumes the task waiting on `token` with `output` (the value itself, not JSON text). */
export function sendTaskSuccess(token: string, output: unknown): void {
  const size = payloadOverLimit(output);
  if (size !== undefined) throw callbackError('InvalidOutput', dataLimitCause('task output', size));
  takeEntry(token).settle({ output: toJson(output) });
}

/** Fails the task waiting on `token`; Retry/Catch match on `error`. */
export function sendTaskFailure(token: string, error?: string, cause?: string): void {
  takeEntry(token).settle({ error: stateError(error ?? '', cause ?? '') });
}

/** SendTaskHeartbeat: the task waiting on `token` is alive; its HeartbeatSeconds start again. */
export function sendTaskHeartbeat(token: string): void {
  findEntry(token).beat();
}

/** Resolves with the first pending token (of `stateName`, if given), waiting up to timeoutMs for one. */
export function nextTaskToken(
  opts: { stateName?: string; timeoutMs?: number } = {},
): Promise<PendingTaskToken> {
  const matches = (t: PendingTaskToken) => opts.stateName === undefined || t.stateName === opts.stateName;
  const existing = pendingTaskTokens().find(matches);
  if (existing) return Promise.resolve(existing);
  return new Promise((resolve, reject) => {
    const listener = (entry: PendingTaskToken) => {
      if (!matches(entry)) return;
      clearTimeout(timer);
      tokenListeners.delete(listener);
      resolve(entry);
    };
    const timer = setTimeout(() => {
      tokenListeners.delete(listener);
      reject(
        new Error(
          `no task token${opts.stateName ? ` for ${opts.stateName}` : ''} within ${opts.timeoutMs ?? 5000} ms`,
        ),
      );
    }, opts.timeoutMs ?? 5000);
    // Waiting for a token never keeps a process alive by itself.
    timer.unref();
    tokenListeners.add(listener);
  });
}

/** An error as the SFN API answers a callback: `name` is its error code. */
function callbackError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

// The errors Step Functions gives a callback: a malformed token, a task that has already ended,
// a token it never issued.
function findEntry(token: string): TokenEntry {
  const entry = tokenRegistry.get(token);
  if (entry) return entry;
  if (typeof token !== 'string' || token.length === 0 || token.length > 1024)
    throw callbackError('InvalidToken', 'Invalid Token: the task token must have 1 to 1024 characters');
  if (closedTokens.has(token))
    throw callbackError(
      'TaskTimedOut',
      `the task of token ${token} has already ended (answered or timed out)`,
    );
  throw callbackError('TaskDoesNotExist', `task token ${token} was not issued to any waiting task`);
}

function takeEntry(token: string): TokenEntry {
  const entry = findEntry(token);
  tokenRegistry.delete(token);
  closedTokens.add(token);
  return entry;
}

// ---------------------------------------------------------------------------------------------
// Definition walking

interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSeconds?: number;
  HeartbeatSecondsPath?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
  Branches?: AslMachine[];
  Iterator?: AslMachine;
  ItemProcessor?: AslMachine;
  InputPath?: string | null;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Error?: string;
  ErrorPath?: string;
  Cause?: string;
  CausePath?: string;
  QueryLanguage?: string;
}

interface AslMachine {
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/** Every state by name, including those inside Parallel branches and Map iterators. */
function collectStates(machine: AslMachine, into = new Map<string, AslState>()): Map<string, AslState> {
  if (machine.QueryLanguage === 'JSONata') {
    throw new WorkflowHarnessError(
      'JSONata definitions are not evaluated by aws-local-stepfunctions; use JSONPath',
    );
  }
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    if (state.QueryLanguage === 'JSONata') {
      throw new WorkflowHarnessError(
        `state "${name}" uses JSONata, which aws-local-stepfunctions does not evaluate`,
      );
    }
    const seen = into.get(name);
    // Overrides are keyed by state name alone, so two different states of one name cannot both be bound.
    if (seen && JSON.stringify(seen) !== JSON.stringify(state)) {
      throw new WorkflowHarnessError(`two different states are named "${name}"; state names must be unique`);
    }
    into.set(name, state);
    for (const branch of state.Branches ?? []) collectStates(branch, into);
    const iterator = state.ItemProcessor ?? state.Iterator;
    if (iterator) collectStates(iterator, into);
  }
  return into;
}

// ---------------------------------------------------------------------------------------------
// Integrations

interface SdkService {
  pkg: string;
  client: string;
  /** Step Functions' PascalCase service name in SDK-integration error names (Ecs.ServiceNotFoundException). */
  prefix: string;
}

// Service names as they appear in arn:aws:states:::aws-sdk:SERVICE:action.
const SDK_SERVICES: Record<string, SdkService> = {
  ecs: { pkg: '@aws-sdk/client-ecs', client: 'ECSClient', prefix: 'Ecs' },
  elasticloadbalancingv2: {
    pkg: '@aws-sdk/client-elastic-load-balancing-v2',
    client: 'ElasticLoadBalancingV2Client',
    prefix: 'ElasticLoadBalancingV2',
  },
  dynamodb: { pkg: '@aws-sdk/client-dynamodb', client: 'DynamoDBClient', prefix: 'DynamoDb' },
  sns: { pkg: '@aws-sdk/client-sns', client: 'SNSClient', prefix: 'Sns' },
  sqs: { pkg: '@aws-sdk/client-sqs', client: 'SQSClient', prefix: 'Sqs' },
  sfn: { pkg: '@aws-sdk/client-sfn', client: 'SFNClient', prefix: 'Sfn' },
  cloudwatch: { pkg: '@aws-sdk/client-cloudwatch', client: 'CloudWatchClient', prefix: 'CloudWatch' },
  autoscaling: { pkg: '@aws-sdk/client-auto-scaling', client: 'AutoScalingClient', prefix: 'AutoScaling' },
  ec2: { pkg: '@aws-sdk/client-ec2', client: 'EC2Client', prefix: 'Ec2' },
  eventbridge: { pkg: '@aws-sdk/client-eventbridge', client: 'EventBridgeClient', prefix: 'EventBridge' },
  applicationautoscaling: {
    pkg: '@aws-sdk/client-application-auto-scaling',
    client: 'ApplicationAutoScalingClient',
    prefix: 'ApplicationAutoScaling',
  },
  lambda: { pkg: '@aws-sdk/client-lambda', client: 'LambdaClient', prefix: 'Lambda' },
};

interface OptimizedIntegration {
  service: string;
  /** Error prefix and unmodeled-error name of the optimized integration (Java SDK v1 names). */
  prefix: string;
  unmodeled: string;
  serviceLabel: string;
  /** Parameters that may be given as JSON and are sent as JSON text. */
  jsonFields: (params: Record<string, unknown>) => void;
}

const noJsonFields = () => undefined;
const dynamoOptimized = {
  service: 'dynamodb',
  prefix: 'DynamoDB',
  unmodeled: 'AmazonDynamoDBException',
  serviceLabel: 'AmazonDynamoDBv2',
  jsonFields: noJsonFields,
};

const OPTIMIZED: Record<string, OptimizedIntegration> = {
  'sns:publish': {
    service: 'sns',
    prefix: 'SNS',
    unmodeled: 'AmazonSNSException',
    serviceLabel: 'AmazonSNS',
    jsonFields: (p) => stringifyField(p, 'Message'),
  },
  'sqs:sendMessage': {
    service: 'sqs',
    prefix: 'SQS',
    unmodeled: 'AmazonSQSException',
    serviceLabel: 'AmazonSQS',
    jsonFields: (p) => stringifyField(p, 'MessageBody'),
  },
  'dynamodb:getItem': dynamoOptimized,
  'dynamodb:putItem': dynamoOptimized,
  'dynamodb:updateItem': dynamoOptimized,
  'dynamodb:deleteItem': dynamoOptimized,
  'events:putEvents': {
    service: 'eventbridge',
    prefix: 'EventBridge',
    unmodeled: 'AmazonEventBridgeException',
    serviceLabel: 'AmazonEventBridge',
    jsonFields: (p) => {
      for (const entry of Array.isArray(p.Entries) ? p.Entries : []) stringifyField(entry, 'Detail');
    },
  },
  'states:startExecution': {
    service: 'sfn',
    prefix: 'StepFunctions',
    unmodeled: 'AWSStepFunctionsException',
    serviceLabel: 'AWSStepFunctions',
    jsonFields: (p) => stringifyField(p, 'Input'),
  },
};

function stringifyField(params: unknown, field: string): void {
  if (params === null || typeof params !== 'object') return;
  const record = params as Record<string, unknown>;
  if (record[field] !== undefined && typeof record[field] !== 'string')
    record[field] = JSON.stringify(record[field]);
}

type Integration =
  | { kind: 'lambda-invoke'; token: boolean }
  | { kind: 'lambda-arn'; functionRef: string }
  | { kind: 'sdk'; service: string; action: string; token: boolean }
  | { kind: 'optimized'; key: string; action: string; token: boolean }
  /** A nested execution; `.sync:2` returns its output as JSON, `.sync` as text. */
  | { kind: 'child'; outputAsJson: boolean };

function parseResource(stateName: string, resource: string | undefined): Integration {
  if (!resource) throw new WorkflowHarnessError(`task "${stateName}" has no Resource`);
  const lambdaArn = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:.+$/.exec(resource);
  if (lambdaArn) return { kind: 'lambda-arn', functionRef: resource };
  const states = /^arn:[^:]+:states:::(.+)$/.exec(resource);
  if (!states?.[1])
    throw new WorkflowHarnessError(`task "${stateName}": resource ${resource} is not supported locally`);
  let spec = states[1];
  let token = false;
  if (spec.endsWith('.waitForTaskToken')) {
    token = true;
    spec = spec.slice(0, -'.waitForTaskToken'.length);
  } else if (spec === 'states:startExecution.sync' || spec === 'states:startExecution.sync:2') {
    return { kind: 'child', outputAsJson: spec.endsWith(':2') };
  } else if (/\.sync(:\d+)?$/.test(spec)) {
    throw new WorkflowHarnessError(
      `task "${stateName}": the run-a-job pattern (${resource}) is not supported locally`,
    );
  }
  if (spec === 'lambda:invoke') return { kind: 'lambda-invoke', token };
  if (spec.startsWith('aws-sdk:')) {
    const [, service, action] = spec.split(':');
    if (!service || !action)
      throw new WorkflowHarnessError(`task "${stateName}": malformed resource ${resource}`);
    if (!SDK_SERVICES[service]) {
      throw new WorkflowHarnessError(
        `task "${stateName}": aws-sdk service "${service}" is not mapped to an SDK package (known: ${Object.keys(SDK_SERVICES).join(', ')})`,
      );
    }
    return { kind: 'sdk', service, action, token };
  }
  if (OPTIMIZED[spec]) return { kind: 'optimized', key: spec, action: spec.split(':')[1] as string, token };
  throw new WorkflowHarnessError(`task "${stateName}": integration ${resource} is not supported locally`);
}

/**
 * A synchronous lambda:invoke task's result as Step Functions writes it: the payload with
 * Lambda's HTTP metadata (about 800 bytes), all of which counts against the 256 KiB limit.
 */
function invokeResult(payload: unknown, now: number): Record<string, unknown> {
  const requestId = randomUUID();
  const headers = {
    Connection: 'keep-alive',
    'Content-Length': String(Buffer.byteLength(JSON.stringify(payload ?? null))),
    'Content-Type': 'application/json',
    Date: new Date(now).toUTCString(),
    'X-Amz-Executed-Version': '$LATEST',
    'x-amzn-Remapped-Content-Length': '0',
    'x-amzn-RequestId': requestId,
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(now / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
  };
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      HttpHeaders: headers,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

// ---------------------------------------------------------------------------------------------
// Errors raised into the state machine

function stateError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/**
 * States.DataLimitExceeded is terminal: States.ALL and States.TaskFailed do not match it, only a
 * retrier or catcher that names it (and comes before any wildcard) does.
 */
function dataLimitError(state: AslState | undefined, cause: string): Error {
  const namedFirst = (handlers: { ErrorEquals: string[] }[] | undefined) => {
    for (const handler of handlers ?? []) {
      if (handler.ErrorEquals.includes('States.DataLimitExceeded')) return true;
      if (handler.ErrorEquals.some((e) => e === 'States.ALL' || e === 'States.TaskFailed')) return false;
    }
    return false;
  };
  return Object.assign(stateError('States.DataLimitExceeded', cause), {
    isRetryable: namedFirst(state?.Retry),
    isCatchable: namedFirst(state?.Catch),
  });
}

/** States.Runtime: neither retried nor caught; the execution fails. */
function runtimeError(cause: string): Error {
  return Object.assign(stateError('States.Runtime', cause), { isRetryable: false, isCatchable: false });
}

/** What Step Functions reports for a failed Lambda: Error = errorType, Cause = the JSON error. */
function lambdaFunctionError(thrown: unknown): Error {
  const errorType = thrown instanceof Error ? thrown.name : 'Error';
  const errorMessage = thrown instanceof Error ? thrown.message : String(thrown);
  return stateError(errorType, JSON.stringify({ errorType, errorMessage }));
}

interface ErrorNaming {
  prefix: string;
  /** The name used when the service's error is not modeled in the SDK. */
  unmodeled: string;
  /** Cause text the way the Java SDK behind the integration formats it. */
  cause(message: string, status: number | undefined, code: string, requestId: string | undefined): string;
}

function sdkNaming(service: SdkService): ErrorNaming {
  return {
    prefix: service.prefix,
    unmodeled: `${service.prefix}Exception`,
    cause: (message, status, _code, requestId) =>
      `${message} (Service: ${service.prefix}, Status Code: ${status ?? 0}, Request ID: ${requestId ?? 'null'})`,
  };
}

function optimizedNaming(integration: OptimizedIntegration): ErrorNaming {
  return {
    prefix: integration.prefix,
    unmodeled: integration.unmodeled,
    cause: (message, status, code, requestId) =>
      `${message} (Service: ${integration.serviceLabel}; Status Code: ${status ?? 0}; Error Code: ${code}; Request ID: ${requestId ?? 'null'}; Proxy: null)`,
  };
}

// Step Functions names SDK errors <Service>.<Name>, always with the Exception suffix.
function awsStateError(thrown: unknown, naming: ErrorNaming, baseException: unknown): Error {
  const error = thrown as {
    name?: string;
    message?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  // A problem of the rig itself (an operation the IAM table lacks) is no task error to catch.
  if ((thrown as { isCatchable?: boolean } | undefined)?.isCatchable === false) return thrown as Error;
  const message = error?.message ?? String(thrown);
  if (!error || typeof error !== 'object' || error.$fault === undefined) {
    // No service response (connection refused, timeout): the SDK's client-side failure.
    return stateError(`${naming.prefix}.SdkClientException`, message);
  }
  const code = error.name ?? 'UnknownError';
  const unmodeled =
    typeof baseException === 'function' && Object.getPrototypeOf(error) === baseException.prototype;
  const name = unmodeled ? naming.unmodeled : code.endsWith('Exception') ? code : `${code}Exception`;
  return stateError(
    `${naming.prefix}.${name}`,
    naming.cause(message, error.$metadata?.httpStatusCode, code, error.$metadata?.requestId),
  );
}

// ---------------------------------------------------------------------------------------------
// SDK calls: Step Functions speaks PascalCase, the JavaScript SDK speaks the API's member
// names (camelCase for ECS and SFN), so parameters and responses are renamed along the
// operation's schema; map keys (item attributes, tags, labels) are left alone.

type SdkModule = Record<string, unknown>;
type SendingClient = { send(command: unknown): Promise<Record<string, unknown>> };
type CommandCtor = new (input: unknown) => { schema?: unknown[] };

const sdkModules = new Map<string, Promise<SdkModule>>();

function loadSdk(service: SdkService): Promise<SdkModule> {
  let loading = sdkModules.get(service.pkg);
  if (!loading) {
    loading = (import(service.pkg) as Promise<SdkModule>).catch((error: unknown) => {
      sdkModules.delete(service.pkg);
      throw new WorkflowHarnessError(
        `${service.pkg} is needed for this workflow but cannot be loaded (${(error as Error).message}); add it to package.json`,
      );
    });
    sdkModules.set(service.pkg, loading);
  }
  return loading;
}

function commandOf(module: SdkModule, service: SdkService, action: string): CommandCtor {
  const name = `${action.charAt(0).toUpperCase()}${action.slice(1)}Command`;
  const command = module[name];
  if (typeof command !== 'function')
    throw new WorkflowHarnessError(`${service.pkg} has no ${name} (action ${action})`);
  return command as CommandCtor;
}

async function callAws(
  service: SdkService,
  action: string,
  params: unknown,
  naming: ErrorNaming,
): Promise<unknown> {
  const module = await loadSdk(service);
  const Command = commandOf(module, service, action);
  const Client = module[service.client] as new (config: ClientConfig) => SendingClient;
  const operation = new Command({}).schema;
  const inputSchema = operation ? NormalizedSchema.of(operation[4] as never) : undefined;
  const outputSchema = operation ? NormalizedSchema.of(operation[5] as never) : undefined;
  const where = `${service.prefix}.${action}`;
  const input = inputSchema ? toSdkShape(params ?? {}, inputSchema, where) : params;
  let response: Record<string, unknown>;
  try {
    response = await awsClient(Client).send(new Command(input));
  } catch (error) {
    const base = Object.entries(module).find(
      ([key]) => key.endsWith('ServiceException') && !key.startsWith('_'),
    )?.[1];
    throw awsStateError(error, naming, base);
  }
  const { $metadata: _metadata, ...body } = response;
  return toJson(outputSchema ? fromSdkShape(body, outputSchema) : body);
}

const pascal = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);

function toSdkShape(value: unknown, schema: NormalizedSchema, where: string): unknown {
  if (value === null || value === undefined || schema.isDocumentSchema()) return value;
  if (schema.isListSchema()) {
    if (!Array.isArray(value)) return value;
    const item = schema.getValueSchema();
    return value.map((v, i) => toSdkShape(v, item, `${where}[${i}]`));
  }
  if (schema.isMapSchema()) {
    if (!isPlainObject(value)) return value;
    const item = schema.getValueSchema();
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, toSdkShape(v, item, `${where}.${k}`)]),
    );
  }
  if (schema.isStructSchema()) {
    if (!isPlainObject(value)) return value;
    const members = new Map<string, [string, NormalizedSchema]>();
    for (const [name, member] of schema.structIterator()) members.set(pascal(name), [name, member]);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const member = members.get(key);
      if (!member) {
        // Step Functions rejects such a definition; silently dropping it would hide the typo.
        throw new WorkflowHarnessError(
          `${where}: unknown parameter ${key} (expected one of ${[...members.keys()].join(', ')})`,
        );
      }
      out[member[0]] = toSdkShape(v, member[1], `${where}.${key}`);
    }
    return out;
  }
  if (schema.isBlobSchema() && typeof value !== 'object') return new TextEncoder().encode(String(value));
  if (schema.isBlobSchema()) return new TextEncoder().encode(JSON.stringify(value));
  if (schema.isTimestampSchema() && typeof value === 'string') return new Date(value);
  if (schema.isTimestampSchema() && typeof value === 'number') return new Date(value * 1000);
  return value;
}

function fromSdkShape(value: unknown, schema: NormalizedSchema): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (schema.isDocumentSchema()) return value;
  if (schema.isListSchema() && Array.isArray(value)) {
    const item = schema.getValueSchema();
    return value.map((v) => fromSdkShape(v, item));
  }
  if (schema.isMapSchema() && isPlainObject(value)) {
    const item = schema.getValueSchema();
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromSdkShape(v, item)]));
  }
  if (schema.isStructSchema() && isPlainObject(value)) {
    const members = new Map<string, NormalizedSchema>(schema.structIterator());
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (key === '$unknown') continue;
      const member = members.get(key);
      out[pascal(key)] = member ? fromSdkShape(v, member) : v;
    }
    return out;
  }
  return value;
}

function toJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

// ---------------------------------------------------------------------------------------------
// Lambda bindings

function functionName(ref: string): string {
  const marker = ':function:';
  const at = ref.indexOf(marker);
  if (at >= 0) return ref.slice(at + marker.length).split(':')[0] as string;
  return ref.split(':')[0] as string;
}

function findBinding(lambdas: Record<string, LambdaBinding>, ref: string): LambdaBinding | undefined {
  const exact = lambdas[ref];
  if (exact) return exact;
  const name = functionName(ref);
  const byName = Object.entries(lambdas).filter(([key]) => functionName(key) === name);
  if (byName.length > 1) {
    throw new WorkflowHarnessError(
      `function ${ref} matches several bindings: ${byName.map(([k]) => k).join(', ')}`,
    );
  }
  return byName[0]?.[1];
}

// ---------------------------------------------------------------------------------------------
// Reference paths (InputPath, SecondsPath, TimestampPath): $, .name, ['name'], [n] only.

function referencePath(path: string, input: unknown, context: unknown): { found: boolean; value?: unknown } {
  let rest: string;
  let current: unknown;
  if (path.startsWith('$$')) {
    rest = path.slice(2);
    current = context;
  } else if (path.startsWith('$')) {
    rest = path.slice(1);
    current = input;
  } else {
    throw new WorkflowHarnessError(`reference path ${path} must start with $`);
  }
  const token = /^(?:\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\])/;
  while (rest.length > 0) {
    const match = token.exec(rest);
    if (!match) throw new WorkflowHarnessError(`reference path ${path} is not supported by the local runner`);
    rest = rest.slice(match[0].length);
    const key = match[2] !== undefined ? Number(match[2]) : (match[1] ?? match[3] ?? match[4] ?? '');
    if (current === null || typeof current !== 'object' || !(key in (current as object)))
      return { found: false };
    current = (current as Record<string | number, unknown>)[key];
  }
  return { found: true, value: current };
}

// ---------------------------------------------------------------------------------------------
// The run

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

  const machine = new StateMachine(withoutTaskTimeouts(definition) as unknown as StateMachineDefinition, {
    validationOptions: opts.validate === false ? { noValidate: true } : { checkPaths: true, checkArn: true },
  });
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
