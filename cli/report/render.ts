// The rollout report as one self-contained HTML page: inline CSS and an inline SVG chart, no
// script and no external resource (a Content-Security-Policy says so to the browser too). Pure:
// ReportData in, HTML out. Every interpolated value goes through the `html` tag, which escapes it
// unless it is markup this module built.
import {
  type MetricPoint,
  type OutcomeStatus,
  type ReportData,
  reportEnd,
  type VerdictRow,
} from './model.ts';

// ------------------------------------------------------------------------------------------
// Escaping.

class Markup {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Markup | string | number | boolean | null | undefined | Part[];

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function part(value: Part): string {
  if (value instanceof Markup) return value.value;
  if (Array.isArray(value)) return value.map(part).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Template tag: text is escaped (for element content and quoted attributes alike), markup is not. */
function html(strings: TemplateStringsArray, ...values: Part[]): Markup {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += part(v) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}

// ------------------------------------------------------------------------------------------
// Formatting.

const INT = new Intl.NumberFormat('en-US');
const pct = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(digits)}%`;
const msText = (x: number | null | undefined) =>
  x === null || x === undefined ? 'n/a' : `${Math.round(x)} ms`;
const t = (iso: string) => Date.parse(iso);

/** `2026-11-22 06:56:15 UTC` */
const dateTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/** 23 min 10 s, 1 h 05 min, 45 s */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min${s % 60 ? ` ${String(s % 60).padStart(2, '0')} s` : ''}`;
}

/** +5:02, +1:05:00 (time since the rollout started) */
function relative(ms: number): string {
  const s = Math.round(ms / 1000);
  const sign = s < 0 ? '−' : '+';
  const a = Math.abs(s);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const sec = String(a % 60).padStart(2, '0');
  return h > 0 ? `${sign}${h}:${String(m).padStart(2, '0')}:${sec}` : `${sign}${m}:${sec}`;
}

const STATUS: Record<OutcomeStatus, { title: string; icon: string }> = {
  succeeded: { title: 'Succeeded', icon: '✓' },
  'rolled-back': { title: 'Rolled back', icon: '↩' },
  frozen: { title: 'Frozen', icon: '⚠' },
  'rollback-failed': { title: 'Rollback failed', icon: '⚠' },
  'in-progress': { title: 'In progress', icon: '●' },
};

const VERDICT_ICON: Record<string, string> = {
  pass: '✓',
  fail: '✗',
  inconclusive: '?',
  paused: '‖',
  aborted: '■',
};
const verdictClass = (v: string) => (v in VERDICT_ICON ? v : 'other');
const METRIC_NAME: Record<string, string> = { errorRate: '5xx rate', latency: 'latency' };

// ------------------------------------------------------------------------------------------
// The page.

