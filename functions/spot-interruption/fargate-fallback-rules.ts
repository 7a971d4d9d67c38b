// When a Fargate service moves off Fargate Spot and when it comes back, with no I/O
// (fargate-fallback.ts carries it out). A move is a new deployment with FARGATE alone; it is
// bounded (so many moves a day, then it stays on FARGATE until someone looks) and has
// hysteresis (back only after a quiet period at least as long as the window that moved it).

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
  /** When the bound was last announced, so it is said once a day. */
  boundNoticeMs?: number;
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
  | { action: 'shift'; why: string }
  | { action: 'extend'; why: string }
  | { action: 'bounded'; announce: boolean; why: string }
  | { action: 'none'; why: string };

export function decideShift(
  record: FallbackRecord | undefined,
  reclaimed: number,
  strategy: readonly StrategyItem[],
  settings: FallbackSettings,
  now: number,
): ShiftDecision {
  if (record?.state === 'fallback')
    return { action: 'extend', why: 'already on FARGATE: the quiet period starts again from this reclaim' };
  if (reclaimed <= settings.reclaims)
    return {
      action: 'none',
      why: `${reclaimed} reclaim(s) in ${settings.windowMinutes} min, at most ${settings.reclaims} allowed`,
    };
  if (!usesFargateSpot(strategy)) return { action: 'none', why: 'its strategy puts nothing on FARGATE_SPOT' };
  const recent = (record?.shifts ?? []).filter((t) => t > now - DAY_MS);
  if (recent.length >= settings.maxShiftsPerDay)
    return {
      action: 'bounded',
      announce: !(record?.boundNoticeMs !== undefined && record.boundNoticeMs > now - DAY_MS),
      why: `${reclaimed} reclaims in ${settings.windowMinutes} min, but it moved to FARGATE ${recent.length} time(s) in 24 hours already (maxShiftsPerDay ${settings.maxShiftsPerDay}): left on its strategy`,
    };
  return {
    action: 'shift',
    why: `Fargate Spot reclaimed ${reclaimed} of its tasks in ${settings.windowMinutes} min (more than ${settings.reclaims}): moved to FARGATE until ${settings.quietMinutes} min pass without a reclaim`,
  };
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
