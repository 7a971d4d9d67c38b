import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { UNIT_SUITE_VAR } from './local/emulator.ts';
import { LongestFirstSequencer } from './tests/support/file-order.ts';
import { UNIT_TEST_FILES } from './tests/support/unit-files.ts';

/** The files of `npm run test:unit` (tests/support/unit-files.ts), also run by `npm test`. */
export const UNIT_PROJECT = {
  extends: true,
  test: {
    name: 'unit',
    include: UNIT_TEST_FILES,
    // These files share their workers' module cache: each imports aws-cdk-lib, the schemas
    // and the rules once per worker instead of once per file (57 s -> 32 s for the 42 files).
    // They hold no state between files that another file reads, and start no emulator.
    isolate: false,
    // A file here that starts an emulator fails, naming the rule (local/emulator.ts).
    env: { [UNIT_SUITE_VAR]: '1' },
  },
} satisfies TestProjectInlineConfiguration;

export default defineConfig({
  test: {
    // Emulator-backed tests start a moto server per file and ride out injected faults.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Emulator-backed files spend much of their time waiting (on their moto server, on fault
    // windows and retries), so four run at once even on two cores (the default would be one):
    // 417 s against 463 s with three and 9.9 min with two. The extra load makes more calls
    // ambiguous (answers later than the SDK's timeout); the fault suites must ride that out, and
    // what they met at three was a defect each time, now fixed.
    maxWorkers: 4,
    // Longest files first, by the durations of the last full run (tests/support/file-order.ts).
    sequence: { sequencer: LongestFirstSequencer },
    // Function logs (JSON lines) are shown for failing tests only.
    silent: 'passed-only',
    // Functions log JSON straight to stdout; tests that read logs set their own level.
    env: { OPS_LOG_LEVEL: process.env.OPS_LOG_LEVEL ?? 'SILENT' },
    projects: [
      UNIT_PROJECT,
      {
        extends: true,
        test: {
          name: 'rig',
          include: ['tests/**/*.test.ts'],
          exclude: UNIT_TEST_FILES,
          globalSetup: ['tests/support/global-setup.ts'],
        },
      },
    ],
  },
});