export function renderReport(data: ReportData): string {
  const start = t(data.startedAt);
  const end = reportEnd(data);
  const status = STATUS[data.outcome.status];
  const where = serviceName(data);
  const title = `Rollout of ${where}: ${status.title.toLowerCase()} — ${data.execution.name}`;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="ops report">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${new Markup(CSS)}</style>
</head>
<body>
<main>
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
// The chart: a lane of events, then three panels on one time axis.

const W = 1160;
const ML = 70;
const MR = 96;
const PW = W - ML - MR;

interface Scale {
  x(ms: number): number;
  d0: number;
  d1: number;
}

interface LaneItem {
  at: number;
  text: string;
  kind: string;
  /** Draw a guide line through the panels. */
  guide: boolean;
}

function chart(data: ReportData, start: number, end: number): Markup {
  const span = Math.max(end - start, 60_000);
  const pad = span * 0.02;
  const d0 = start - pad;
  const d1 = start + span + pad;
  const scale: Scale = { d0, d1, x: (ms) => ML + ((ms - d0) / (d1 - d0)) * PW };

  const lane = laneItems(data);
  const placed = placeLane(lane, scale);
  const rows = Math.max(1, ...placed.map((p) => p.row + 1));
  const laneTop = 4;
  const laneBottom = laneTop + rows * 22;

  const weightsTop = laneBottom + 34;
  const weightsH = 110;
  const errorsTop = weightsTop + weightsH + 44;
  const panelH = 130;
  const latencyTop = errorsTop + panelH + 44;
  const axisY = latencyTop + panelH;
  const H = axisY + 44;

  const green = data.metrics?.green ?? [];
  const blue = data.metrics?.blue ?? [];
  const period = (data.metrics?.periodSeconds ?? 60) * 1000;
  const ticks = timeTicks(d0, d1);

  const body = html`
  <defs>
    <clipPath id="clip-weights"><rect x="${ML}" y="${weightsTop}" width="${PW}" height="${weightsH}"/></clipPath>
    <clipPath id="clip-errors"><rect x="${ML}" y="${errorsTop - 2}" width="${PW}" height="${panelH + 4}"/></clipPath>
    <clipPath id="clip-latency"><rect x="${ML}" y="${latencyTop - 2}" width="${PW}" height="${panelH + 4}"/></clipPath>
  </defs>
  ${ticks.map((tick) => html`<line x1="${r(scale.x(tick))}" x2="${r(scale.x(tick))}" y1="${weightsTop}" y2="${axisY}" class="vgrid"/>`)}
  ${weightsPanel(data, scale, weightsTop, weightsH)}
  ${metricPanel({
    title: '5xx rate',
    subtitle: 'HTTPCode_Target_5XX_Count / RequestCount',
    top: errorsTop,
    height: panelH,
    clip: 'clip-errors',
    scale,
    period,
    verdicts: data.verdicts,
    green: green.map((p) => ({ at: p.at, v: p.errorRate })),
    blue: blue.map((p) => ({ at: p.at, v: p.errorRate })),
    limit: data.analysis.maxErrorRate,
    format: (v) => pct(v, v !== 0 && v < 0.001 ? 3 : v < 0.1 ? 2 : 1),
    axisFormat: (v) => `${trimNumber(v * 100)}%`,
    note: data.metrics ? undefined : (data.metricsNote ?? 'no metrics'),
  })}
  ${metricPanel({
    title: `${data.metrics?.statistic ?? 'p95'} latency`,
    subtitle: 'TargetResponseTime',
    top: latencyTop,
    height: panelH,
    clip: 'clip-latency',
    scale,
    period,
    verdicts: data.verdicts,
    green: green.map((p) => ({ at: p.at, v: p.p95LatencyMs })),
    blue: blue.map((p) => ({ at: p.at, v: p.p95LatencyMs })),
    limit: data.analysis.maxP95LatencyMs,
    format: msText,
    axisFormat: (v) => `${trimNumber(v)} ms`,
    note: data.metrics ? undefined : (data.metricsNote ?? 'no metrics'),
  })}
  ${placed
    .filter((p) => p.item.guide)
    .map(
      (p) =>
        html`<line x1="${r(p.x)}" x2="${r(p.x)}" y1="${laneTop + p.row * 22 + 18}" y2="${axisY}" class="guide guide-${p.item.kind}"/>`,
    )}
  ${placed.map((p) => laneLabel(p, laneTop))}
  <line x1="${ML}" x2="${ML + PW}" y1="${axisY}" y2="${axisY}" class="axis"/>
  ${ticks.map(
    (tick) => html`<g class="tick">
    <line x1="${r(scale.x(tick))}" x2="${r(scale.x(tick))}" y1="${axisY}" y2="${axisY + 5}" class="axis"/>
    <text x="${r(scale.x(tick))}" y="${axisY + 18}" text-anchor="middle">${clock(tick, d1 - d0)}</text>
    <text x="${r(scale.x(tick))}" y="${axisY + 33}" text-anchor="middle" class="muted">${relative(tick - start)}</text>
  </g>`,
  )}`;

  return html`<svg class="chart-svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, 'DejaVu Sans', 'Liberation Sans', sans-serif">
  <title id="chart-title">Listener weights, 5xx rate and latency of green and blue during rollout ${data.execution.name}</title>
  <desc id="chart-desc">${chartDescription(data)}</desc>
  ${body}
</svg>`;
}

function chartDescription(data: ReportData): string {
  const weights = data.weights.map((w) => `${w.green}%`).join(', ');
  const verdicts = data.verdicts
    .map((v, i) => `${i + 1}: step ${v.step + 1} at ${v.weight}% ${v.verdict}`)
    .join('; ');
  return [
    `Green's share of production traffic over time: ${weights || 'never changed'}.`,
    verdicts ? `Analysis verdicts: ${verdicts}.` : 'No analysis ran.',
    `Outcome: ${data.outcome.summary}.`,
    'The tables below list every value shown.',
  ].join(' ');
}

function laneItems(data: ReportData): LaneItem[] {
  const items: LaneItem[] = [];
  data.verdicts.forEach((v, i) => {
    items.push({
      at: (t(v.window.start) + t(v.window.end)) / 2,
      text: `${i + 1} ${VERDICT_ICON[v.verdict] ?? '•'} ${v.verdict}`,
      kind: `v-${verdictClass(v.verdict)}`,
      guide: false,
    });
  });
  for (const g of data.gates) {
    if (g.event === 'opened' && g.gate !== 'rollback window') continue;
    const text =
      g.gate === 'rollback window'
        ? g.event === 'opened'
          ? 'promoted'
          : g.decision === 'rollback'
            ? `rolled back by ${g.by ?? 'operator'}`
            : 'window closed'
        : g.gate === 'abort'
          ? `aborted by ${g.by ?? 'operator'}`
          : g.gate === 'pre-traffic hook'
            ? `pre-traffic hook ${g.event}`
            : `${g.gate}: ${g.decision ?? g.event}${g.by ? ` (${g.event === 'timed out' ? 'timeout' : g.by})` : ''}`;
    items.push({ at: t(g.at), text, kind: 'gate', guide: true });
  }
  for (const w of data.weights) {
    if (w.label === 'rollback')
      items.push({ at: t(w.at), text: 'rollback: 100% blue', kind: 'rollback', guide: true });
  }
  if (data.finishedAt && data.outcome.status === 'succeeded')
    items.push({ at: t(data.finishedAt), text: 'blue retired', kind: 'end', guide: true });
  return items.sort((a, b) => a.at - b.at);
}

/** Greedy rows: a label goes on the first row where it does not overlap the previous one. */
function placeLane(all: LaneItem[], scale: Scale) {
  // Events at (nearly) the same moment share one label: a zero-length window, an answer and
  // the promotion it led to.
  const items: LaneItem[] = [];
  for (const item of all) {
    const last = items.at(-1);
    if (last && item.guide && last.guide && scale.x(item.at) - scale.x(last.at) < 8) {
      last.text += ` · ${item.text}`;
      if (item.kind === 'rollback') last.kind = 'rollback';
    } else items.push({ ...item });
  }
  const rowEnds: number[] = [];
  return items.map((item) => {
    const width = textWidth(item.text, 12) + 16;
    const x = scale.x(item.at);
    const left = Math.min(Math.max(x - 8, ML - 40), W - width - 2);
    let row = rowEnds.findIndex((e) => e + 6 <= left);
    if (row < 0) {
      row = rowEnds.length < 4 ? rowEnds.length : rowEnds.indexOf(Math.min(...rowEnds));
    }
    rowEnds[row] = left + width;
    return { item, x, left, width, row };
  });
}

function laneLabel(p: ReturnType<typeof placeLane>[number], laneTop: number): Markup {
  const y = laneTop + p.row * 22;
  return html`<g class="lane lane-${p.item.kind}">
    <rect x="${r(p.left)}" y="${y}" width="${r(p.width)}" height="18" rx="9"/>
    <text x="${r(p.left + 8)}" y="${y + 13}">${p.item.text}</text>
  </g>`;
}

function weightsPanel(data: ReportData, scale: Scale, top: number, height: number): Markup {
  const y = (pct100: number) => top + height - (pct100 / 100) * height;
  const points = data.weights.map((w) => ({ x: scale.x(t(w.at)), green: w.green, label: w.label }));
  const endX = scale.x(reportEnd(data));
  const segments = points.map((p, i) => ({ ...p, x2: Math.max(points[i + 1]?.x ?? endX, p.x) }));
  const area = segments.length
    ? `M${r(segments[0]?.x ?? ML)},${y(0)} ${segments.map((s) => `L${r(s.x)},${r(y(s.green))} L${r(s.x2)},${r(y(s.green))}`).join(' ')} L${r(endX)},${y(0)} Z`
    : '';
  const line = segments.length
    ? `M${segments.map((s) => `${r(s.x)},${r(y(s.green))} L${r(s.x2)},${r(y(s.green))}`).join(' L')}`
    : '';
  const first = segments[0]?.x ?? ML;
  return html`<g class="panel">
    <text x="${ML}" y="${top - 12}" class="panel-title">Production traffic <tspan class="muted">listener weights, read back after every change</tspan></text>
    <rect x="${r(first)}" y="${top}" width="${r(Math.max(endX - first, 0))}" height="${height}" class="area-blue" clip-path="url(#clip-weights)"/>
    ${area ? html`<path d="${area}" class="area-green" clip-path="url(#clip-weights)"/>` : ''}
    ${line ? html`<path d="${line}" class="weight-line" clip-path="url(#clip-weights)"/>` : ''}
    ${[0, 50, 100].map(
      (v) => html`<line x1="${ML}" x2="${ML + PW}" y1="${r(y(v))}" y2="${r(y(v))}" class="hgrid"/>
      <text x="${ML - 8}" y="${r(y(v) + 4)}" text-anchor="end" class="ytick">${v}%</text>`,
    )}
    ${segments.map((s) => {
      const w = s.x2 - s.x;
      if (w < 34) return '';
      const text = w > 96 ? `${s.green}% green` : `${s.green}%`;
      const ty = s.green > 80 ? y(s.green) + 16 : y(s.green) - 6;
      return html`<text x="${r(s.x + w / 2)}" y="${r(ty)}" text-anchor="middle" class="${s.green > 80 ? 'wlabel wlabel-in' : 'wlabel'}">${text}</text>`;
    })}
    <text x="${ML + PW + 8}" y="${top + 14}" class="serie-label blue-text">blue</text>
    <text x="${ML + PW + 8}" y="${top + height - 4}" class="serie-label green-text">green</text>
    <rect x="${ML}" y="${top}" width="${PW}" height="${height}" class="frame"/>
  </g>`;
}

interface MetricPanel {
  title: string;
  subtitle: string;
  top: number;
  height: number;
  clip: string;
  scale: Scale;
  period: number;
  verdicts: VerdictRow[];
  green: { at: string; v: number | null }[];
  blue: { at: string; v: number | null }[];
  limit: number | undefined;
  format: (v: number) => string;
  axisFormat: (v: number) => string;
  note: string | undefined;
}

function metricPanel(p: MetricPanel): Markup {
  const inView = (s: { at: string; v: number | null }[]) =>
    s.filter((q) => q.v !== null && t(q.at) + p.period >= p.scale.d0 && t(q.at) <= p.scale.d1);
  const values = [...inView(p.green), ...inView(p.blue)].map((q) => q.v as number);
  const dataMax = values.length > 0 ? Math.max(...values) : 0;
  // The limit is drawn when it is in the data's range; far above, it is only named.
  const limitShown = p.limit !== undefined && (dataMax === 0 || p.limit <= dataMax * 4);
  const max = niceMax(
    Math.max(dataMax * 1.25, limitShown && p.limit !== undefined ? p.limit * 1.15 : 0) || 1,
  );
  const y = (v: number) => p.top + p.height - (v / max) * p.height;
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max];
  const series = (s: { at: string; v: number | null }[], cls: string) => {
    const pts = s
      .filter((q) => q.v !== null)
      .map((q) => ({ x: p.scale.x(t(q.at) + p.period / 2), y: y(q.v as number), at: t(q.at) }));
    // A line breaks where a period has no datapoint (no requests reached the group).
    let d = '';
    pts.forEach((q, i) => {
      const prev = pts[i - 1];
      d += `${!prev || q.at - prev.at > p.period * 1.5 ? 'M' : 'L'}${r(q.x)},${r(q.y)} `;
    });
    const dots =
      pts.length <= 150
        ? pts.map((q) => html`<circle cx="${r(q.x)}" cy="${r(q.y)}" r="2.6" class="dot-${cls}"/>`)
        : '';
    return { d: d.trim(), dots, last: pts.at(-1) };
  };
  const g = series(p.green, 'green');
  const b = series(p.blue, 'blue');
  // End labels name the series in words, not only in colour; nudged apart when close.
  let gy = g.last?.y;
  let by = b.last?.y;
  if (gy !== undefined && by !== undefined && Math.abs(gy - by) < 14) {
    const mid = (gy + by) / 2;
    const greenAbove = gy <= by;
    gy = greenAbove ? mid - 7 : mid + 7;
    by = greenAbove ? mid + 7 : mid - 7;
  }
  return html`<g class="panel">
    <text x="${ML}" y="${p.top - 12}" class="panel-title">${p.title} <tspan class="muted">${p.subtitle}</tspan></text>
    ${p.verdicts.map((v, i) => {
      const x1 = Math.max(p.scale.x(t(v.window.start)), ML);
      const x2 = Math.min(p.scale.x(t(v.window.end)), ML + PW);
      // A pixel apart, so back-to-back windows stay two bands; numbered as in the verdict table.
      return x2 - x1 > 2
        ? html`<rect x="${r(x1 + 1)}" y="${p.top}" width="${r(x2 - x1 - 2)}" height="${p.height}" class="win win-${verdictClass(v.verdict)}"><title>Analysis ${i + 1}: step ${v.step + 1} at ${v.weight}% green, ${v.verdict}</title></rect>
        <text x="${r(x1 + 5)}" y="${p.top + 13}" class="win-number">${i + 1}</text>`
        : '';
    })}
    ${ticks.map(
      (v) => html`<line x1="${ML}" x2="${ML + PW}" y1="${r(y(v))}" y2="${r(y(v))}" class="hgrid"/>
      <text x="${ML - 8}" y="${r(y(v) + 4)}" text-anchor="end" class="ytick">${p.axisFormat(v)}</text>`,
    )}
    ${
      p.limit !== undefined && limitShown
        ? html`<line x1="${ML}" x2="${ML + PW}" y1="${r(y(p.limit))}" y2="${r(y(p.limit))}" class="limit"/>
      <text x="${ML + PW - 4}" y="${r(y(p.limit) - 5)}" text-anchor="end" class="limit-text">limit ${p.format(p.limit)}</text>`
        : p.limit !== undefined
          ? html`<text x="${ML + PW}" y="${p.top - 12}" text-anchor="end" class="limit-text">limit ${p.format(p.limit)}, far above the data</text>`
          : ''
    }
    <g clip-path="url(#${p.clip})">
      ${b.d ? html`<path d="${b.d}" class="s-blue"/>` : ''}
      ${b.dots}
      ${g.d ? html`<path d="${g.d}" class="s-green"/>` : ''}
      ${g.dots}
    </g>
    ${g.last && gy !== undefined ? html`<text x="${ML + PW + 8}" y="${r(gy + 4)}" class="serie-label green-text">green</text>` : ''}
    ${b.last && by !== undefined ? html`<text x="${ML + PW + 8}" y="${r(by + 4)}" class="serie-label blue-text">blue</text>` : ''}
    ${
      p.note || values.length === 0
        ? html`<text x="${ML + PW / 2}" y="${p.top + p.height / 2}" text-anchor="middle" class="nodata">${p.note ?? 'no datapoints in this time range'}</text>`
        : ''
    }
    <rect x="${ML}" y="${p.top}" width="${PW}" height="${p.height}" class="frame"/>
  </g>`;
}

