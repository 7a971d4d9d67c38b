// The rollout report as one self-contained HTML page: inline CSS and an inline SVG chart, no
// script and no external resource (a Content-Security-Policy says so to the browser too). Pure:
// ReportData in, HTML out. Every interpolated value goes through the `html` tag (markup.ts), which escapes it
// unless it is markup this module built.

import { chart } from './chart.ts';
import {
  dateTime,
  html,
  humanDuration,
  type Markup,
  type Part,
  pageStart,
  pct,
  STATUS,
  t,
} from './markup.ts';
import { type ReportData, reportEnd } from './model.ts';
import { gateTable, journalTable, metricTable, trafficTable, verdictTable } from './tables.ts';

// ------------------------------------------------------------------------------------------
// The page.

export function renderReport(data: ReportData): string {
  const start = t(data.startedAt);
  const end = reportEnd(data);
  const status = STATUS[data.outcome.status];
  const where = serviceName(data);
  const title = `Rollout of ${where}: ${status.title.toLowerCase()} — ${data.execution.name}`;
  const page = html`${pageStart(title, 'ops report', REPORT_CSS)}
<header class="head">
  <p class="eyebrow">Blue/green rollout report</p>
  <h1>${where} <span class="arrow" aria-hidden="true">→</span><span class="visually-hidden"> to </span> <span class="image">${data.target ?? 'unknown version'}</span></h1>
  <p class="sub"><span class="mono">${data.execution.name}</span></p>
</header>
<section class="banner banner-${data.outcome.status}" aria-label="Outcome">
  <span class="banner-icon" aria-hidden="true">${status.icon}</span>
  <div><p class="banner-title">${data.outcome.summary}</p>${data.outcome.detail ? html`<p class="banner-detail">${data.outcome.detail}</p>` : ''}</div>
</section>
${
  data.analysis.blind
    ? html`<section class="banner banner-blind" aria-label="Blind rollout"><span class="banner-icon" aria-hidden="true">!</span><div><p class="banner-title">Blind rollout: analysis was switched off</p><p class="banner-detail">No metric of green was judged; only alarms could stop it (journaled and alerted as a warning when it started).</p></div></section>`
    : ''
}
${facts(data, start, end)}
${analysisPlan(data)}
<section aria-labelledby="chart-h">
  <h2 id="chart-h">Traffic and health over time</h2>
  ${legend(data)}
  <figure class="chart">
    ${chart(data, start, end)}
    <figcaption>Times in UTC, with the time since the start below. ${data.metrics ? `Metrics per ${data.metrics.periodSeconds} s period from CloudWatch (AWS/ApplicationELB): 5xx rate is HTTPCode_Target_5XX_Count / RequestCount, latency is TargetResponseTime ${data.metrics.statistic}. ` : ''}Shaded bands are the windows each analysis judged, coloured by its verdict and numbered as in the table below.</figcaption>
  </figure>
</section>
${verdictTable(data, start)}
${gateTable(data, start)}
${trafficTable(data, start)}
${journalTable(data, start)}
${metricTable(data, start)}
<footer>
  <p>Generated ${dateTime(data.generatedAt)} by <code>ops report</code> from the rollout's journal records, its record in the operations table${data.metrics ? ' and CloudWatch GetMetricData' : ''}.</p>
  ${data.notes.length > 0 ? html`<ul class="notes">${data.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
  <p class="mono small">${data.execution.arn}</p>
</footer>
</main>
</body>
</html>
`;
  return page.value;
}

function facts(data: ReportData, start: number, end: number): Markup {
  const a = data.analysis;
  const limits = [
    a.maxErrorRate !== undefined ? `5xx ceiling ${pct(a.maxErrorRate)}` : '',
    a.maxP95LatencyMs !== undefined ? `p95 ceiling ${a.maxP95LatencyMs} ms` : '',
    a.alarms.length > 0 ? `alarms OK: ${a.alarms.join(', ')}` : '',
  ].filter(Boolean);
  const rows: [string, Part][] = [
    ['Service', serviceName(data)],
    ['New version (green)', html`<span class="mono">${data.target ?? 'unknown'}</span>`],
    ['Replaced (blue)', html`<span class="mono">${data.previous ?? 'unknown'}</span>`],
    ['Strategy', data.strategy],
    ['Started', dateTime(data.startedAt)],
    [
      data.finishedAt ? 'Finished' : 'Last update',
      data.finishedAt ? dateTime(data.finishedAt) : dateTime(data.generatedAt),
    ],
    ['Duration', `${humanDuration(end - start)}${data.finishedAt ? '' : ' so far'}`],
    ['Requested by', data.requestedBy ?? 'unknown'],
    [
      'Analysis',
      a.blind
        ? html`<span class="badge badge-fail">OFF: blind rollout</span>`
        : a.plan
          ? ['on: every step as listed under “What the analysis judged”', ...limits].join(' · ')
          : limits.length > 0
            ? limits.join(' · ')
            : 'alarms only (none configured)',
    ],
    ['Baseline', a.blind ? 'off (analysis off)' : (a.baseline ?? 'off')],
    ['Approval gate', data.approval ?? 'none'],
    ['On failure', data.onFailure ?? 'rollback'],
  ];
  return html`<dl class="facts">${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

const serviceName = (data: ReportData) => `${data.cluster}/${data.service}`;

/** What each step judged, as the rollout planned it (service defaults and input applied). */
function analysisPlan(data: ReportData): Markup | string {
  const plan = data.analysis.plan;
  if (!plan || plan.length === 0) return '';
  return html`<section aria-labelledby="analysis-h">
  <h2 id="analysis-h">What the analysis judged${data.analysis.blind ? ' (analysis off)' : ''}</h2>
  <ul class="plan">${plan.map((line) => html`<li>${line}</li>`)}</ul>
</section>`;
}

function legend(data: ReportData): Markup {
  return html`<ul class="legend" aria-label="Chart legend">
    <li><svg width="28" height="12" aria-hidden="true"><line x1="0" y1="6" x2="28" y2="6" class="s-green"/></svg> green: ${data.target ?? 'new version'}</li>
    <li><svg width="28" height="12" aria-hidden="true"><line x1="0" y1="6" x2="28" y2="6" class="s-blue"/></svg> blue: ${data.previous ?? 'previous version'}</li>
    <li><svg width="28" height="12" aria-hidden="true"><line x1="0" y1="6" x2="28" y2="6" class="limit"/></svg> limit</li>
    <li><svg width="18" height="12" aria-hidden="true"><rect width="18" height="12" class="win win-pass"/></svg> analysis window</li>
  </ul>`;
}

// ------------------------------------------------------------------------------------------
// Style. Colours keep at least 4.5:1 against their background for text.

export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #57606a; --border: #d0d7de; --panel: #f6f8fa;
  --green: #1a7f37; --blue: #0969da; --red: #cf222e; --amber: #9a6700; --purple: #8250df; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 32px 40px; }
h1 { font-size: 26px; line-height: 1.25; margin: 2px 0 4px; font-weight: 650; overflow-wrap: anywhere; }
h1 .image { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 22px; font-weight: 600; }
h1 .arrow { color: var(--muted); font-weight: 400; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
.eyebrow { margin: 0; text-transform: uppercase; letter-spacing: .06em; font-size: 12px; font-weight: 600; color: var(--muted); }
.sub { margin: 0; color: var(--muted); }
.mono, code { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: .88em; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.small { font-size: 12.5px; }
.nowrap { white-space: nowrap; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.banner { display: flex; gap: 14px; align-items: flex-start; margin: 14px 0 12px; padding: 12px 16px;
  border: 1px solid; border-left-width: 6px; border-radius: 6px; }
.banner p { margin: 0; }
.banner-icon { font-size: 24px; line-height: 1.1; font-weight: 700; }
.banner-title { font-size: 17px; font-weight: 650; }
.banner-detail { margin-top: 2px !important; overflow-wrap: anywhere; }
.banner-succeeded { background: #dafbe1; border-color: var(--green); }
.banner-succeeded .banner-icon { color: #116329; }
.banner-rolled-back, .banner-rollback-failed { background: #ffebe9; border-color: var(--red); }
.banner-rolled-back .banner-icon, .banner-rollback-failed .banner-icon { color: #a40e26; }
.banner-frozen { background: #fff8c5; border-color: var(--amber); }
.banner-frozen .banner-icon { color: #7d4e00; }
.banner-in-progress { background: #ddf4ff; border-color: var(--blue); }
.banner-in-progress .banner-icon { color: #0550ae; }
.facts { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 8px 20px; margin: 0;
  padding: 12px 16px; background: var(--panel); border: 1px solid var(--border); border-radius: 6px; }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 22px; list-style: none; margin: 0 0 4px; padding: 0; font-size: 13.5px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.chart { margin: 0; }
.chart-svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; }
.chart-svg text { font-size: 12px; fill: var(--fg); }
.chart-svg .muted { fill: var(--muted); }
.chart-svg .panel-title { font-size: 13.5px; font-weight: 650; }
.chart-svg .panel-title .muted { font-weight: 400; font-size: 12px; }
.chart-svg .ytick { font-size: 11.5px; fill: var(--muted); }
.frame { fill: none; stroke: #8c959f; stroke-width: 1; }
.hgrid { stroke: #eaeef2; stroke-width: 1; }
.vgrid { stroke: #eaeef2; stroke-width: 1; }
.axis { stroke: #6e7781; stroke-width: 1; }
.area-blue { fill: #cfe6ff; }
.area-green { fill: #9be9a8; }
.weight-line { fill: none; stroke: #116329; stroke-width: 2; }
.wlabel { font-size: 12.5px; font-weight: 650; fill: #0a3069; }
.wlabel-in { fill: #0f3d1c; }
.s-green { fill: none; stroke: var(--green); stroke-width: 2.25; stroke-linejoin: round; }
.s-blue { fill: none; stroke: var(--blue); stroke-width: 2.25; stroke-dasharray: 7 4; stroke-linejoin: round; }
.dot-green { fill: var(--green); }
.dot-blue { fill: #fff; stroke: var(--blue); stroke-width: 1.5; }
.green-text { fill: #116329 !important; font-weight: 650; }
.blue-text { fill: #0550ae !important; font-weight: 650; }
.serie-label { font-size: 12.5px; }
.limit { stroke: var(--red); stroke-width: 1.5; stroke-dasharray: 3 3; }
.limit-text { fill: #a40e26 !important; font-size: 11.5px !important; font-weight: 600; }
.nodata { fill: var(--muted) !important; font-style: italic; }
.win { stroke: none; }
.chart-svg .win-number { font-size: 11px; font-weight: 650; fill: var(--muted); }
.win-pass { fill: #1a7f37; fill-opacity: .1; }
.win-fail { fill: #cf222e; fill-opacity: .14; }
.win-inconclusive { fill: #bf8700; fill-opacity: .16; }
.win-paused { fill: #8250df; fill-opacity: .12; }
.win-aborted, .win-other { fill: #6e7781; fill-opacity: .12; }
.lane rect { stroke-width: 1; }
.lane text { font-size: 12px; font-weight: 600; }
.lane-v-pass rect { fill: #dafbe1; stroke: #1a7f37; } .lane-v-pass text { fill: #116329; }
.lane-v-fail rect { fill: #ffebe9; stroke: #cf222e; } .lane-v-fail text { fill: #a40e26; }
.lane-v-inconclusive rect { fill: #fff8c5; stroke: #9a6700; } .lane-v-inconclusive text { fill: #7d4e00; }
.lane-v-paused rect { fill: #fbefff; stroke: #8250df; } .lane-v-paused text { fill: #6639ba; }
.lane-v-aborted rect, .lane-v-other rect { fill: #eaeef2; stroke: #6e7781; } .lane-v-aborted text, .lane-v-other text { fill: #424a53; }
.lane-gate rect { fill: #fbefff; stroke: #8250df; } .lane-gate text { fill: #6639ba; }
.lane-rollback rect { fill: #cf222e; stroke: #a40e26; } .lane-rollback text { fill: #fff; }
.lane-end rect { fill: #eaeef2; stroke: #6e7781; } .lane-end text { fill: #24292f; }
.guide { stroke-width: 1.25; stroke-dasharray: 4 3; }
.guide-gate { stroke: #8250df; }
.guide-rollback { stroke: #cf222e; stroke-width: 1.75; }
.guide-end { stroke: #6e7781; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
table.narrow { width: auto; min-width: 50%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
thead th { background: var(--panel); font-weight: 650; border-bottom: 2px solid var(--border); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.banner-blind { background: #fff1e5; border-color: #fb8f44; }
.plan { margin: 0 0 8px 0; padding-left: 20px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-weight: 650; font-size: 12.5px; white-space: nowrap; border: 1px solid; }
.badge-pass { background: #dafbe1; color: #116329; border-color: #4ac26b; }
.badge-fail { background: #ffebe9; color: #a40e26; border-color: #ff8182; }
.badge-inconclusive { background: #fff8c5; color: #7d4e00; border-color: #d4a72c; }
.badge-paused { background: #fbefff; color: #6639ba; border-color: #c297ff; }
.badge-aborted, .badge-other { background: #eaeef2; color: #424a53; border-color: #afb8c1; }
.reasons { margin: 0; padding-left: 16px; }
th.group { text-align: center; border-bottom: 1px solid var(--border); }
.cmp-col { min-width: 250px; }
.why-col { min-width: 240px; }
.v-pass { color: #116329; font-weight: 650; } .v-fail { color: #a40e26; font-weight: 650; }
.v-inconclusive { color: #7d4e00; font-weight: 650; }
.cmp + .cmp { margin-top: 4px; }
.empty { color: var(--muted); font-style: italic; }
details summary { cursor: pointer; color: #0550ae; font-weight: 600; margin-bottom: 6px; }
footer { margin-top: 32px; padding-top: 10px; border-top: 1px solid var(--border); font-size: 12.5px; color: var(--muted); }
footer p { margin: 4px 0; }
.notes { margin: 4px 0; padding-left: 18px; }
@media (max-width: 900px) { .facts { grid-template-columns: repeat(2, minmax(0, 1fr)); } main { padding: 16px; } }
@media print { main { max-width: none; padding: 0; } details { display: block; } .scroll { overflow: visible; } }
`;
