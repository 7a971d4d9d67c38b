// Input of the blue-green-rollout workflow (console, `ops rollout`), the plan it normalizes to,
// and the state the workflow carries from state to state. Defined once: the workflow's first
// state, the CLI, the tests and the bench all parse with these schemas.
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

// ------------------------------------------------------------------------------------------
// The workflow's state: what the first state makes of the input, and what each step adds.

export const RouteSchema = z.object({
  /** The listener's default action, or one of its rules, forwards to blue and green. */
  kind: z.enum(['listener', 'rule']),
  arn: z.string(),
  listenerArn: z.string(),
});
export type Route = z.infer<typeof RouteSchema>;

const StickinessSchema = z.object({ Enabled: z.boolean(), DurationSeconds: z.optional(z.number()) });

/** The test listener's route over blue and green (only looked up when test traffic is asked for). */
export const TestRouteSchema = z.object({
  route: RouteSchema,
  port: z.number(),
  /** Where a hook reaches green through the test listener, e.g. http://internal-web-alb-1.elb.amazonaws.com:8080. */
  endpoint: z.string(),
  stickiness: z.optional(StickinessSchema),
});
export type TestRoute = z.infer<typeof TestRouteSchema>;

export const TopologySchema = z.object({
  loadBalancerArn: z.string(),
  loadBalancerName: z.string(),
  route: RouteSchema,
  blueTargetGroupArn: z.string(),
  greenTargetGroupArn: z.string(),
  stickiness: z.optional(StickinessSchema),
  test: z.optional(TestRouteSchema),
});
export type Topology = z.infer<typeof TopologySchema>;

export const MetricNumbersSchema = z.object({
  requests: z.number(),
  errors: z.number(),
  errorRate: z.nullable(z.number()),
  p95LatencyMs: z.nullable(z.number()),
  /** Per-period samples the comparison used. */
  errorRateSamples: z.array(z.number()),
  latencySamples: z.array(z.number()),
  /** `p95`, or `Maximum` where the data source returned no percentile (see the verdict's notes). */
  latencyStatistic: z.string(),
});
export type MetricNumbers = z.infer<typeof MetricNumbersSchema>;

export const ComparisonSchema = z.object({
  metric: z.enum(['errorRate', 'latency']),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  u: z.nullable(z.number()),
  pValue: z.nullable(z.number()),
  greenMedian: z.nullable(z.number()),
  blueMedian: z.nullable(z.number()),
  samples: z.object({ green: z.number(), blue: z.number() }),
  note: z.string(),
});
export type Comparison = z.infer<typeof ComparisonSchema>;

