// The decision rules on their own (no emulator): the guardrails, the alarm's computed step,
// the input schema's field names and the CLI's flags. The emulator tests show them end to end.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scaleInputFromFlags } from '../../cli/scale.ts';
import { joinNegativeValues } from '../../cli/usage.ts';
import { alarmScaleOutPattern } from '../../events/alarm-scale-out.ts';
import { AlarmStateChangeSchema } from '../../events/alarm-state-change.ts';
import { ScaleInputSchema, type ScaleRequest } from '../../events/scale-input.ts';
import { executionNameFor, stepFor } from '../../functions/scale-alarm/trigger.ts';
import { type Guardrails, GuardrailsSchema } from '../../functions/scale-service-step/config.ts';
import {
  clockTime,
  decide,
  type GuardInput,
  largestStep,
} from '../../functions/scale-service-step/guardrails.ts';
import type { InvalidInputError } from '../../functions/shared/errors.ts';
import { parseOrThrow } from '../../functions/shared/validation.ts';
import { REPO_ROOT } from '../../local/python-env.ts';

const sample = JSON.parse(
  readFileSync(join(REPO_ROOT, 'events/samples/aws/cloudwatch-alarm-state-change.json'), 'utf8'),
) as { resources: string[]; detail: { state: { timestamp: string } } };

const NOW = Date.parse('2026-03-02T10:41:00Z');
const g: Guardrails = GuardrailsSchema.parse({
  cluster: 'web',
  service: 'api',
  minTasks: 2,
  maxTasks: 12,
  maxStepCount: 4,
  maxStepPercent: 50,
  cooldownOutSeconds: 60,
  cooldownInSeconds: 300,
  maxActionsPerHour: 3,
  overLimit: 'clamp',
});

function input(ask: Partial<ScaleRequest>, over: Partial<GuardInput> = {}): GuardInput {
  return {
    request: {
      cluster: 'web',
      service: 'api',
      reason: 'test',
      dryRun: false,
      requestId: 'r1',
      trigger: { kind: 'operator' },
      executionId: 'arn:exec:1',
      requestedAt: new Date(NOW).toISOString(),
      ...ask,
    },
    guardrails: g,
    service: { desiredCount: 6, runningCount: 6, pendingCount: 0 },
    history: [],
    now: NOW,
    ...over,
  };
}

