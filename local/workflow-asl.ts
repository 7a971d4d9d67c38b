// The parts of an ASL definition the runner reads: its states (nested ones included), and JSONPath
// references into a state's input and the context object.
import { WorkflowHarnessError } from './workflow-types.ts';

// ---------------------------------------------------------------------------------------------
// Definition walking

export interface AslState {
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

export interface AslMachine {
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/** Every state by name, including those inside Parallel branches and Map iterators. */
export function collectStates(
  machine: AslMachine,
  into = new Map<string, AslState>(),
): Map<string, AslState> {
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
// Reference paths (InputPath, SecondsPath, TimestampPath): $, .name, ['name'], [n] only.

export function referencePath(
  path: string,
  input: unknown,
  context: unknown,
): { found: boolean; value?: unknown } {
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
