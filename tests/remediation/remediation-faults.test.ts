// The same remediation scenarios with 20% of AWS calls throttled: same end states.
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from './scenarios.ts';
import { useRemediationWorld } from './world.ts';

describe('alarm-triggered remediation with 20% throttling', () => {
  const { world, proxy } = useRemediationWorld({ throttleRate: 0.2 });
  for (const [name, scenario] of Object.entries(SCENARIOS)) it(name, () => scenario(world));
  it('really injected faults', () => {
    expect(proxy.stats().throttled).toBeGreaterThan(20);
  });
});
