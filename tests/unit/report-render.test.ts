// renderReport: the rollout report page from plain data. Every interpolated string is escaped
// (hostile image names, reasons and operator names stay text), the page is self-contained (no
// script, no external URL), empty data renders without NaN or "undefined", and a rolled-back
// rollout shows its banner, weights, verdicts and gate answer. assembleReport turns journal
// records into that data.
import { describe, expect, it } from 'vitest';
import { assembleReport } from '../../cli/report/collect.ts';
import { escapeHtml, humanDuration } from '../../cli/report/markup.ts';
import type { MetricPoint, ReportData } from '../../cli/report/model.ts';
import { renderReport } from '../../cli/report/render.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';

const T0 = Date.parse('2026-11-22T06:56:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const numbers = (requests: number, errors: number, p95: number) => ({
  requests,
  errors,
  errorRate: requests > 0 ? errors / requests : null,
  p95LatencyMs: p95,
  errorRateSamples: [],
  latencySamples: [],
  latencyStatistic: 'p95',
});

function series(from: number, to: number, f: (minute: number) => [number, number, number]): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let s = from, m = 0; s <= to; s += 60, m++) {
    const [requests, errors, p95] = f(m);
    points.push({
      at: at(s),
      requests,
      errors,
      errorRate: requests > 0 ? errors / requests : null,
      p95LatencyMs: requests > 0 ? p95 : null,
    });
  }
  return points;
}

/** A steps rollout approved at the before-traffic gate whose 50% step failed: rolled back. */
function rolledBack(): ReportData {
  return {
    execution: {
      name: 'rollout-api-20261122T065600-ab12',
      arn: 'arn:aws:states:us-east-1:123456789012:execution:EcsOps-BlueGreenRollout:rollout-api-20261122T065600-ab12',
    },
    cluster: 'web',
    service: 'api',
    target: 'registry.local/api:2.4.0',
    previous: 'registry.local/api:2.3.9',
    strategy: '10% for 5m → 25% for 5m → 50% for 5m → 100% for 5m',
    plannedWeights: [10, 25, 50, 100],
    requestedBy: 'ops-cli/alice',
    startedAt: at(0),
    finishedAt: at(905),
    phase: 'rolled-back',
    outcome: {
      status: 'rolled-back',
      summary: 'Rolled back (analysis): 100% of traffic is back on blue; green was removed',
      detail: 'green 5xx rate 7.50% (45 of 600 requests) is above the maximum 2.00%',
    },
    analysis: { alarms: [], maxErrorRate: 0.02, maxP95LatencyMs: 400, baseline: 'green vs blue' },
    approval: 'before-traffic (timeout 1h, then reject)',
    onFailure: 'rollback',
    weights: [
      { at: at(0), blue: 100, green: 0, label: 'start' },
      { at: at(2), blue: 90, green: 10, label: 'step 1 of 4' },
      { at: at(302), blue: 75, green: 25, label: 'step 2 of 4' },
      { at: at(603), blue: 50, green: 50, label: 'step 3 of 4' },
      { at: at(904), blue: 100, green: 0, label: 'rollback' },
    ],
    verdicts: [
      {
        at: at(302),
        step: 0,
        weight: 10,
        verdict: 'pass',
        window: { start: at(2), end: at(302) },
        green: numbers(600, 1, 52),
        blue: numbers(5400, 9, 51),
        comparisons: [
          {
            metric: 'errorRate',
            verdict: 'pass',
            u: 8,
            pValue: 0.61,
            greenMedian: 0,
            blueMedian: 0.0017,
            samples: { green: 5, blue: 5 },
            note: '',
          },
        ],
        alarms: [],
        reasons: [],
      },
      {
        at: at(603),
        step: 1,
        weight: 25,
        verdict: 'pass',
        window: { start: at(302), end: at(603) },
        green: numbers(1500, 2, 53),
        blue: numbers(4500, 8, 52),
        comparisons: [],
        alarms: [],
        reasons: [],
      },
      {
        at: at(904),
        step: 2,
        weight: 50,
        verdict: 'fail',
        window: { start: at(603), end: at(904) },
        green: numbers(600, 45, 142),
        blue: numbers(3000, 6, 51),
        comparisons: [
          {
            metric: 'latency',
            verdict: 'fail',
            u: 25,
            pValue: 0.004,
            greenMedian: 142,
            blueMedian: 51,
            samples: { green: 5, blue: 5 },
            note: '',
          },
        ],
        alarms: [{ name: 'api-5xx', state: 'OK' }],
        reasons: ['green 5xx rate 7.50% (45 of 600 requests) is above the maximum 2.00%'],
      },
    ],
    gates: [
      { at: at(1), gate: 'before-traffic', event: 'opened', text: 'before-traffic gate waits for an answer' },
      {
        at: at(1),
        gate: 'before-traffic',
        event: 'answered',
        decision: 'approve',
        by: 'alice',
        text: 'before-traffic gate: approve by alice',
      },
    ],
    timeline: [
      {
        at: at(0),
        action: 'rollout-started',
        outcome: 'changed',
        reason: 'took the service lock',
        actor: 'x',
      },
      {
        at: at(905),
        action: 'rollout-rolled-back',
        outcome: 'changed',
        reason: 'rolled back',
        actor: 'blue-green-rollout/rollout-api-20261122T065600-ab12',
      },
    ],
    metrics: {
      periodSeconds: 60,
      statistic: 'p95',
      green: series(0, 900, (m) => [
        m < 10 ? 120 * (m < 5 ? 1 : 2.5) : 600,
        m >= 10 ? 45 : 0,
        m >= 10 ? 142 : 52,
      ]),
      blue: series(-60, 960, () => [1100, 2, 51]),
      greenTargetGroup: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/1',
      blueTargetGroup: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/2',
    },
    notes: [],
    generatedAt: at(1000),
  };
}