const r = (x: number) => Math.round(x * 10) / 10;

/** Rough width of a label in px: the lane needs it to keep labels apart. */
function textWidth(text: string, size: number): number {
  return [...text].length * size * 0.58;
}

function niceMax(v: number): number {
  const pow = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * pow >= v - 1e-12) return m * pow;
  return 10 * pow;
}

function trimNumber(v: number): string {
  if (v === 0) return '0';
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
  return String(Number(v.toFixed(digits)));
}

const TICK_STEPS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(
  (s) => s * 1000,
);

function timeTicks(d0: number, d1: number): number[] {
  const step =
    TICK_STEPS.find((s) => (d1 - d0) / s <= 9) ?? 86_400_000 * Math.ceil((d1 - d0) / 86_400_000 / 9);
  const ticks: number[] = [];
  for (let x = Math.ceil(d0 / step) * step; x <= d1; x += step) ticks.push(x);
  return ticks;
}

function clock(ms: number, span: number): string {
  const iso = new Date(ms).toISOString();
  if (span > 2 * 86_400_000) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  return span < 10 * 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
}

// ------------------------------------------------------------------------------------------
// Tables: the chart's numbers, as text.

function when(iso: string, start: number): Markup {
  return html`<time datetime="${iso}">${iso.slice(11, 19)}</time> <span class="muted">${relative(t(iso) - start)}</span>`;
}

