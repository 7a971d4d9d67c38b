// The order test files start in: longest first, so the last files to start are short ones and the
// workers finish together. vitest orders by the durations in its own cache, which a fresh clone
// (CI) does not have; it then falls back to file size, and a short file that runs a long shared
// suite (rollouts-faults.test.ts) would start last and run alone at the end. The durations of the
// last full run are committed instead (file-durations.json, written by `npm run bench -- synth`).
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { recordedDurations } from './file-durations.ts';

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const durations = recordedDurations();
    const root = this.ctx.config.root;
    const seconds = (file: TestSpecification) => durations[relative(root, file.moduleId)];
    // Files with no record yet (new ones) keep vitest's order, ahead of the recorded ones.
    const unknown = await super.sort(files.filter((f) => seconds(f) === undefined));
    const known = files
      .filter((f) => seconds(f) !== undefined)
      .sort((a, b) => (seconds(b) ?? 0) - (seconds(a) ?? 0));
    return [...unknown, ...known];
  }
}
