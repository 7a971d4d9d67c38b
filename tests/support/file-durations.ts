// Where the last full run's test-file durations are kept (written by `npm run bench -- synth`),
// and how to read them: they order the next run (tests/support/file-order.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FILE_DURATIONS = join(import.meta.dirname, 'file-durations.json');

/** Seconds per test file (repo-relative path) of the last full run, if recorded. */
export function recordedDurations(): Record<string, number> {
  return existsSync(FILE_DURATIONS)
    ? (JSON.parse(readFileSync(FILE_DURATIONS, 'utf8')) as Record<string, number>)
    : {};
}
