// Unit tests of the rollout's pure parts: the Mann-Whitney U test (against exhaustive
// permutation p-values), the green-vs-blue comparison, plan normalization and input errors.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseStrategyShorthand,
  planSeconds,
  RolloutInputSchema,
  stepsOf,
} from '../../events/rollout-input.ts';
import { judgeHook, PREVIEW_CHARS, REASON_CHARS } from '../../functions/rollout-step/pre-traffic.ts';
import { pickRoute } from '../../functions/rollout-step/service.ts';
import { compare } from '../../functions/shared/rollouts/analysis/judge.ts';
import {
  mannWhitneyGreater,
  median,
  upperTailNormal,
} from '../../functions/shared/rollouts/analysis/mann-whitney.ts';
import { targetGroupDimensions } from '../../functions/shared/rollouts/analysis/metrics.ts';
import { judgeNoData, windowTooShort } from '../../functions/shared/rollouts/analysis/no-data.ts';
import { weightsOf } from '../../functions/shared/rollouts/traffic.ts';
import { parseOrThrow } from '../../functions/shared/validation.ts';

/** P(U >= observed) over every way of splitting the pooled values into groups of |x| and |y|. */
function permutationPValue(x: number[], y: number[]): number {
  const pooled = [...x, ...y];
  const u = (a: number[], b: number[]) =>
    a.reduce((sum, ai) => sum + b.reduce((s, bj) => s + (ai > bj ? 1 : ai === bj ? 0.5 : 0), 0), 0);
  const observed = u(x, y);
  let total = 0;
  let extreme = 0;
  const n = pooled.length;
  const k = x.length;
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === k) {
      const a = chosen.map((i) => pooled[i] as number);
      const b = pooled.filter((_, i) => !chosen.includes(i));
      total++;
      if (u(a, b) >= observed - 1e-9) extreme++;
      return;
    }
    for (let i = start; i <= n - (k - chosen.length); i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return extreme / total;
}

describe('Mann-Whitney U (one-sided: x greater than y)', () => {
  it('gives the exact p-value 1/252 when all of x lies above all of y (5 and 5)', () => {
    const r = mannWhitneyGreater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
    expect(r.u).toBe(25);
    expect(r.method).toBe('exact');
    expect(r.pValue).toBeCloseTo(1 / 252, 10);
    expect(mannWhitneyGreater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).pValue).toBe(1);
  });

  it('matches the exhaustive permutation p-value exactly without ties', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 4, maxLength: 12 }),
        fc.integer({ min: 2, max: 6 }),
        (values, split) => {
          const k = Math.min(split, values.length - 2);
          const x = values.slice(0, k);
          const y = values.slice(k);
          const r = mannWhitneyGreater(x, y);
          expect(r.method).toBe('exact');
          expect(r.pValue).toBeCloseTo(permutationPValue(x, y), 10);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stays close to the permutation p-value with ties (normal approximation), closest where decisions are made', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 8, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 8, maxLength: 8 }),
        (x, y) => {
          const r = mannWhitneyGreater(x, y);
          if (r.method !== 'normal') return;
          const exact = permutationPValue(x, y);
          // Measured over 400 random pairs: at most 0.031 off below p = 0.2, 0.067 anywhere.
          expect(Math.abs(r.pValue - exact)).toBeLessThan(exact < 0.2 ? 0.04 : 0.08);
        },
      ),
      { numRuns: 25, seed: 5 },
    );
  });

  it('cannot tell identical samples apart', () => {
    expect(mannWhitneyGreater([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]).pValue).toBe(1);
  });

  it('has the standard normal tail', () => {
    expect(upperTailNormal(0)).toBeCloseTo(0.5, 7);
    expect(upperTailNormal(1.6448536)).toBeCloseTo(0.05, 6);
    expect(upperTailNormal(-1.959964)).toBeCloseTo(0.975, 6);
  });

  it('takes medians of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('green compared with blue', () => {
  const baseline = { confidence: 0.95, minSamples: 5, tolerancePercent: 10 };

  it('is inconclusive, not a guess, when samples are too few', () => {
    const c = compare('latency', [100, 101, 102], [50, 51, 52], baseline);
    expect(c.verdict).toBe('inconclusive');
    expect(c.note).toContain('only 3 green and 3 blue samples');
  });

  it('fails a significantly slower green beyond the tolerance', () => {
    const c = compare('latency', [150, 151, 152, 153, 154], [50, 51, 52, 53, 54], baseline);
    expect(c.verdict).toBe('fail');
    expect(c.pValue).toBeCloseTo(1 / 252, 10);
    expect(c.greenMedian).toBe(152);
    expect(c.blueMedian).toBe(52);
  });

  it('passes a significant difference within the tolerance', () => {
    const c = compare('latency', [55, 56, 57, 58, 59], [50, 51, 52, 53, 54], baseline);
    expect(c.pValue).toBeLessThan(0.05);
    expect(c.verdict).toBe('pass');
    expect(c.note).toContain('within the tolerance');
  });

  it('passes a faster green', () => {
    expect(compare('errorRate', [0, 0, 0, 0, 0], [0.01, 0.02, 0.01, 0.02, 0.01], baseline).verdict).toBe(
      'pass',
    );
  });
});

