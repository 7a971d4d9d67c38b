// Step Functions' service rules that aws-local-stepfunctions does not enforce, as pure functions
// for the local runner: payload sizes, the history limit, task timeouts and heartbeats, and the
// virtual time a retry waits. Each follows the Step Functions developer guide (quotas, error
// handling, Task state fields).

/** Execution input, state input and output, and task results: 256 KiB of UTF-8 JSON. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Events in one execution's history; the execution fails when it would have more. */
export const MAX_HISTORY_EVENTS = 25_000;
/** A Task state's TimeoutSeconds when the definition gives none. */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;

/** Size of `value` as Step Functions counts it (JSON text, UTF-8), or undefined when within 256 KiB. */
export function payloadOverLimit(value: unknown): number | undefined {
  const text = JSON.stringify(value ?? null);
  // Cheap check first: a string has at most 3 UTF-8 bytes per UTF-16 unit.
  if (text.length * 3 <= MAX_PAYLOAD_BYTES) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > MAX_PAYLOAD_BYTES ? bytes : undefined;
}

export function dataLimitCause(what: string, bytes: number): string {
  return `The ${what} is ${bytes} bytes, which exceeds the maximum of ${MAX_PAYLOAD_BYTES} bytes.`;
}

/**
 * How many history events AWS writes for one event of the local executor: a Task attempt is
 * TaskScheduled, TaskStarted and TaskSucceeded or TaskFailed besides entering and leaving the
 * state; a retry is another attempt; failing and catching add nothing of their own.
 */
export function historyEventsFor(event: { type: string; state?: { type: string } }): number {
  switch (event.type) {
    case 'StateEntered':
      return event.state?.type === 'Task' ? 4 : 1;
    case 'StateRetried':
      return event.state?.type === 'Task' ? 3 : 0;
    case 'StateFailed':
    case 'StateCaught':
      return 0;
    default:
      return 1;
  }
}

interface Retrier {
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

/** The wait before retry `attempt` (1 for the first retry) of `retrier`, in ms, without jitter. */
export function retryIntervalMs(retrier: Retrier, attempt: number): number {
  const interval = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** Math.max(0, attempt - 1);
  const capped =
    retrier.MaxDelaySeconds !== undefined ? Math.min(interval, retrier.MaxDelaySeconds) : interval;
  return capped * 1000;
}

export interface TaskTimeouts {
  timeoutSeconds: number;
  /** True when the definition set it (TimeoutSeconds or TimeoutSecondsPath), not the default. */
  explicitTimeout: boolean;
  heartbeatSeconds?: number;
}

/** Both limits of a Task state, from its fields or from paths into its input; an error names the field. */
export function taskTimeouts(
  state: {
    TimeoutSeconds?: number;
    TimeoutSecondsPath?: string;
    HeartbeatSeconds?: number;
    HeartbeatSecondsPath?: string;
  },
  resolve: (path: string) => { found: boolean; value?: unknown },
): TaskTimeouts | { error: string } {
  const read = (
    field: string,
    value: number | undefined,
    path: string | undefined,
  ): number | undefined | { error: string } => {
    if (value !== undefined) return value;
    if (path === undefined) return undefined;
    const found = resolve(path);
    if (!found.found) return { error: `${field} '${path}' does not point to a value` };
    if (typeof found.value !== 'number' || !Number.isInteger(found.value) || found.value < 1)
      return {
        error: `${field} '${path}' must point to a positive integer (found ${JSON.stringify(found.value)})`,
      };
    return found.value;
  };
  const timeout = read('TimeoutSecondsPath', state.TimeoutSeconds, state.TimeoutSecondsPath);
  if (typeof timeout === 'object') return timeout;
  const heartbeat = read('HeartbeatSecondsPath', state.HeartbeatSeconds, state.HeartbeatSecondsPath);
  if (typeof heartbeat === 'object') return heartbeat;
  return {
    timeoutSeconds: timeout ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    explicitTimeout: timeout !== undefined,
    ...(heartbeat !== undefined ? { heartbeatSeconds: heartbeat } : {}),
  };
}

/**
 * The definition handed to aws-local-stepfunctions: its Task timeouts and the execution's own
 * TimeoutSeconds are removed (it would apply them in real time: 60 s by default for a task, where
 * AWS's default is 99,999,999 s, and a timeout over 24.8 days overflows its timer and fires at
 * once), since the runner applies them on the virtual clock.
 */
export function withoutTaskTimeouts<T>(machine: T): T {
  const { TimeoutSeconds: _execution, ...rest } = machine as Record<string, unknown>;
  return withoutStateTimeouts(rest) as T;
}

function withoutStateTimeouts<T>(machine: T): T {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
      if (key === 'States' && value && typeof value === 'object') {
        out[key] = Object.fromEntries(
          Object.entries(value as Record<string, Record<string, unknown>>).map(([name, state]) => {
            if (state.Type !== 'Task') return [name, strip(state)];
            const {
              TimeoutSeconds: _t,
              TimeoutSecondsPath: _tp,
              HeartbeatSeconds: _h,
              HeartbeatSecondsPath: _hp,
              ...rest
            } = state;
            // About 23 days: beyond anything a local run waits, within setTimeout's range.
            return [name, { ...(strip(rest) as object), TimeoutSeconds: 2_000_000 }];
          }),
        );
      } else {
        out[key] = strip(value);
      }
    }
    return out;
  };
  return strip(machine) as T;
}
