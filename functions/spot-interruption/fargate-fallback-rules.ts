// When a Fargate service moves off Fargate Spot and when it comes back, with no I/O
// (fargate-fallback.ts carries it out). A move is a new deployment with FARGATE alone; it has
// hysteresis (back only after a quiet period at least as long as the window that moved it) and a
// bound: the move past `maxShiftsPerDay` in 24 hours stays on FARGATE until someone moves it back.

export interface StrategyItem {
  capacityProvider: string;
  base?: number;
  weight?: number;
}

export interface FallbackSettings {
  reclaims: number;
  windowMinutes: number;
  quietMinutes: number;
  maxShiftsPerDay: number;
}

/** What the control plane knows of a service's moves (one record per service). */
export interface FallbackRecord {
  state: 'fallback' | 'spot';
  /** When the current (or last) move to FARGATE happened. */
  since?: string;
  /** The strategy before the move: what the move back restores. */
  before?: StrategyItem[];
  /** Moves to FARGATE, epoch ms, the last 24 hours' worth. */
  shifts: number[];
  /** The last reclaim seen while on FARGATE (tasks still on Fargate Spot during the deployment). */
  lastReclaimMs?: number;
  /** The move past the daily bound: no follow-up moves it back. */
  pinned?: boolean;
  /** The move was journaled and announced (a retry after a failure there announces it). */
  announcedAt?: string;
}

const DAY_MS = 24 * 3600_000;

export const usesFargateSpot = (strategy: readonly StrategyItem[]): boolean =>
  strategy.some((s) => s.capacityProvider === 'FARGATE_SPOT' && (s.weight ?? 0) > 0);

/** FARGATE alone, keeping the strategy's base: the same tasks, none on Fargate Spot. */
export function fallbackStrategy(current: readonly StrategyItem[]): StrategyItem[] {
  const base = Math.max(0, ...current.map((s) => s.base ?? 0));
  return [{ capacityProvider: 'FARGATE', base, weight: 1 }];
}

export type ShiftDecision =
  | { action: 'shift'; pin: boolean; why: string }
  | { action: 'extend'; why: string }
  | { action: 'none'; why: string };

/**
 * `strategy` is the service's as ECS has it now: a record that says the service is on FARGATE
 * while its strategy puts tasks on FARGATE_SPOT again (a deployment, a circuit breaker's rollback)
 * is a move undone, decided afresh.
 */
export function decideShift(
  record: FallbackRecord | undefined,
  reclaimed: number,
  strategy: readonly StrategyItem[],
  settings: FallbackSettings,
  now: number,
): ShiftDecision {
  const onSpot = usesFargateSpot(strategy);
  if (record?.state === 'fallback' && !onSpot)
    return { action: 'extend', why: 'already on FARGATE: the quiet period starts again from this reclaim' };
  if (reclaimed <= settings.reclaims)
    return {
      action: 'none',
      why: `${reclaimed} reclaim(s) in ${settings.windowMinutes} min, at most ${settings.reclaims} allowed`,
    };
  if (!onSpot) return { action: 'none', why: 'its strategy puts nothing on FARGATE_SPOT' };
  const recent = (record?.shifts ?? []).filter((t) => t > now - DAY_MS);
  const reason = `Fargate Spot reclaimed ${reclaimed} of its tasks in ${settings.windowMinutes} min (more than ${settings.reclaims})`;
  if (recent.length >= settings.maxShiftsPerDay)
    return {
      action: 'shift',
      pin: true,
      why: `${reason}, and it moved to FARGATE ${recent.length} time(s) in 24 hours already (maxShiftsPerDay ${settings.maxShiftsPerDay}): moved to FARGATE to stay until someone moves it back`,
    };
  return {
    action: 'shift',
    pin: false,
    why: `${reason}: moved to FARGATE until ${settings.quietMinutes} min pass without a reclaim`,
  };
}

/** The strategy to go back to: the one before the move, as long as the service still has the move's. */
export function strategyToRestore(
  record: FallbackRecord,
  current: readonly StrategyItem[],
): StrategyItem[] | undefined {
  const target = fallbackStrategy(record.before ?? []);
  const same = (a: readonly StrategyItem[], b: readonly StrategyItem[]) =>
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i];
      return (
        y !== undefined &&
        x.capacityProvider === y.capacityProvider &&
        (x.base ?? 0) === (y.base ?? 0) &&
        (x.weight ?? 0) === (y.weight ?? 0)
      );
    });
  if (!same(current, target)) return undefined;
  // ECS answers base 0 on every item; only one item may carry a base: drop the zeros.
  return (record.before ?? []).map((item) =>
    item.base ? item : { capacityProvider: item.capacityProvider, weight: item.weight ?? 0 },
  );
}

/** Seconds until the service may move back (0: now). */
export function secondsUntilQuiet(record: FallbackRecord, settings: FallbackSettings, now: number): number {
  const last = Math.max(record.lastReclaimMs ?? 0, record.since ? Date.parse(record.since) : 0);
  return Math.max(0, Math.ceil((last + settings.quietMinutes * 60_000 - now) / 1000));
}

/** The moves of the last 24 hours, with this one. */
export const shiftsWith = (record: FallbackRecord | undefined, now: number): number[] => [
  ...(record?.shifts ?? []).filter((t) => t > now - DAY_MS),
  now,
];
