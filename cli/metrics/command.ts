// `ops metrics [--since 30d] [--service [CLUSTER/]SERVICE]`: the DORA figures from the journal,
// for the whole fleet and per service, locally or on AWS (--aws reads the stack's journal).
import { documentClient } from '../../functions/shared/dynamo.ts';
import { JOURNAL_RETENTION_MS, type JournalRecord } from '../../functions/shared/journal.ts';
import { CONTROL_PLANE_OUTPUTS } from '../../infra/shared/stack-outputs.ts';
import { humanDuration } from '../report/markup.ts';
import { controlPlaneOutputs, outputOf, type TargetFlags } from '../target.ts';
import { durationMs, type Out, UsageError } from '../usage.ts';
import {
  type DoraFigures,
  doraFigures,
  type RestoreEpisode,
  type RolloutOutcome,
  restoreEpisodes,
  rolloutOutcomes,
  type Window,
  weeklyTrend,
} from './dora.ts';
import { readJournalWindow } from './journal-window.ts';

export interface MetricsFlags extends TargetFlags {
  since?: string;
  service?: string;
}

/** A rollout's plan fits in 7 days: one that ended in the window started at most this long before. */
const LOOK_BACK_MS = 7 * 86_400_000;

export interface FleetHistory {
  window: Window;
  since: string;
  rollouts: RolloutOutcome[];
  restores: RestoreEpisode[];
  /** Every journal record read (the window and the look-back before it). */
  records: JournalRecord[];
  /** Whether a service (`cluster/service`) is one --service asked for (all without it). */
  includes(service: string): boolean;
}

/** The journal of the window (and of the week before, for what ended in it), as outcomes. */
export async function fleetHistory(flags: MetricsFlags, now = Date.now()): Promise<FleetHistory> {
  const since = flags.since ?? '30d';
  const span = durationMs(since, ['h', 'd', 'w']);
  // The journal keeps records 400 days: a longer window would only query empty days.
  if (span === undefined || span <= 0 || span > JOURNAL_RETENTION_MS)
    throw new UsageError(`--since takes 12h, 30d or 8w, at most 400d (got ${since})`);
  const table = outputOf(await controlPlaneOutputs(flags), CONTROL_PLANE_OUTPUTS.journalTable, 'the journal');
  const window = { from: now - span, to: now + 1 };
  const records = await readJournalWindow(documentClient(), table, window.from - LOOK_BACK_MS, now);
  const includes = serviceFilter(flags.service);
  return {
    window,
    since,
    rollouts: rolloutOutcomes(records).filter((r) => includes(r.service)),
    restores: restoreEpisodes(records).filter((e) => includes(e.service)),
    records,
    includes,
  };
}

/** The figures of one service (`cluster/service`) over the history's window. */
export function serviceFigures(history: FleetHistory, service: string): DoraFigures {
  return doraFigures(
    history.rollouts.filter((r) => r.service === service),
    history.restores.filter((e) => e.service === service),
    history.window,
  );
}

/** `api` matches web/api and shop/api; `web/api` only itself. */
function serviceFilter(service: string | undefined): (name: string) => boolean {
  if (!service) return () => true;
  return (name) => (service.includes('/') ? name === service : name.endsWith(`/${service}`));
}

export async function metricsCommand(flags: MetricsFlags, out: Out): Promise<number> {
  const history = await fleetHistory(flags);
  const { window, rollouts, restores } = history;
  const overall = doraFigures(rollouts, restores, window);
  const services = [
    ...new Set([...rollouts.map((r) => r.service), ...restores.map((e) => e.service)]),
  ].sort();
  // Services with something that ended in the window (the look-back before it also reads others).
  const perService = services
    .map((service) => ({ service, ...serviceFigures(history, service) }))
    .filter((s) => s.rollouts > 0 || s.restores > 0);
  const weeks = weeklyTrend(rollouts, restores, window);
  const scope = flags.service ? `service ${flags.service}` : 'all services';
  const human = [
    `DORA figures for the last ${history.since} (${day(window.from)} to ${day(window.to)}), ${scope}, from the journal`,
    ...describe(overall).map((l) => `  ${l}`),
    ...(perService.length > 1
      ? [
          'per service:',
          ...perService.flatMap((s) => [`  ${s.service}`, ...describe(s).map((l) => `    ${l}`)]),
        ]
      : []),
  ].join('\n');
  out(human, {
    since: history.since,
    from: new Date(window.from).toISOString(),
    to: new Date(window.to).toISOString(),
    ...(flags.service ? { service: flags.service } : {}),
    overall,
    services: perService,
    weeks: weeks.map((w) => ({
      ...w,
      from: new Date(w.from).toISOString(),
      to: new Date(w.to).toISOString(),
    })),
  });
  return 0;
}

/** The four figures in plain words. */
export function describe(f: DoraFigures): string[] {
  const percent = (x: number) => `${Math.round(x * 1000) / 10}%`;
  return [
    `deployment frequency   ${f.deployments} rollout(s) completed, ${round(f.deploymentsPerDay)} a day`,
    `lead time for changes  ${
      f.leadTimeMedianMs === undefined
        ? 'no completed rollout'
        : `median ${humanDuration(f.leadTimeMedianMs)} (${f.leadTimesFromPush} of ${f.deployments} from the image's push, the rest from the rollout's start)`
    }`,
    `change failure rate    ${
      f.changeFailureRate === undefined
        ? 'no rollout ended'
        : `${percent(f.changeFailureRate)} (${f.failures} of ${f.rollouts} rolled back, aborted or frozen)`
    }`,
    `time to restore        ${
      f.timeToRestoreMedianMs === undefined
        ? 'no alarm restored after a remediation'
        : `median ${humanDuration(f.timeToRestoreMedianMs)} (${f.restores} alarm episode(s) back to OK after a remediation or rollback)`
    }`,
  ];
}

const round = (x: number) => (x >= 10 ? Math.round(x) : Math.round(x * 100) / 100);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
