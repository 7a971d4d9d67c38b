// The fleet report as one self-contained HTML page in the rollout report's style (its CSS, inline
// SVG, no script, no external resource): the DORA figures and their weekly trends, then one
// timeline per service whose entries link to the journal records they were made from. Pure:
// FleetReportData in, HTML out; every value goes through the `html` tag, which escapes it.
import type { DoraFigures, Window } from '../metrics/dora.ts';
import type { FleetReportData, ServiceTimeline, TimelineEntry } from './fleet-model.ts';
import { LANES } from './fleet-model.ts';
import { dateTime, html, humanDuration, type Markup, pageStart, pct } from './markup.ts';
import { REPORT_CSS } from './render.ts';

/** Records listed under one entry; the rest are one `ops journal` away. */
export const RECORDS_PER_ENTRY = 50;

export function renderFleetReport(data: FleetReportData): string {
  const period = `${day(data.window.from)} to ${day(data.window.to)}`;
  // A cluster's episode is on each of its services' timelines; its records are listed once.
  const listed = new Set<string>();
  const sections = data.services.map((s) => serviceSection(s, data.window, listed));
  return html`${pageStart(`Fleet report: last ${data.since} (${period})`, 'ops report --fleet', REPORT_CSS + FLEET_CSS)}
<header class="head">
  <p class="eyebrow">Fleet report</p>
  <h1>The last ${data.since} across ${data.services.length} service(s)</h1>
  <p class="sub">${period}, from the action journal</p>
</header>
<section aria-labelledby="dora-h">
  <h2 id="dora-h">DORA figures</h2>
  ${tiles(data.overall)}
</section>
<section aria-labelledby="trend-h">
  <h2 id="trend-h">Trends by week</h2>
  <div class="trends">
    ${trendChart(
      'Deployments',
      data.weeks,
      (w) => w.deployments,
      (v) => String(v),
    )}
    ${trendChart(
      'Lead time for changes (median)',
      data.weeks,
      (w) => w.leadTimeMedianMs,
      (v) => humanDuration(v),
    )}
    ${trendChart(
      'Change failure rate',
      data.weeks,
      (w) => w.changeFailureRate,
      (v) => pct(v, 0),
    )}
    ${trendChart(
      'Time to restore (median)',
      data.weeks,
      (w) => w.timeToRestoreMedianMs,
      (v) => humanDuration(v),
    )}
  </div>
</section>
${sections}
${data.services.length === 0 ? html`<p class="empty">Nothing was journaled in this window.</p>` : ''}
<footer>
  <p>Generated ${dateTime(data.generatedAt)} by <code>ops report --fleet</code> from the action journal (its byDay index). A rollout or an alarm episode counts in the window it ended in.</p>
  ${data.notes.length > 0 ? html`<ul class="notes">${data.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
</footer>
</main>
</body>
</html>
`.value;
}

function tiles(f: DoraFigures): Markup {
  const rows: [string, string, string][] = [
    ['Deployment frequency', `${f.deployments}`, `${f.deploymentsPerDay} a day`],
    [
      'Lead time for changes',
      f.leadTimeMedianMs === undefined ? '–' : humanDuration(f.leadTimeMedianMs),
      `median; ${f.leadTimesFromPush} of ${f.deployments} from the image's push`,
    ],
    [
      'Change failure rate',
      f.changeFailureRate === undefined ? '–' : pct(f.changeFailureRate, 0),
      `${f.failures} of ${f.rollouts} rolled back, aborted or frozen`,
    ],
    [
      'Time to restore',
      f.timeToRestoreMedianMs === undefined ? '–' : humanDuration(f.timeToRestoreMedianMs),
      `median of ${f.restores} alarm episode(s)`,
    ],
  ];
  return html`<dl class="facts dora">${rows.map(
    ([name, value, note]) =>
      html`<div><dt>${name}</dt><dd><span class="figure">${value}</span> <span class="muted small">${note}</span></dd></div>`,
  )}</dl>`;
}

const TREND = { width: 280, height: 130, top: 18, bottom: 24, left: 6, right: 6 };

