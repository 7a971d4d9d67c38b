// The runbook registry and the decisions that need no AWS: which alarm a name pattern matches,
// the blast radius, the console inputs and the shipped configs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RemediationInputSchema } from '../../events/remediation-input.ts';
import { alarmNameMatches, type Runbook, RunbookSchema } from '../../functions/remediate-step/config.ts';
import { blastRadius } from '../../functions/remediate-step/guards.ts';
import { isUnhealthy } from '../../functions/remediate-step/runbooks.ts';
import { remediationExecutionName } from '../../functions/remediation-trigger/trigger.ts';
import { loadRemediationConfig } from '../../infra/control-plane/remediation/remediation.ts';
import { REPO_ROOT } from '../../local/python-env.ts';

const runbook = (blast: { maxTasks: number; maxPercent: number }): Runbook =>
  RunbookSchema.parse({
    id: 'r',
    match: { alarmName: 'x' },
    runbook: 'replace-unhealthy-tasks',
    cluster: 'web',
    service: 'api',
    blastRadius: blast,
  });

describe('alarm name patterns', () => {
  it('treats * as any run of characters and everything else literally', () => {
    expect(alarmNameMatches('web-api-*-5xx', 'web-api-green-5xx')).toBe(true);
    expect(alarmNameMatches('web-api-*-5xx', 'web-api-5xx')).toBe(false);
    expect(alarmNameMatches('web.api', 'web-api')).toBe(false);
    expect(alarmNameMatches('a(b)+', 'a(b)+')).toBe(true);
    expect(alarmNameMatches('*', '')).toBe(true);
  });

  it('matches any name against itself, whatever characters it has', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (name) =>
        alarmNameMatches(name.replaceAll('*', ''), name.replaceAll('*', '')),
      ),
    );
  });
});

describe('blast radius', () => {
  it('allows the smaller of maxTasks and maxPercent of the running tasks', () => {
    expect(blastRadius(runbook({ maxTasks: 2, maxPercent: 50 }), 6, 4).allowed).toBe(2);
    expect(blastRadius(runbook({ maxTasks: 5, maxPercent: 25 }), 8, 8).allowed).toBe(2);
    expect(blastRadius(runbook({ maxTasks: 5, maxPercent: 25 }), 3, 3).allowed).toBe(0);
  });

  it('never allows more than either limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 500 }),
        (maxTasks, maxPercent, running) => {
          const { allowed } = blastRadius(runbook({ maxTasks, maxPercent }), running, running);
          return allowed <= maxTasks && allowed <= (running * maxPercent) / 100 && allowed >= 0;
        },
      ),
    );
  });

  it('counts unhealthy and stopped-instance targets as unhealthy, not draining or initial ones', () => {
    const d = (State: string, Reason?: string) =>
      ({ TargetHealth: { State, ...(Reason ? { Reason } : {}) } }) as never;
    expect(isUnhealthy(d('unhealthy', 'Target.FailedHealthChecks'))).toBe(true);
    expect(isUnhealthy(d('unused', 'Target.InvalidState'))).toBe(true);
    expect(isUnhealthy(d('unused', 'Target.NotInUse'))).toBe(false);
    expect(isUnhealthy(d('draining'))).toBe(false);
    expect(isUnhealthy(d('initial'))).toBe(false);
    expect(isUnhealthy(d('healthy'))).toBe(false);
  });
});

describe('one execution per alarm transition', () => {
  it('names executions after the alarm ARN and the state timestamp, within 80 characters', () => {
    const arn = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-api-cpu-high';
    const a = remediationExecutionName('web-api-cpu-high', arn, '2026-12-02T03:00:00.000+0000');
    expect(a).toBe(remediationExecutionName('web-api-cpu-high', arn, '2026-12-02T03:00:00.000+0000'));
    expect(a).not.toBe(remediationExecutionName('web-api-cpu-high', arn, '2026-12-02T03:05:00.000+0000'));
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 255 }), (name) => {
        const n = remediationExecutionName(name, arn, 't');
        return n.length <= 80 && /^[A-Za-z0-9_-]+$/.test(n);
      }),
    );
  });
});

describe('console inputs and configs', () => {
  it('accepts every remediation example input in events/inputs', () => {
    const dir = join(REPO_ROOT, 'events', 'inputs');
    const files = readdirSync(dir).filter((f) => f.startsWith('remediate-'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const parsed = RemediationInputSchema.safeParse(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      expect(parsed.error?.issues ?? [], file).toEqual([]);
    }
  });

  it('parses the shipped registries of local, dev and prod', () => {
    for (const env of ['local', 'dev', 'prod']) {
      const config = loadRemediationConfig(env);
      expect(config?.runbooks.length, env).toBeGreaterThan(0);
    }
  });
});
