// A spot game day's rules, with no I/O: FIS's selection (whole percents, rounded down, at most five
// spot instances an experiment), and the verdict read from the journal and the spot episodes.
import { describe, expect, it } from 'vitest';
import { renderGameDayReport } from '../../cli/gameday/render.ts';
import {
  FIS_SPOT_TARGETS_QUOTA,
  type GameDayData,
  gameDayReport,
  percentOfFraction,
  percentOfSelectionMode,
  selectedCount,
  selectionProblem,
} from '../../cli/gameday/rules.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function record(
  action: string,
  resource: string,
  outcome: JournalRecord['outcome'],
  rest: Partial<JournalRecord> = {},
): JournalRecord {
  return {
    action,
    resource,
    outcome,
    reason: rest.reason ?? action,
    trigger: { kind: 'warning' },
    actor: 'spot-interruption',
    at: `${rest.details?.drainedAt ?? at(1)}#id`,
    day: '2026-12-06',
    id: 'id',
    expiresAt: 0,
    ...rest,
  };
}

const drain = (instance: string, latencySeconds: number, tasks = 2) =>
  record('drain-instance', `container-instance/web/${instance}`, 'changed', {
    details: { noticeAt: at(0), drainedAt: at(latencySeconds), tasksOnInstance: tasks },
  });

function data(overrides: Partial<GameDayData> = {}): GameDayData {
  return {
    where: 'local',
    generatedAt: at(200),
    experiment: {
      id: 'EXPabc',
      templateId: 'EXTdef',
      status: 'completed',
      startedAt: at(0),
      endedAt: at(130),
    },
    group: 'web-spot',
    percent: 50,
    running: 4,
    targets: ['i-0aaa', 'i-0bbb'],
    journal: [
      record('game-day-started', 'fis-experiment/EXPabc', 'unchanged'),
      drain('i-0aaa', 1.5),
      drain('i-0bbb', 2.5, 3),
      record('request-capacity', 'asg/web-spot', 'changed', {
        before: { desired: 4 },
        after: { desired: 6 },
        details: { instances: ['i-0aaa', 'i-0bbb'], market: 'spot' },
      }),
      record('protect-minimum-healthy', 'service/web/api', 'changed', {
        details: { added: 2, inBudget: true, instances: ['i-0aaa'] },
      }),
      record('game-day-ended', 'fis-experiment/EXPabc', 'unchanged'),
    ],
    episodes: { 'i-0aaa': { alertedAt: at(2) }, 'i-0bbb': { alertedAt: at(3) } },
    notifications: [{ subject: 'Spot interruption in web', severity: 'warning', kind: 'spot-interruption' }],
    registered: 2,
    ...overrides,
  };
}

describe('FIS selection', () => {
  it('takes a whole percent above 0 and at most 1 as --fraction', () => {
    expect(percentOfFraction('0.25')).toEqual({ percent: 25 });
    expect(percentOfFraction('1')).toEqual({ percent: 100 });
    expect(percentOfFraction('0.07')).toEqual({ percent: 7 });
    for (const bad of ['0', '-0.5', '1.5', 'half', ''])
      expect(percentOfFraction(bad)).toEqual({ problem: expect.stringContaining('above 0 and at most 1') });
    expect(percentOfFraction('0.255')).toEqual({ problem: expect.stringContaining('whole percent') });
  });

  it("reads the template's PERCENT(n), and nothing else, as its share", () => {
    expect(percentOfSelectionMode('PERCENT(25)')).toBe(25);
    for (const other of ['ALL', 'COUNT(2)', 'PERCENT(x)', undefined])
      expect(percentOfSelectionMode(other)).toBeUndefined();
  });

  it('rounds down as FIS does: 50% of 5 is 2, 25% of 3 is none', () => {
    expect(selectedCount(5, 50)).toBe(2);
    expect(selectedCount(3, 25)).toBe(0);
    expect(selectedCount(6, 25)).toBe(1);
  });

  it('refuses a selection of none or past the quota, naming a fraction that fits', () => {
    expect(selectionProblem(3, 25)).toMatch(/selects none .*use --fraction 0\.34 or more/);
    expect(selectionProblem(0, 25)).toMatch(/selects none/);
    expect(selectionProblem(45, 25)).toMatch(
      new RegExp(
        `selects 11: FIS interrupts at most ${FIS_SPOT_TARGETS_QUOTA} .*use --fraction 0\\.11 or less`,
      ),
    );
    expect(selectionProblem(20, 25)).toBeUndefined();
    expect(selectionProblem(6, 25)).toBeUndefined();
  });
});

