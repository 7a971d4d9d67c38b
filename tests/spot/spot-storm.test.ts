// The acceptance storm: 100 interruption warnings in a 500-instance cluster; and a storm larger
// than one SQS batch.
import { describe, it } from 'vitest';
import { LOCAL_ALERT_GROUP_WINDOW_SECONDS, setAlertGroupWindow } from '../../local/control-plane.ts';
import * as scenario from './scenarios.ts';
import { useSpotWorld } from './world.ts';

describe('a 100-instance storm in a 500-instance cluster', () => {
  // 350 spot instances: two storms of 100 and one of 150, each on instances not touched before.
  const { world, proxy } = useSpotWorld({ instances: 500, spotFraction: 0.7 });

  it('drains all 100 with one drain call per ten instances of each batch and publishes one grouped alert', () =>
    scenario.stormIsBatchedIntoOneAlert(world, 100));

  it('does the same with 20% of calls throttled', async () => {
    proxy.setFaults({ throttleRate: 0.2 });
    // Throttled batches end seconds apart (SDK backoff): a group window as long as the storm
    // lasts, as the deployed 30 s window is.
    setAlertGroupWindow(world.stack, 5);
    try {
      await scenario.stormIsBatchedIntoOneAlert(world, 100);
    } finally {
      setAlertGroupWindow(world.stack, LOCAL_ALERT_GROUP_WINDOW_SECONDS);
    }
  });

  it('publishes one grouped message for a storm of 150 handled in concurrent batches', async () => {
    proxy.setFaults({ throttleRate: 0 });
    await scenario.stormAcrossBatchesIsOneMessage(world, 150);
  });
});
