// Safe by default, without the emulator: what a rollout that names no analysis gets, the limits
// relative to blue, the service's defaults under the input, the plan in words, and the config
// file's errors at synth.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  blindReason,
  describeAnalysis,
  RolloutDefaultsSchema,
  RolloutInputSchema,
  stepsOf,
} from '../../events/rollout-input.ts';
import { RolloutPlanSchema } from '../../events/rollout-state.ts';
import { greenLimits } from '../../functions/shared/rollouts/analysis/limits.ts';
import {
  type ManagedService,
  ManagedServicesSchema,
  managedServicesEnv,
} from '../../functions/shared/rollouts/config.ts';
import { resolveRolloutInput } from '../../functions/shared/rollouts/defaults.ts';
import { parseOrThrow } from '../../functions/shared/validation.ts';
import {
  DEFAULT_ROLLOUT_SERVICES,
  withRolloutDefaults,
} from '../../infra/control-plane/rollouts/rollouts.ts';
import {
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  lambdaEnvironment,
} from '../../infra/control-plane/shared/bundled-function.ts';

const message = (run: () => unknown): string => {
  try {
    run();
    return 'valid';
  } catch (error) {
    return (error as Error).message;
  }
};

const SERVICES: ManagedService[] = [
  {
    cluster: 'web',
    service: 'api',
    loadBalancerName: 'web-alb',
    defaults: {
      strategy: { type: 'linear', stepPercent: 25, intervalSeconds: 600 },
      analysis: { alarms: ['api-5xx'], maxP95LatencyMs: 900, baseline: { minSamples: 8 } },
      rollbackWindowSeconds: 1200,
    },
  },
  { cluster: 'web', service: 'worker', loadBalancerName: 'web-alb' },
  { cluster: 'batch', service: 'worker', loadBalancerName: 'batch-alb' },
];

