// Task tokens of .waitForTaskToken tasks: one registry per process, so that tests, handlers and the
// rig's Step Functions endpoint can answer any waiting task, each token once.
import { dataLimitCause, payloadOverLimit } from './sfn-rules.ts';

import { stateError } from './workflow-errors.ts';
import { toJson } from './workflow-sdk.ts';
import type { PendingTaskToken } from './workflow-types.ts';

// ---------------------------------------------------------------------------------------------
// Task tokens: one registry per process, so tests and handlers can answer any waiting task.

export interface TokenEntry extends PendingTaskToken {
  runId: string;
  settle(outcome: { output: unknown } | { error: Error }): void;
  /** SendTaskHeartbeat: restarts the heartbeat timer. */
  beat(): void;
}

export const tokenRegistry = new Map<string, TokenEntry>();
// Tokens whose task has ended (answered, timed out, or its run over): answering one again is
// refused with TaskTimedOut, as Step Functions does.
export const closedTokens = new Set<string>();
export const tokenListeners = new Set<(entry: PendingTaskToken) => void>();
// The port of this process's Step Functions endpoint (local/step-functions-endpoint.ts), carried
// in every token it mints so that a SendTaskSuccess from any process on the rig finds the task.
export let tokenOwnerPort = 0;

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
