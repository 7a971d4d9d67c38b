// `npm run test:unit`: the inner loop, the `unit` project of `npm test` alone (vitest.config.ts,
// tests/support/unit-files.ts). Well under a minute.
import { defineConfig } from 'vitest/config';
import base, { UNIT_PROJECT } from './vitest.config.ts';

export default defineConfig({ test: { ...base.test, projects: [UNIT_PROJECT] } });
