// Input of the blue-green-rollout workflow (console, `ops rollout`), its defaults, and how a plan
// is put in words. Defined once: the workflow's first state, the CLI, the tests and the bench all
// parse with these schemas; the state the workflow carries is events/rollout-state.ts.
import { BreakGlassSchema } from './break-glass.ts';
import * as z from './zod.ts';

/** Step Functions executions of this workflow time out after 8 days; a plan must fit in 7. */
export const MAX_PLAN_SECONDS = 7 * 24 * 3600;
const DAY = 24 * 3600;

const Seconds = (max: number) => z.number().check(z.int('must be whole seconds'), z.gte(0), z.lte(max));
const Percent = z.number().check(z.int('must be a whole percent'));

export const StepSchema = z.strictObject({
  /** Percent of production traffic on green during this step. */
  weight: Percent.check(z.gte(1), z.lte(100)),
  /** How long to hold this weight before analysing it. */
  bakeSeconds: Seconds(DAY),
});
export type Step = z.infer<typeof StepSchema>;

export const StrategySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('all-at-once') }),
  z.strictObject({
    type: z.literal('canary'),
    percent: Percent.check(z.gte(1), z.lte(99)),
    bakeSeconds: Seconds(DAY),
  }),
  z.strictObject({
    type: z.literal('linear'),
    stepPercent: Percent.check(z.gte(1), z.lte(50)),
    intervalSeconds: Seconds(DAY),
  }),
  z.strictObject({
    type: z.literal('steps'),
    steps: z.array(StepSchema).check(
      z.minLength(1),
      z.maxLength(20),
      z.superRefine((steps, ctx) => {
        steps.forEach((step, i) => {
          const previous = steps[i - 1];
          if (previous && step.weight <= previous.weight) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'weight'],
              message: `must be greater than the previous step's weight (${previous.weight})`,
            });
          }
        });
        const last = steps[steps.length - 1];
        if (last && last.weight !== 100) {
          ctx.addIssue({
            code: 'custom',
            path: [steps.length - 1, 'weight'],
            message: 'the last step must send 100% of traffic to green',
          });
        }
      }),
    ),
  }),
]);
export type Strategy = z.infer<typeof StrategySchema>;

export const GateDecisionSchema = z.enum(['approve', 'reject']);

export const BaselineSchema = z.strictObject({
  /** On by default: green is compared with blue unless this is switched off. */
  enabled: z._default(z.boolean(), true),
  /** One-sided Mann-Whitney U: green worse than blue when p < 1 - confidence. */
  confidence: z._default(z.number().check(z.gte(0.5), z.lte(0.999)), 0.95),
  /** Fewer per-period samples than this (green or blue) is "inconclusive", not a guess. */
  minSamples: z._default(z.number().check(z.int(), z.gte(3), z.lte(1440)), 5),
  /** A significant difference smaller than this (green median vs blue median) still passes. */
  tolerancePercent: z._default(z.number().check(z.gte(0), z.lte(1000)), 10),
  metrics: z._default(z.array(z.enum(['errorRate', 'latency'])).check(z.minLength(1)), [
    'errorRate',
    'latency',
  ]),
});
export type Baseline = z.infer<typeof BaselineSchema>;

/**
 * Limits relative to blue over the same bake window, on by default (see docs/rollout-analysis.md):
 * green's 5xx rate at most max(errorRateFloor, errorRateMultiple x blue's), and its p95 at most
 * max(latencyFloorMs, latencyMultiple x blue's). Floors keep a near-perfect blue from making
 * noise a failure.
 */
export const RelativeLimitsSchema = z.strictObject({
  enabled: z._default(z.boolean(), true),
  errorRateMultiple: z._default(z.number().check(z.gte(1), z.lte(100)), 2),
  /** 0..1: 0.01 = 1%. */
  errorRateFloor: z._default(z.number().check(z.gte(0), z.lte(1)), 0.01),
  latencyMultiple: z._default(z.number().check(z.gte(1), z.lte(100)), 2),
  latencyFloorMs: z._default(z.number().check(z.gte(0), z.lte(600_000)), 50),
  /**
   * Fewer green 5xx than this never fail the relative limit on their own: 2 errors in 100
   * requests is 2%, and chance alone. (Ceilings and the comparison with blue still apply.)
   */
  minErrors: z._default(z.number().check(z.int(), z.gte(0), z.lte(100_000)), 5),
});
export type RelativeLimits = z.infer<typeof RelativeLimitsSchema>;