function numbers(n: VerdictRow['green']): Markup {
  if (!n) return html`<span class="muted">not measured</span>`;
  return html`${pct(n.errorRate)}<br><span class="muted">${INT.format(n.errors)} of ${INT.format(n.requests)}</span>`;
}

function verdictTable(data: ReportData, start: number): Markup {
  if (data.verdicts.length === 0)
    return html`<section aria-labelledby="verdicts-h"><h2 id="verdicts-h">Analysis verdicts</h2><p class="empty">No analysis ran: the rollout stopped before any traffic reached green, or has not baked yet.</p></section>`;
  return html`<section aria-labelledby="verdicts-h">
  <h2 id="verdicts-h">Analysis verdicts</h2>
  <div class="scroll"><table>
    <thead><tr>
      <th scope="col" rowspan="2">#</th><th scope="col" rowspan="2">Judged at</th><th scope="col" rowspan="2">Step</th><th scope="col" rowspan="2">Verdict</th>
      <th scope="colgroup" colspan="2" class="group">5xx rate</th><th scope="colgroup" colspan="2" class="group">${data.verdicts[0]?.green?.latencyStatistic ?? 'p95'} latency</th>
      <th scope="col" rowspan="2" class="cmp-col">Green vs blue <span class="muted small">(Mann-Whitney U)</span></th><th scope="col" rowspan="2" class="why-col">Why</th>
    </tr><tr>
      <th scope="col" class="num">green</th><th scope="col" class="num">blue</th><th scope="col" class="num">green</th><th scope="col" class="num">blue</th>
    </tr></thead>
    <tbody>
    ${data.verdicts.map(
      (v, i) => html`<tr>
      <td class="num">${i + 1}</td>
      <td class="nowrap">${when(v.at, start)}<br><span class="muted small">window ${humanDuration(t(v.window.end) - t(v.window.start))}</span></td>
      <td class="nowrap">${v.step + 1} at ${v.weight}%</td>
      <td>${badge(v.verdict)}</td>
      <td class="num">${numbers(v.green)}</td>
      <td class="num">${numbers(v.blue)}</td>
      <td class="num">${v.green ? msText(v.green.p95LatencyMs) : html`<span class="muted">n/a</span>`}</td>
      <td class="num">${v.blue ? msText(v.blue.p95LatencyMs) : html`<span class="muted">n/a</span>`}</td>
      <td>${
        v.comparisons.length === 0
          ? html`<span class="muted">no comparison</span>`
          : v.comparisons.map(
              (c) =>
                html`<div class="cmp"><strong>${METRIC_NAME[c.metric] ?? c.metric}</strong> ${badgeText(c.verdict)}${c.pValue !== null ? html` <span class="muted">p=${c.pValue.toPrecision(3)}, U=${c.u ?? 'n/a'}</span>` : ''}<br><span class="muted small">median ${c.metric === 'errorRate' ? pct(c.greenMedian) : msText(c.greenMedian)} vs ${c.metric === 'errorRate' ? pct(c.blueMedian) : msText(c.blueMedian)} · ${c.samples.green}/${c.samples.blue} samples</span></div>`,
            )
      }</td>
      <td>${
        v.reasons.length === 0 && v.alarms.length === 0
          ? html`<span class="muted">within every limit</span>`
          : html`<ul class="reasons">${v.reasons.map((x) => html`<li>${x}</li>`)}${v.alarms.length > 0 ? html`<li>alarms: ${v.alarms.map((a) => `${a.name} ${a.state}`).join(', ')}</li>` : ''}</ul>`
      }</td>
    </tr>`,
    )}
    </tbody>
  </table></div>
</section>`;
}