describe('a bake with nothing to judge', () => {
  it('finds a window shorter than one metric period at run time (a bake cut short, a resumed step)', () => {
    expect(windowTooShort(0, 45_000, 60)).toBe('the window of 45s is shorter than one metric period (60s)');
    expect(windowTooShort(0, 60_000, 60)).toBeUndefined();
  });

  it('is never a pass by itself: inconclusive by default, fail or pass only as configured', () => {
    const why = windowTooShort(0, 30_000, 60);
    expect(judgeNoData('pass', why, 'inconclusive')).toMatchObject({
      verdict: 'inconclusive',
      reason: expect.stringContaining('so a human decides'),
    });
    expect(judgeNoData('pass', why, 'fail')).toMatchObject({ verdict: 'fail', cause: 'no-data' });
    expect(judgeNoData('pass', why, 'pass')).toMatchObject({
      verdict: 'pass',
      reason: expect.stringContaining('passed because analysis.noData is pass'),
    });
    // An alarm's failure stands, data or not; with data, the verdict is the metrics'.
    expect(judgeNoData('fail', why, 'pass')).toEqual({ verdict: 'fail' });
    expect(judgeNoData('pass', undefined, 'fail')).toEqual({ verdict: 'pass' });
  });
});

describe('rollout plans', () => {
  it('turns every strategy into steps ending at 100%', () => {
    expect(stepsOf({ type: 'all-at-once' })).toEqual([{ weight: 100, bakeSeconds: 0 }]);
    expect(stepsOf({ type: 'canary', percent: 10, bakeSeconds: 300 }).map((s) => s.weight)).toEqual([
      10, 100,
    ]);
    expect(stepsOf({ type: 'linear', stepPercent: 30, intervalSeconds: 60 }).map((s) => s.weight)).toEqual([
      30, 60, 90, 100,
    ]);
  });

  it('reads the CLI shorthand', () => {
    expect(parseStrategyShorthand('canary:10:5m')).toEqual({ type: 'canary', percent: 10, bakeSeconds: 300 });
    expect(parseStrategyShorthand('linear:25:1h')).toEqual({
      type: 'linear',
      stepPercent: 25,
      intervalSeconds: 3600,
    });
    expect(parseStrategyShorthand('steps:10@30s,100@0')).toEqual({
      type: 'steps',
      steps: [
        { weight: 10, bakeSeconds: 30 },
        { weight: 100, bakeSeconds: 0 },
      ],
    });
    expect(() => parseStrategyShorthand('canary:10:soon')).toThrow(/canary bake: expected a duration/);
    expect(() => parseStrategyShorthand('blue-only')).toThrow(/unknown strategy "blue-only"/);
  });

  const base = { cluster: 'web', service: 'api', image: 'x:1' };
  const fieldOf = (input: unknown) => {
    try {
      parseOrThrow(RolloutInputSchema, input, 'input');
      return 'valid';
    } catch (error) {
      return (error as { field: string }).field;
    }
  };

  it('names the bad field of an input', () => {
    expect(fieldOf({ ...base, strategy: { type: 'canary', percent: 10, bakeSeconds: -1 } })).toBe(
      'input.strategy.bakeSeconds',
    );
    expect(
      fieldOf({
        ...base,
        strategy: {
          type: 'steps',
          steps: [
            { weight: 50, bakeSeconds: 0 },
            { weight: 40, bakeSeconds: 0 },
          ],
        },
      }),
    ).toBe('input.strategy.steps.1.weight');
    expect(fieldOf({ ...base, strategy: { type: 'steps', steps: [{ weight: 50, bakeSeconds: 0 }] } })).toBe(
      'input.strategy.steps.0.weight',
    );
    expect(fieldOf({ ...base, image: undefined, strategy: { type: 'all-at-once' } })).toBe('input.image');
    expect(fieldOf({ ...base, taskDefinition: 'api:3', strategy: { type: 'all-at-once' } })).toBe(
      'input.taskDefinition',
    );
    expect(fieldOf({ ...base, strategy: { type: 'all-at-once' }, approval: 'sometimes' })).toBe(
      'input.approval.gate',
    );
    expect(fieldOf({ ...base, strategy: { type: 'all-at-once' }, analysis: { maxErrorRate: 5 } })).toBe(
      'input.analysis.maxErrorRate',
    );
    expect(fieldOf({ ...base, strategy: { type: 'all-at-once' }, approval: 'before-traffic' })).toBe('valid');
  });

  it('accepts every example console input in events/inputs', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'events', 'inputs');
    const files = readdirSync(dir).filter((f) => f.startsWith('rollout-'));
    expect(files.sort()).toEqual([
      'rollout-all-at-once.json',
      'rollout-canary.json',
      'rollout-linear.json',
      'rollout-pre-traffic.json',
      'rollout-steps.json',
    ]);
    for (const file of files) {
      const parsed = parseOrThrow(
        RolloutInputSchema,
        JSON.parse(readFileSync(join(dir, file), 'utf8')),
        'input',
      );
      expect(stepsOf(parsed.strategy).at(-1)?.weight, file).toBe(100);
    }
  });

  it('bounds a plan by its bakes, gates, spot-storm pauses, window and termination wait', () => {
    const draft = {
      ...base,
      strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
      approval: { gate: 'before-finalize', timeoutSeconds: 600 },
      rollbackWindowSeconds: 900,
      terminationWaitSeconds: 60,
      greenReadyTimeoutSeconds: 120,
    };
    // Storm pauses are on by default, at most 1800 s in all; the one baked step may end
    // inconclusive and wait an hour at its gate (analysis is on by default).
    expect(planSeconds(RolloutInputSchema.parse(draft))).toBe(120 + 300 + 600 + 3600 + 1800 + 900 + 60);
    const unheld = RolloutInputSchema.parse({ ...draft, spotStorm: { enabled: false } });
    expect(planSeconds(unheld)).toBe(120 + 300 + 600 + 3600 + 900 + 60);
    const blind = RolloutInputSchema.parse({ ...draft, analysis: { enabled: false } });
    expect(planSeconds(blind)).toBe(120 + 300 + 600 + 1800 + 900 + 60);
  });

  it('names the bad field of pre-traffic and spot-storm settings', () => {
    const fieldOf = (value: unknown) => {
      try {
        parseOrThrow(RolloutInputSchema, value, 'input');
        return 'valid';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const all = { ...base, strategy: { type: 'all-at-once' } };
    expect(fieldOf({ ...all, preTraffic: { hookFunctionArn: 'my-hook' } })).toMatch(
      /^input\.preTraffic\.hookFunctionArn: must be a Lambda function ARN/,
    );
    expect(
      fieldOf({
        ...all,
        preTraffic: { hookFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:x' },
      }),
    ).toMatch(
      /^input\.preTraffic\.hookFunctionArn: must name a function whose name starts with rollout-hook-/,
    );
    expect(fieldOf({ ...all, preTraffic: { testTraffic: 'yes' } })).toMatch(
      /^input\.preTraffic\.testTraffic:/,
    );
    expect(fieldOf({ ...all, spotStorm: { maxPauseSeconds: -1 } })).toMatch(
      /^input\.spotStorm\.maxPauseSeconds:/,
    );
    expect(fieldOf({ ...all, spotStorm: { windowMinutes: 0 } })).toMatch(/^input\.spotStorm\.windowMinutes:/);
    expect(
      fieldOf({
        ...all,
        preTraffic: {
          testTraffic: true,
          hookFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:rollout-hook-smoke:live',
        },
      }),
    ).toBe('valid');
  });
});

describe('the pre-traffic hook’s answer', () => {
  const finding = (answer: unknown) => judgeHook(answer).finding;

  it('passes only on {"status": "SUCCEEDED"}, and says why otherwise', () => {
    expect(judgeHook({ Payload: { status: 'SUCCEEDED', reason: 'ok' }, StatusCode: 200 })).toEqual({
      status: 'passed',
      finding: 'passed: ok',
      answer: '{"status":"SUCCEEDED","reason":"ok"}',
    });
    expect(judgeHook({ Payload: { status: 'succeeded' } }).status).toBe('passed');
    expect(judgeHook({ Payload: { status: 'FAILED', reason: 'login 502' } })).toMatchObject({
      status: 'failed',
      finding: 'failed: login 502',
    });
    expect(judgeHook({ Payload: null })).toMatchObject({
      status: 'failed',
      finding: 'answered null; expected {"status": "SUCCEEDED"} or {"status": "FAILED"}',
    });
    // What the invoke task's Catch left beside the request.
    const caught = (error: unknown) => ({ hook: 'h', request: { kind: 'pre-traffic' }, error });
    expect(
      finding(
        caught({ Error: 'Lambda.ResourceNotFoundException', Cause: 'Function not found: rollout-hook-x' }),
      ),
    ).toBe('failed: Lambda.ResourceNotFoundException: Function not found: rollout-hook-x');
    expect(
      finding(
        caught({
          Error: 'SmokeTestError',
          Cause: JSON.stringify({ errorType: 'SmokeTestError', errorMessage: 'no answer on 8080' }),
        }),
      ),
    ).toBe('failed: SmokeTestError: no answer on 8080');
  });

  it('keeps its verdict small whatever the hook said: it joins the rollout’s state', () => {
    const long = 'y'.repeat(200 * 1024);
    for (const answer of [
      { Payload: { status: 'FAILED', reason: long }, StatusCode: 200 },
      { Payload: { status: 'SUCCEEDED', reason: long, log: long }, StatusCode: 200 },
      { Payload: long, StatusCode: 200 },
      { error: { Error: 'SmokeTestError', Cause: JSON.stringify({ errorMessage: long }) } },
    ]) {
      const verdict = judgeHook(answer);
      expect(verdict.finding.length).toBeLessThanOrEqual(REASON_CHARS);
      expect(verdict.answer.length).toBeLessThanOrEqual(PREVIEW_CHARS);
      expect(verdict.finding.endsWith('...') || verdict.finding.includes('...;')).toBe(true);
    }
  });
});

describe('load balancer routing', () => {
  const topology = { blueTargetGroupArn: 'tg/blue', greenTargetGroupArn: 'tg/green' };

  it('reads weights of a weighted forward and of a plain forward', () => {
    expect(
      weightsOf(
        [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: 'tg/blue', Weight: 90 },
                { TargetGroupArn: 'tg/green', Weight: 10 },
              ],
            },
          },
        ],
        topology,
      ),
    ).toEqual({ blue: 90, green: 10 });
    expect(weightsOf([{ Type: 'forward', TargetGroupArn: 'tg/green' }], topology)).toEqual({
      blue: 0,
      green: 100,
    });
  });

  it('picks the production route where blue serves; on a tie (test listener on the new blue) the lower port', () => {
    const forward = (blue: number, green: number) => [
      {
        Type: 'forward' as const,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: 'tg/blue', Weight: blue },
            { TargetGroupArn: 'tg/green', Weight: green },
          ],
        },
      },
    ];
    const rule = (arn: string, port: number, actions: ReturnType<typeof forward>) => ({
      route: { kind: 'rule' as const, arn, listenerArn: `listener/${port}` },
      actions,
      port,
    });
    // Fresh from infra: production 100/0, test 0/100.
    expect(
      pickRoute([rule('rule/test', 8080, forward(0, 100)), rule('rule/prod', 80, forward(100, 0))], 'tg/blue')
        ?.route.arn,
    ).toBe('rule/prod');
    // After a rollout the test rule may forward to the new blue too.
    expect(
      pickRoute(
        [rule('rule/test', 8443, forward(100, 0)), rule('rule/prod', 443, forward(100, 0))],
        'tg/blue',
      )?.route.arn,
    ).toBe('rule/prod');
  });

  it('names the ALB metric dimensions by the ARN suffixes', () => {
    expect(
      targetGroupDimensions(
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/50846316c81d4907',
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/8fd16c9b62f96731',
      ),
    ).toEqual([
      { Name: 'TargetGroup', Value: 'targetgroup/web-green/50846316c81d4907' },
      { Name: 'LoadBalancer', Value: 'app/web-alb/8fd16c9b62f96731' },
    ]);
  });
});
