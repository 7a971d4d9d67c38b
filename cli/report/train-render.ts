// A release train's report, as one self-contained HTML page: the outcome, the budget and how much
// of it was used, a timeline of every service's rollout (one row per service, by wave), and each
// wave's services with their rollouts and verdicts. Pure: the data in, the page out.
import type { TrainRecord, TrainServiceRecord } from '../../functions/shared/trains/record.ts';
import { greenTaskLimit } from '../../functions/train-step/rules.ts';
import { dateTime, html, humanDuration, type Markup, pageStart } from './markup.ts';
import { REPORT_CSS } from './render.ts';

export interface TrainReportData {
  generatedAt: string;
  train: TrainRecord;
  services: readonly TrainServiceRecord[];
  /** The last verdict of each service's rollout in this train, by `cluster/service`. */
  verdicts: Readonly<Record<string, { verdict: string; reasons: readonly string[] } | undefined>>;
}

const BANNER: Record<TrainRecord['status'], { style: string; icon: string; title: string }> = {
  running: { style: 'other', icon: '…', title: 'running' },
  stopping: { style: 'rolled-back', icon: '■', title: 'stopping' },
  completed: { style: 'succeeded', icon: '✓', title: 'completed' },
  stopped: { style: 'rolled-back', icon: '■', title: 'stopped' },
  failed: { style: 'rolled-back', icon: '✗', title: 'failed' },
};

const PHASE_COLOR: Record<string, string> = {
  succeeded: '#1a7f37',
  failed: '#cf222e',
  rolling: '#0969da',
  waiting: '#9a6700',
  skipped: '#8c959f',
};

const TRAIN_CSS = `
.banner-other { background: #fff8c5; border-color: var(--amber); }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 8px 24px; margin: 12px 0; }
.facts div { padding: 8px 12px; background: var(--panel); border: 1px solid var(--border); border-radius: 6px; }
.facts b { display: block; font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
table.services { width: 100%; border-collapse: collapse; margin: 6px 0 18px; }
table.services th, table.services td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--border); vertical-align: top; }
table.services th { font-size: 12.5px; color: var(--muted); font-weight: 600; }
.phase { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12.5px; font-weight: 600; }
svg.timeline { width: 100%; height: auto; display: block; margin: 8px 0 4px; }
svg.timeline text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: #1f2328; }
`;