/** A verdict word in its colour, for inside a sentence. */
function badgeText(verdict: string): Markup {
  return html`<span class="v-${verdictClass(verdict)}">${verdict}</span>`;
}

function badge(verdict: string): Markup {
  return html`<span class="badge badge-${verdictClass(verdict)}"><span aria-hidden="true">${VERDICT_ICON[verdict] ?? '•'}</span> ${verdict}</span>`;
}

function gateTable(data: ReportData, start: number): Markup {
  return html`<section aria-labelledby="gates-h">
  <h2 id="gates-h">Gates and approvals</h2>
  ${
    data.gates.length === 0
      ? html`<p class="empty">No gate was opened${data.approval && data.approval !== 'none' ? ' (the rollout stopped before its gate)' : ' (approval: none)'}.</p>`
      : html`<div class="scroll"><table>
    <thead><tr><th scope="col">When</th><th scope="col">Gate</th><th scope="col">Event</th><th scope="col">Decision</th><th scope="col">By</th><th scope="col">Details</th></tr></thead>
    <tbody>${data.gates.map(
      (g) =>
        html`<tr><td class="nowrap">${when(g.at, start)}</td><td class="nowrap">${g.gate}</td><td>${g.event}</td><td>${g.decision ? html`<strong>${g.decision}</strong>` : html`<span class="muted">—</span>`}</td><td>${g.by ?? html`<span class="muted">—</span>`}</td><td>${g.text}</td></tr>`,
    )}</tbody>
  </table></div>`
  }
</section>`;
}

