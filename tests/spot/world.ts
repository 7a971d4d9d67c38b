// One spot world per test file: a private emulator behind a counting fault proxy, the control
// plane deployed from the synthesized template, a seeded cluster, and the queue's event source.
import { beforeAll, beforeEach } from 'vitest';
import type { ManagedCluster } from '../../functions/shared/managed-clusters.ts';
import { DEFAULT_MANAGED_CLUSTERS } from '../../infra/app.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { spotHarness } from '../../local/spot-harness.ts';
import { answersMayBeLost, type FaultProxyHandle, useEmulator, useFaultProxy } from '../support/emulator.ts';
import { allAlerts, type SpotWorld } from './scenarios.ts';

export interface SpotWorldOptions {
  instances: number;
  spotFraction: number;
  throttleRate?: number;
  /** Faults beyond throttling (5xx, latency), set after setup like the throttle rate. */
  faults?: Partial<FaultSettings>;
  /**
   * More managed clusters beside the template's `web`, each seeded with `instances` spot
   * instances and its own rebalance mode, as an operator would add them to the config.
   */
  extraClusters?: { cluster: ManagedCluster; instances: number }[];
}

export function useSpotWorld(opts: SpotWorldOptions): { world: SpotWorld; proxy: FaultProxyHandle } {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0, seed: 20 });
  const world = {} as SpotWorld;
  beforeAll(async () => {
    const extra = opts.extraClusters ?? [];
    // The extra clusters are in the control plane's config, as an operator would add them: the
    // functions' MANAGED_CLUSTERS and their grants (drain, scale the groups) both come with them.
    world.stack = await deployControlPlane(
      'local',
      extra.length > 0
        ? { managedClusters: [...DEFAULT_MANAGED_CLUSTERS, ...extra.map((e) => e.cluster)] }
        : {},
    );
    world.seed = await seed(world.stack, { instances: opts.instances, spotFraction: opts.spotFraction });
    const clusters: Record<string, Seed> = { [world.seed.cluster]: world.seed };
    world.clusters = clusters;
    for (const { cluster, instances } of extra) {
      clusters[cluster.name] = await seed(world.stack, {
        instances,
        spotFraction: 1,
        cluster,
        suffix: `-${cluster.name}`,
      });
    }
    world.harness = await spotHarness(world.stack);
    // Calls the code made (an SDK retry of one call counts once), that reached the emulator.
    world.calls = (op) => proxy.stats().appliedCallsByOperation?.[op] ?? 0;
    world.answersMayBeLost = answersMayBeLost(opts.faults);
    world.faulted = Boolean(opts.throttleRate || opts.faults);
    // Faults start after setup: the scenarios are under test, not the seeding.
    if (opts.throttleRate) proxy.setFaults({ throttleRate: opts.throttleRate });
    if (opts.faults) proxy.setFaults(opts.faults);
    proxy.resetStats();
  });
  // A failed scenario leaves its alerts unread: take them then, so that the next scenario's count
  // is its own and one failure is reported once, not again by every scenario after it.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(async () => {
      await allAlerts(world);
    });
  });
  return { world, proxy };
}
