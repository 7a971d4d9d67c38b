// The same remediation scenarios with 20% of AWS calls throttled, 5% answered with a 5xx and every
// call delayed by up to 5 ms: same end states.
import { describe, expect, it } from 'vitest';
import { RELIABILITY_FAULTS } from '../support/emulator.ts';
import { SCENARIOS } from './scenarios.ts';
import { useRemediationWorld } from './world.ts';

describe('alarm-triggered remediation with 20% throttling, 5% 5xx and latency', () => {
  const { world, proxy } = useRemediationWorld({ faults: RELIABILITY_FAULTS });
  for (const [name, scenario] of Object.entries(SCENARIOS)) it(name, () => scenario(world));
  it('really injected faults', () => {
    expect(proxy.stats().throttled).toBeGreaterThan(20);
    expect(proxy.stats().serverErrors).toBeGreaterThan(5);
  });
});
