// `ops report --fleet [--since 30d] [--out FILE.html]`: the fleet report, written as one page.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fleetHistory, type MetricsFlags, serviceFigures } from '../metrics/command.ts';
import { doraFigures, weeklyTrend } from '../metrics/dora.ts';
import type { Out } from '../usage.ts';
import { type FleetReportData, fleetTimelines } from './fleet-model.ts';
import { renderFleetReport } from './fleet-render.ts';

export interface FleetReportFlags extends MetricsFlags {
  out?: string;
}

export async function fleetReportCommand(flags: FleetReportFlags, out: Out): Promise<number> {
  const now = Date.now();
  const history = await fleetHistory(flags, now);
  const { window, rollouts, restores } = history;
  // A cluster's own timeline (its spot episodes, with no service of it seen) goes with every service.
  const timelines = fleetTimelines(history.records, window).filter(
    (t) => !t.name.includes('/') || history.includes(t.name),
  );
  const data: FleetReportData = {
    generatedAt: new Date(now).toISOString(),
    since: history.since,
    window,
    overall: doraFigures(rollouts, restores, window),
    weeks: weeklyTrend(rollouts, restores, window),
    services: timelines.map((t) => ({ ...t, figures: serviceFigures(history, t.name) })),
    notes: flags.aws ? [] : ['Read from the local emulator: times are the rig’s (its waits are compressed).'],
  };
  const file = resolve(flags.out ?? `fleet-report-${data.generatedAt.slice(0, 10)}.html`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderFleetReport(data));
  const entries = timelines.reduce((n, t) => n + t.entries.length, 0);
  out(
    `${file}\n${timelines.length} timeline(s), ${entries} entries, ${data.overall.rollouts} rollout(s) ended`,
    {
      file,
      since: data.since,
      from: new Date(window.from).toISOString(),
      to: new Date(window.to).toISOString(),
      overall: data.overall,
      services: timelines.map((t) => ({
        name: t.name,
        entries: t.entries.map((e) => ({
          id: e.id,
          lane: e.lane,
          status: e.status,
          title: e.title,
          records: e.records.map((r) => r.id),
        })),
      })),
    },
  );
  return 0;
}
