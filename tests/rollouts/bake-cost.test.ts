// Bake time costs no state transitions: in a file of its own, because its four rollouts bake for
// hours of virtual time and moto scans every datapoint of a file's world per metrics query.
import { describe, it } from 'vitest';
import * as scenario from './scenarios.ts';
import { useRolloutWorld } from './world.ts';

describe('blue/green rollout cost', () => {
  const { world } = useRolloutWorld();

  // Four rollouts with hours of virtual bake: a hang guard well above its ~35 s on an idle machine.
  it('takes as many state transitions for a 60-minute bake as for a 1-minute one', { timeout: 360_000 }, () =>
    scenario.transitionsDoNotGrowWithBakeTime(world),
  );
});
