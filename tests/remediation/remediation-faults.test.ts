// The same remediation scenarios behind the fault proxy with RELIABILITY_FAULTS: 20% of calls
// refused (throttled or a 5xx, never applied). Every scenario asserts exact end states, so
// passing here means the same end states as the clean run. (Ambiguous faults, applied calls
// whose answer is lost, do not run here yet: see the README's Testing section.)
import { describe, it } from 'vitest';
import { expectFaultsInjected, RELIABILITY_FAULTS } from '../support/emulator.ts';
import { SCENARIOS } from './scenarios.ts';
import { useRemediationWorld } from './world.ts';

describe('alarm-triggered remediation with 20% throttling, 5% 5xx and latency', () => {
  const { world, proxy } = useRemediationWorld({ faults: RELIABILITY_FAULTS });
  for (const [name, scenario] of Object.entries(SCENARIOS)) it(name, () => scenario(world));
  it('really injected faults', () => expectFaultsInjected(proxy.stats(), { ambiguous: false }));
});
