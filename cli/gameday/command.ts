// `ops gameday spot [--fraction F] [--aws --outputs FILE] [--settle 2m] [--out FILE.html]`: a spot
// game day. Locally the rig sends what FIS and EC2 would; with --aws the stack's FIS experiment
// template runs. Either way it ends with a report page and a verdict (exit 1 when it failed).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { onAws, type TargetFlags } from '../target.ts';
import { durationMs, type Out, UsageError } from '../usage.ts';
import { renderGameDayReport } from './render.ts';
import { gameDayReport, percentOfFraction } from './rules.ts';

export interface GameDayFlags extends TargetFlags {
  fraction?: string;
  settle?: string;
  out?: string;
}

/** Locally, without --fraction: a quarter of the seeded spot group (the stack takes its config's). */
export const LOCAL_DEFAULT_FRACTION = '0.25';

export async function gameDayCommand(
  kind: string | undefined,
  flags: GameDayFlags,
  out: Out,
): Promise<number> {
  if (kind !== 'spot')
    throw new UsageError('ops gameday takes spot: ops gameday spot [--fraction F] [--aws]');
  const asked = flags.fraction ?? (onAws(flags) ? undefined : LOCAL_DEFAULT_FRACTION);
  let percent: number | undefined;
  if (asked !== undefined) {
    const parsed = percentOfFraction(asked);
    if ('problem' in parsed) throw new UsageError(parsed.problem);
    percent = parsed.percent;
  }
  const settleMs = durationMs(flags.settle ?? '2m', ['', 's', 'm']);
  if (settleMs === undefined)
    throw new UsageError(`--settle takes a duration such as 90s or 2m (got ${flags.settle})`);
  // Progress goes to stderr, so that --json leaves stdout to the result alone.
  const progress = (line: string) => console.error(line);
  const data = onAws(flags)
    ? await (await import('./aws.ts')).awsGameDay(
        flags,
        { ...(percent === undefined ? {} : { percent }), settleMs },
        progress,
      )
    : await (await import('./local.ts')).localGameDay(percent as number, progress);
  const report = gameDayReport(data);
  const file = resolve(flags.out ?? `gameday-spot-${data.experiment.id}.html`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderGameDayReport(data));
  const drained = report.instances.filter((r) => r.latencyMs !== undefined);
  const slowest = drained.length > 0 ? Math.max(...drained.map((r) => r.latencyMs as number)) : undefined;
  const human = [
    file,
    `${report.verdict.passed ? 'passed' : 'FAILED'}: ${drained.length} of ${report.instances.length} interrupted instance(s) drained${slowest === undefined ? '' : `, slowest ${(slowest / 1000).toFixed(1)} s after its notice (budget 120 s)`}; ${report.tasksMoved} task(s) moved; +${report.capacity.reduce((n, c) => n + c.added, 0)} instance(s) asked for; minimum healthy ${report.minimumHealthy.kept ? 'kept' : 'NOT kept'}`,
    ...report.verdict.problems.map((p) => `  ${p}`),
  ].join('\n');
  out(human, {
    file,
    experiment: data.experiment,
    group: data.group,
    percent: data.percent,
    targets: data.targets,
    ...report,
  });
  return report.verdict.passed ? 0 : 1;
}
