// The four DORA figures from the action journal, with no I/O:
//   - deployment frequency: rollouts that completed (green finalized) in the window;
//   - lead time for changes: from the image's push time when the rollout was given one, else from
//     the rollout's start, to green taking all production traffic (promotion);
//   - change failure rate: rollouts that ended rolled back (analysis, an alarm, an abort, an
//     operator's rollback) or frozen, over all rollouts that ended;
//   - time to restore: from an alarm going to ALARM to its OK, for the episodes where a remediation
//     acted (a runbook changed something: scaled out, replaced tasks, drained, rolled back).
// A rollout or an episode belongs to the window it ended in.

import type { JournalRecord } from '../../functions/shared/journal.ts';
import { rolloutIdOfActor } from '../../functions/shared/rollouts/actors.ts';
import { median } from '../../functions/shared/rollouts/analysis/mann-whitney.ts';

export interface RolloutOutcome {
  service: string;
  execution: string;
  startedAt: number;
  /** When green took all production traffic (a rollout rolled back in its window was promoted too). */
  promotedAt?: number;
  endedAt: number;
  outcome: 'succeeded' | 'failed';
  /** Why a failed rollout ended: analysis, abort, alarm, operator-rollback, freeze, … */
  cause?: string;
  /** The image's push time, when the rollout was given one. */
  imagePushedAt?: number;
  /** Where this rollout's journal records start (the `rollout-started` record's sort key). */
  firstRecordAt: string;
}

export interface RestoreEpisode {
  service: string;
  alarm: string;
  runbook?: string;
  alarmAt: number;
  okAt: number;
  execution: string;
  firstRecordAt: string;
}

export interface DoraFigures {
  rollouts: number;
  deployments: number;
  failures: number;
  /** Deployments a day over the window. */
  deploymentsPerDay: number;
  leadTimeMedianMs?: number;
  /** How many lead times counted from an image push time (the others from the rollout's start). */
  leadTimesFromPush: number;
  changeFailureRate?: number;
  restores: number;
  timeToRestoreMedianMs?: number;
}

export interface Window {
  from: number;
  to: number;
}

const SERVICE = /^service\/(.+)$/;
const ROLLOUT_ENDS: Record<string, RolloutOutcome['outcome']> = {
  'rollout-complete': 'succeeded',
  'rollout-rolled-back': 'failed',
  'rollout-frozen': 'failed',
};

const atMs = (record: Pick<JournalRecord, 'at'>) => Date.parse(record.at.split('#')[0] ?? '');
const serviceOf = (record: Pick<JournalRecord, 'resource'>) => SERVICE.exec(record.resource)?.[1];

/** Every rollout that started and ended in `records`, one per execution. */
export function rolloutOutcomes(records: readonly JournalRecord[]): RolloutOutcome[] {
  const started = new Map<string, JournalRecord>();
  const promoted = new Map<string, number>();
  const outcomes: RolloutOutcome[] = [];
  for (const record of sortedByTime(records)) {
    if (record.action === 'rollout-started' && record.outcome === 'changed') {
      started.set(record.actor, record);
      continue;
    }
    if (record.action === 'promote' && record.outcome === 'changed') {
      promoted.set(record.actor, atMs(record));
      continue;
    }
    const outcome = ROLLOUT_ENDS[record.action];
    const start = outcome ? started.get(record.actor) : undefined;
    const service = start && serviceOf(start);
    if (!outcome || !start || !service) continue;
    started.delete(record.actor);
    const stop = record.details?.stop as { cause?: string } | undefined;
    const pushed = Date.parse(String(start.details?.imagePushedAt ?? ''));
    outcomes.push({
      service,
      execution: rolloutIdOfActor(record.actor) ?? record.actor,
      startedAt: atMs(start),
      ...(promoted.has(record.actor) ? { promotedAt: promoted.get(record.actor) } : {}),
      endedAt: atMs(record),
      outcome,
      ...(outcome === 'failed'
        ? { cause: record.action === 'rollout-frozen' ? 'freeze' : (stop?.cause ?? 'rollback') }
        : {}),
      ...(Number.isNaN(pushed) ? {} : { imagePushedAt: pushed }),
      firstRecordAt: start.at,
    });
  }
  return outcomes;
}

