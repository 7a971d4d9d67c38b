// Parse at the edge: every schema failure becomes an InvalidInputError that names
// the first bad field by its path (e.g. `detail.instance-id`), what was expected and what came.
// Its message is what the Step Functions console shows as the execution's cause.
import type * as z from '../../events/zod.ts';
import { InvalidInputError } from './errors.ts';

export function parseOrThrow<S extends z.ZodMiniType>(schema: S, value: unknown, root = ''): z.infer<S> {
  // reportInput: an issue then carries the value it was about, even where the path cannot be
  // followed in the raw value (a z.preprocess rewrote it, e.g. "approval": "before-traffic").
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw invalidInput(result.error.issues[0], value, root);
}

function invalidInput(issue: z.core.$ZodIssue | undefined, value: unknown, root: string): InvalidInputError {
  // An empty key is shown as "" so that the path still has one segment per level.
  const field = (path: readonly PropertyKey[]) =>
    [...(root ? [root] : []), ...path.map((p) => (String(p) === '' ? '""' : String(p)))].join('.') ||
    '(root)';
  if (!issue) return new InvalidInputError(field([]), 'is invalid', value);

  // An unknown field (strict objects): name it, rather than the object that holds it.
  if (issue.code === 'unrecognized_keys') {
    const [key, ...others] = issue.keys;
    if (key !== undefined) {
      const also = others.length > 0 ? ` (nor are ${others.map((k) => JSON.stringify(k)).join(', ')})` : '';
      return new InvalidInputError(
        field([...issue.path, key]),
        `is not a field of this input: expected it absent (remove it or fix its spelling)${also}`,
        valueAt(value, [...issue.path, key]).value,
      );
    }
  }

  const at = valueAt(value, issue.path);
  const received = at.found ? at.value : issue.code === 'custom' ? undefined : issue.input;
  let problem = issue.message;
  if (issue.code === 'invalid_type' && received === undefined) {
    problem = `is required (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})`;
  } else if (issue.code === 'invalid_format' && !/\b(expected|must)\b/.test(issue.message)) {
    // zod's own wording ("Invalid ISO datetime") says what is wrong, not what is wanted.
    problem = `expected ${FORMATS[issue.format] ?? `a valid ${issue.format}`}`;
  }
  return new InvalidInputError(field(issue.path), problem, received);
}

const FORMATS: Record<string, string> = {
  datetime: 'an ISO 8601 date-time with a time zone, e.g. 2026-11-20T10:15:00Z',
  date: 'an ISO 8601 date, e.g. 2026-11-20',
  time: 'an ISO 8601 time, e.g. 10:15:00',
  duration: 'an ISO 8601 duration, e.g. PT15M',
};

/** The value at `path` in `value`; `found` is false when the path runs through a non-object. */
function valueAt(value: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let current: unknown = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return { found: false, value: undefined };
    current = Object.hasOwn(current, key) ? (current as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return { found: true, value: current };
}

/** The most an operator's --reason may say: it rides in a gate's answer into the workflow's state. */
export const OPERATOR_REASON_MAX = 500;

/** An operator's reason, checked before anything is read or written. */
export function operatorReason(reason: string | undefined): string | undefined {
  if (reason !== undefined && reason.length > OPERATOR_REASON_MAX) {
    throw new InvalidInputError(
      'reason',
      `is ${reason.length} characters; at most ${OPERATOR_REASON_MAX} (the journal keeps it; link to anything longer)`,
    );
  }
  return reason || undefined;
}