function trendChart(
  title: string,
  weeks: readonly (Window & DoraFigures)[],
  value: (w: DoraFigures) => number | undefined,
  label: (v: number) => string,
): Markup {
  const values = weeks.map(value);
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const plotH = TREND.height - TREND.top - TREND.bottom;
  const slot = (TREND.width - TREND.left - TREND.right) / Math.max(weeks.length, 1);
  const bars = weeks.map((w, i) => {
    const v = values[i];
    const x = TREND.left + i * slot + slot * 0.15;
    const h = v === undefined || max === 0 ? 0 : Math.max(2, (v / max) * plotH);
    const y = TREND.top + plotH - h;
    return html`<g><title>${`week of ${day(w.from)}: ${v === undefined ? 'no data' : label(v)}`}</title>
      <rect class="bar${v === undefined ? ' bar-none' : ''}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}"/>
      <text class="bar-value" x="${(x + slot * 0.35).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle">${v === undefined ? '–' : label(v)}</text>
      <text class="ytick" x="${(x + slot * 0.35).toFixed(1)}" y="${TREND.height - 8}" text-anchor="middle">${day(w.from).slice(5)}</text></g>`;
  });
  return html`<figure class="trend"><figcaption class="trend-title">${title}</figcaption>
  <svg class="trend-svg" viewBox="0 0 ${TREND.width} ${TREND.height}" width="${TREND.width}" height="${TREND.height}" role="img" aria-label="${title} by week">
    <line class="axis" x1="${TREND.left}" y1="${TREND.top + plotH}" x2="${TREND.width - TREND.right}" y2="${TREND.top + plotH}"/>
    ${bars}
  </svg></figure>`;
}

const TIMELINE = { width: 1176, left: 110, right: 12, top: 8, lane: 30, axis: 26 };

