// Is a spot interruption storm on the service's cluster right now? The signal is the per-minute
// interruption count that spot-interruption keeps for its on-demand fallback (one item per
// cluster and minute in the operations table): one BatchGetItem of `windowMinutes` keys, the
// same whatever the size of the cluster, read only when a verdict is about to fail.
import type { SpotStorm } from '../../events/rollout-input.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { recentInterruptions } from '../shared/spot/capacity.ts';

export interface StormSignal {
  cluster: string;
  interruptions: number;
  windowMinutes: number;
  minInterruptions: number;
  storming: boolean;
}

export async function spotStormSignal(
  db: Db,
  table: string,
  clock: Clock,
  cluster: string,
  config: Pick<SpotStorm, 'minInterruptions' | 'windowMinutes'>,
): Promise<StormSignal> {
  const interruptions = await recentInterruptions(db, table, clock, cluster, config.windowMinutes);
  return {
    cluster,
    interruptions,
    windowMinutes: config.windowMinutes,
    minInterruptions: config.minInterruptions,
    storming: interruptions >= config.minInterruptions,
  };
}

export const describeStorm = (s: StormSignal): string =>
  `${s.interruptions} spot interruption(s) on cluster ${s.cluster} in the last ${s.windowMinutes} min (a storm from ${s.minInterruptions})`;
