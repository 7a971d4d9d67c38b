// What every `ops` command shares: the usage error (exit 2), the output writer (human text, or
// JSON with --json), reading a JSON argument from a file or stdin, and reading a duration.
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

export type DurationUnit = '' | 's' | 'm' | 'h' | 'd' | 'w';
const UNIT_MS: Record<DurationUnit, number> = {
  '': 1000,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * `90s`, `15m`, `1.5h`, `2d`, `8w` in milliseconds, when its unit is one of `units` (`''` allows a
 * bare number of seconds); undefined otherwise.
 */
export function durationMs(text: string | undefined, units: readonly DurationUnit[]): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/.exec(text?.trim() ?? '');
  const unit = match?.[2] as DurationUnit | undefined;
  if (!match || unit === undefined || !units.includes(unit)) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

/**
 * How long a local gate or rollback window waits for an answer from another shell: `--gate-wait`,
 * else OPS_GATE_WAIT, else 30 s.
 */
export function gateWaitMs(flag: string | undefined): number {
  const text = flag ?? (process.env.OPS_GATE_WAIT?.trim() || '30s');
  const ms = durationMs(text, ['', 's', 'm', 'h']);
  if (ms === undefined)
    throw new UsageError(`--gate-wait takes a duration such as 30s, 5m or 1h (got ${text})`);
  return ms;
}
