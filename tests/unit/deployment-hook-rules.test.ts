// The ECS lifecycle hook's pure rules: what each stage does, the weights each stage should have
// left, the callback delays, and the documented payload samples parsed as the hook parses them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HookDetailsSchema,
  type LifecycleHookPayload,
  LifecycleHookPayloadSchema,
} from '../../events/ecs-lifecycle-hook.ts';
import {
  callBackDelay,
  expectedProductionWeight,
  expectedTestWeight,
  serviceOfArn,
  stageAction,
} from '../../functions/deployment-hook/rules.ts';
import { parseOrThrow } from '../../functions/shared/validation.ts';
import { REPO_ROOT } from '../../local/python-env.ts';

const SAMPLES = join(REPO_ROOT, 'events/samples/constructed');
const samples = readdirSync(SAMPLES).filter((f) => f.startsWith('ecs-lifecycle-hook-'));
const sample = (name: string): LifecycleHookPayload =>
  parseOrThrow(LifecycleHookPayloadSchema, JSON.parse(readFileSync(join(SAMPLES, name), 'utf8')));
const details = HookDetailsSchema.parse({ bakeSeconds: 300, testBakeSeconds: 0 });

describe('the lifecycle hook payload', () => {
  it('parses every documented sample', () => {
    expect(samples.length).toBeGreaterThanOrEqual(2);
    for (const name of samples) expect(sample(name).executionDetails.serviceArn).toMatch(/:service\//);
  });

  it('takes null weight maps as empty, and hook details given as a JSON string', () => {
    const raw = JSON.parse(readFileSync(join(SAMPLES, 'ecs-lifecycle-hook-post-scale-up.json'), 'utf8'));
    const parsed = parseOrThrow(LifecycleHookPayloadSchema, {
      ...raw,
      executionDetails: {
        ...raw.executionDetails,
        testTrafficWeights: null,
        productionTrafficWeights: undefined,
      },
      hookDetails: '{"bakeSeconds": 600}',
    });
    expect(parsed.executionDetails.testTrafficWeights).toEqual({});
    expect(parsed.executionDetails.productionTrafficWeights).toEqual({});
    expect(HookDetailsSchema.parse(parsed.hookDetails)).toMatchObject({
      bakeSeconds: 600,
      testBakeSeconds: 0,
    });
    expect(() => parseOrThrow(LifecycleHookPayloadSchema, { ...raw, hookDetails: '{bake' })).toThrow(
      /^hookDetails: is a string that is not JSON/,
    );
  });

  it('names the field of a bad payload', () => {
    const bad = { ...sample('ecs-lifecycle-hook-post-scale-up.json'), lifecycleStage: 'BAKE_TIME' };
    expect(() => parseOrThrow(LifecycleHookPayloadSchema, bad)).toThrow(/^lifecycleStage: /);
    expect(() => serviceOfArn('arn:aws:ecs:eu-west-1:123456789012:service')).toThrow(
      /executionDetails\.serviceArn/,
    );
  });
});

describe('stages', () => {
  const production = sample('ecs-lifecycle-hook-production-traffic-shift.json');
  const scaleUp = sample('ecs-lifecycle-hook-post-scale-up.json');

  it('reads green’s weight from the revision weights, or from the stage when ECS sent none', () => {
    expect(expectedProductionWeight(production)).toBe(100);
    expect(expectedProductionWeight(scaleUp)).toBe(0);
    expect(expectedProductionWeight({ ...scaleUp, lifecycleStage: 'POST_PRODUCTION_TRAFFIC_SHIFT' })).toBe(
      100,
    );
    const noWeights = {
      ...production,
      executionDetails: { ...production.executionDetails, productionTrafficWeights: {} },
    };
    expect(expectedProductionWeight(noWeights)).toBeUndefined();
    expect(expectedTestWeight(scaleUp)).toBeUndefined();
    expect(expectedTestWeight({ ...scaleUp, lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT' })).toBe(100);
  });

  it('analyses each production step below 100%, and the final 100% with its gate', () => {
    const cases: [Parameters<typeof stageAction>, ReturnType<typeof stageAction>][] = [
      [['POST_SCALE_UP', 0, details, 'none'], { kind: 'continue' }],
      [
        ['POST_TEST_TRAFFIC_SHIFT', 0, details, 'before-traffic'],
        { kind: 'analyse', weight: 0, bakeSeconds: 0, gate: 'before-traffic' },
      ],
      [
        ['PRODUCTION_TRAFFIC_SHIFT', 25, details, 'before-finalize'],
        { kind: 'analyse', weight: 25, bakeSeconds: 300 },
      ],
      [
        ['PRODUCTION_TRAFFIC_SHIFT', 12.5, details, 'none'],
        { kind: 'analyse', weight: 12.5, bakeSeconds: 300 },
      ],
      [['PRODUCTION_TRAFFIC_SHIFT', 100, details, 'none'], { kind: 'continue' }],
      [['PRODUCTION_TRAFFIC_SHIFT', 0, details, 'none'], { kind: 'continue' }],
      [
        ['POST_PRODUCTION_TRAFFIC_SHIFT', 100, details, 'before-finalize'],
        { kind: 'analyse', weight: 100, bakeSeconds: 300, gate: 'before-finalize' },
      ],
    ];
    for (const [args, action] of cases) expect(stageAction(...args), args.join(' ')).toEqual(action);
  });

  it('waits out a bake in as few calls as the callback delay allows', () => {
    expect(callBackDelay(300_000)).toBe(300);
    expect(callBackDelay(3_600_000)).toBe(900);
    expect(callBackDelay(1)).toBe(1);
    expect(callBackDelay(-5)).toBe(1);
    expect(callBackDelay(600_000, 60)).toBe(60);
  });
});