/** Everything a page must never contain, whatever the data. */
function expectSelfContained(page: string) {
  expect(page.startsWith('<!doctype html>')).toBe(true);
  expect(page).not.toMatch(/<script/i);
  expect(page).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
  expect(page).not.toMatch(/\bNaN\b/);
  expect(page).not.toMatch(/>undefined<|="undefined"|\bundefined%/);
  expect(page).toContain("default-src 'none'");
}

describe('renderReport', () => {
  it('escapes every interpolated string: image, names, reasons, notes and operator answers stay text', () => {
    const hostile = '<script>alert("x")</script>"><img src=x onerror=alert(1)>&';
    const data = rolledBack();
    data.target = hostile;
    data.previous = hostile;
    data.execution = { name: hostile, arn: hostile };
    data.cluster = hostile;
    data.requestedBy = hostile;
    data.strategy = hostile;
    data.outcome = { ...data.outcome, summary: hostile, detail: hostile };
    data.notes = [hostile];
    data.analysis.alarms = [hostile];
    data.gates = data.gates.map((g) => ({ ...g, by: hostile, text: hostile, gate: hostile }));
    data.timeline = data.timeline.map((e) => ({ ...e, reason: hostile, action: hostile, actor: hostile }));
    data.weights = data.weights.map((w) => ({ ...w, label: hostile }));
    data.verdicts = data.verdicts.map((v) => ({
      ...v,
      verdict: hostile,
      reasons: [hostile],
      alarms: [{ name: hostile, state: hostile }],
    }));
    const page = renderReport(data);
    expectSelfContained(page);
    expect(page).not.toContain('<img');
    expect(page).not.toContain('onerror=alert(1)>');
    expect(page).not.toContain('alert("x")');
    expect(page).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;',
    );
    // Every hostile value came out escaped: as many escaped copies as values put in (the title twice).
    expect(page.split(escapeHtml(hostile)).length - 1).toBeGreaterThanOrEqual(20);
  });

  it('renders a rollout with no journal, no verdicts and no metrics as "in progress", saying what is missing', () => {
    const page = renderReport({
      execution: { name: 'rollout-api-20261122T065600-0000', arn: '' },
      cluster: 'web',
      service: 'api',
      strategy: 'unknown',
      plannedWeights: [],
      startedAt: at(0),
      outcome: { status: 'in-progress', summary: 'In progress: no end recorded yet' },
      analysis: { alarms: [] },
      weights: [],
      verdicts: [],
      gates: [],
      timeline: [],
      metricsNote: 'the target groups of this rollout are not known any more',
      notes: [],
      generatedAt: at(30),
    });
    expectSelfContained(page);
    expect(page).toContain('class="banner banner-in-progress"');
    expect(page).toContain('In progress: no end recorded yet');
    expect(page).toContain('No analysis ran');
    expect(page).toContain('No gate was opened');
    expect(page).toContain('No weight change was journaled');
    expect(page).toContain('the target groups of this rollout are not known any more');
    expect(page).toContain('30 s so far');
    expect(page).toContain('role="img"');
  });

  it('shows a rolled-back rollout: red banner with the reason, weights in order, each verdict with its numbers, the approval', () => {
    const page = renderReport(rolledBack());
    expectSelfContained(page);
    expect(page).toMatch(
      /<title>Rollout of web\/api: rolled back — rollout-api-20261122T065600-ab12<\/title>/,
    );
    expect(page).toContain('class="banner banner-rolled-back"');
    expect(page).toContain('Rolled back (analysis): 100% of traffic is back on blue; green was removed');
    expect(page).toContain('green 5xx rate 7.50% (45 of 600 requests) is above the maximum 2.00%');
    expect(page).toContain('15 min 05 s');

    const traffic = page.slice(page.indexOf('id="traffic-h"'), page.indexOf('id="journal-h"'));
    const greens = [...traffic.matchAll(/<td class="num">(\d+)%<\/td><\/tr>/g)].map((m) => Number(m[1]));
    expect(greens).toEqual([0, 10, 25, 50, 0]);
    expect(traffic).toContain('rollback');

    const verdicts = page.slice(page.indexOf('id="verdicts-h"'), page.indexOf('id="gates-h"'));
    expect([...verdicts.matchAll(/class="badge badge-(\w+)"/g)].map((m) => m[1])).toEqual([
      'pass',
      'pass',
      'fail',
    ]);
    expect(verdicts).toContain('7.50%');
    expect(verdicts).toContain('45 of 600');
    expect(verdicts).toContain('142 ms');
    expect(verdicts).toContain('p=0.00400, U=25');

    const gates = page.slice(page.indexOf('id="gates-h"'), page.indexOf('id="traffic-h"'));
    expect(gates).toContain('<strong>approve</strong>');
    expect(gates).toContain('alice');

    // The chart: one labelled SVG with a text alternative, the lane naming verdicts and the rollback.
    const svg = page.slice(
      page.indexOf('<svg class="chart-svg"'),
      page.indexOf('</svg>', page.indexOf('<svg class="chart-svg"')),
    );
    expect(svg).toContain('aria-labelledby="chart-title chart-desc"');
    expect(svg).toContain('Green&#39;s share of production traffic over time: 0%, 10%, 25%, 50%, 0%.');
    expect(svg).toContain('3 ✗ fail');
    expect(svg).toContain('rollback: 100% blue');
    expect(svg).toContain('before-traffic: approve (alice)');
    expect(svg).toContain('limit 2.00%');
    expect(svg).toContain('class="s-green"');
    expect(svg).toContain('class="s-blue"');
    expect(svg.match(/class="win win-fail"/g)).toHaveLength(2);
  });

  it('formats durations the way the facts show them', () => {
    expect(humanDuration(45_000)).toBe('45 s');
    expect(humanDuration(23 * 60_000 + 10_000)).toBe('23 min 10 s');
    expect(humanDuration(65 * 60_000)).toBe('1 h 05 min');
  });
});