/**
 * Alarm episodes a remediation acted on and that ended in OK: the ALARM time the remediation
 * started from, the OK time the first later `remediation-resolved` of the same alarm carries.
 */
export function restoreEpisodes(records: readonly JournalRecord[]): RestoreEpisode[] {
  const sorted = sortedByTime(records);
  const acted = new Set(
    sorted.filter((r) => r.outcome === 'changed' && !r.action.startsWith('rollout-')).map((r) => r.actor),
  );
  const open = new Map<string, { record: JournalRecord; alarmAt: number }>();
  const episodes: RestoreEpisode[] = [];
  for (const record of sorted) {
    const alarm = record.details?.alarm;
    const state = record.details?.alarmState as { value?: string; timestamp?: string } | undefined;
    if (typeof alarm !== 'string' || !state?.timestamp) continue;
    const stateAt = Date.parse(state.timestamp);
    if (record.action === 'start-remediation' && state.value === 'ALARM' && acted.has(record.actor)) {
      if (!open.has(alarm)) open.set(alarm, { record, alarmAt: stateAt });
      continue;
    }
    const episode = open.get(alarm);
    if (record.action !== 'remediation-resolved' || state.value !== 'OK' || !episode) continue;
    if (Number.isNaN(stateAt) || stateAt < episode.alarmAt) continue;
    open.delete(alarm);
    const runbook = episode.record.details?.runbook;
    episodes.push({
      service: serviceOf(episode.record) ?? '',
      alarm,
      ...(typeof runbook === 'string' ? { runbook } : {}),
      alarmAt: episode.alarmAt,
      okAt: stateAt,
      execution: episode.record.actor.replace(/^.*:/, ''),
      firstRecordAt: episode.record.at,
    });
  }
  return episodes;
}

/** The figures for the rollouts and episodes that ended inside `window`. */
export function doraFigures(
  rollouts: readonly RolloutOutcome[],
  restores: readonly RestoreEpisode[],
  window: Window,
): DoraFigures {
  const inWindow = rollouts.filter((r) => r.endedAt >= window.from && r.endedAt < window.to);
  const deployed = inWindow.filter((r) => r.outcome === 'succeeded');
  const failures = inWindow.length - deployed.length;
  const restored = restores.filter((e) => e.okAt >= window.from && e.okAt < window.to);
  const days = Math.max(window.to - window.from, 1) / 86_400_000;
  const leadTime = medianOf(
    deployed.map((r) => (r.promotedAt ?? r.endedAt) - (r.imagePushedAt ?? r.startedAt)),
  );
  const restore = medianOf(restored.map((e) => e.okAt - e.alarmAt));
  return {
    rollouts: inWindow.length,
    deployments: deployed.length,
    failures,
    deploymentsPerDay: Math.round((deployed.length / days) * 1000) / 1000,
    ...(leadTime === undefined ? {} : { leadTimeMedianMs: leadTime }),
    leadTimesFromPush: deployed.filter((r) => r.imagePushedAt !== undefined).length,
    ...(inWindow.length > 0 ? { changeFailureRate: failures / inWindow.length } : {}),
    restores: restored.length,
    ...(restore === undefined ? {} : { timeToRestoreMedianMs: restore }),
  };
}

/** The window cut into weeks (the last one may be shorter), oldest first, each with its figures. */
export function weeklyTrend(
  rollouts: readonly RolloutOutcome[],
  restores: readonly RestoreEpisode[],
  window: Window,
): (Window & DoraFigures)[] {
  const WEEK = 7 * 86_400_000;
  const weeks: (Window & DoraFigures)[] = [];
  for (let from = window.from; from < window.to; from += WEEK) {
    const week = { from, to: Math.min(from + WEEK, window.to) };
    weeks.push({ ...week, ...doraFigures(rollouts, restores, week) });
  }
  return weeks;
}

const medianOf = (values: readonly number[]): number | undefined => median(values) ?? undefined;

function sortedByTime(records: readonly JournalRecord[]): JournalRecord[] {
  return [...records].sort((a, b) => a.at.localeCompare(b.at));
}
