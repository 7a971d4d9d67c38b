// Parse at the edge: every schema failure becomes an InvalidInputError that names
// the first bad field by its path (e.g. `detail.instance-id`), what was expected and what came.
import type { z } from 'zod';
import { InvalidInputError } from './errors.ts';

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [root, ...(issue?.path ?? []).map(String)].filter((p) => p !== '').join('.');
  const received = issue ? valueAt(value, issue.path) : undefined;
  const problem =
    issue?.code === 'invalid_type' && received === undefined
      ? `is required (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})`
      : (issue?.message ?? 'invalid');
  throw new InvalidInputError(path || '(root)', problem, received);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
