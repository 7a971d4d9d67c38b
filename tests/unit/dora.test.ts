// The DORA figures and the fleet report's timelines from journal records, as the control plane
// writes them (action names, actors and details as in the journals of the rig's runs).
import { describe, expect, it } from 'vitest';
import { doraFigures, restoreEpisodes, rolloutOutcomes, weeklyTrend } from '../../cli/metrics/dora.ts';
import { fleetTimelines } from '../../cli/report/fleet-model.ts';
import { renderFleetReport } from '../../cli/report/fleet-render.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;
let serial = 0;

function rec(
  minute: number,
  action: string,
  actor: string,
  extra: Partial<JournalRecord> & { details?: Record<string, unknown> } = {},
): JournalRecord {
  serial++;
  const at = new Date(T0 + minute * MIN).toISOString();
  const id = `00000000-0000-0000-0000-${String(serial).padStart(12, '0')}`;
  return {
    at: `${at}#${id}`,
    day: at.slice(0, 10),
    id,
    expiresAt: 0,
    resource: 'service/web/api',
    action,
    outcome: 'changed',
    reason: action,
    trigger: { kind: 'test' },
    actor,
    ...extra,
  };
}

/** A rollout's records: started, promoted after `promoteAfter` minutes, ended as `end` later. */
function rollout(
  name: string,
  startMinute: number,
  end: 'rollout-complete' | 'rollout-rolled-back' | 'rollout-frozen' | undefined,
  opts: { service?: string; pushedMinute?: number; cause?: string; promoteAfter?: number } = {},
): JournalRecord[] {
  const actor = `blue-green-rollout/${name}`;
  const resource = `service/${opts.service ?? 'web/api'}`;
  const records = [
    rec(startMinute, 'rollout-started', actor, {
      resource,
      details:
        opts.pushedMinute === undefined
          ? {}
          : { imagePushedAt: new Date(T0 + opts.pushedMinute * MIN).toISOString() },
    }),
    rec(startMinute + 1, 'shift-traffic', actor, { resource }),
  ];
  if (opts.promoteAfter !== undefined)
    records.push(rec(startMinute + opts.promoteAfter, 'promote', actor, { resource }));
  if (end)
    records.push(
      rec(startMinute + 30, end, actor, {
        resource,
        ...(end === 'rollout-rolled-back' ? { details: { stop: { cause: opts.cause ?? 'analysis' } } } : {}),
      }),
    );
  return records;
}

const alarmState = (value: string, minute: number) => ({
  value,
  timestamp: new Date(T0 + minute * MIN).toISOString(),
});