describe('the verdict', () => {
  it('passes when every target drained inside two minutes with an alert, and minimum healthy was kept', () => {
    const report = gameDayReport(data());
    expect(report.verdict).toEqual({ passed: true, problems: [] });
    expect(report.instances.map((r) => [r.instanceId, r.result, r.latencyMs, r.tasks])).toEqual([
      ['i-0aaa', 'drained', 1500, 2],
      ['i-0bbb', 'drained', 2500, 3],
    ]);
    expect(report.tasksMoved).toBe(5);
    expect(report.capacity).toEqual([{ group: 'web-spot', market: 'spot', added: 2, outcome: 'changed' }]);
    expect(report.minimumHealthy).toEqual({ kept: true, why: 'tasks added in time: web/api +2' });
    expect(report.bracket).toEqual({ started: true, ended: true });
  });

  it('fails a drain past the two minutes, a target never drained, and a drain nobody was told of', () => {
    const late = gameDayReport(data({ journal: [drain('i-0aaa', 121), drain('i-0bbb', 1)] }));
    expect(late.verdict.problems).toEqual([
      'i-0aaa was drained 121 s after its notice: past the two minutes',
    ]);
    const missing = gameDayReport(data({ journal: [drain('i-0aaa', 1)] }));
    expect(missing.verdict.problems).toEqual(['i-0bbb was not drained (not drained)']);
    const silent = gameDayReport(data({ episodes: { 'i-0aaa': { alertedAt: at(2) } } }));
    expect(silent.verdict.problems).toEqual(['no alert was raised for i-0bbb']);
    const nothing = gameDayReport(data({ targets: [] }));
    expect(nothing.verdict.problems).toEqual(['the experiment interrupted no instance']);
  });

  it('fails an experiment a stop condition ended (a service alarm fired), or that FIS could not run', () => {
    const base = data();
    const stopped = gameDayReport(
      data({ experiment: { ...base.experiment, status: 'stopped', reason: 'Stop condition triggered.' } }),
    );
    expect(stopped.verdict.problems).toEqual(['the experiment stopped: Stop condition triggered.']);
    const failed = gameDayReport(
      data({
        targets: [],
        experiment: { ...base.experiment, status: 'failed', reason: 'Target resolution failed.' },
      }),
    );
    expect(failed.verdict.problems).toEqual([
      'the experiment interrupted no instance',
      'the experiment failed: Target resolution failed.',
    ]);
  });

  it('fails when a service ran short: tasks the budget did not allow, or a protection that failed', () => {
    const base = data();
    const short = gameDayReport(
      data({
        journal: [
          ...base.journal,
          record('protect-minimum-healthy', 'service/web/slow', 'changed', {
            reason: "added 1 (the warning's budget does not allow it)",
            details: { added: 1, inBudget: false, instances: ['i-0bbb'] },
          }),
        ],
      }),
    );
    expect(short.minimumHealthy).toEqual({
      kept: false,
      why: "web/slow: added 1 (the warning's budget does not allow it)",
    });
    expect(short.verdict.passed).toBe(false);
    // Another instance's protection is not this game day's.
    const elsewhere = gameDayReport(
      data({
        journal: [
          ...base.journal,
          record('protect-minimum-healthy', 'service/web/other', 'failed', {
            details: { instances: ['i-0zzz'] },
          }),
        ],
      }),
    );
    expect(elsewhere.minimumHealthy.kept).toBe(true);
  });

  it('counts an instance drained earlier in the same episode as already draining, not as a miss', () => {
    const report = gameDayReport(
      data({
        journal: [drain('i-0aaa', 1)],
        episodes: { 'i-0aaa': { alertedAt: at(2) }, 'i-0bbb': { drainedAt: at(-60), alertedAt: at(-59) } },
      }),
    );
    expect(report.instances[1]?.result).toBe('already draining');
    expect(report.verdict.passed).toBe(true);
  });
});

describe('the page', () => {
  it('escapes what it shows, and says why a game day failed', () => {
    const page = renderGameDayReport(
      data({
        journal: [drain('i-0aaa', 130)],
        notifications: [
          { subject: '<script>alert(1)</script>', severity: 'warning', kind: 'spot-interruption' },
        ],
      }),
    );
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;');
    expect(page).toContain('Failed: 2 problem(s)');
    expect(page).toContain('i-0aaa was drained 130 s after its notice: past the two minutes');
    expect(page).toContain('<title>Spot game day EXPabc</title>');
  });
});