export const InconclusiveSchema = z.strictObject({
  timeoutSeconds: z._default(Seconds(DAY).check(z.gte(1)), 3600),
  defaultAction: z._default(GateDecisionSchema, 'reject'),
});

export const AnalysisSchema = z.strictObject({
  /**
   * false: a blind rollout. No metric is judged (configured alarms still are); the start is
   * journaled and alerted as a warning, and every verdict and the report say so.
   */
  enabled: z._default(z.boolean(), true),
  /** CloudWatch alarm names that must be OK after every bake. */
  alarms: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(255))).check(z.maxLength(100)), []),
  /** A ceiling on green's 5xx share, 0..1 (0.01 = 1%), whatever blue does. */
  maxErrorRate: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** A ceiling on the p95 of green's target response time, in milliseconds, whatever blue does. */
  maxP95LatencyMs: z.optional(z.number().check(z.positive())),
  relativeLimits: z.prefault(RelativeLimitsSchema, {}),
  /** Green compared with blue on the same metrics over the bake window (on unless switched off). */
  baseline: z.prefault(BaselineSchema, {}),
  /**
   * A bake with no green requests in its window, or shorter than one metric period, has nothing
   * to judge: by default the verdict is inconclusive (a human decides at a gate).
   */
  noData: z._default(z.enum(['inconclusive', 'fail', 'pass']), 'inconclusive'),
  /** An inconclusive verdict waits for a human this long; without an answer this happens. */
  inconclusive: z.prefault(InconclusiveSchema, {}),
  /**
   * With an SLO for the service (config/slos/<env>.json): a verdict fails while the service's
   * error budget burns too fast (its burn-rate rules fire over blue and green together).
   */
  errorBudget: z._default(z.boolean(), true),
  /** Metric period; ALB metrics have one-minute resolution. */
  periodSeconds: z._default(
    z.number().check(
      z.int(),
      z.gte(60),
      z.lte(3600),
      z.refine((s) => s % 60 === 0, 'must be a multiple of 60'),
    ),
    60,
  ),
});
export type Analysis = z.infer<typeof AnalysisSchema>;
export type AnalysisDraft = z.input<typeof AnalysisSchema>;

/**
 * Pre-traffic hooks are Lambda functions whose name starts with this: the state machine may
 * invoke those (in its own account and region) and no others.
 */
export const PRE_TRAFFIC_HOOK_PREFIX = 'rollout-hook-';
const LAMBDA_FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

/** What a Lambda function ARN names: its region and function name (undefined: not an ARN). */
export function lambdaArnParts(arn: string): { region: string; name: string } | undefined {
  const m = LAMBDA_FUNCTION_ARN.exec(arn);
  return m ? { region: m[1] as string, name: m[3] as string } : undefined;
}

export const PreTrafficSchema = z.strictObject({
  /** Point the service's test listener at green (read back) before any production traffic. */
  testTraffic: z._default(z.boolean(), false),
  /** A Lambda function that checks green before production traffic; it answers {"status": ...}. */
  hookFunctionArn: z.optional(
    z.string().check(
      z.maxLength(512),
      z.superRefine((arn, ctx) => {
        const parts = lambdaArnParts(arn);
        if (!parts) {
          ctx.addIssue({
            code: 'custom',
            message:
              'must be a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])',
          });
        } else if (!parts.name.startsWith(PRE_TRAFFIC_HOOK_PREFIX)) {
          ctx.addIssue({
            code: 'custom',
            message: `must name a function whose name starts with ${PRE_TRAFFIC_HOOK_PREFIX} (the only ones the rollout may invoke)`,
          });
        }
      }),
    ),
  ),
});
export type PreTraffic = z.infer<typeof PreTrafficSchema>;

export const SpotStormSchema = z.strictObject({
  /** Off: a failing verdict during a spot storm rolls back like any other. */
  enabled: z._default(z.boolean(), true),
  /** Spot interruptions on the service's cluster (as spot-interruption counts them) that make a storm... */
  minInterruptions: z._default(z.number().check(z.int(), z.gte(1), z.lte(100_000)), 3),
  /** ...within this many minutes up to the verdict. */
  windowMinutes: z._default(z.number().check(z.int(), z.gte(1), z.lte(60)), 10),
  /** Holds for storms add up to at most this over the whole rollout; then verdicts stand. */
  maxPauseSeconds: z._default(Seconds(DAY), 1800),
});
export type SpotStorm = z.infer<typeof SpotStormSchema>;