function trafficTable(data: ReportData, start: number): Markup {
  return html`<section aria-labelledby="traffic-h">
  <h2 id="traffic-h">Traffic changes</h2>
  ${
    data.weights.length === 0
      ? html`<p class="empty">No weight change was journaled.</p>`
      : html`<table class="narrow">
    <thead><tr><th scope="col">When</th><th scope="col">Change</th><th scope="col" class="num">Blue</th><th scope="col" class="num">Green</th></tr></thead>
    <tbody>${data.weights.map(
      (w) =>
        html`<tr><td class="nowrap">${when(w.at, start)}</td><td>${w.label}</td><td class="num">${w.blue}%</td><td class="num">${w.green}%</td></tr>`,
    )}</tbody>
  </table>
  <p class="small muted">Planned: ${data.plannedWeights.map((w) => `${w}%`).join(' → ') || 'unknown'} green. Every weight is the one the load balancer reported after the change.</p>`
  }
</section>`;
}

function journalTable(data: ReportData, start: number): Markup {
  return html`<section aria-labelledby="journal-h">
  <h2 id="journal-h">Journal</h2>
  <details>
    <summary>${data.timeline.length} journal record${data.timeline.length === 1 ? '' : 's'} of this rollout, oldest first</summary>
    <div class="scroll"><table>
      <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">What happened</th></tr></thead>
      <tbody>${data.timeline.map(
        (e) =>
          html`<tr><td class="nowrap">${when(e.at, start)}</td><td class="mono nowrap">${e.action}</td><td>${e.outcome}</td><td>${e.reason}${e.actor.startsWith('blue-green-rollout/') ? '' : html` <span class="muted">(${e.actor})</span>`}</td></tr>`,
      )}</tbody>
    </table></div>
  </details>
</section>`;
}