describe('guardrails', () => {
  it('scales within the envelope and says so', () => {
    const r = decide(input({ delta: 2 }));
    expect(r).toMatchObject({ decision: 'scale', direction: 'out', to: { desiredCount: 8 } });
    expect(r.explanation).toEqual([
      'asked to add 2 tasks: 6 -> 8, because "test"',
      'decided to scale out from 6 to 8',
    ]);
  });

  it('clamps to the maximum and the largest step, or refuses when so configured', () => {
    const clamped = decide(
      input({ desiredCount: 30 }, { service: { desiredCount: 10, runningCount: 10, pendingCount: 0 } }),
    );
    expect(clamped.to.desiredCount).toBe(12);
    expect(clamped.explanation).toContain(
      'clamped to 12: 30 is past the maximum of 12 (the configured maxTasks)',
    );
    const stepped = decide(input({ desiredCount: 11 }));
    expect(stepped.to.desiredCount).toBe(9); // 50% of 6 is 3, less than the 4-task limit
    expect(stepped.explanation).toContain(
      'clamped to 9: a step of +5 is larger than the largest step allowed (at most 4 tasks and 50% of 6, so +3)',
    );
    const refuse = { ...input({ desiredCount: 30 }), guardrails: { ...g, overLimit: 'refuse' as const } };
    expect(decide(refuse)).toMatchObject({ decision: 'refused', blockedBy: { guardrail: 'limit' }, to: {} });
  });

  it('keeps the desired count inside the scalable target, naming which limit applied', () => {
    const r = decide(
      input(
        { delta: 3 },
        {
          service: { desiredCount: 6, runningCount: 6, pendingCount: 0, scalableTarget: { min: 2, max: 7 } },
        },
      ),
    );
    expect(r.to.desiredCount).toBe(7);
    expect(r.explanation).toContain(
      "clamped to 7: 9 is past the maximum of 7 (the scalable target's maximum)",
    );
  });

  it('says until when a cooldown holds: scale-out after a scale-out, scale-in after anything', () => {
    const history = [
      { at: NOW - 20_000, kind: 'out' as const, from: '4', to: '6', executionId: 'arn:exec:0' },
    ];
    const out = decide(input({ delta: 1 }, { history }));
    expect(out).toMatchObject({
      decision: 'no-change',
      blockedBy: { guardrail: 'cooldown', until: '2026-03-02T10:41:40.000Z' },
    });
    expect(out.explanation.at(-1)).toBe(
      'did nothing because the scale-out cooldown ends at 10:41:40 UTC (last scale-out, 4 -> 6, at 10:40:40 UTC)',
    );
    expect(decide(input({ delta: -1 }, { history })).blockedBy).toEqual({
      guardrail: 'cooldown',
      until: '2026-03-02T10:45:40.000Z',
    });
    expect(decide(input({ delta: 1 }, { history, now: NOW + 41_000 })).decision).toBe('scale');
  });

  it('limits the actions per rolling hour', () => {
    const history = [50, 40, 30].map((m, i) => ({
      at: NOW - m * 60_000,
      kind: 'limits' as const,
      from: 'a',
      to: 'b',
      executionId: `e${i}`,
    }));
    const r = decide(input({ delta: 1 }, { history }));
    expect(r.blockedBy).toEqual({ guardrail: 'rate', until: '2026-03-02T10:51:00.000Z' });
    expect(r.explanation.at(-1)).toContain('3 scaling actions already ran in the last hour (at most 3)');
  });

  it('refuses scale-in, not scale-out, while a rollout holds the lock', () => {
    const rolloutHolder = { owner: 'arn:rollout', expiresAt: '2026-03-02T11:00:00.000Z', reason: 'rollout' };
    expect(decide(input({ delta: -1 }, { rolloutHolder }))).toMatchObject({
      decision: 'refused',
      blockedBy: { guardrail: 'rollout-lock', until: rolloutHolder.expiresAt },
    });
    expect(decide(input({ delta: 1 }, { rolloutHolder })).decision).toBe('scale');
    // A max below the current count scales in too.
    expect(decide(input({ max: 4 }, { rolloutHolder })).decision).toBe('refused');
  });

  it('refuses scale-in, not scale-out, inside a freeze window, unless broken glass says why', () => {
    const freezes = [
      { name: 'year end', reason: 'change freeze', start: NOW - 3_600_000, end: NOW + 7_200_000 },
    ];
    const refused = decide(input({ delta: -2 }, { freezes }));
    expect(refused).toMatchObject({
      decision: 'refused',
      blockedBy: { guardrail: 'freeze', until: new Date(NOW + 7_200_000).toISOString() },
    });
    expect(refused.explanation.at(-1)).toContain('freeze window "year end" (until');
    expect(decide(input({ delta: 2 }, { freezes })).decision).toBe('scale');
    const broken = decide(input({ delta: -2, breakGlass: { reason: 'cost emergency' } }, { freezes }));
    expect(broken).toMatchObject({ decision: 'scale', to: { desiredCount: 4 } });
    expect(broken.explanation).toContainEqual(expect.stringContaining('by break glass: cost emergency'));
    // A max below the current count scales in too.
    expect(decide(input({ max: 4 }, { freezes }))).toMatchObject({
      decision: 'refused',
      blockedBy: { guardrail: 'freeze' },
    });
  });

  it('rounds percent steps out up and in toward zero', () => {
    expect(decide(input({ percent: 10 })).to.desiredCount).toBe(7);
    const r = decide(input({ percent: -10 }));
    expect(r.decision).toBe('no-change');
    expect(r.explanation.at(-1)).toBe('did nothing because the desired count is already 6');
  });

  it('sets scalable target limits inside the configured range', () => {
    expect(decide(input({ min: 4 }))).toMatchObject({ decision: 'set-limits', to: { min: 4, max: 12 } });
    const clamped = decide(input({ min: 1, max: 20 }));
    expect(clamped.to).toEqual({ min: 2, max: 12 });
    const same = decide(
      input(
        { min: 2, max: 12 },
        {
          service: { desiredCount: 6, runningCount: 6, pendingCount: 0, scalableTarget: { min: 2, max: 12 } },
        },
      ),
    );
    expect(same.decision).toBe('no-change');
  });

  it('never leaves the envelope, whatever is asked (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.oneof(
          fc.record({ desiredCount: fc.integer({ min: 0, max: 100 }) }),
          fc.record({ delta: fc.integer({ min: -50, max: 50 }).filter((n) => n !== 0) }),
          fc.record({ percent: fc.integer({ min: -100, max: 500 }).filter((n) => n !== 0) }),
        ),
        (current, ask) => {
          const r = decide(
            input(ask, { service: { desiredCount: current, runningCount: current, pendingCount: 0 } }),
          );
          if (r.decision !== 'scale') return r.to.desiredCount === undefined;
          const to = r.to.desiredCount as number;
          return (
            to >= g.minTasks && to <= g.maxTasks && Math.abs(to - current) <= largestStep(g, current).value
          );
        },
      ),
    );
  });

  it('formats times for people', () => {
    expect(clockTime(Date.parse('2026-03-02T10:42:05.123Z'))).toBe('10:42:05 UTC');
  });
});