describe('DORA figures from the journal', () => {
  const records = [
    // Week 1: a canary promoted 10 minutes in, from an image pushed an hour before it started.
    ...rollout('rollout-api-1', 60, 'rollout-complete', { pushedMinute: 0, promoteAfter: 10 }),
    // Week 1: one rolled back by analysis, one aborted, one frozen.
    ...rollout('rollout-api-2', 200, 'rollout-rolled-back'),
    ...rollout('rollout-api-3', 400, 'rollout-rolled-back', { cause: 'abort' }),
    ...rollout('rollout-api-4', 600, 'rollout-frozen'),
    // Week 2: two completed without a push time (lead time from their start to their promotion).
    ...rollout('rollout-api-5', 8 * 1440, 'rollout-complete', { promoteAfter: 20 }),
    ...rollout('rollout-web-1', 9 * 1440, 'rollout-complete', { service: 'shop/web', promoteAfter: 25 }),
    // Still in flight: counts nowhere.
    ...rollout('rollout-api-6', 10 * 1440, undefined),
  ];
  const remediationActor = 'arn:aws:states:us-east-1:123456789012:execution:Remediation:remediate-cpu-1';
  const refusedActor = 'arn:aws:states:us-east-1:123456789012:execution:Remediation:remediate-cpu-2';
  const okActor = 'arn:aws:states:us-east-1:123456789012:execution:Remediation:remediate-cpu-ok';
  const remediation = [
    // An alarm at minute 1000 that a scale-out fixed: OK at minute 1012.
    rec(1000.5, 'start-remediation', remediationActor, {
      outcome: 'unchanged',
      details: {
        alarm: 'web-api-cpu-high',
        alarmState: alarmState('ALARM', 1000),
        runbook: 'api-cpu-scale-out',
      },
    }),
    rec(1001, 'run-scale-out', remediationActor, { details: { alarm: 'web-api-cpu-high' } }),
    rec(1011, 'remediation-verified', remediationActor, { details: { alarm: 'web-api-cpu-high' } }),
    rec(1012.2, 'remediation-resolved', okActor, {
      outcome: 'unchanged',
      details: { alarm: 'web-api-cpu-high', alarmState: alarmState('OK', 1012) },
    }),
    // A refused remediation (cooling down) that acted on nothing: not a restore, though the alarm cleared.
    rec(2000.5, 'start-remediation', refusedActor, {
      outcome: 'unchanged',
      details: { alarm: 'web-api-cpu-high', alarmState: alarmState('ALARM', 2000) },
    }),
    rec(2001, 'remediation-refused', refusedActor, {
      outcome: 'refused',
      details: { alarm: 'web-api-cpu-high' },
    }),
    rec(2100, 'remediation-resolved', `${okActor}-2`, {
      outcome: 'unchanged',
      details: { alarm: 'web-api-cpu-high', alarmState: alarmState('OK', 2099) },
    }),
  ];
  const all = [...remediation, ...records].reverse();
  const window = { from: T0, to: T0 + 14 * DAY };

  it('reads each ended rollout once, with its outcome, cause, promotion and push time', () => {
    const outcomes = rolloutOutcomes(all);
    expect(outcomes.map((r) => [r.execution, r.outcome, r.cause ?? ''])).toEqual([
      ['rollout-api-1', 'succeeded', ''],
      ['rollout-api-2', 'failed', 'analysis'],
      ['rollout-api-3', 'failed', 'abort'],
      ['rollout-api-4', 'failed', 'freeze'],
      ['rollout-api-5', 'succeeded', ''],
      ['rollout-web-1', 'succeeded', ''],
    ]);
    expect(outcomes[0]?.imagePushedAt).toBe(T0);
    expect(outcomes[0]?.promotedAt).toBe(T0 + 70 * MIN);
    expect(outcomes[5]?.service).toBe('shop/web');
  });

  it('counts deployments, lead time, change failure rate and time to restore', () => {
    const figures = doraFigures(rolloutOutcomes(all), restoreEpisodes(all), window);
    expect(figures).toMatchObject({ rollouts: 6, deployments: 3, failures: 3, changeFailureRate: 0.5 });
    expect(figures.deploymentsPerDay).toBeCloseTo(3 / 14, 3);
    // Lead times: 70 min (push at 0 to promotion at 70), 20 min and 25 min (start to promotion).
    expect(figures.leadTimeMedianMs).toBe(25 * MIN);
    expect(figures.leadTimesFromPush).toBe(1);
    // One restore only (the refused one acted on nothing): ALARM at 1000 to OK at 1012.
    expect(restoreEpisodes(all).map((e) => [e.alarm, e.runbook, e.okAt - e.alarmAt])).toEqual([
      ['web-api-cpu-high', 'api-cpu-scale-out', 12 * MIN],
    ]);
    expect(figures).toMatchObject({ restores: 1, timeToRestoreMedianMs: 12 * MIN });
  });

  it('counts a rollout in the window it ended in, and reports empty windows as no figure', () => {
    const secondWeek = { from: T0 + 7 * DAY, to: T0 + 14 * DAY };
    expect(doraFigures(rolloutOutcomes(all), restoreEpisodes(all), secondWeek)).toMatchObject({
      rollouts: 2,
      deployments: 2,
      failures: 0,
      changeFailureRate: 0,
      restores: 0,
    });
    const empty = doraFigures([], [], window);
    expect(empty.deployments).toBe(0);
    expect(empty.changeFailureRate).toBeUndefined();
    expect(empty.leadTimeMedianMs).toBeUndefined();
    expect(empty.timeToRestoreMedianMs).toBeUndefined();
    const weeks = weeklyTrend(rolloutOutcomes(all), restoreEpisodes(all), window);
    expect(weeks.map((w) => [w.deployments, w.failures])).toEqual([
      [1, 3],
      [2, 0],
    ]);
  });

  it('lays out one timeline per service with rollouts, spot episodes, scaling and remediations, each with its records', () => {
    const spot = [
      rec(3000, 'drain-instance', 'spot-interruption/a', { resource: 'container-instance/web/i-1' }),
      rec(3001, 'drain-instance', 'spot-interruption/a', { resource: 'container-instance/web/i-2' }),
      rec(3002, 'request-capacity', 'spot-interruption/a', { resource: 'asg/web-spot' }),
      // After a quiet spell: another episode.
      rec(3100, 'drain-instance', 'spot-interruption/b', { resource: 'container-instance/web/i-3' }),
    ];
    const scaling = [
      rec(5000, 'scale-service', 'arn:aws:states:us-east-1:123456789012:execution:Scale:scale-api-1', {
        before: { desiredCount: 4 },
        after: { desiredCount: 6 },
        reason: 'campaign',
      }),
    ];
    const timelines = fleetTimelines([...all, ...spot, ...scaling], window);
    expect(timelines.map((t) => t.name)).toEqual(['shop/web', 'web/api']);
    const api = timelines.find((t) => t.name === 'web/api');
    const lanes = (api?.entries ?? []).map((e) => `${e.lane}:${e.status}`);
    expect(lanes.filter((l) => l.startsWith('rollout:'))).toEqual([
      'rollout:ok',
      'rollout:failed',
      'rollout:failed',
      'rollout:warning',
      'rollout:ok',
      'rollout:info',
    ]);
    expect(lanes.filter((l) => l.startsWith('spot:'))).toEqual(['spot:warning', 'spot:warning']);
    expect(api?.entries.find((e) => e.lane === 'spot')?.title).toBe(
      'spot episode in web: 2 drained, 1 capacity request(s)',
    );
    expect(api?.entries.find((e) => e.lane === 'scaling')?.title).toBe('scaling: 4 → 6: campaign');
    expect(api?.entries.filter((e) => e.lane === 'remediation').map((e) => e.status)).toEqual([
      'ok',
      'ok',
      'warning',
      'ok',
    ]);
    // Every record of the window is in exactly one entry of a service (spot episodes on each of the cluster's).
    const linked = new Set(timelines.flatMap((t) => t.entries.flatMap((e) => e.records.map((r) => r.id))));
    expect(linked.size).toBe(all.length + spot.length + scaling.length);
    expect(timelines.find((t) => t.name === 'shop/web')?.entries.map((e) => e.lane)).toEqual(['rollout']);

    // The page links each mark to its records, and escapes what it prints.
    const page = renderFleetReport({
      generatedAt: new Date(window.to).toISOString(),
      since: '14d',
      window,
      overall: doraFigures(rolloutOutcomes(all), restoreEpisodes(all), window),
      weeks: weeklyTrend(rolloutOutcomes(all), restoreEpisodes(all), window),
      services: timelines.map((t) => ({ ...t, figures: doraFigures([], [], window) })),
      notes: ['<b>not markup</b>'],
    });
    for (const entry of api?.entries ?? []) {
      expect(page).toContain(`href="#${entry.id}"`);
      expect(page).toContain(`id="${entry.id}"`);
      for (const r of entry.records) expect(page).toContain(`id="j-${r.id}"`);
    }
    expect(page).toContain('&lt;b&gt;not markup&lt;/b&gt;');
    expect(page).not.toContain('<script');
  });
});
