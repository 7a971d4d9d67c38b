// The suite starts its longest files first, by the durations committed from the last full run,
// so a fresh clone (CI, with no vitest cache) does not leave a long file to run alone at the end.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TestSpecification, Vitest } from 'vitest/node';
import { REPO_ROOT } from '../../local/python-env.ts';
import { recordedDurations } from '../support/file-durations.ts';
import { LongestFirstSequencer } from '../support/file-order.ts';

const spec = (path: string) =>
  ({ moduleId: join(REPO_ROOT, path), project: {} }) as unknown as TestSpecification;
const noCache = { getFileTestResults: () => undefined, getFileStats: () => undefined };

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return testFiles(path);
    return path.endsWith('.test.ts') ? [relative(REPO_ROOT, path)] : [];
  });
}

describe('the order test files start in', () => {
  it('is longest first by the recorded durations, files with no record ahead of them', async () => {
    const durations = recordedDurations();
    const recorded = Object.keys(durations);
    expect(recorded.length).toBeGreaterThan(50);
    const sequencer = new LongestFirstSequencer({
      config: { root: REPO_ROOT },
      cache: noCache,
    } as unknown as Vitest);
    const files = [...recorded, 'tests/unit/not-recorded-yet.test.ts'].map(spec);
    const order = (await sequencer.sort(files)).map((f) => relative(REPO_ROOT, f.moduleId));
    expect(order[0]).toBe('tests/unit/not-recorded-yet.test.ts');
    const seconds = order.slice(1).map((f) => durations[f] ?? 0);
    expect(seconds).toEqual([...seconds].sort((a, b) => b - a));
  });

  it('has a record for nearly every test file (the synth bench writes them after a full run)', () => {
    const files = testFiles(join(REPO_ROOT, 'tests'));
    const missing = files.filter((f) => recordedDurations()[f] === undefined);
    // New files start first until the next bench records them; a stale list is the bench's to fix.
    expect(missing.length).toBeLessThanOrEqual(5);
  });
});
