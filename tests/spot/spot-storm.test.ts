// The acceptance storm: 100 interruption warnings in a 500-instance cluster; and a storm larger
// than one SQS batch.
import { describe, expect, it } from 'vitest';
import { LOCAL_ALERT_GROUP_WINDOW_SECONDS, setAlertGroupWindow } from '../../local/control-plane.ts';
import { AMBIGUOUS_FAULTS } from '../support/emulator.ts';
import * as batches from './batch-scenarios.ts';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('a 100-instance storm in a 500-instance cluster', () => {
  // 350 spot instances: two storms of 100 and one of 150, each on instances not touched before.
  const { world, proxy } = useSpotWorld({ instances: 500, spotFraction: 0.7 });

  it('drains all 100 with one drain call per ten instances of each batch and publishes one grouped alert', () =>
    scenario.stormIsBatchedIntoOneAlert(world, 100));

  it('does the same with 20% of calls refused and 5% ambiguous (applied, the answer lost or late)', async () => {
    proxy.setFaults(AMBIGUOUS_FAULTS);
    proxy.resetStats();
    // Throttled batches end seconds apart (SDK backoff): a group window as long as the storm
    // lasts, as the deployed 30 s window is.
    setAlertGroupWindow(world.stack, 5);
    try {
      await scenario.stormIsBatchedIntoOneAlert(world, 100);
      // About 130 calls: refused ones and ambiguous ones (mostly lost answers at this size) were
      // both injected, so the end state above held through them.
      const stats = proxy.stats();
      expect(stats.throttled + stats.serverErrors).toBeGreaterThan(0.1 * stats.total);
      expect(stats.lostResponses + stats.slowResponses).toBeGreaterThan(0);
    } finally {
      setAlertGroupWindow(world.stack, LOCAL_ALERT_GROUP_WINDOW_SECONDS);
    }
  });

  it('publishes one grouped message for a storm of 150 handled in concurrent batches', async () => {
    proxy.setFaults({ throttleRate: 0, serverErrorRate: 0, lostResponseRate: 0, slowResponseRate: 0 });
    await batches.stormAcrossBatchesIsOneMessage(world, 150);
  });
});