export const ApprovalSchema = z.pipe(
  // Console shorthand: "approval": "before-traffic".
  z.transform((value) => (typeof value === 'string' ? { gate: value } : value)),
  z.strictObject({
    gate: z._default(z.enum(['none', 'before-traffic', 'before-finalize']), 'none'),
    timeoutSeconds: z._default(Seconds(DAY).check(z.gte(1)), 3600),
    defaultAction: z._default(GateDecisionSchema, 'reject'),
  }),
);

/**
 * The strategy of a rollout that names none and whose service sets none: 10% for 10 minutes,
 * analysed. Ten one-minute periods leave the comparison its five samples a side even when the
 * load balancer's last datapoints arrive late.
 */
export const DEFAULT_STRATEGY: Strategy = { type: 'canary', percent: 10, bakeSeconds: 600 };

/**
 * What a service's rollout defaults may set (config/rollouts/<env>.json, validated at synth). A
 * rollout's input overrides them field by field; the built-in defaults fill in the rest.
 */
export const RolloutDefaultsSchema = z.strictObject({
  strategy: z.optional(StrategySchema),
  analysis: z.optional(AnalysisSchema),
  approval: z.optional(ApprovalSchema),
  preTraffic: z.optional(PreTrafficSchema),
  spotStorm: z.optional(SpotStormSchema),
  rollbackWindowSeconds: z.optional(Seconds(DAY)),
  terminationWaitSeconds: z.optional(Seconds(DAY)),
  onFailure: z.optional(z.enum(['rollback', 'freeze'])),
  greenReadyTimeoutSeconds: z.optional(Seconds(3600).check(z.gte(30))),
});
export type RolloutDefaults = z.input<typeof RolloutDefaultsSchema>;

export const RolloutInputSchema = z
  .strictObject({
    /** Optional when exactly one managed service has this name. */
    cluster: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    service: z.string().check(z.minLength(1), z.maxLength(255)),
    /** New image for the service's container; the task definition is copied with it. */
    image: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    /** Or a registered task definition (family:revision or ARN), used as is. */
    taskDefinition: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    /** The container that gets the image; default: the one behind the load balancer. */
    container: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    /** Default: the service's, else DEFAULT_STRATEGY. */
    strategy: z._default(StrategySchema, DEFAULT_STRATEGY),
    /** Default: the service's defaults, else analysis on with every built-in limit. */
    analysis: z.prefault(AnalysisSchema, {}),
    approval: z.prefault(ApprovalSchema, {}),
    /** Before any production traffic: test traffic on the test listener, a hook that checks green. */
    preTraffic: z.optional(PreTrafficSchema),
    /** A failing verdict while spot instances of the cluster are being reclaimed holds instead. */
    spotStorm: z.prefault(SpotStormSchema, {}),
    /** After promotion blue stays scaled up this long; `ops rollback` flips back within it. */
    rollbackWindowSeconds: z._default(Seconds(DAY), 900),
    /** After the window blue is scaled to zero, and deleted this much later. */
    terminationWaitSeconds: z._default(Seconds(DAY), 300),
    /** What a failure does: go back to blue, or stop where it is (e.g. after a schema migration). */
    onFailure: z._default(z.enum(['rollback', 'freeze']), 'rollback'),
    /** How long green may take to become steady with healthy targets. */
    greenReadyTimeoutSeconds: z._default(Seconds(3600).check(z.gte(30)), 600),
    /** Who asked, for the journal (the CLI fills it in). */
    requestedBy: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    /**
     * When the change's image was pushed (CI passes the registry's push time): lead time for
     * changes counts from it; without it, from the rollout's start.
     */
    imagePushedAt: z.optional(z.iso.datetime({ offset: true })),
    /**
     * Set by a release train for the rollouts it starts (its record's id, `train/<execution>`):
     * the rollout refuses to start once that train's line has stopped.
     */
    train: z.optional(
      z.string().check(z.regex(/^train\/[A-Za-z0-9_-]{1,80}$/, 'must be train/<execution name>')),
    ),
    /** Go ahead inside a freeze window that covers this service: journaled and alerted. */
    breakGlass: z.optional(BreakGlassSchema),
  })
  .check(
    z.superRefine((input, ctx) => {
      if ((input.image === undefined) === (input.taskDefinition === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [input.image === undefined ? 'image' : 'taskDefinition'],
          message: 'give exactly one of image or taskDefinition',
        });
      }
      // A bake shorter than one metric period can never be judged: refuse it up front rather than
      // wait at an inconclusive gate. 0 means "no bake" (alarms only at that step).
      if (input.analysis.enabled) {
        const period = input.analysis.periodSeconds;
        for (const { path, seconds } of bakeFields(input.strategy)) {
          if (seconds > 0 && seconds < period) {
            ctx.addIssue({
              code: 'custom',
              path: ['strategy', ...path],
              message: `a bake of ${seconds}s is shorter than the analysis period (${period}s) and could never be judged: use 0 (no bake, alarms only) or at least ${period}`,
            });
          }
        }
      }
    }),
  );
