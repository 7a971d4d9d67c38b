// `npm start` runs this tour on the ops emulator daemon, and so does this test, on a daemon of its
// own (in a temp state dir): every act must end in the expected state, every date it writes must
// be real, and every command it recommends at its end must work on the world it leaves.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopEmulatorDaemon } from '../../local/emulator.ts';
import { writeIamLedger } from '../../local/iam-enforcement.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { stopStepFunctionsEndpoint } from '../../local/step-functions-endpoint.ts';
import { CHROMIUM, inChromium } from '../support/chromium.ts';
import { IAM_LEDGER_DIR } from '../support/global-setup.ts';
import { localOpsEnv, runOps } from '../support/ops-process.ts';

// cli/local-state.ts (which the tour imports) reads OPS_STATE_DIR when first imported.
const stateDir = mkdtempSync(join(tmpdir(), 'ops-tour-'));
process.env.OPS_STATE_DIR = stateDir;
const { runTour, TOUR_NEXT_STEPS } = await import('../../local/tour.ts');

/** A recommended command line, as a shell would split it (double quotes group words). */
const words = (line: string) => (line.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ''));

/** Where the recommended commands run (the fleet report lands in the current directory). */
const workDir = mkdtempSync(join(tmpdir(), 'ops-tour-work-'));

const ops = (args: string[], cwd = REPO_ROOT) => runOps(args, { env: localOpsEnv(stateDir), cwd });

afterAll(async () => {
  writeIamLedger(IAM_LEDGER_DIR, expect.getState().testPath ?? 'tour');
  await stopStepFunctionsEndpoint();
  await stopEmulatorDaemon({ stateDir });
});