describe('a rollout that names no analysis', () => {
  const minimal = RolloutInputSchema.parse({ service: 'api', image: 'registry.local/api:2' });

  it('is analysed: limits relative to blue, the comparison with blue, no data is not a pass', () => {
    expect(minimal.strategy).toEqual({ type: 'canary', percent: 10, bakeSeconds: 600 });
    expect(minimal.analysis).toMatchObject({
      enabled: true,
      relativeLimits: {
        enabled: true,
        errorRateMultiple: 2,
        errorRateFloor: 0.01,
        latencyMultiple: 2,
        latencyFloorMs: 50,
      },
      baseline: { enabled: true, confidence: 0.95, minSamples: 5 },
      noData: 'inconclusive',
      inconclusive: { timeoutSeconds: 3600, defaultAction: 'reject' },
    });
  });

  it('fails the issue’s green (50% 5xx at 2.7 s) against its blue (0.07% at 70 ms)', () => {
    const limits = greenLimits(minimal.analysis, { requests: 4525, errorRate: 3 / 4525, p95LatencyMs: 70 });
    expect(limits.errorRate).toBe(0.01);
    expect(limits.p95LatencyMs).toBe(140);
    expect(0.5).toBeGreaterThan(limits.errorRate ?? 1);
    expect(2700).toBeGreaterThan(limits.p95LatencyMs ?? Infinity);
    expect(limits.basis).toEqual([
      "5xx rate 1.00% = max(1.00%, 2x blue's 0.07%)",
      "p95 140 ms = max(50 ms, 2x blue's 70 ms)",
    ]);
  });

  it('follows a worse blue up to twice its rate, and keeps the lower of a ceiling and the relative limit', () => {
    const blue = { requests: 1000, errorRate: 0.03, p95LatencyMs: 400 };
    expect(greenLimits(minimal.analysis, blue)).toMatchObject({ errorRate: 0.06, p95LatencyMs: 800 });
    const capped = RolloutInputSchema.parse({
      service: 'api',
      image: 'x',
      analysis: { maxErrorRate: 0.02, maxP95LatencyMs: 500 },
    }).analysis;
    expect(greenLimits(capped, blue)).toMatchObject({ errorRate: 0.02, p95LatencyMs: 500 });
    // Blue served nothing (100% green): the error-rate floor still holds; latency has only its ceiling.
    expect(greenLimits(capped, undefined)).toMatchObject({ errorRate: 0.01, p95LatencyMs: 500 });
    expect(greenLimits(minimal.analysis, undefined)).toMatchObject({ errorRate: 0.01, p95LatencyMs: null });
    const off = RolloutInputSchema.parse({
      service: 'api',
      image: 'x',
      analysis: { relativeLimits: { enabled: false } },
    }).analysis;
    expect(greenLimits(off, blue)).toMatchObject({ errorRate: null, p95LatencyMs: null });
  });

  it('says in words what every step will judge', () => {
    const lines = describeAnalysis({ steps: stepsOf(minimal.strategy), analysis: minimal.analysis });
    expect(lines).toEqual([
      'alarms that must be OK after every bake: none named',
      "green 5xx rate at most max(1%, 2x blue's) once 5 or more fail",
      "green p95 latency at most max(50 ms, 2x blue's)",
      'compared with blue (errorRate, latency): one-sided Mann-Whitney at 0.95, at least 5 samples a side, tolerance 10%',
      'no green requests, or a window shorter than 60s: inconclusive (a human decides within 1h, else reject)',
      'step 1: 10% for 10m, all of the above',
      'step 2: 100%, no bake: alarms only',
    ]);
    const blind = RolloutInputSchema.parse({ service: 'api', image: 'x', analysis: { enabled: false } });
    expect(describeAnalysis({ steps: stepsOf(blind.strategy), analysis: blind.analysis })[0]).toBe(
      'analysis OFF: a blind rollout (analysis.enabled is false); only alarms are checked',
    );
  });

  it('refuses a bake shorter than the analysis period, and a misspelt key, naming the field', () => {
    const parse = (input: unknown) => message(() => parseOrThrow(RolloutInputSchema, input, 'input'));
    expect(
      parse({ service: 'api', image: 'x', strategy: { type: 'canary', percent: 10, bakeSeconds: 30 } }),
    ).toMatch(/^input\.strategy\.bakeSeconds: a bake of 30s is shorter than the analysis period \(60s\)/);
    expect(
      parse({
        service: 'api',
        image: 'x',
        strategy: {
          type: 'steps',
          steps: [
            { weight: 50, bakeSeconds: 120 },
            { weight: 100, bakeSeconds: 10 },
          ],
        },
      }),
    ).toMatch(/^input\.strategy\.steps\.1\.bakeSeconds: a bake of 10s/);
    // A blind rollout judges no metric: any bake will do.
    expect(
      parse({
        service: 'api',
        image: 'x',
        strategy: { type: 'canary', percent: 10, bakeSeconds: 30 },
        analysis: { enabled: false },
      }),
    ).toBe('valid');
    // A typo of a safety limit must not be dropped in silence.
    expect(parse({ service: 'api', image: 'x', analysis: { maxErrorRat: 0.01 } })).toMatch(
      /^input\.analysis\.maxErrorRat: is not a field of this input/,
    );
    expect(parse({ service: 'api', image: 'x', analysis: { baseline: { enable: false } } })).toMatch(
      /^input\.analysis\.baseline\.enable: is not a field/,
    );
  });
});