export const VerdictSchema = z.object({
  /** `paused`: it would have failed, but a spot storm is on: hold at this weight and bake again. */
  verdict: z.enum(['pass', 'fail', 'inconclusive', 'aborted', 'paused']),
  step: z.number().check(z.int()),
  weight: z.number(),
  reasons: z.array(z.string()),
  window: z.object({ start: z.string(), end: z.string() }),
  alarms: z.array(z.object({ name: z.string(), state: z.string() })),
  green: z.optional(MetricNumbersSchema),
  blue: z.optional(MetricNumbersSchema),
  comparisons: z.array(ComparisonSchema),
  /** The limits this verdict held green to (null: none applied), and how each was set. */
  limits: z.optional(
    z.object({
      errorRate: z.nullable(z.number()),
      p95LatencyMs: z.nullable(z.number()),
      basis: z.array(z.string()),
    }),
  ),
  at: z.string(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

export const GateKindSchema = z.enum(['before-traffic', 'inconclusive', 'before-finalize']);
export type GateKind = z.infer<typeof GateKindSchema>;

export const GateAnswerSchema = z.object({
  decision: z.enum(['approve', 'reject', 'abort', 'rollback']),
  by: z._default(z.string(), 'unknown'),
  reason: z.optional(z.string()),
  at: z.optional(z.string()),
});
export type GateAnswer = z.infer<typeof GateAnswerSchema>;

export const StopSchema = z.object({
  cause: z.enum([
    'analysis',
    'no-data',
    'alarm',
    'comparison',
    'approval-rejected',
    'approval-timeout',
    'abort',
    'operator-rollback',
    'green-not-ready',
    'pre-traffic-hook',
    'error',
  ]),
  reason: z.string(),
});
export type Stop = z.infer<typeof StopSchema>;

/**
 * A plan's analysis as the workflow carries it: what the first state wrote, kept whole on every
 * round trip (unknown keys pass through). A plan written before analysis was on by default (no
 * `enabled`) keeps the behaviour it started with: no relative limits, no comparison unless it
 * named one, no data passes, and its `baseline.inconclusive` gate settings stay where that
 * execution's definition reads them.
 */
const PlanAnalysisSchema = z.pipe(
  z.transform((raw) => {
    if (typeof raw !== 'object' || raw === null || 'enabled' in raw) return raw;
    const old = raw as Record<string, unknown> & { baseline?: Record<string, unknown> };
    return {
      ...old,
      enabled: true,
      relativeLimits: { enabled: false },
      baseline: old.baseline ?? { enabled: false },
      noData: 'pass',
      inconclusive: old.baseline?.inconclusive ?? {},
    };
  }),
  z.looseObject({
    ...AnalysisSchema.shape,
    baseline: z.prefault(z.looseObject(BaselineSchema.shape), {}),
    relativeLimits: z.prefault(z.looseObject(RelativeLimitsSchema.shape), {}),
    inconclusive: z.prefault(z.looseObject(InconclusiveSchema.shape), {}),
  }),
);

export const RolloutPlanSchema = z.object({
  id: z.string(),
  execution: z.string(),
  cluster: z.string(),
  service: z.string(),
  image: z.optional(z.string()),
  taskDefinition: z.optional(z.string()),
  container: z.string(),
  steps: z.array(StepSchema),
  analysis: PlanAnalysisSchema,
  approval: z.object({
    gate: z.enum(['none', 'before-traffic', 'before-finalize']),
    timeoutSeconds: z.number(),
    defaultAction: GateDecisionSchema,
  }),
  preTraffic: z.optional(PreTrafficSchema),
  spotStorm: SpotStormSchema,
  rollbackWindowSeconds: z.number(),
  terminationWaitSeconds: z.number(),
  onFailure: z.enum(['rollback', 'freeze']),
  greenReadyTimeoutSeconds: z.number(),
  requestedBy: z.string(),
  startedAt: z.string(),
  /** The longest the plan can take (planSeconds); the lease on the service covers it. */
  maxSeconds: z.number(),
});
export type RolloutPlan = z.infer<typeof RolloutPlanSchema>;

export const RolloutStateSchema = z.object({
  rollout: RolloutPlanSchema,
  topology: TopologySchema,
  blue: z.object({
    taskSetArn: z.string(),
    taskDefinition: z.string(),
    image: z.optional(z.string()),
    desiredCount: z.number(),
    loadBalancer: z.object({ containerName: z.string(), containerPort: z.number() }),
  }),
  green: z.optional(
    z.object({
      taskSetArn: z.optional(z.string()),
      taskDefinition: z.optional(z.string()),
      status: z.enum(['creating', 'waiting', 'ready', 'failed']),
      checks: z.number().check(z.int()),
      readyBy: z.string(),
      note: z.optional(z.string()),
    }),
  ),
  progress: z.object({
    /** Index of the step the listener is at (or is about to be set to). */
    index: z.number().check(z.int()),
    weight: z.number(),
    bakeSeconds: z.number(),
    bakeStartedAt: z.optional(z.string()),
    last: z.boolean(),
    /** How long a spot-storm pause holds this weight before the next analysis. */
    holdSeconds: z.optional(z.number().check(z.int(), z.gte(0))),
  }),
  /** Pauses for spot storms so far (their total is bounded by spotStorm.maxPauseSeconds). */
  storm: z.optional(
    z.object({
      pausedSeconds: z.number(),
      pauses: z.number().check(z.int()),
      /** A pause is on now (set by a paused verdict, cleared by the next other one). */
      holding: z.boolean(),
      since: z.optional(z.string()),
    }),
  ),
  /** The pre-traffic phase: the hook's request, then the judge's verdict, then the result. */
  preTraffic: z.optional(
    z.object({
      request: z.optional(z.record(z.string(), z.unknown())),
      verdict: z.optional(
        z.object({ status: z.enum(['passed', 'failed']), finding: z.string(), answer: z.string() }),
      ),
      result: z.optional(
        z.object({ status: z.enum(['passed', 'failed']), reason: z.string(), at: z.string() }),
      ),
    }),
  ),
  lease: z.optional(z.object({ resource: z.string(), owner: z.string(), expiresAtMs: z.number() })),
  verdict: z.optional(VerdictSchema),
  gate: z.optional(
    z.object({ kind: GateKindSchema, timeoutSeconds: z.number(), defaultAction: GateDecisionSchema }),
  ),
  answer: z.optional(z.unknown()),
  gateTimeout: z.optional(z.unknown()),
  outcome: z.optional(
    z.object({
      decision: z.enum(['approve', 'reject', 'abort', 'rollback', 'finalize', 'revert']),
      by: z.string(),
      timedOut: z.boolean(),
    }),
  ),
  stop: z.optional(StopSchema),
  /** What a Catch put here: { Error, Cause }. */
  failure: z.optional(z.looseObject({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
  /** What the rollback's own Catch put here when it gave up. */
  rollbackError: z.optional(z.looseObject({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
});
export type RolloutState = z.infer<typeof RolloutStateSchema>;
