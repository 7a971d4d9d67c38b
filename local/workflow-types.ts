// What the local workflow runner takes and returns, the errors it raises, and its constants.
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
export class RunEnded extends Error {
  override readonly name = 'RunEnded';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** A .waitForTaskToken task with TimeoutSeconds waits at most this long for its callback. */
export const COMPRESSED_TASK_TIMEOUT_MS = 1_000;
export const DEFAULT_ACCOUNT_ID = '123456789012';

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
