import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Emulator-backed tests start a moto server per file and ride out injected faults.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Emulator-backed files spend part of their time waiting on their own moto server, so two run
    // at once even on two cores (the default would be one). Three were faster (7.5 min against 9)
    // but loaded the emulators enough that fault suites met more SDK timeouts than they inject.
    maxWorkers: 2,
    // Function logs (JSON lines) are shown for failing tests only.
    silent: 'passed-only',
    // Functions log JSON straight to stdout; tests that read logs set their own level.
    env: { OPS_LOG_LEVEL: 'SILENT' },
  },
});