describe('scale input', () => {
  const field = (value: unknown) => {
    try {
      parseOrThrow(ScaleInputSchema, value, 'input');
    } catch (error) {
      return (error as InvalidInputError).field;
    }
    return undefined;
  };
  it('names the field that is wrong', () => {
    const base = { cluster: 'web', service: 'api', reason: 'because' };
    expect(field({ ...base, desiredCount: 4 })).toBeUndefined();
    expect(field({ ...base })).toBe('input.desiredCount');
    expect(field({ ...base, desiredCount: 4, percent: 10 })).toBe('input.percent');
    expect(field({ ...base, delta: 0 })).toBe('input.delta');
    expect(field({ ...base, desiredCount: 1.5 })).toBe('input.desiredCount');
    expect(field({ ...base, min: 3, max: 2 })).toBe('input.min');
    expect(field({ ...base, desiredCount: 4, dryRun: 'yes' })).toBe('input.dryRun');
    expect(field({ ...base, desiredCount: 4, trigger: { kind: 'cron' } })).toBe('input.trigger.kind');
    expect(field({ cluster: 'web', service: 'api', desiredCount: 4 })).toBe('input.reason');
  });
});

describe('console inputs', () => {
  it('every events/inputs/scale-*.json is a valid input', () => {
    const files = readdirSync(join(REPO_ROOT, 'events/inputs')).filter((f) => /^scale-.*\.json$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const input = JSON.parse(readFileSync(join(REPO_ROOT, 'events/inputs', file), 'utf8'));
      expect(ScaleInputSchema.safeParse(input).error?.issues ?? [], file).toEqual([]);
    }
  });
});

describe('alarm-driven scale-out', () => {
  const mapping = { alarmName: 'ServerCpuTooHigh', cluster: 'web', service: 'api' };
  const event = AlarmStateChangeSchema.parse(sample);

  it('accepts the AWS sample event as it is, and its pattern matches only ALARM of mapped alarms', () => {
    expect(event.detail.state.value).toBe('ALARM');
    expect(alarmScaleOutPattern(['a', 'b'])).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { alarmName: ['a', 'b'], state: { value: ['ALARM'] } },
    });
  });

  it('computes the step from how far the datapoint is past the threshold', () => {
    expect(stepFor({ ...mapping, step: { kind: 'proportional', minPercent: 20 } }, event)).toMatchObject({
      percent: 100,
    });
    expect(stepFor({ ...mapping, step: { kind: 'proportional', minPercent: 150 } }, event)).toMatchObject({
      percent: 150,
    });
    expect(stepFor({ ...mapping, step: { kind: 'count', count: 3 } }, event)).toMatchObject({ delta: 3 });
    const noData = {
      ...event,
      detail: { ...event.detail, state: { ...event.detail.state, reasonData: undefined } },
    };
    expect(stepFor({ ...mapping, step: { kind: 'proportional', minPercent: 20 } }, noData)).toMatchObject({
      percent: 20,
    });
  });

  it('names an execution after the alarm and its state time, the same for the same event', () => {
    const arn = sample.resources[0] as string;
    const a = executionNameFor('ServerCpuTooHigh', arn, sample.detail.state.timestamp);
    expect(a).toBe(executionNameFor('ServerCpuTooHigh', arn, sample.detail.state.timestamp));
    expect(a).not.toBe(executionNameFor('ServerCpuTooHigh', arn, '2019-10-02T17:05:40.989+0000'));
    expect(a).toMatch(/^alarm-ServerCpuTooHigh-[0-9a-f]{32}$/);
    expect(executionNameFor('x'.repeat(300), arn, 't').length).toBeLessThanOrEqual(80);
  });
});

describe('ops scale flags', () => {
  const scaled = [
    { cluster: 'web', service: 'api' },
    { cluster: 'web', service: 'worker' },
  ];
  it('turns --to and --by into the workflow input', () => {
    expect(scaleInputFromFlags({ service: 'api', to: '6' }, scaled, 'ana')).toMatchObject({
      cluster: 'web',
      service: 'api',
      desiredCount: 6,
      dryRun: false,
      trigger: { kind: 'operator', id: 'ana' },
    });
    expect(scaleInputFromFlags({ service: 'web/api', by: '-2' }, scaled, 'ana')).toMatchObject({ delta: -2 });
    expect(scaleInputFromFlags({ service: 'api', by: '+50%', 'dry-run': true }, scaled, 'ana')).toMatchObject(
      {
        percent: 50,
        dryRun: true,
      },
    );
    expect(joinNegativeValues(['scale', '--by', '-2', '--to', '3'], ['--by'])).toEqual([
      'scale',
      '--by=-2',
      '--to',
      '3',
    ]);
  });
  it('explains what is missing', () => {
    expect(() => scaleInputFromFlags({ service: 'api' }, scaled)).toThrow(
      'give exactly one of --to and --by',
    );
    expect(() => scaleInputFromFlags({ service: 'db', to: '1' }, scaled)).toThrow('is not a scaled service');
    expect(() => scaleInputFromFlags({ service: 'api', by: '2' }, scaled)).toThrow(
      '--by takes +N, -N, +P% or -P%',
    );
  });
});
