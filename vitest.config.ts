import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './tests/support/file-order.ts';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Emulator-backed tests start a moto server per file and ride out injected faults.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Emulator-backed files spend part of their time waiting on their own moto server, so three
    // run at once even on two cores (the default would be one): 8.5 min against 9.9 with two. The
    // extra load makes more calls ambiguous (answers later than the SDK's timeout); the fault
    // suites must ride that out, and what they met at three was a defect each time, now fixed.
    maxWorkers: 3,
    // Longest files first, by the durations of the last full run (tests/support/file-order.ts).
    sequence: { sequencer: LongestFirstSequencer },
    // Function logs (JSON lines) are shown for failing tests only.
    silent: 'passed-only',
    // Functions log JSON straight to stdout; tests that read logs set their own level.
    env: { OPS_LOG_LEVEL: 'SILENT' },
  },
});