describe("a service's rollout defaults", () => {
  it('fill in what a console input naming only service and image leaves out', () => {
    const { input, managed } = resolveRolloutInput(SERVICES, {
      service: 'api',
      image: 'registry.local/api:2',
    });
    expect(managed.service).toBe('api');
    expect(input.cluster).toBe('web');
    expect(input.strategy).toEqual({ type: 'linear', stepPercent: 25, intervalSeconds: 600 });
    expect(input.analysis.alarms).toEqual(['api-5xx']);
    expect(input.analysis.maxP95LatencyMs).toBe(900);
    expect(input.analysis.baseline).toMatchObject({ enabled: true, minSamples: 8, confidence: 0.95 });
    expect(input.analysis.relativeLimits.enabled).toBe(true);
    expect(input.rollbackWindowSeconds).toBe(1200);
    expect(input.terminationWaitSeconds).toBe(300);
  });

  it('give way to the rollout field by field; a strategy is replaced whole', () => {
    const { input } = resolveRolloutInput(SERVICES, {
      cluster: 'web',
      service: 'api',
      image: 'x',
      strategy: { type: 'canary', percent: 5, bakeSeconds: 600 },
      analysis: { baseline: { confidence: 0.99 }, alarms: [] },
      rollbackWindowSeconds: 0,
    });
    expect(input.strategy).toEqual({ type: 'canary', percent: 5, bakeSeconds: 600 });
    // The service's alarms always apply: a rollout adds alarms, it cannot drop them.
    expect(input.analysis.alarms).toEqual(['api-5xx']);
    expect(input.analysis.maxP95LatencyMs).toBe(900);
    expect(input.analysis.baseline).toMatchObject({ confidence: 0.99, minSamples: 8 });
    expect(input.rollbackWindowSeconds).toBe(0);
    const blind = resolveRolloutInput(SERVICES, { service: 'api', image: 'x', analysis: { enabled: false } });
    expect(blind.input.analysis).toMatchObject({ enabled: false, alarms: ['api-5xx'] });
  });

  it('need the cluster only where the service name is not unique, and name the field otherwise', () => {
    expect(
      resolveRolloutInput(SERVICES, { service: 'worker', cluster: 'batch', image: 'x' }).input.cluster,
    ).toBe('batch');
    expect(message(() => resolveRolloutInput(SERVICES, { service: 'worker', image: 'x' }))).toBe(
      'input.cluster: is required: worker runs in web and batch',
    );
    expect(message(() => resolveRolloutInput(SERVICES, { service: 'nope', image: 'x' }))).toMatch(
      /^input\.service: is not a service the control plane rolls out \(managed: web\/api, web\/worker, batch\/worker\)/,
    );
    expect(
      message(() => resolveRolloutInput(SERVICES, { service: 'api', cluster: 'other', image: 'x' })),
    ).toMatch(/^input\.cluster: is not a service the control plane rolls out/);
    // What is wrong with the input itself is named as the schema names it.
    expect(message(() => resolveRolloutInput(SERVICES, 'api'))).toMatch(
      /^input: Invalid input: expected object/,
    );
  });

  it('fail synth naming the bad key, or a service the environment does not roll out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollout-config-'));
    const write = (name: string, body: unknown) =>
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(body));
    const entry = (defaults: unknown, service = 'api') => ({
      services: [{ cluster: 'web', service, defaults }],
    });
    try {
      write('typo', entry({ analysis: { maxErrorRat: 0.01 } }));
      expect(message(() => withRolloutDefaults('typo', DEFAULT_ROLLOUT_SERVICES, dir))).toMatch(
        /services\.0\.defaults\.analysis: Unrecognized key: "maxErrorRat"/,
      );
      write('range', entry({ analysis: { relativeLimits: { errorRateMultiple: 0.5 } } }));
      expect(message(() => withRolloutDefaults('range', DEFAULT_ROLLOUT_SERVICES, dir))).toMatch(
        /services\.0\.defaults\.analysis\.relativeLimits\.errorRateMultiple: Too small/,
      );
      write('stranger', entry({ rollbackWindowSeconds: 60 }, 'nope'));
      expect(message(() => withRolloutDefaults('stranger', DEFAULT_ROLLOUT_SERVICES, dir))).toMatch(
        /services\.0\.service: web\/nope is not a service this environment rolls out \(web\/api, web\/shop\)/,
      );
      write('good', entry({ analysis: { maxP95LatencyMs: 700 } }));
      expect(withRolloutDefaults('good', DEFAULT_ROLLOUT_SERVICES, dir)).toEqual([
        { ...DEFAULT_ROLLOUT_SERVICES[0], defaults: { analysis: { maxP95LatencyMs: 700 } } },
        { ...DEFAULT_ROLLOUT_SERVICES[1] },
      ]);
      expect(withRolloutDefaults('absent', DEFAULT_ROLLOUT_SERVICES, dir)).toEqual(DEFAULT_ROLLOUT_SERVICES);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('of every environment in config/rollouts are valid', () => {
    for (const env of ['local', 'dev', 'prod']) {
      const services =
        env === 'local'
          ? DEFAULT_ROLLOUT_SERVICES
          : [{ cluster: `ecs-ops-${env}`, service: 'web', loadBalancerName: `ecs-ops-${env}-alb` }];
      const [service] = withRolloutDefaults(env, services);
      expect(RolloutDefaultsSchema.safeParse(service?.defaults).success, env).toBe(true);
    }
  });

  it('travel in MANAGED_SERVICES, and synth refuses an environment Lambda would refuse (over 4 KB)', () => {
    const fits = lambdaEnvironment({ MANAGED_SERVICES: JSON.stringify(SERVICES) });
    expect(JSON.parse(fits.MANAGED_SERVICES as string)).toEqual(SERVICES);
    const many = Array.from({ length: 40 }, (_, i) => ({ ...SERVICES[0], service: `api-${i}` }));
    expect(message(() => lambdaEnvironment({ MANAGED_SERVICES: JSON.stringify(many), OTHER: 'x' }))).toMatch(
      new RegExp(
        `^the function's environment is \\d+ bytes; Lambda allows ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} \\(largest: MANAGED_SERVICES\\)$`,
      ),
    );
  });
});

