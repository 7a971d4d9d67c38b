// What the fleet report shows, from journal records, with no I/O: one timeline per service with
// its rollouts, spot episodes, scaling actions and remediations, each entry holding the journal
// records it was made from (the page links every entry to them).
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { rolloutIdOfActor } from '../../functions/shared/rollouts/actors.ts';
import type { DoraFigures, Window } from '../metrics/dora.ts';

export type Lane = 'rollout' | 'spot' | 'scaling' | 'remediation';
export const LANES: readonly Lane[] = ['rollout', 'spot', 'scaling', 'remediation'];

export interface TimelineEntry {
  id: string;
  lane: Lane;
  from: number;
  to: number;
  title: string;
  status: 'ok' | 'failed' | 'warning' | 'info';
  /** The journal records this entry stands for, oldest first. */
  records: JournalRecord[];
}

export interface ServiceTimeline {
  /** `cluster/service`, or `cluster` for a cluster whose spot episodes touch no known service. */
  name: string;
  cluster: string;
  entries: TimelineEntry[];
}

export interface FleetReportData {
  generatedAt: string;
  since: string;
  window: Window;
  overall: DoraFigures;
  weeks: (Window & DoraFigures)[];
  services: (ServiceTimeline & { figures: DoraFigures })[];
  notes: string[];
}

/** A quiet spell this long ends a cluster's spot episode. */
export const SPOT_EPISODE_GAP_MS = 15 * 60_000;

const at = (r: JournalRecord) => Date.parse(r.at.split('#')[0] ?? '');
const SPOT_ACTORS = /^(spot-interruption|spot-surge)\//;

/** Every record inside the window, grouped into entries per service. */
export function fleetTimelines(records: readonly JournalRecord[], window: Window): ServiceTimeline[] {
  const inWindow = [...records]
    .filter((r) => at(r) >= window.from && at(r) < window.to)
    .sort((a, b) => a.at.localeCompare(b.at));
  const byActor = new Map<string, JournalRecord[]>();
  const spot: JournalRecord[] = [];
  for (const record of inWindow) {
    if (SPOT_ACTORS.test(record.actor)) {
      spot.push(record);
      continue;
    }
    const service = /^service\/([^/]+)\/(.+)$/.exec(record.resource);
    if (!service) continue;
    const list = byActor.get(record.actor) ?? [];
    list.push(record);
    byActor.set(record.actor, list);
  }
  const timelines = new Map<string, ServiceTimeline>();
  const timeline = (name: string, cluster: string) => {
    const found = timelines.get(name) ?? { name, cluster, entries: [] };
    timelines.set(name, found);
    return found;
  };
  for (const [actor, group] of byActor) {
    const [, cluster = '', service = ''] = /^service\/([^/]+)\/(.+)$/.exec(group[0]?.resource ?? '') ?? [];
    const entry = serviceEntry(actor, group);
    if (entry) timeline(`${cluster}/${service}`, cluster).entries.push(entry);
  }
  for (const episode of spotEpisodes(spot)) {
    const services = [...timelines.values()].filter(
      (t) => t.cluster === episode.cluster && t.name.includes('/'),
    );
    const targets = services.length > 0 ? services : [timeline(episode.cluster, episode.cluster)];
    for (const target of targets) target.entries.push(episode.entry);
  }
  for (const t of timelines.values()) t.entries.sort((a, b) => a.from - b.from);
  return [...timelines.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function serviceEntry(actor: string, group: JournalRecord[]): TimelineEntry | undefined {
  const first = group[0];
  const last = group[group.length - 1];
  if (!first || !last) return undefined;
  const base = { id: `e-${first.id}`, from: at(first), to: at(last), records: group };
  const actions = new Set(group.map((r) => r.action));
  const rollout = rolloutIdOfActor(actor);
  const name = (rollout ?? actor).replace(/^.*:/, '');
  if (rollout !== undefined) {
    const stop = group.find((r) => r.action === 'rollout-rolled-back')?.details?.stop as
      | { cause?: string }
      | undefined;
    const [status, outcome]: [TimelineEntry['status'], string] = actions.has('rollout-complete')
      ? ['ok', 'completed']
      : actions.has('rollout-rolled-back')
        ? ['failed', `rolled back (${stop?.cause ?? 'rollback'})`]
        : actions.has('rollout-frozen')
          ? ['warning', 'frozen']
          : ['info', 'in progress'];
    return { ...base, lane: 'rollout', status, title: `rollout ${name}: ${outcome}` };
  }
  if (group.some((r) => typeof r.details?.alarm === 'string')) {
    const alarm = String(group.find((r) => typeof r.details?.alarm === 'string')?.details?.alarm);
    const [status, outcome]: [TimelineEntry['status'], string] =
      actions.has('remediation-escalated') || group.some((r) => r.outcome === 'failed')
        ? ['failed', 'escalated']
        : actions.has('remediation-resolved')
          ? ['ok', 'alarm OK']
          : actions.has('remediation-verified')
            ? ['ok', 'verified']
            : group.some((r) => r.outcome === 'refused')
              ? ['warning', 'refused']
              : ['info', [...actions].join(', ')];
    return { ...base, lane: 'remediation', status, title: `remediation of ${alarm}: ${outcome}` };
  }
  if (actions.has('scale-service')) {
    const record = group.find((r) => r.action === 'scale-service');
    const before = (record?.before as { desiredCount?: number } | undefined)?.desiredCount;
    const after = (record?.after as { desiredCount?: number } | undefined)?.desiredCount;
    const change = before !== undefined && after !== undefined ? `${before} → ${after}` : record?.outcome;
    const status =
      record?.outcome === 'refused' ? 'warning' : record?.outcome === 'failed' ? 'failed' : 'info';
    return { ...base, lane: 'scaling', status, title: `scaling: ${change}: ${record?.reason ?? ''}` };
  }
  return undefined;
}

/** A cluster's spot records, cut into episodes where they pause for SPOT_EPISODE_GAP_MS. */
function spotEpisodes(records: readonly JournalRecord[]): { cluster: string; entry: TimelineEntry }[] {
  const episodes: JournalRecord[][] = [];
  for (const record of records) {
    const current = episodes[episodes.length - 1];
    const previous = current?.[current.length - 1];
    if (current && previous && at(record) - at(previous) <= SPOT_EPISODE_GAP_MS) current.push(record);
    else episodes.push([record]);
  }
  return episodes.map((group) => {
    const first = group[0] as JournalRecord;
    const last = group[group.length - 1] as JournalRecord;
    const cluster =
      group.map((r) => /^(?:container-instance|task)\/([^/]+)\//.exec(r.resource)?.[1]).find(Boolean) ??
      'unknown';
    const count = (action: string) =>
      group.filter((r) => r.action === action && r.outcome === 'changed').length;
    const drained = count('drain-instance');
    const surged = count('surge-instance');
    const capacity = count('request-capacity');
    const fargate = group.filter((r) => r.action === 'note-fargate-spot-interruption').length;
    const parts = [
      drained ? `${drained} drained` : '',
      surged ? `${surged} surged` : '',
      capacity ? `${capacity} capacity request(s)` : '',
      fargate ? `${fargate} Fargate Spot task(s)` : '',
    ].filter(Boolean);
    return {
      cluster,
      entry: {
        id: `e-${first.id}`,
        lane: 'spot' as const,
        from: at(first),
        to: at(last),
        status: group.some((r) => r.outcome === 'failed') ? ('failed' as const) : ('warning' as const),
        title: `spot episode in ${cluster}: ${parts.join(', ') || `${group.length} record(s)`}`,
        records: group,
      },
    };
  });
}
