// A spot game day's rules, with no I/O: how FIS selects its targets, what the CLI accepts as a
// fraction, and what a game day is judged by (the report's verdict).
import type { JournalRecord } from '../../functions/shared/journal.ts';
import type { Episode } from '../../functions/shared/spot/episodes.ts';

/** FIS's quota: spot instances one experiment interrupts when it finds them by tag (adjustable). */
export const FIS_SPOT_TARGETS_QUOTA = 5;

/** The warning's budget: EC2 interrupts two minutes after it. */
export const TWO_MINUTES_MS = 120_000;

/** `--fraction 0.25` as FIS's whole percent, or why not. */
export function percentOfFraction(text: string): { percent: number } | { problem: string } {
  const fraction = Number(text);
  if (!(fraction > 0 && fraction <= 1))
    return { problem: `--fraction must be above 0 and at most 1 (got ${text})` };
  const percent = Math.round(fraction * 100);
  if (Math.abs(fraction * 100 - percent) > 1e-9)
    return { problem: `--fraction must be a whole percent, as FIS's PERCENT(n) takes (got ${text})` };
  return { percent };
}

/** The percent of a template target's selection mode `PERCENT(25)`; undefined for ALL or COUNT(n). */
export function percentOfSelectionMode(mode: string | undefined): number | undefined {
  const match = /^PERCENT\((\d{1,3})\)$/.exec(mode ?? '');
  return match ? Number(match[1]) : undefined;
}

/** FIS rounds a percentage down: 25% of 6 instances is 1, of 3 is none. */
export const selectedCount = (running: number, percent: number): number =>
  Math.floor((running * percent) / 100);

/** Why FIS would not run this selection, or undefined when it would. */
export function selectionProblem(
  running: number,
  percent: number,
  quota = FIS_SPOT_TARGETS_QUOTA,
): string | undefined {
  const count = selectedCount(running, percent);
  if (count === 0) {
    const least = running === 0 ? undefined : Math.ceil(100 / running) / 100;
    return `${percent}% of ${running} running spot instance(s) selects none (FIS rounds down, and an experiment without targets fails)${least !== undefined && least <= 1 ? `: use --fraction ${least} or more` : ''}`;
  }
  if (count > quota) {
    const most = Math.floor((quota * 100) / running) / 100;
    return `${percent}% of ${running} running spot instances selects ${count}: FIS interrupts at most ${quota} per experiment (its quota for aws:ec2:send-spot-instance-interruptions, adjustable in Service Quotas)${most > 0 ? `: use --fraction ${most} or less` : ''}`;
  }
  return undefined;
}

/** What a game day shows: its data in, the report's rows and verdict out. */
export interface GameDayData {
  where: 'local' | 'aws';
  generatedAt: string;
  experiment: {
    id: string;
    templateId?: string;
    status: string;
    reason?: string;
    startedAt: string;
    endedAt: string;
  };
  group: string;
  percent: number;
  /** The group's running spot instances when it started (known locally). */
  running?: number;
  /** The interrupted instances. */
  targets: readonly string[];
  /** The journal from the experiment's start on. */
  journal: readonly JournalRecord[];
  /** Each target's spot episode, as the handler keeps it. */
  episodes: Readonly<Record<string, Partial<Episode> | undefined>>;
  /** What the alert topics' subscribers received (locally). */
  notifications?: readonly { subject: string; severity: string; kind: string }[];
  /** Replacement instances that joined the cluster afterwards (locally, as the agent registers them). */
  registered?: number;
}

export interface InstanceRow {
  instanceId: string;
  result: 'drained' | 'already draining' | 'drain failed' | 'not drained';
  noticeAt?: string;
  drainedAt?: string;
  latencyMs?: number;
  tasks?: number;
  alertedAt?: string;
  replacement?: string;
}

export interface GameDayReport {
  instances: InstanceRow[];
  /** Tasks on the drained instances, which ECS moves elsewhere. */
  tasksMoved: number;
  capacity: { group: string; market: string; added: number; outcome: string }[];
  protections: { resource: string; added: number; inBudget: boolean; outcome: string; reason: string }[];
  minimumHealthy: { kept: boolean; why: string };
  bracket: { started: boolean; ended: boolean };
  verdict: { passed: boolean; problems: string[] };
}

const instanceOf = (resource: string) => resource.split('/').pop() ?? '';

