// The same scenarios behind the fault proxy with AMBIGUOUS_FAULTS: 20% of calls refused
// (throttled or a 5xx, never applied) and 5% ambiguous (applied, then the answer lost or held
// past the SDK's timeout). Every scenario asserts exact end states, so passing here means the
// same end states as the clean run: no second action, no lost answer, no refused retry.
import { describe, it } from 'vitest';
import { AMBIGUOUS_FAULTS, expectFaultsInjected } from '../support/emulator.ts';
import { SCENARIOS } from './scenarios.ts';
import { useRemediationWorld } from './world.ts';

describe('alarm-triggered remediation with 20% refused and 5% ambiguous faults', () => {
  const { world, proxy } = useRemediationWorld({ faults: AMBIGUOUS_FAULTS });
  for (const [name, scenario] of Object.entries(SCENARIOS)) it(name, () => scenario(world));
  it('really injected faults', () => expectFaultsInjected(proxy.stats()));
});
