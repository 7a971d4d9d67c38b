// What every `ops` command shares: the usage error (exit 2), the output writer (human text, or
// JSON with --json) and reading a JSON argument from a file or stdin.
import { readFileSync } from 'node:fs';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Prints `human`, or `data` as JSON with --json. */
export type Out = (human: string, data: unknown) => void;

export function readJsonArg(flag: string, value: string | undefined): unknown {
  if (!value) throw new UsageError(`--${flag} <file|-> is required`);
  const text = value === '-' ? readFileSync(0, 'utf8') : readFileSync(value, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${flag} ${value} is not JSON: ${(error as Error).message}`);
  }
}

/** parseArgs reads `--by -2` as a missing value followed by an option: glue such values on. */
export function joinNegativeValues(argv: readonly string[], options: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (options.includes(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