function serviceSection(
  s: ServiceTimeline & { figures: DoraFigures },
  window: Window,
  listed: Set<string>,
): Markup {
  const id = `s-${s.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  return html`<section aria-labelledby="${id}">
  <h2 id="${id}">${s.name.includes('/') ? s.name : `${s.name} (cluster)`}</h2>
  <p class="service-figures small">${figuresLine(s.figures)}</p>
  <figure class="chart">${timeline(s, window)}
    <figcaption>One row per kind of work; each mark spans its first to its last journal record and links to them below. Times in UTC.</figcaption>
  </figure>
  ${
    s.entries.length === 0
      ? html`<p class="empty">Nothing journaled.</p>`
      : s.entries.map((e) => {
          if (listed.has(e.id))
            return html`<p class="muted small"><a href="#${e.id}">${e.title}</a>: its journal records are listed above.</p>`;
          listed.add(e.id);
          return entryRecords(e);
        })
  }
</section>`;
}

function figuresLine(f: DoraFigures): string {
  return [
    `${f.deployments} deployment(s)`,
    `lead time ${f.leadTimeMedianMs === undefined ? '–' : humanDuration(f.leadTimeMedianMs)}`,
    `change failure rate ${f.changeFailureRate === undefined ? '–' : pct(f.changeFailureRate, 0)}`,
    `time to restore ${f.timeToRestoreMedianMs === undefined ? '–' : humanDuration(f.timeToRestoreMedianMs)}`,
  ].join(' · ');
}

function timeline(s: ServiceTimeline, window: Window): Markup {
  const height = TIMELINE.top + LANES.length * TIMELINE.lane + TIMELINE.axis;
  const plotW = TIMELINE.width - TIMELINE.left - TIMELINE.right;
  const x = (ms: number) => TIMELINE.left + ((ms - window.from) / (window.to - window.from)) * plotW;
  const laneY = (lane: TimelineEntry['lane']) => TIMELINE.top + LANES.indexOf(lane) * TIMELINE.lane;
  const ticks = dayTicks(window);
  return html`<svg class="chart-svg timeline" viewBox="0 0 ${TIMELINE.width} ${height}" width="${TIMELINE.width}" height="${height}" role="img" aria-label="Timeline of ${s.name}">
  ${LANES.map(
    (
      lane,
    ) => html`<text class="lane-name" x="${TIMELINE.left - 8}" y="${laneY(lane) + 19}" text-anchor="end">${lane}</text>
    <line class="hgrid" x1="${TIMELINE.left}" y1="${laneY(lane) + TIMELINE.lane}" x2="${TIMELINE.width - TIMELINE.right}" y2="${laneY(lane) + TIMELINE.lane}"/>`,
  )}
  ${ticks.map(
    (
      tick,
    ) => html`<line class="vgrid" x1="${x(tick).toFixed(1)}" y1="${TIMELINE.top}" x2="${x(tick).toFixed(1)}" y2="${height - TIMELINE.axis}"/>
    <text class="ytick" x="${x(tick).toFixed(1)}" y="${height - 8}" text-anchor="middle">${day(tick).slice(5)}</text>`,
  )}
  <rect class="frame" x="${TIMELINE.left}" y="${TIMELINE.top}" width="${plotW}" height="${LANES.length * TIMELINE.lane}"/>
  ${s.entries.map((e) => {
    const from = x(Math.max(e.from, window.from));
    const width = Math.max(x(Math.min(e.to, window.to)) - from, 5);
    return html`<a href="#${e.id}" class="entry entry-${e.status}"><title>${`${e.title} (${dateTime(new Date(e.from).toISOString())}, ${e.records.length} journal record(s))`}</title>
      <rect x="${from.toFixed(1)}" y="${laneY(e.lane) + 6}" width="${width.toFixed(1)}" height="${TIMELINE.lane - 12}" rx="3"/></a>`;
  })}
</svg>`;
}

function entryRecords(e: TimelineEntry): Markup {
  const shown = e.records.slice(0, RECORDS_PER_ENTRY);
  return html`<section class="entry-records" id="${e.id}" aria-label="${e.title}">
  <h3><span class="badge badge-${e.status === 'ok' ? 'pass' : e.status === 'failed' ? 'fail' : e.status === 'warning' ? 'inconclusive' : 'other'}">${e.lane}</span> ${e.title}</h3>
  <div class="scroll"><table>
    <thead><tr><th>Time (UTC)</th><th>Action</th><th>Outcome</th><th>Resource</th><th>Why</th></tr></thead>
    <tbody>${shown.map(
      (r) =>
        html`<tr id="j-${r.id}"><td class="nowrap mono">${dateTime(r.at.split('#')[0] ?? r.at)}</td><td class="mono">${r.action}</td><td>${r.outcome}</td><td class="mono">${r.resource}</td><td>${r.reason}</td></tr>`,
    )}</tbody>
  </table></div>
  ${e.records.length > shown.length ? html`<p class="muted small">… and ${e.records.length - shown.length} more: <code>ops journal</code></p>` : ''}
</section>`;
}

/** Midnights inside the window, at most about a dozen of them. */
function dayTicks(window: Window): number[] {
  const DAY = 86_400_000;
  const days = Math.ceil((window.to - window.from) / DAY);
  const every = Math.max(1, Math.ceil(days / 12));
  const ticks: number[] = [];
  for (let t = Math.ceil(window.from / DAY) * DAY; t <= window.to; t += every * DAY) ticks.push(t);
  return ticks;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const FLEET_CSS = `
.dora dd .figure { font-size: 22px; font-weight: 650; }
.trends { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px 20px; }
.trend { margin: 0; padding: 8px 10px; border: 1px solid var(--border); border-radius: 6px; background: #fff; }
.trend-title { font-size: 13.5px; font-weight: 650; color: var(--fg); margin: 0 0 4px; }
.trend-svg { display: block; max-width: 100%; height: auto; }
.trend-svg .bar { fill: #54aeff; }
.trend-svg .bar-none { fill: none; }
.trend-svg .bar-value { font-size: 11px; fill: var(--fg); }
.trend-svg .ytick { font-size: 10.5px; fill: var(--muted); }
.timeline .lane-name { font-size: 12.5px; font-weight: 600; fill: var(--fg); }
.entry rect { stroke-width: 1.25; }
.entry-ok rect { fill: #9be9a8; stroke: var(--green); }
.entry-failed rect { fill: #ffaba8; stroke: var(--red); }
.entry-warning rect { fill: #f8e3a1; stroke: #9a6700; }
.entry-info rect { fill: #b6e3ff; stroke: var(--blue); }
.entry:hover rect, .entry:focus rect { stroke-width: 2.5; }
.entry-records h3 { font-size: 15px; margin: 18px 0 6px; font-weight: 600; }
.entry-records:target h3 { background: #fff8c5; }
.service-figures { margin: 0 0 6px; color: var(--muted); }
@media (max-width: 900px) { .trends { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
`;