describe('assembleReport', () => {
  const arn = 'arn:aws:states:us-east-1:123456789012:execution:EcsOps-BlueGreenRollout:rollout-api-x';
  const record = (seconds: number, action: string, extra: Partial<JournalRecord> = {}): JournalRecord => ({
    resource: 'service/web/api',
    action,
    outcome: 'changed',
    reason: action,
    trigger: { kind: 'blue-green-rollout', id: arn, source: 'ops-cli/alice', at: at(0) },
    actor: 'blue-green-rollout/rollout-api-x',
    at: `${at(seconds)}#${seconds}`,
    day: at(seconds).slice(0, 10),
    id: String(seconds),
    expiresAt: 0,
    ...extra,
    details: { execution: arn, ...extra.details },
  });

  it('reads weights, verdicts, gate answers and the outcome from the journal alone', () => {
    const data = assembleReport({
      journal: [
        record(0, 'rollout-started', {
          before: { image: 'api:1' },
          after: { image: 'api:2' },
          details: {
            plan: [
              { weight: 20, bakeSeconds: 300 },
              { weight: 100, bakeSeconds: 0 },
            ],
            analysis: { alarms: ['api-5xx'], maxErrorRate: 0.01 },
            approval: { gate: 'before-finalize', timeoutSeconds: 3600, defaultAction: 'reject' },
            onFailure: 'rollback',
          },
        }),
        record(1, 'shift-traffic', { after: { blue: 80, green: 20 }, details: { step: 0 } }),
        record(301, 'analyse-step', {
          details: {
            verdict: {
              verdict: 'pass',
              step: 0,
              weight: 20,
              reasons: [],
              alarms: [],
              comparisons: [],
              at: at(301),
              window: { start: at(1), end: at(301) },
            },
          },
        }),
        record(302, 'shift-traffic', { after: { blue: 0, green: 100 }, details: { step: 1 } }),
        record(303, 'gate-answered', {
          details: { gate: 'before-finalize', decision: 'approve', by: 'bob', timedOut: false },
        }),
        record(304, 'promote'),
        record(700, 'rollout-complete'),
      ],
      now: T0 + 800_000,
      notes: [],
    });
    expect(data.execution).toEqual({ name: 'rollout-api-x', arn });
    expect(data.target).toBe('api:2');
    expect(data.previous).toBe('api:1');
    expect(data.strategy).toBe('20% for 5m → 100%');
    expect(data.weights.map((w) => [w.green, w.label])).toEqual([
      [0, 'start'],
      [20, 'step 1 of 2'],
      [100, 'step 2 of 2'],
    ]);
    expect(data.verdicts.map((v) => v.verdict)).toEqual(['pass']);
    expect(data.gates.map((g) => [g.gate, g.event, g.decision, g.by])).toEqual([
      ['before-finalize', 'answered', 'approve', 'bob'],
      ['rollback window', 'opened', undefined, undefined],
    ]);
    expect(data.outcome.status).toBe('succeeded');
    expect(data.finishedAt).toBe(at(700));
    expect(data.approval).toBe('before-finalize (timeout 1h, then reject)');
  });
});