export function renderTrainReport(data: TrainReportData): string {
  const t = data.train;
  const banner = BANNER[t.status];
  const total = t.waves.reduce((n, w) => n + w.services.length, 0);
  const byId = new Map(data.services.map((s) => [s.id, s]));
  const limits = Object.entries(t.clusterTasks).map(
    ([cluster, tasks]) => `${cluster}: ${greenTaskLimit(tasks, t.budget)} of ${tasks} tasks`,
  );
  return html`${pageStart(`Release train ${t.name}`, 'ops train report', REPORT_CSS + TRAIN_CSS)}
<p class="eyebrow">Release train</p>
<h1>${t.name}</h1>
<p class="sub mono">${t.executionName}</p>
<div class="banner banner-${banner.style}" role="status">
  <span class="banner-icon" aria-hidden="true">${banner.icon}</span>
  <div><p class="banner-title">${`Train ${banner.title}: ${t.counts.succeeded} of ${total} services rolled out, ${t.counts.failed} failed, ${total - t.counts.succeeded - t.counts.failed} not rolled out`}</p>
  ${t.stop ? html`<p class="banner-detail">${`Line stopped by ${t.stop.by} at ${dateTime(t.stop.at)}: ${t.stop.reason}`}</p>` : ''}</div>
</div>
<div class="facts">
  <div><b>Started</b>${dateTime(t.startedAt)}${t.finishedAt ? html`<br><span class="muted small">${`took ${humanDuration(Date.parse(t.finishedAt) - Date.parse(t.startedAt))}`}</span>` : ''}</div>
  <div><b>Requested by</b>${t.requestedBy}</div>
  <div><b>Failed services</b>${`${t.counts.failed} (the train tolerates ${t.budget.maxFailedServices})`}</div>
  <div><b>Green at once</b>${`at most ${t.budget.maxGreenTaskPercent}% of a cluster's tasks`}<br><span class="muted small">${limits.join('; ')}</span></div>
  <div><b>When the line stops</b>${t.onStop === 'rollback' ? 'running rollouts go back to blue' : 'running rollouts run to their end'}</div>
</div>
<h2>Timeline</h2>
${timeline(data)}
${t.waves.map(
  (wave, w) => html`<h2>${wave.name}</h2>
<table class="services">
<thead><tr><th scope="col">Service</th><th scope="col">Outcome</th><th scope="col">Rollout</th><th scope="col">Started</th><th scope="col">Took</th><th scope="col">Verdict, or why</th></tr></thead>
<tbody>${wave.services.map((name, i) => row(name, byId.get(`${t.id}/${w}.${i}`), data.verdicts[name]))}</tbody>
</table>`,
)}
<p class="muted small">${`Generated ${dateTime(data.generatedAt)} by ops train report. Each rollout's own report: ops report <rollout>.`}</p>
</main>
</body>
</html>
`.toString();
}

function row(
  name: string,
  s: TrainServiceRecord | undefined,
  verdict: TrainReportData['verdicts'][string],
): Markup {
  const phase = s?.phase ?? 'not started';
  const took =
    s?.startedAt && s.finishedAt ? humanDuration(Date.parse(s.finishedAt) - Date.parse(s.startedAt)) : '';
  const why =
    s?.reason ??
    (verdict
      ? `${verdict.verdict}${verdict.reasons.length > 0 ? `: ${verdict.reasons.join('; ')}` : ''}`
      : '');
  return html`<tr><td class="mono">${name}</td><td><span class="phase" style="background:${PHASE_COLOR[phase] ?? '#8c959f'}">${phase}</span></td><td class="mono small">${s?.execution ?? ''}</td><td class="nowrap small">${s?.startedAt ? dateTime(s.startedAt) : ''}</td><td class="nowrap">${took}</td><td class="small">${why}</td></tr>`;
}

/** One row per service, a bar from its start to its end, coloured by how it ended; waves apart. */
function timeline(data: TrainReportData): Markup {
  const t = data.train;
  const start = Date.parse(t.startedAt);
  const ends = data.services.flatMap((s) => (s.finishedAt ? [Date.parse(s.finishedAt)] : []));
  const end = Math.max(start + 60_000, t.finishedAt ? Date.parse(t.finishedAt) : 0, ...ends);
  const width = 1100;
  const label = 260;
  const rowHeight = 22;
  const byId = new Map(data.services.map((s) => [s.id, s]));
  const rows: Markup[] = [];
  let y = 0;
  t.waves.forEach((wave, w) => {
    rows.push(html`<text x="0" y="${y + 15}" font-weight="600">${wave.name}</text>`);
    y += rowHeight;
    wave.services.forEach((name, i) => {
      const s = byId.get(`${t.id}/${w}.${i}`);
      const from = s?.startedAt ? Date.parse(s.startedAt) : undefined;
      const to = s?.finishedAt ? Date.parse(s.finishedAt) : end;
      const x = (at: number) => label + ((at - start) / (end - start)) * (width - label - 10);
      rows.push(html`<text x="12" y="${y + 15}">${name}</text>`);
      if (from !== undefined)
        rows.push(
          html`<rect x="${x(from).toFixed(1)}" y="${y + 4}" width="${Math.max(2, x(to) - x(from)).toFixed(1)}" height="${rowHeight - 8}" rx="3" fill="${PHASE_COLOR[s?.phase ?? ''] ?? '#8c959f'}"><title>${`${name}: ${s?.phase}`}</title></rect>`,
        );
      else
        rows.push(html`<text x="${label}" y="${y + 15}" fill="#57606a">${s?.phase ?? 'not started'}</text>`);
      y += rowHeight;
    });
  });
  return html`<svg class="timeline" viewBox="0 0 ${width} ${y + 4}" role="img" aria-label="${`Timeline of ${t.name}: one bar per service`}">${rows}</svg>
<p class="muted small">${`${dateTime(t.startedAt)} to ${dateTime(new Date(end).toISOString())}`}</p>`;
}
