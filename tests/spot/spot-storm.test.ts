// The acceptance storm: 100 interruption warnings in a 500-instance cluster.
import { describe, it } from 'vitest';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('a 100-instance storm in a 500-instance cluster', () => {
  const { world, proxy } = useSpotWorld({ instances: 500, spotFraction: 0.5 });

  it('drains all 100 with ten drain calls and publishes one grouped alert', () =>
    scenario.stormIsBatchedIntoOneAlert(world, 100));

  it('does the same with 20% of calls throttled', async () => {
    proxy.setFaults({ throttleRate: 0.2 });
    await scenario.stormIsBatchedIntoOneAlert(world, 100);
  });
});
