// The report's tables: the chart's numbers as text (verdicts, gates, traffic, journal, metrics).

import { rolloutIdOfActor } from '../../functions/shared/rollouts/actors.ts';
import {
  html,
  humanDuration,
  INT,
  type Markup,
  METRIC_NAME,
  msText,
  pct,
  relative,
  t,
  VERDICT_ICON,
  verdictClass,
} from './markup.ts';
import type { MetricPoint, ReportData, VerdictRow } from './model.ts';

// ------------------------------------------------------------------------------------------
// Tables: the chart's numbers, as text.

export function when(iso: string, start: number): Markup {
  return html`<time datetime="${iso}">${iso.slice(11, 19)}</time> <span class="muted">${relative(t(iso) - start)}</span>`;
}

function numbers(n: VerdictRow['green']): Markup {
  if (!n) return html`<span class="muted">not measured</span>`;
  return html`${pct(n.errorRate)}<br><span class="muted">${INT.format(n.errors)} of ${INT.format(n.requests)}</span>`;
}

export function verdictTable(data: ReportData, start: number): Markup {
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

export function badge(verdict: string): Markup {
  return html`<span class="badge badge-${verdictClass(verdict)}"><span aria-hidden="true">${VERDICT_ICON[verdict] ?? '•'}</span> ${verdict}</span>`;
}

export function gateTable(data: ReportData, start: number): Markup {
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

export function trafficTable(data: ReportData, start: number): Markup {
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

export function journalTable(data: ReportData, start: number): Markup {
  return html`<section aria-labelledby="journal-h">
  <h2 id="journal-h">Journal</h2>
  <details>
    <summary>${data.timeline.length} journal record${data.timeline.length === 1 ? '' : 's'} of this rollout, oldest first</summary>
    <div class="scroll"><table>
      <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">What happened</th></tr></thead>
      <tbody>${data.timeline.map(
        (e) =>
          html`<tr><td class="nowrap">${when(e.at, start)}</td><td class="mono nowrap">${e.action}</td><td>${e.outcome}</td><td>${e.reason}${rolloutIdOfActor(e.actor) !== undefined ? '' : html` <span class="muted">(${e.actor})</span>`}</td></tr>`,
      )}</tbody>
    </table></div>
  </details>
</section>`;
}

export function metricTable(data: ReportData, start: number): Markup {
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
