// `npm run test:unit`: the inner loop. Pure modules, synthesized templates (with cdk-nag) and
// schemas, with no emulator, no external scanner and no CLI process; well under a minute.
// `npm test` runs these files and every other one.
import { defineConfig } from 'vitest/config';
import { UNIT_SUITE_VAR } from './local/emulator.ts';
import base from './vitest.config.ts';

export const UNIT_TEST_FILES = [
  'tests/unit/**/*.test.ts',
  'tests/bench/**/*.test.ts',
  'tests/infra/app-config.test.ts',
  'tests/infra/app-serving.test.ts',
  'tests/infra/app-services.test.ts',
  'tests/infra/app-stacks.test.ts',
  'tests/infra/control-plane.test.ts',
  'tests/infra/control-plane-only.test.ts',
  'tests/infra/iam.test.ts',
  'tests/infra/iam-grant-reasons.test.ts',
  'tests/remediation/guards.test.ts',
  'tests/remediation/infra.test.ts',
  'tests/remediation/registry.test.ts',
  'tests/reliability/bad-input.test.ts',
  'tests/reliability/console-errors.test.ts',
  'tests/reliability/input-schemas.test.ts',
  'tests/reliability/redact.test.ts',
  'tests/rollouts/analysis.test.ts',
  'tests/rollouts/defaults.test.ts',
  'tests/rollouts/definition.test.ts',
  'tests/scaling/guardrails.test.ts',
  'tests/scaling/infra.test.ts',
  'tests/workflows/service-rules.test.ts',
];

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Replaces the full suite's list (merging would add to it).
    include: UNIT_TEST_FILES,
    // The unit files need neither the Python tools' install check nor the IAM ledger of a full run.
    globalSetup: [],
    // A file here that starts an emulator fails, naming the rule (local/emulator.ts).
    env: { ...base.test?.env, [UNIT_SUITE_VAR]: '1' },
  },
});