describe('MANAGED_SERVICES at fleet scale', () => {
  const fleet = Array.from({ length: 200 }, (_, i) => ({
    cluster: `fleet-${'abcd'[i % 4]}`,
    service: `svc-${String(i).padStart(3, '0')}`,
    loadBalancerName: `fleet-${'abcd'[i % 4]}-alb`,
    // The default family, written out as a control-plane-only config writes it.
    taskDefinitionFamily: `fleet-${'abcd'[i % 4]}-svc-${String(i).padStart(3, '0')}`,
  }));
  const special: ManagedService[] = [
    { cluster: 'web', service: 'shop', loadBalancerName: 'web-alb', controller: 'ecs' },
    {
      cluster: 'web',
      service: 'api',
      loadBalancerName: 'web-alb',
      defaults: { strategy: { type: 'all-at-once' } },
    },
    { cluster: 'web', service: 'cart', loadBalancerName: 'web-alb', taskDefinitionFamily: 'cart-family' },
  ];

  it('groups plain services by cluster and load balancer, so 200 fit in 4 KB, and reads back every one', () => {
    const written = managedServicesEnv([...fleet, ...special]);
    const env = lambdaEnvironment({ MANAGED_SERVICES: written });
    expect(Buffer.byteLength(env.MANAGED_SERVICES as string)).toBeLessThan(3000);
    const read = ManagedServicesSchema.parse(env.MANAGED_SERVICES);
    // Plain ones come back without the family (the default one); the others exactly as given.
    expect(read).toHaveLength(203);
    expect(read).toEqual(
      expect.arrayContaining([
        ...fleet.map(({ taskDefinitionFamily: _family, ...rest }) => rest),
        ...special.map((s) => expect.objectContaining(s)),
      ]),
    );
    // One service apart, whole, every one of them: the same list would not fit.
    expect(() => lambdaEnvironment({ MANAGED_SERVICES: JSON.stringify(fleet) })).toThrow(
      /Lambda allows 4096/,
    );
  });
});

