import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Emulator-backed tests start a moto server per file and ride out injected faults.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Function logs (JSON lines) are shown for failing tests only.
    silent: 'passed-only',
    // Functions log JSON straight to stdout; tests that read logs set their own level.
    env: { OPS_LOG_LEVEL: 'SILENT' },
  },
});