function metricTable(data: ReportData, start: number): Markup {
  const m = data.metrics;
  if (!m) return html``;
  const byTime = new Map<string, { green?: MetricPoint; blue?: MetricPoint }>();
  for (const p of m.green) byTime.set(p.at, { ...byTime.get(p.at), green: p });
  for (const p of m.blue) byTime.set(p.at, { ...byTime.get(p.at), blue: p });
  const rows = [...byTime.entries()].sort(([a], [b]) => a.localeCompare(b));
  const cell = (p: MetricPoint | undefined) =>
    p
      ? html`<td class="num">${INT.format(p.requests)}</td><td class="num">${pct(p.errorRate)}</td><td class="num">${msText(p.p95LatencyMs)}</td>`
      : html`<td class="num muted">—</td><td class="num muted">—</td><td class="num muted">—</td>`;
  return html`<section aria-labelledby="metrics-h">
  <h2 id="metrics-h">Metric data</h2>
  <details>
    <summary>${rows.length} period${rows.length === 1 ? '' : 's'} of ${m.periodSeconds} s for green and blue</summary>
    <div class="scroll"><table>
      <thead><tr><th scope="col" rowspan="2">Period from</th><th scope="colgroup" colspan="3">Green</th><th scope="colgroup" colspan="3">Blue</th></tr>
      <tr><th scope="col" class="num">Requests</th><th scope="col" class="num">5xx</th><th scope="col" class="num">${m.statistic}</th><th scope="col" class="num">Requests</th><th scope="col" class="num">5xx</th><th scope="col" class="num">${m.statistic}</th></tr></thead>
      <tbody>${rows.map(([at, p]) => html`<tr><td class="nowrap">${when(at, start)}</td>${cell(p.green)}${cell(p.blue)}</tr>`)}</tbody>
    </table></div>
    <p class="small muted mono">green ${m.greenTargetGroup}<br>blue ${m.blueTargetGroup}</p>
  </details>
</section>`;
}

// ------------------------------------------------------------------------------------------
// Style. Colours keep at least 4.5:1 against their background for text.

const CSS = `
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