describe('the guided tour (npm start)', () => {
  it('ends every act in the expected state, prints a timeline, and leaves a world the recommended commands work on', async () => {
    const lines: string[] = [];
    const startedAt = Date.now();
    const result = await runTour({
      instances: 30,
      storm: 12,
      write: (l) => lines.push(l),
    });

    // Spot: the surge drained its instance once the replacement registered; the storm drained 12 more.
    const spot = result.spot;
    expect(spot?.surgeStatus).toBe('drained');
    expect(spot?.draining).toBe(13);
    expect(spot?.active).toBe(30 + 1 - 13);
    // 1 (surge) + ceil(12/10) (storm) + 0 (duplicates)
    expect(spot?.drainCalls).toBe(3);
    expect(spot?.alerts.map((a) => a.severity)).toEqual(['info', 'warning', 'info']);
    expect(spot?.deadLettered).toBe(1);
    expect(lines.some((l) => l.includes('12 duplicates -> 0 drain calls, 0 alerts'))).toBe(true);
    expect(lines.some((l) => l.includes('DRAINING') && l.includes('13/31'))).toBe(true);

    // A canary that succeeds: all traffic on green, every verdict a pass.
    expect(result.canary).toMatchObject({ status: 'SUCCEEDED', weights: { blue: 0, green: 100 } });
    expect(result.canary?.verdicts.length).toBeGreaterThan(0);
    expect(result.canary?.verdicts.every((v) => v === 'pass')).toBe(true);
    expect(result.canary?.alerts.some((a) => a.severity === 'critical')).toBe(false);

    // A canary whose green fails analysis: rolled back, all traffic on the old version, one critical alert.
    expect(result.rollback).toMatchObject({
      status: 'FAILED',
      error: 'RolledBack',
      weights: { blue: 100, green: 0 },
    });
    expect(result.rollback?.verdicts).toContain('fail');
    expect(result.rollback?.alerts.filter((a) => a.severity === 'critical')).toHaveLength(1);

    // ECS deployed web/shop twice: the hook let the healthy canary through, and answered FAILED at
    // the canary of the one with 12% 5xx (ECS rolled back, calling the hook again with green at 0).
    expect(result.ecs?.statuses).toEqual(['SUCCESSFUL', 'ROLLBACK_SUCCESSFUL']);
    expect(result.ecs?.failingAnswers.slice(-2)).toEqual([
      'PRODUCTION_TRAFFIC_SHIFT@10:FAILED',
      'PRODUCTION_TRAFFIC_SHIFT@0:SUCCEEDED',
    ]);
    expect(result.ecs?.verdicts).toContain('fail');
    expect(
      result.ecs?.alerts
        .filter((a) => a.severity === 'critical')
        .map((a) => a.subject.replace(/^.*web\/shop /, '')),
    ).toEqual(['rolled back (analysis)']);
    expect(lines.some((l) => l.includes('hook: IN_PROGRESS (call back in 300 s)'))).toBe(true);

    // An alarm scaled the service out through the scaling workflow and resolved.
    expect(result.alarm?.outcome).toBe('remediated');
    expect(result.alarm?.to).toBe((result.alarm?.from ?? 0) + 2);
    expect(result.alarm?.resolvedDecision).toBe('resolved');
    expect(result.alarm?.alerts.map((a) => a.state)).toContain('resolved');

    // A timeline with bars, not JSON.
    expect(lines.some((l) => /traffic +green +█+ *100\/100%/.test(l))).toBe(true);
    expect(lines.some((l) => l.trimStart().startsWith('{'))).toBe(false);

    // Alerts in the order things happened: a rollout starts before it rolls back.
    expect(result.rollback?.alerts.map((a) => a.subject.replace(/^.*Rollout of web\/api /, ''))).toEqual([
      'started',
      'rolled back (analysis)',
    ]);
    // Real dates: the acts' compressed hours lie before now, execution names included.
    for (const act of [result.canary, result.rollback]) {
      const stamp = /-(\d{8}T\d{6})-/.exec(act?.executionName ?? '')?.[1] ?? '';
      const named = Date.parse(stamp.replace(/(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)/, '$1-$2-$3T$4:$5:$6Z'));
      expect(named, act?.executionName).toBeLessThanOrEqual(Date.now());
      expect(named, act?.executionName).toBeGreaterThan(startedAt - 24 * 3_600_000);
    }

    const journal = JSON.parse((await ops(['journal', '--json'])).stdout) as { at: string }[];
    expect(journal.length).toBeGreaterThan(30);
    for (const record of journal)
      expect(Date.parse(record.at.split('#')[0] ?? ''), record.at).toBeLessThanOrEqual(Date.now());

    // DORA figures: the canary completed (lead time from its image's push), the second rolled back;
    // of ECS's two deployments one completed and one rolled back; the CPU alarm went back to OK
    // after the scale-out.
    const metrics = JSON.parse((await ops(['metrics', '--json'])).stdout);
    expect(metrics.overall).toMatchObject({
      rollouts: 4,
      deployments: 2,
      failures: 2,
      changeFailureRate: 0.5,
      leadTimesFromPush: 1,
      restores: 1,
    });
    // The canary: pushed 15 minutes before its start, promoted after its 5-minute bake (20 min).
    // ECS's: from the hook's first call, the canary's bake (5), ECS's canary bake (5) and the final
    // bake (5), 15 min. The median of the two is their mean.
    expect(metrics.overall.leadTimeMedianMs).toBeGreaterThanOrEqual(17.5 * 60_000);
    expect(metrics.overall.leadTimeMedianMs).toBeLessThan(18.5 * 60_000);
    expect(metrics.overall.timeToRestoreMedianMs).toBeGreaterThan(0);
    expect(metrics.services.map((s: { service: string }) => s.service)).toEqual(['web/api', 'web/shop']);

    // The fleet report: a timeline per service (web/api with every lane; web/shop with ECS's two
    // deployments), each mark linked to its journal records.
    const page = join(workDir, 'fleet.html');
    const report = JSON.parse((await ops(['report', '--fleet', '--json', '--out', page])).stdout);
    expect(report.file).toBe(page);
    type Entry = { lane: string; title: string; records: string[] };
    const [timeline, shopTimeline] = report.services as { name: string; entries: Entry[] }[];
    expect(timeline?.name).toBe('web/api');
    expect(new Set(timeline?.entries.map((e) => e.lane))).toEqual(
      new Set(['rollout', 'spot', 'scaling', 'remediation']),
    );
    expect(shopTimeline?.name).toBe('web/shop');
    // (The cluster's spot episode is on every timeline of the cluster.)
    expect(
      shopTimeline?.entries.map((e) => `${e.lane}: ${e.title.replace(/^rollout \S+: /, '')}`).sort(),
    ).toEqual([
      'rollout: completed',
      'rollout: rolled back (analysis)',
      'spot: spot episode in web: 13 drained, 1 surged, 2 capacity request(s), 1 Fargate Spot task(s)',
    ]);
    const entries = [...(timeline?.entries ?? []), ...(shopTimeline?.entries ?? [])];
    const linked = entries.flatMap((e) => e.records);
    // Shared entries are drawn on each timeline.
    const marks = entries.length;
    expect(new Set(linked).size).toBe(journal.length);
    if (existsSync(CHROMIUM)) {
      const shot = await inChromium<{ marks: number; targets: number; records: number; svgs: number }>(
        page,
        join(workDir, 'fleet.png'),
        `(() => { const marks = [...document.querySelectorAll('a.entry')];
          return { marks: marks.length, svgs: document.querySelectorAll('svg.timeline, svg.trend-svg').length,
            targets: marks.filter((a) => document.getElementById(a.getAttribute('href').slice(1))).length,
            records: document.querySelectorAll('tr[id^="j-"]').length }; })()`,
      );
      expect(shot.problems, shot.problems.join('\n')).toEqual([]);
      expect(shot.title).toMatch(/^Fleet report: last 30d/);
      expect(shot.value.marks).toBe(marks);
      expect(shot.value.targets).toBe(shot.value.marks);
      expect(shot.value.records).toBe(journal.length);
      // Four trends and one timeline per service.
      expect(shot.value.svgs).toBe(6);
    }

    // Each command the tour recommends, in a process of its own, on the world the tour left.
    const printed = lines.join('\n');
    const checks: Record<string, (out: string) => void> = {
      'ops status': (out) => {
        expect(out).toContain('executions running (0)');
        expect(out).toContain('held locks (0)');
      },
      'ops journal': (out) => expect(out).toContain('rollout-rolled-back'),
      'ops alerts': (out) => expect(out).toBe('no new alerts\n'),
      'ops silence': (out) => expect(out).toContain('silenced service api until'),
      'ops doctor': (out) => expect(out).toContain('ops doctor: the seeded world'),
      'ops metrics': (out) => {
        expect(out).toContain('change failure rate    50% (2 of 4 rolled back, aborted or frozen)');
        expect(out).toContain('(1 of 2 from the image');
        expect(out).toMatch(/time to restore +median \d/);
      },
      'ops report --fleet': (out) =>
        expect(out).toMatch(/fleet-report-\d{4}-\d\d-\d\d\.html\n2 timeline\(s\)/),
      'ops emulator stop': (out) => expect(out).toBe('stopped\n'),
    };
    for (const next of TOUR_NEXT_STEPS) {
      expect(printed).toContain(`npx ${next.command}`);
      const ran = await ops(words(next.command).slice(1), workDir);
      expect(ran.code, `${next.command}\n${ran.stdout}${ran.stderr}`).toBe(0);
      expect(ran.stderr, next.command).toBe('');
      const check = Object.entries(checks).find(([prefix]) => next.command.startsWith(prefix))?.[1];
      expect(check, `no check for ${next.command}`).toBeDefined();
      check?.(ran.stdout);
    }
  }, 600_000);
});
