// A spot game day's report, as one self-contained HTML page: the verdict, each interrupted
// instance's notice-to-drain against the two-minute budget, the tasks the drains moved, the
// capacity asked for, the alerts, and whether minimum healthy was kept. Pure: the data in, the page out.
import { dateTime, html, humanDuration, type Markup, pageStart } from '../report/markup.ts';
import { REPORT_CSS } from '../report/render.ts';
import {
  type GameDayData,
  type GameDayReport,
  gameDayReport,
  type InstanceRow,
  TWO_MINUTES_MS,
} from './rules.ts';

const GAME_DAY_CSS = `
table.rows { width: 100%; border-collapse: collapse; margin: 6px 0 18px; }
table.rows th, table.rows td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--border); vertical-align: top; }
table.rows th { font-size: 12.5px; color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: var(--green); font-weight: 600; }
.bad { color: var(--red); font-weight: 600; }
svg.latency { width: 100%; height: auto; display: block; margin: 8px 0 4px; }
svg.latency text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: #1f2328; }
`;

export function renderGameDayReport(data: GameDayData): string {
  const report = gameDayReport(data);
  const e = data.experiment;
  const passed = report.verdict.passed;
  const drained = report.instances.filter((r) => r.result === 'drained');
  const alerted = report.instances.filter((r) => r.alertedAt).length;
  const added = report.capacity.reduce((n, c) => n + c.added, 0);
  const title = `Spot game day ${e.id}`;
  return html`${pageStart(title, 'ops gameday spot', REPORT_CSS + GAME_DAY_CSS)}
<p class="eyebrow">${`Spot game day${data.where === 'local' ? ' (local emulator)' : ''}`}</p>
<h1>${title}</h1>
<p class="sub">${`${data.percent}% of ${data.group}'s running spot instances: ${data.targets.length} interrupted${data.running === undefined ? '' : ` of ${data.running}`}`}</p>
<div class="banner banner-${passed ? 'succeeded' : 'rolled-back'}" role="status">
  <span class="banner-icon" aria-hidden="true">${passed ? '✓' : '✗'}</span>
  <div><p class="banner-title">${passed ? `Passed: every interrupted instance drained within two minutes, minimum healthy kept` : `Failed: ${report.verdict.problems.length} problem(s)`}</p>
  ${report.verdict.problems.map((p) => html`<p class="banner-detail">${p}</p>`)}</div>
</div>
<dl class="facts">
  <div><dt>Experiment</dt><dd>${`${e.status}${e.reason ? `: ${e.reason}` : ''}`}<br><span class="muted small mono">${e.templateId ? `template ${e.templateId}` : ''}</span></dd></div>
  <div><dt>Ran</dt><dd>${dateTime(e.startedAt)}<br><span class="muted small">${`for ${humanDuration(Date.parse(e.endedAt) - Date.parse(e.startedAt))}`}</span></dd></div>
  <div><dt>Drained</dt><dd>${`${drained.length} of ${report.instances.length}`}<br><span class="muted small">${slowest(report)}</span></dd></div>
  <div><dt>Tasks moved</dt><dd>${String(report.tasksMoved)}</dd></div>
  <div><dt>Capacity asked for</dt><dd>${`+${added} instance(s)`}<br><span class="muted small">${data.registered === undefined ? report.capacity.map((c) => `${c.group} (${c.market})`).join(', ') : `${data.registered} joined the cluster`}</span></dd></div>
  <div><dt>Alerts</dt><dd>${`raised for ${alerted} of ${report.instances.length}`}<br><span class="muted small">${data.notifications ? `${data.notifications.length} notification(s) sent` : 'notifications: see the alert topics'}</span></dd></div>
  <div><dt>Minimum healthy</dt><dd class="${report.minimumHealthy.kept ? 'ok' : 'bad'}">${report.minimumHealthy.kept ? 'kept' : 'not kept'}</dd></div>
  <div><dt>Drill announced</dt><dd>${report.bracket.started ? (report.bracket.ended ? 'start and end journaled' : 'start journaled') : 'not journaled'}</dd></div>
</dl>
<h2>Notice to drain, against the two-minute budget</h2>
${latencyChart(report.instances)}
<table class="rows">
<thead><tr><th scope="col">Instance</th><th scope="col">Result</th><th scope="col">Notice</th><th scope="col">Notice to drain</th><th scope="col">Budget left</th><th scope="col">Tasks moved</th><th scope="col">Alert raised</th><th scope="col">Replacement</th></tr></thead>
<tbody>${report.instances.map(row)}</tbody>
</table>
<h2>Minimum healthy</h2>
<p class="${report.minimumHealthy.kept ? 'ok' : 'bad'}">${`${report.minimumHealthy.kept ? 'Kept' : 'Not kept'}: ${report.minimumHealthy.why}`}</p>
${
  report.protections.length > 0
    ? html`<table class="rows"><thead><tr><th scope="col">Service</th><th scope="col">Tasks added</th><th scope="col">In the warning's budget</th><th scope="col">Why</th></tr></thead>
<tbody>${report.protections.map((p) => html`<tr><td class="mono">${p.resource.replace(/^service\//, '')}</td><td class="num">${`+${p.added}`}</td><td>${p.inBudget ? 'yes' : 'no'}</td><td class="small">${p.reason}</td></tr>`)}</tbody></table>`
    : ''
}
<h2>Capacity</h2>
${
  report.capacity.length > 0
    ? html`<table class="rows"><thead><tr><th scope="col">Group</th><th scope="col">Market</th><th scope="col">Desired count added</th><th scope="col">Outcome</th></tr></thead>
<tbody>${report.capacity.map((c) => html`<tr><td class="mono">${c.group}</td><td>${c.market}</td><td class="num">${`+${c.added}`}</td><td>${c.outcome}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">No replacement capacity was asked for.</p>`
}
${
  data.notifications
    ? html`<h2>Notifications sent</h2>
<table class="rows"><thead><tr><th scope="col">Severity</th><th scope="col">Kind</th><th scope="col">Subject</th></tr></thead>
<tbody>${data.notifications.map((n) => html`<tr><td>${n.severity}</td><td class="mono">${n.kind}</td><td>${n.subject}</td></tr>`)}</tbody></table>`
    : ''
}
<p class="muted small">${`Generated ${dateTime(data.generatedAt)} by ops gameday spot from the journal and the spot episodes. Each drain's record: ops journal.`}</p>
</main>
</body>
</html>
`.toString();
}

function slowest(report: GameDayReport): string {
  const latencies = report.instances.flatMap((r) => (r.latencyMs === undefined ? [] : [r.latencyMs]));
  return latencies.length === 0
    ? ''
    : `slowest ${(Math.max(...latencies) / 1000).toFixed(1)} s after its notice`;
}

function row(r: InstanceRow): Markup {
  const late = r.latencyMs !== undefined && r.latencyMs > TWO_MINUTES_MS;
  return html`<tr><td class="mono">${r.instanceId}</td><td class="${r.result === 'drained' || r.result === 'already draining' ? 'ok' : 'bad'}">${r.result}</td><td class="nowrap small">${r.noticeAt ? dateTime(r.noticeAt) : ''}</td><td class="num ${late ? 'bad' : ''}">${r.latencyMs === undefined ? '' : `${(r.latencyMs / 1000).toFixed(1)} s`}</td><td class="num">${r.latencyMs === undefined ? '' : `${Math.round((TWO_MINUTES_MS - r.latencyMs) / 1000)} s`}</td><td class="num">${r.tasks === undefined ? '' : String(r.tasks)}</td><td class="nowrap small">${r.alertedAt ? dateTime(r.alertedAt) : 'no'}</td><td class="small">${r.replacement ?? ''}</td></tr>`;
}

/** One bar per instance from its notice to its drain, on a scale that ends at the two minutes. */
function latencyChart(rows: readonly InstanceRow[]): Markup {
  const width = 1100;
  const label = 200;
  const rowHeight = 22;
  const x = (ms: number) => label + (Math.min(ms, TWO_MINUTES_MS) / TWO_MINUTES_MS) * (width - label - 10);
  const bars = rows.map((r, i) => {
    const y = i * rowHeight;
    const name = html`<text x="0" y="${y + 15}">${r.instanceId}</text>`;
    if (r.latencyMs === undefined)
      return html`${name}<text x="${label}" y="${y + 15}" fill="#cf222e">${r.result}</text>`;
    const late = r.latencyMs > TWO_MINUTES_MS;
    return html`${name}<rect x="${label}" y="${y + 4}" width="${Math.max(2, x(r.latencyMs) - label).toFixed(1)}" height="${rowHeight - 8}" rx="3" fill="${late ? '#cf222e' : '#1a7f37'}"><title>${`${r.instanceId}: drained ${(r.latencyMs / 1000).toFixed(1)} s after its notice`}</title></rect>`;
  });
  const height = rows.length * rowHeight + 20;
  return html`<svg class="latency" viewBox="0 0 ${width} ${height}" role="img" aria-label="Notice to drain per instance, on a scale ending at the two-minute interruption">${bars}<line x1="${width - 10}" y1="0" x2="${width - 10}" y2="${height - 16}" stroke="#cf222e" stroke-dasharray="4 3"/><text x="${width - 10}" y="${height - 2}" text-anchor="end" fill="#cf222e">two minutes: the interruption</text><text x="${label}" y="${height - 2}">notice</text></svg>`;
}
