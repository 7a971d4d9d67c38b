// The blue-green-rollout workflow's state: what its first state makes of the console input (the plan),
// and what each step adds (topology, green, verdicts, gates, the stop). Every rollout function
// parses it with these schemas.

import {
  AnalysisSchema,
  BaselineSchema,
  GateDecisionSchema,
  InconclusiveSchema,
  PreTrafficSchema,
  RelativeLimitsSchema,
  SpotStormSchema,
  StepSchema,
} from './rollout-input.ts';
import * as z from './zod.ts';

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
  /** The service's error budget at the verdict, when it has an SLO and the analysis judges it. */
  errorBudget: z.optional(
    z.object({
      burning: z.boolean(),
      /** Each burn-rate rule in words (describeRule). */
      rules: z.array(z.string()),
    }),
  ),
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
    /** The listener rules do not carry the weights the deployment's stage should have left. */
    'listener-drift',
    /** ECS rolled its own deployment back (alarms, circuit breaker, a stop, a hook timeout). */
    'ecs-rollback',
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
  imagePushedAt: z.optional(z.string()),
  /** The release train that started it (its record's id): it does not start once the train stopped. */
  train: z.optional(z.string()),
  /**
   * The break-glass reason it was started with: it goes ahead inside freeze windows, and a burning
   * error budget (the service's, blue's included) does not fail its verdicts.
   */
  breakGlass: z.optional(z.object({ reason: z.string() })),
  /** The freeze windows it goes ahead in, by a break-glass override, and why. */
  override: z.optional(z.object({ windows: z.array(z.string()), reason: z.string() })),
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
