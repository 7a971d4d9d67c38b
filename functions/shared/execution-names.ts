// Step Functions execution names: 1-80 characters, with no whitespace, brackets < > { } [ ],
// wildcards ? *, special characters " # % \ ^ | ~ ` $ & , ; : / or control characters.
// Names built here keep to letters, digits, - and _ (the set CloudWatch metrics accept), and
// always keep their unique part whole, however long the readable part (an alarm, service or
// cluster name may have 255 characters).
import { createHash, randomBytes } from 'node:crypto';

export const MAX_EXECUTION_NAME_LENGTH = 80;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

/** Why Step Functions would refuse `name` as an execution name, or undefined when it is valid. */
export function executionNameProblem(name: string): string | undefined {
  const length = [...name].length;
  if (length < 1) return 'an execution name needs at least 1 character';
  if (length > MAX_EXECUTION_NAME_LENGTH)
    return `an execution name has at most ${MAX_EXECUTION_NAME_LENGTH} characters; this one has ${length}`;
  const bad = FORBIDDEN.exec(name);
  if (bad) return `an execution name may not contain ${JSON.stringify(bad[0])}`;
  return undefined;
}

const readable = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '-');

/**
 * `prefix-readable-unique`, the readable part cut to fit in 80 characters. `unique` (a hash or
 * a timestamp) is what makes the name distinct, so it is never cut.
 */
export function executionName(prefix: string, text: string, unique: string): string {
  const room = MAX_EXECUTION_NAME_LENGTH - prefix.length - unique.length - 2;
  if (room < 1) throw new Error(`execution name parts too long: ${prefix} … ${unique}`);
  return `${prefix}-${readable(text).slice(0, room)}-${unique}`;
}

/**
 * `prefix-subject-<UTC time>-<random>`, for an execution an operator starts: the subject (a
 * service or alarm name, up to 255 characters) is cut to fit, the time and the random part never.
 */
export function operatorExecutionName(prefix: string, subject: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15);
  return executionName(prefix, subject, `${stamp}-${randomBytes(2).toString('hex')}`);
}

/** A short, stable digest of `text`: hex, `length` characters. */
export function digest(text: string, length = 16): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * The name of a nested execution started by `parent`: `parent-suffix` while it fits, otherwise
 * the parent's name cut, a digest of the whole of it, then the suffix, so that it stays unique.
 */
export function childExecutionName(parent: string, suffix: string): string {
  const plain = `${parent}-${suffix}`;
  if (plain.length <= MAX_EXECUTION_NAME_LENGTH) return plain;
  const tail = `-${digest(parent)}-${suffix}`;
  return `${parent.slice(0, MAX_EXECUTION_NAME_LENGTH - tail.length)}${tail}`;
}
