// The report's chart, as inline SVG: a lane of events, then three panels (traffic weights, 5xx
// rate, latency) on one time axis.
import { html, type Markup, msText, pct, relative, t, VERDICT_ICON, verdictClass } from './markup.ts';
import { type ReportData, reportEnd, type VerdictRow } from './model.ts';

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

export function chart(data: ReportData, start: number, end: number): Markup {
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