export function gameDayReport(data: GameDayData): GameDayReport {
  const targets = new Set(data.targets);
  const drains = data.journal.filter(
    (r) => r.action === 'drain-instance' && targets.has(instanceOf(r.resource)),
  );
  const instances = data.targets.map((instanceId): InstanceRow => {
    const own = drains.filter((r) => instanceOf(r.resource) === instanceId);
    const changed = own.find((r) => r.outcome === 'changed');
    const episode = data.episodes[instanceId];
    const base = {
      instanceId,
      ...(episode?.alertedAt ? { alertedAt: episode.alertedAt } : {}),
      ...(episode?.replacement ? { replacement: episode.replacement } : {}),
    };
    if (changed) {
      const noticeAt = String(changed.details?.noticeAt ?? episode?.noticeAt ?? '');
      const drainedAt = String(changed.details?.drainedAt ?? changed.at.split('#')[0]);
      const tasks = changed.details?.tasksOnInstance;
      return {
        ...base,
        result: 'drained',
        noticeAt,
        drainedAt,
        latencyMs: Math.max(0, Date.parse(drainedAt) - Date.parse(noticeAt)),
        ...(typeof tasks === 'number' ? { tasks } : {}),
      };
    }
    // Drained before the experiment, in the same spot episode: nothing was left to do.
    if (own.some((r) => r.outcome === 'unchanged') || (own.length === 0 && episode?.drainedAt))
      return { ...base, result: 'already draining' };
    if (own.some((r) => r.outcome === 'failed')) return { ...base, result: 'drain failed' };
    return { ...base, result: 'not drained' };
  });

  const capacity = data.journal
    .filter((r) => r.action === 'request-capacity')
    .filter((r) => ((r.details?.instances as string[] | undefined) ?? []).some((i) => targets.has(i)))
    .map((r) => ({
      group: r.resource.replace(/^asg\//, ''),
      market: String(r.details?.market ?? ''),
      added:
        Number((r.after as { desired?: number } | undefined)?.desired ?? 0) -
        Number((r.before as { desired?: number } | undefined)?.desired ?? 0),
      outcome: r.outcome,
    }));

  const protections = data.journal
    .filter((r) => r.action === 'protect-minimum-healthy')
    .filter((r) => ((r.details?.instances as string[] | undefined) ?? []).some((i) => targets.has(i)))
    .map((r) => ({
      resource: r.resource,
      added: Number(r.details?.added ?? 0),
      inBudget: r.details?.inBudget !== false,
      outcome: r.outcome,
      reason: r.reason,
    }));
  const short = protections.filter((p) => p.outcome === 'failed' || !p.inBudget);
  const minimumHealthy =
    short.length === 0
      ? {
          kept: true,
          why:
            protections.length === 0
              ? 'no drain would take a service below its minimum healthy'
              : `tasks added in time: ${protections.map((p) => `${p.resource.replace(/^service\//, '')} +${p.added}`).join(', ')}`,
        }
      : {
          kept: false,
          why: short.map((p) => `${p.resource.replace(/^service\//, '')}: ${p.reason}`).join('; '),
        };

  const bracketOf = (action: string) =>
    data.journal.some((r) => r.action === action && r.resource === `fis-experiment/${data.experiment.id}`);
  const problems: string[] = [];
  for (const row of instances) {
    if (row.result === 'not drained' || row.result === 'drain failed')
      problems.push(`${row.instanceId} was not drained (${row.result})`);
    else if (row.latencyMs !== undefined && row.latencyMs > TWO_MINUTES_MS)
      problems.push(
        `${row.instanceId} was drained ${Math.round(row.latencyMs / 1000)} s after its notice: past the two minutes`,
      );
    if (row.result === 'drained' && !row.alertedAt)
      problems.push(`no alert was raised for ${row.instanceId}`);
  }
  if (!minimumHealthy.kept) problems.push(`minimum healthy not kept: ${minimumHealthy.why}`);
  if (data.targets.length === 0) problems.push('the experiment interrupted no instance');
  // A stop condition fired (a service's alarm: its users felt it), or FIS could not run it.
  if (data.experiment.status !== 'completed')
    problems.push(
      `the experiment ${data.experiment.status}${data.experiment.reason ? `: ${data.experiment.reason}` : ''}`,
    );
  return {
    instances,
    tasksMoved: instances.reduce((n, row) => n + (row.tasks ?? 0), 0),
    capacity,
    protections,
    minimumHealthy,
    bracket: { started: bracketOf('game-day-started'), ended: bracketOf('game-day-ended') },
    verdict: { passed: problems.length === 0, problems },
  };
}