export type RolloutInput = z.infer<typeof RolloutInputSchema>;
export type RolloutInputDraft = z.input<typeof RolloutInputSchema>;

/** Where a strategy keeps its bake times, for error messages that name the field. */
function bakeFields(strategy: Strategy): { path: (string | number)[]; seconds: number }[] {
  switch (strategy.type) {
    case 'all-at-once':
      return [];
    case 'canary':
      return [{ path: ['bakeSeconds'], seconds: strategy.bakeSeconds }];
    case 'linear':
      return [{ path: ['intervalSeconds'], seconds: strategy.intervalSeconds }];
    case 'steps':
      return strategy.steps.map((s, i) => ({ path: ['steps', i, 'bakeSeconds'], seconds: s.bakeSeconds }));
  }
}

/** The strategy as explicit steps, the last one at 100%. */
export function stepsOf(strategy: Strategy): Step[] {
  switch (strategy.type) {
    case 'all-at-once':
      return [{ weight: 100, bakeSeconds: 0 }];
    case 'canary':
      return [
        { weight: strategy.percent, bakeSeconds: strategy.bakeSeconds },
        { weight: 100, bakeSeconds: 0 },
      ];
    case 'linear': {
      const steps: Step[] = [];
      for (let w = strategy.stepPercent; w < 100; w += strategy.stepPercent)
        steps.push({ weight: w, bakeSeconds: strategy.intervalSeconds });
      steps.push({ weight: 100, bakeSeconds: 0 });
      return steps;
    }
    case 'steps':
      return strategy.steps;
  }
}

/** The longest a plan can take: every bake, every gate to its timeout, window, termination wait. */
export function planSeconds(input: RolloutInput): number {
  const steps = stepsOf(input.strategy);
  const bakes = steps.reduce((sum, s) => sum + s.bakeSeconds, 0);
  const gates = input.approval.gate === 'none' ? 0 : input.approval.timeoutSeconds;
  // Any analysed step can end inconclusive (too few samples, no data) and wait at a gate.
  const inconclusive = input.analysis.enabled
    ? steps.filter((s) => s.bakeSeconds > 0).length * input.analysis.inconclusive.timeoutSeconds
    : 0;
  const stormPauses = input.spotStorm.enabled ? input.spotStorm.maxPauseSeconds : 0;
  return (
    input.greenReadyTimeoutSeconds +
    bakes +
    gates +
    inconclusive +
    stormPauses +
    input.rollbackWindowSeconds +
    input.terminationWaitSeconds
  );
}

/** A plan's steps in one line: `10%/300s -> 100%`. */
export function strategyText(plan: { steps: readonly Step[] }): string {
  return plan.steps.map((s) => `${s.weight}%${s.bakeSeconds > 0 ? `/${s.bakeSeconds}s` : ''}`).join(' -> ');
}

const percentText = (x: number) => `${Number((x * 100).toFixed(2))}%`;
const durationText = (s: number) =>
  s % 3600 === 0 && s > 0 ? `${s / 3600}h` : s % 60 === 0 && s > 0 ? `${s / 60}m` : `${s}s`;

/** Why a plan judges no metric of green at all (undefined: it does). */
export function blindReason(plan: {
  steps: readonly Step[];
  analysis: Pick<Analysis, 'enabled'>;
}): string | undefined {
  if (!plan.analysis.enabled) return 'analysis.enabled is false';
  if (plan.steps.every((s) => s.bakeSeconds === 0)) return 'no step has a bake, so no metric can be judged';
  return undefined;
}

/**
 * What the analysis of each step will apply, in words: printed by `ops rollout` before it starts,
 * kept on the rollout's record for --watch and the report, and journaled with the start.
 */
