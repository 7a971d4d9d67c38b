// One spot world per test file: a private emulator behind a counting fault proxy, the control
// plane deployed from the synthesized template, a seeded cluster, and the queue's event source.
import { beforeAll } from 'vitest';
import type { ManagedCluster } from '../../functions/spot-interruption/config.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { spotHarness } from '../../local/spot-harness.ts';
import { answersMayBeLost, type FaultProxyHandle, useEmulator, useFaultProxy } from '../support/emulator.ts';
import type { SpotWorld } from './scenarios.ts';

export interface SpotWorldOptions {
  instances: number;
  spotFraction: number;
  throttleRate?: number;
  /** Faults beyond throttling (5xx, latency), set after setup like the throttle rate. */
  faults?: Partial<FaultSettings>;
  /**
   * More managed clusters beside the template's `web`, each seeded with `instances` spot
   * instances and its own rebalance mode, as an operator would add them to MANAGED_CLUSTERS.
   */
  extraClusters?: { cluster: ManagedCluster; instances: number }[];
}

/** The functions that read MANAGED_CLUSTERS at their first invocation. */
const CLUSTER_READERS = ['spot-interruption', 'spot-surge-step'];

export function useSpotWorld(opts: SpotWorldOptions): { world: SpotWorld; proxy: FaultProxyHandle } {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0, seed: 20 });
  const world = {} as SpotWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: opts.instances, spotFraction: opts.spotFraction });
    const clusters: Record<string, Seed> = { [world.seed.cluster]: world.seed };
    world.clusters = clusters;
    const extra = opts.extraClusters ?? [];
    for (const { cluster, instances } of extra) {
      clusters[cluster.name] = await seed(world.stack, {
        instances,
        spotFraction: 1,
        cluster,
        suffix: `-${cluster.name}`,
      });
    }
    if (extra.length > 0) {
      // Editing the functions' environment, as an operator would; the handlers parse it on their
      // first invocation, which is still to come.
      for (const name of CLUSTER_READERS) {
        const env = world.stack.functions[name]?.environment;
        if (!env) throw new Error(`the stack has no ${name} function`);
        const managed = JSON.parse(env.MANAGED_CLUSTERS ?? '[]') as ManagedCluster[];
        env.MANAGED_CLUSTERS = JSON.stringify([...managed, ...extra.map((e) => e.cluster)]);
      }
    }
    world.harness = await spotHarness(world.stack);
    // Calls the code made (an SDK retry of one call counts once), that reached the emulator.
    world.calls = (op) => proxy.stats().appliedCallsByOperation?.[op] ?? 0;
    world.answersMayBeLost = answersMayBeLost(opts.faults);
    // Faults start after setup: the scenarios are under test, not the seeding.
    if (opts.throttleRate) proxy.setFaults({ throttleRate: opts.throttleRate });
    if (opts.faults) proxy.setFaults(opts.faults);
    proxy.resetStats();
  });
  return { world, proxy };
}