describe('safe by default, at the edges', () => {
  const parse = (input: unknown) => RolloutInputSchema.parse(input);

  it('leaves a handful of green errors to the comparison: the relative 5xx limit needs minErrors', () => {
    const { analysis } = parse({ service: 'api', image: 'x' });
    const blue = { requests: 1000, errorRate: 0.005, p95LatencyMs: 60 };
    // 2 of 100 is 2%, above max(1%, 2x 0.5%), and chance alone: no 5xx limit yet.
    expect(greenLimits(analysis, blue, { errors: 2 })).toMatchObject({ errorRate: null });
    expect(greenLimits(analysis, blue, { errors: 2 }).basis).toContain(
      'only 2 green 5xx (fewer than 5): the relative 5xx limit does not apply',
    );
    expect(greenLimits(analysis, blue, { errors: 5 })).toMatchObject({ errorRate: 0.01 });
    // A ceiling the rollout names still holds whatever the count.
    const capped = parse({ service: 'api', image: 'x', analysis: { maxErrorRate: 0.01 } }).analysis;
    expect(greenLimits(capped, blue, { errors: 2 })).toMatchObject({ errorRate: 0.01 });
  });

  it('calls a plan in which no step bakes blind, and says why', () => {
    const all = parse({ service: 'api', image: 'x', strategy: { type: 'all-at-once' } });
    expect(blindReason({ steps: stepsOf(all.strategy), analysis: all.analysis })).toBe(
      'no step has a bake, so no metric can be judged',
    );
    expect(describeAnalysis({ steps: stepsOf(all.strategy), analysis: all.analysis })[0]).toBe(
      'analysis OFF: a blind rollout (no step has a bake, so no metric can be judged); only alarms are checked',
    );
    const canary = parse({ service: 'api', image: 'x' });
    expect(blindReason({ steps: stepsOf(canary.strategy), analysis: canary.analysis })).toBeUndefined();
  });

  it('warns in the plan when a bake gives the comparison too few samples', () => {
    const short = parse({
      service: 'api',
      image: 'x',
      strategy: { type: 'canary', percent: 10, bakeSeconds: 180 },
    });
    expect(describeAnalysis({ steps: stepsOf(short.strategy), analysis: short.analysis })).toContain(
      "step 1: 10% for 3m, all of the above; at most 3 samples a side, fewer than the comparison's 5: it will be inconclusive",
    );
  });

  it("keeps the service's approval gate when a rollout changes only its timeout, and its alarms when it adds one", () => {
    const services: ManagedService[] = [
      {
        cluster: 'web',
        service: 'api',
        loadBalancerName: 'web-alb',
        defaults: { approval: 'before-finalize', analysis: { alarms: ['api-5xx'] } },
      },
    ];
    const { input } = resolveRolloutInput(services, {
      service: 'api',
      image: 'x',
      approval: { timeoutSeconds: 600 },
      analysis: { alarms: ['api-p99'] },
    });
    expect(input.approval).toEqual({ gate: 'before-finalize', timeoutSeconds: 600, defaultAction: 'reject' });
    expect(input.analysis.alarms).toEqual(['api-5xx', 'api-p99']);
    // The shorthand on either side merges the same way.
    const short = resolveRolloutInput(services, { service: 'api', image: 'x', approval: 'before-traffic' });
    expect(short.input.approval.gate).toBe('before-traffic');
  });

  it('carries a plan started before analysis was on by default as it began, gate settings where its definition reads them', () => {
    const plan = {
      id: 'rollout-api-1',
      execution: 'arn:aws:states:us-east-1:123456789012:execution:x:rollout-api-1',
      cluster: 'web',
      service: 'api',
      image: 'x',
      container: 'app',
      steps: [{ weight: 10, bakeSeconds: 300 }],
      analysis: {
        alarms: [],
        maxErrorRate: 0.02,
        baseline: {
          enabled: true,
          confidence: 0.95,
          minSamples: 5,
          tolerancePercent: 10,
          metrics: ['errorRate'],
          inconclusive: { timeoutSeconds: 600, defaultAction: 'approve' },
        },
        periodSeconds: 60,
      },
      approval: { gate: 'none', timeoutSeconds: 3600, defaultAction: 'reject' },
      spotStorm: { enabled: true, minInterruptions: 3, windowMinutes: 10, maxPauseSeconds: 1800 },
      rollbackWindowSeconds: 900,
      terminationWaitSeconds: 300,
      onFailure: 'rollback',
      greenReadyTimeoutSeconds: 600,
      requestedBy: 'before',
      startedAt: '2026-12-01T00:00:00.000Z',
      maxSeconds: 5000,
    };
    const parsed = RolloutPlanSchema.parse(plan);
    expect(parsed.analysis).toMatchObject({
      enabled: true,
      relativeLimits: { enabled: false },
      noData: 'pass',
      inconclusive: { timeoutSeconds: 600, defaultAction: 'approve' },
      baseline: { enabled: true, inconclusive: { timeoutSeconds: 600, defaultAction: 'approve' } },
    });
    // Parsed again (every step does), it stays the same.
    expect(RolloutPlanSchema.parse(parsed)).toEqual(parsed);
    const noBaseline = RolloutPlanSchema.parse({ ...plan, analysis: { alarms: [], periodSeconds: 60 } });
    expect(noBaseline.analysis.baseline.enabled).toBe(false);
  });

  it('fails synth on defaults no rollout could start with, naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollout-config-'));
    try {
      writeFileSync(
        join(dir, 'short.json'),
        JSON.stringify({
          services: [
            {
              cluster: 'web',
              service: 'api',
              defaults: { strategy: { type: 'canary', percent: 10, bakeSeconds: 30 } },
            },
          ],
        }),
      );
      expect(message(() => withRolloutDefaults('short', DEFAULT_ROLLOUT_SERVICES, dir))).toMatch(
        /services\.0\.defaults\.strategy\.bakeSeconds: a bake of 30s is shorter than the analysis period/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