export function describeAnalysis(plan: { steps: readonly Step[]; analysis: Analysis }): string[] {
  const a = plan.analysis;
  const alarms = a.alarms.length > 0 ? a.alarms.join(', ') : 'none named';
  const blind = blindReason(plan);
  if (blind) {
    return [
      `analysis OFF: a blind rollout (${blind}); only alarms are checked`,
      `alarms that must be OK after every bake: ${alarms}`,
      ...plan.steps.map(
        (s, i) =>
          `step ${i + 1}: ${s.weight}%${s.bakeSeconds > 0 ? ` for ${durationText(s.bakeSeconds)}` : ''}, alarms only`,
      ),
    ];
  }
  const lines = [`alarms that must be OK after every bake: ${alarms}`];
  const r = a.relativeLimits;
  const errorRate: string[] = [];
  const latency: string[] = [];
  if (r.enabled) {
    errorRate.push(
      `max(${percentText(r.errorRateFloor)}, ${r.errorRateMultiple}x blue's)${r.minErrors > 0 ? ` once ${r.minErrors} or more fail` : ''}`,
    );
    latency.push(`max(${r.latencyFloorMs} ms, ${r.latencyMultiple}x blue's)`);
  }
  if (a.maxErrorRate !== undefined) errorRate.push(percentText(a.maxErrorRate));
  if (a.maxP95LatencyMs !== undefined) latency.push(`${a.maxP95LatencyMs} ms`);
  lines.push(
    `green 5xx rate at most ${errorRate.length > 0 ? errorRate.join(' and ') : 'anything (no limit)'}`,
  );
  lines.push(
    `green p95 latency at most ${latency.length > 0 ? latency.join(' and ') : 'anything (no limit)'}`,
  );
  const b = a.baseline;
  lines.push(
    b.enabled
      ? `compared with blue (${b.metrics.join(', ')}): one-sided Mann-Whitney at ${b.confidence}, at least ${b.minSamples} samples a side, tolerance ${b.tolerancePercent}%`
      : 'not compared with blue (baseline off)',
  );
  lines.push(
    `no green requests, or a window shorter than ${a.periodSeconds}s: ${a.noData === 'inconclusive' ? `inconclusive (a human decides within ${durationText(a.inconclusive.timeoutSeconds)}, else ${a.inconclusive.defaultAction})` : a.noData}`,
  );
  plan.steps.forEach((s, i) => {
    const samples = Math.floor(s.bakeSeconds / a.periodSeconds);
    const few =
      b.enabled && s.weight < 100 && samples < b.minSamples
        ? `; at most ${samples} samples a side, fewer than the comparison's ${b.minSamples}: it will be inconclusive`
        : '';
    lines.push(
      s.bakeSeconds > 0
        ? `step ${i + 1}: ${s.weight}% for ${durationText(s.bakeSeconds)}, all of the above${s.weight === 100 ? ' (no blue traffic left to compare with: limits without blue)' : ''}${few}`
        : `step ${i + 1}: ${s.weight}%, no bake: alarms only`,
    );
  });
  return lines;
}

/**
 * `ops rollout --strategy` shorthand: `all-at-once`, `canary:10:5m`, `linear:25:10m`,
 * `steps:10@5m,50@10m,100@0`. Durations take s, m or h (plain numbers are seconds).
 */
export function parseStrategyShorthand(text: string): Strategy {
  const [type, ...args] = text.split(':');
  const seconds = (value: string | undefined, what: string): number => {
    const m = /^(\d+)(s|m|h)?$/.exec(value ?? '');
    if (!m) throw new Error(`${what}: expected a duration like 30s, 5m or 1h (got ${value ?? 'nothing'})`);
    return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  };
  const int = (value: string | undefined, what: string): number => {
    if (!/^\d+$/.test(value ?? ''))
      throw new Error(`${what}: expected a whole number (got ${value ?? 'nothing'})`);
    return Number(value);
  };
  switch (type) {
    case 'all-at-once':
      return { type: 'all-at-once' };
    case 'canary':
      return {
        type: 'canary',
        percent: int(args[0], 'canary percent'),
        bakeSeconds: seconds(args[1], 'canary bake'),
      };
    case 'linear':
      return {
        type: 'linear',
        stepPercent: int(args[0], 'linear step percent'),
        intervalSeconds: seconds(args[1], 'linear interval'),
      };
    case 'steps':
      return {
        type: 'steps',
        steps: args
          .join(':')
          .split(',')
          .map((part) => {
            const [weight, bake] = part.split('@');
            return { weight: int(weight, 'step weight'), bakeSeconds: seconds(bake ?? '0', 'step bake') };
          }),
      };
    default:
      throw new Error(
        `unknown strategy "${type}": use all-at-once, canary:PERCENT:BAKE, linear:STEP:INTERVAL or steps:W@BAKE,...`,
      );
  }
}
