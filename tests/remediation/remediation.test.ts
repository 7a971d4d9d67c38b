// Issue 7 on a clean emulator: alarm-triggered remediation from the synthesized definition.
import { describe, it } from 'vitest';
import { SCENARIOS } from './scenarios.ts';
import { useRemediationWorld } from './world.ts';

describe('alarm-triggered remediation', () => {
  const { world } = useRemediationWorld();
  for (const [name, scenario] of Object.entries(SCENARIOS)) it(name, () => scenario(world));
});
