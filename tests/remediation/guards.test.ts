// The remediation's rules (functions/remediate-step/guards.ts), with no AWS: each is given what
// decide would have read and says what may run, or why not.
import { describe, expect, it } from 'vitest';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import { type Runbook, RunbookSchema } from '../../functions/remediate-step/config.ts';
import {
  deployNoise,
  drainRadius,
  guardAlarmsRefusal,
  mayBeDeployNoise,
  newDeploymentRadius,
  RunbookRefusedError,
  rateRefusal,
  rollbackTargets,
  runsWith,
  unhealthyTargets,
} from '../../functions/remediate-step/guards.ts';

const MINUTE = 60_000;
const NOW = Date.parse('2026-12-05T10:00:00Z');

const runbook = (extra: Record<string, unknown> = {}): Runbook =>
  RunbookSchema.parse({
    id: 'api-5xx',
    match: { alarmName: 'web-api-5xx' },
    runbook: 'replace-unhealthy-tasks',
    cluster: 'web',
    service: 'api',
    blastRadius: { maxTasks: 2, maxPercent: 50 },
    cooldownSeconds: 600,
    maxPerHour: 3,
    ...extra,
  });

const plan = (timestamp: string, previous?: 'INSUFFICIENT_DATA' | 'OK'): RemediationPlan =>
  ({
    execution: { id: 'arn:exec:mine', name: 'mine' },
    alarm: {
      name: 'web-api-5xx',
      arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-api-5xx',
      state: { value: 'ALARM', reason: '', timestamp },
      ...(previous ? { previousState: { value: previous } } : {}),
      dimensions: {},
    },
    trigger: { kind: 'alarm', id: 'x', at: timestamp },
    dryRun: false,
  }) as RemediationPlan;

describe('deploy noise', () => {
  it('is a first transition out of INSUFFICIENT_DATA within the settle time of the configuration', () => {
    const first = plan('2026-12-05T10:00:30Z', 'INSUFFICIENT_DATA');
    expect(mayBeDeployNoise(first, runbook())).toBe(true);
    expect(deployNoise(first, NOW, 60)).toMatch(
      /first time 30 s after it was configured \(settle time 60 s\)/,
    );
    expect(deployNoise(first, NOW, 20)).toBeUndefined();
    expect(deployNoise(first, undefined, 60)).toBeUndefined();
  });

  it('is never looked for after OK, or when the runbook acts on first transitions', () => {
    expect(mayBeDeployNoise(plan('2026-12-05T10:00:30Z', 'OK'), runbook())).toBe(false);
    expect(
      mayBeDeployNoise(
        plan('2026-12-05T10:00:30Z', 'INSUFFICIENT_DATA'),
        runbook({ actOnFirstTransition: true }),
      ),
    ).toBe(false);
  });
});

describe('guard alarms', () => {
  it('refuse with the firing alarms named, and alert', () => {
    expect(guardAlarmsRefusal(runbook(), [])).toBeUndefined();
    expect(guardAlarmsRefusal(runbook(), ['db-cpu', 'db-conn'])).toEqual({
      why: ['guard alarms db-cpu, db-conn are in ALARM: runbook api-5xx aborted before any change'],
      alert: true,
    });
  });
});

describe('cooldown and runs per hour', () => {
  it('refuses quietly while cooling down, counting other executions only', () => {
    const runs = [{ at: NOW - 5 * MINUTE, execution: 'arn:exec:other' }];
    expect(rateRefusal(runbook(), runs, 'arn:exec:mine', NOW)).toMatchObject({ alert: false });
    expect(rateRefusal(runbook(), runs, 'arn:exec:other', NOW)).toBeUndefined();
    expect(rateRefusal(runbook(), runs, 'arn:exec:mine', NOW + 6 * MINUTE)).toBeUndefined();
  });

  it('refuses with an alert past maxPerHour, naming when the next run is allowed', () => {
    const runs = [40, 30, 20].map((m, i) => ({ at: NOW - m * MINUTE, execution: `arn:exec:${i}` }));
    const refusal = rateRefusal(runbook({ cooldownSeconds: 0 }), runs, 'arn:exec:mine', NOW);
    expect(refusal?.alert).toBe(true);
    expect(refusal?.why[0]).toMatch(
      /already ran 3 times in the last hour \(at most 3\); the next run is allowed at 10:20:00 UTC/,
    );
  });

  it('remembers a run once per execution, and forgets runs past the history', () => {
    const runs = [
      { at: NOW - 26 * 60 * MINUTE, execution: 'arn:exec:old' },
      { at: NOW - MINUTE, execution: 'arn:exec:mine' },
    ];
    expect(runsWith(runs, 'arn:exec:mine', NOW)).toEqual([{ at: NOW, execution: 'arn:exec:mine' }]);
  });
});

describe('what a runbook may touch', () => {
  it('rolls back a rollout in flight or inside its window, and nothing else', () => {
    const record = { execution: 'arn:exec:rollout', executionName: 'r1', phase: 'baking', inFlight: true };
    expect(rollbackTargets('web', 'api', record, NOW)).toEqual(['arn:exec:rollout']);
    const windowOpen = { ...record, phase: 'window', inFlight: false, windowEndsAt: '2026-12-05T10:30:00Z' };
    expect(rollbackTargets('web', 'api', windowOpen, NOW)).toEqual(['arn:exec:rollout']);
    expect(() => rollbackTargets('web', 'api', windowOpen, NOW + 31 * MINUTE)).toThrow(
      /the last one \(r1\) is window, its rollback window closed at 2026-12-05T10:30:00Z/,
    );
    expect(() => rollbackTargets('web', 'api', undefined, NOW)).toThrow(RunbookRefusedError);
  });

  it('forces a new deployment only within the blast radius, and never on EXTERNAL services', () => {
    expect(
      newDeploymentRadius(runbook(), 'web', 'api', { running: 4, minimumHealthyPercent: 50 }).wanted,
    ).toBe(2);
    expect(() =>
      newDeploymentRadius(runbook(), 'web', 'api', { running: 10, minimumHealthyPercent: 50 }),
    ).toThrow(/would replace 5 of 10 tasks at once \(minimumHealthyPercent 50\); the blast radius allows 2/);
    expect(() =>
      newDeploymentRadius(runbook(), 'web', 'api', {
        controller: 'EXTERNAL',
        running: 4,
        minimumHealthyPercent: 50,
      }),
    ).toThrow(/EXTERNAL deployment controller/);
  });

  it('stops the unhealthy tasks the blast radius allows, the rest waiting for the next run', () => {
    expect(unhealthyTargets(runbook(), 'web', 'api', 6, ['t1', 't2', 't3']).targets).toEqual(['t1', 't2']);
    expect(() => unhealthyTargets(runbook(), 'web', 'api', 6, [])).toThrow(/nothing to replace/);
    expect(() => unhealthyTargets(runbook(), 'web', 'api', 1, ['t1'])).toThrow(
      /allows no task to be stopped/,
    );
  });

  it('drains an instance only when its tasks fit maxTasks', () => {
    expect(drainRadius(runbook(), 'i-1', 2).allowed).toBe(2);
    expect(() => drainRadius(runbook(), 'i-1', 3)).toThrow(
      /would move 3 tasks at once; the blast radius allows 2/,
    );
  });
});
