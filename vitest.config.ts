import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Emulator-backed tests start a moto server per file and ride out injected faults.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Emulator-backed files spend part of their time waiting on their own moto server, so three
    // run at once even on two cores (the default would be one): on this machine `npm test` takes
    // about 7.5 minutes with three, 9 with two (`npm run bench -- synth` times it).
    maxWorkers: 3,
    // Function logs (JSON lines) are shown for failing tests only.
    silent: 'passed-only',
    // Functions log JSON straight to stdout; tests that read logs set their own level.
    env: { OPS_LOG_LEVEL: 'SILENT' },
  },
});
