// Input of the scale-service workflow (console, `ops scale`, schedules, the alarm trigger) and
// the plan it carries from state to state. Defined once: the workflow's first state, the CLI,
// the alarm trigger, the schedules in infra and the tests all use these schemas.
import { BreakGlassSchema } from './break-glass.ts';
import * as z from './zod.ts';

/** Application Auto Scaling's dimension for an ECS service's desired count. */
export const DESIRED_COUNT_DIMENSION = 'ecs:service:DesiredCount';
/** Application Auto Scaling's resource id of an ECS service. */
export const scalableTargetId = (cluster: string, service: string) => `service/${cluster}/${service}`;

/** The ways to say what the service should become; exactly one per request (min and max may go together). */
export const SCALE_MODES = ['desiredCount', 'delta', 'percent', 'min', 'max'] as const;

export const TriggerKindSchema = z.enum(['operator', 'schedule', 'alarm']);
export type TriggerKind = z.infer<typeof TriggerKindSchema>;

const Count = z.number().check(z.int('must be a whole number of tasks'));

export const ScaleInputSchema = z
  .strictObject({
    cluster: z.string().check(z.minLength(1), z.maxLength(255)),
    service: z.string().check(z.minLength(1), z.maxLength(255)),
    /** Set the desired count to exactly this. */
    desiredCount: z.optional(Count.check(z.gte(0), z.lte(10_000))),
    /** Add (or, negative, remove) this many tasks. */
    delta: z.optional(
      Count.check(
        z.gte(-10_000),
        z.lte(10_000),
        z.refine((n) => n !== 0, 'must not be 0'),
      ),
    ),
    /** Grow (or, negative, shrink) by this share of the current desired count. */
    percent: z.optional(
      z.number().check(
        z.gte(-100),
        z.lte(1000),
        z.refine((n) => n !== 0, 'must not be 0'),
      ),
    ),
    /** New minimum of the service's Application Auto Scaling scalable target. */
    min: z.optional(Count.check(z.gte(0), z.lte(10_000))),
    /** New maximum of the service's Application Auto Scaling scalable target. */
    max: z.optional(Count.check(z.gte(0), z.lte(10_000))),
    /** Why, in plain words: it goes into the journal and the alert. */
    reason: z.string().check(z.trim(), z.minLength(3, 'say why, in a few words'), z.maxLength(500)),
    /** Decide and explain, change nothing. */
    dryRun: z._default(z.boolean(), false),
    /** Scale in inside a freeze window that covers this service: journaled and alerted. */
    breakGlass: z.optional(BreakGlassSchema),
    /**
     * Idempotency key: a second request with the same key does nothing (alarm events and
     * schedules are delivered at least once). Default: the execution's name.
     */
    requestId: z.optional(
      z.string().check(z.regex(/^[A-Za-z0-9_.:+-]{1,128}$/, 'letters, digits and _.:+- only, at most 128')),
    ),
    /** Who or what asked; the console and the CLI are operators. */
    trigger: z._default(
      z.object({
        kind: TriggerKindSchema,
        /** Alarm ARN, schedule name, operator name. */
        id: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
        at: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
      }),
      { kind: 'operator' },
    ),
  })
  .check(
    z.superRefine((input, ctx) => {
      const given = SCALE_MODES.filter((m) => input[m] !== undefined);
      const limits = given.filter((m) => m === 'min' || m === 'max');
      const counts = given.filter((m) => m !== 'min' && m !== 'max');
      if (given.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['desiredCount'],
          message: 'is required: give one of desiredCount, delta, percent, or min and/or max',
        });
      } else if (counts.length > 1 || (counts.length === 1 && limits.length > 0)) {
        const second = given[1] as string;
        ctx.addIssue({
          code: 'custom',
          path: [second],
          message: `cannot be combined with ${given[0]}: give one of desiredCount, delta, percent, or min and/or max`,
        });
      }
      if (input.min !== undefined && input.max !== undefined && input.min > input.max) {
        ctx.addIssue({ code: 'custom', path: ['min'], message: `must not exceed max (${input.max})` });
      }
    }),
  );
export type ScaleInput = z.infer<typeof ScaleInputSchema>;
export type ScaleInputDraft = z.input<typeof ScaleInputSchema>;

/** The validated request, as the first state hands it on. */
export const ScaleRequestSchema = z.object({
  cluster: z.string(),
  service: z.string(),
  desiredCount: z.optional(z.number().check(z.int())),
  delta: z.optional(z.number().check(z.int())),
  percent: z.optional(z.number()),
  min: z.optional(z.number().check(z.int())),
  max: z.optional(z.number().check(z.int())),
  reason: z.string(),
  dryRun: z.boolean(),
  requestId: z.string(),
  trigger: z.object({ kind: TriggerKindSchema, id: z.optional(z.string()), at: z.optional(z.string()) }),
  /** The execution that carries the request (lease owner, journal actor). */
  executionId: z.string(),
  requestedAt: z.string(),
  breakGlass: z.optional(BreakGlassSchema),
});
export type ScaleRequest = z.infer<typeof ScaleRequestSchema>;

/**
 * What the decision step concluded: `scale` and `set-limits` change something; `no-change`,
 * `refused` and `dry-run` end the execution with the explanation.
 */
export const DecisionSchema = z.enum(['scale', 'set-limits', 'no-change', 'refused', 'dry-run']);
export type Decision = z.infer<typeof DecisionSchema>;

export const CapacityRaiseSchema = z.object({
  group: z.string(),
  /** Instances to add to the group's desired capacity. */
  add: z.number().check(z.int(), z.gte(1)),
  before: z.optional(z.number().check(z.int())),
  after: z.optional(z.number().check(z.int())),
});

export const ScalePlanSchema = z.object({
  request: ScaleRequestSchema,
  decision: DecisionSchema,
  /** One line: what happened (or would), from what to what, and why. */
  summary: z.string(),
  /** Every decision in plain words, in the order it was taken. */
  explanation: z.array(z.string()),
  direction: z.enum(['out', 'in', 'none']),
  from: z.object({
    desiredCount: z.number().check(z.int()),
    runningCount: z.number().check(z.int()),
    pendingCount: z.number().check(z.int()),
    min: z.optional(z.number().check(z.int())),
    max: z.optional(z.number().check(z.int())),
  }),
  to: z.object({
    desiredCount: z.optional(z.number().check(z.int())),
    min: z.optional(z.number().check(z.int())),
    max: z.optional(z.number().check(z.int())),
  }),
  /** Set when a guardrail ended the request early: which one, and until when it holds. */
  blockedBy: z.optional(
    z.object({
      guardrail: z.enum([
        'cooldown',
        'rate',
        'rollout-lock',
        'scaling-lease',
        'limit',
        'step',
        'duplicate',
        'capacity',
        'freeze',
      ]),
      until: z.optional(z.string()),
    }),
  ),
  capacity: z.optional(
    z.object({
      kind: z.enum(['ec2', 'fargate']),
      /** Tasks that must be placed beyond what runs or is pending now. */
      tasksToPlace: z.number().check(z.int()),
      /** Tasks the cluster's remaining CPU and memory can still hold. */
      slots: z.number().check(z.int()),
      raise: z.array(CapacityRaiseSchema),
    }),
  ),
  /** True when Auto Scaling groups must be raised before the service grows. */
  needsCapacity: z.boolean(),
  /** The service's Application Auto Scaling resource id, `service/<cluster>/<service>`. */
  resourceId: z.string(),
  /** Leases this execution holds until it finishes. */
  leases: z.array(z.object({ resource: z.string(), owner: z.string() })),
  verification: z.optional(
    z.object({
      status: z.enum(['waiting', 'reached', 'timed-out']),
      deadline: z.string(),
      checks: z.number().check(z.int()),
      observed: z.optional(
        z.object({
          desiredCount: z.optional(z.number().check(z.int())),
          runningCount: z.optional(z.number().check(z.int())),
          min: z.optional(z.number().check(z.int())),
          max: z.optional(z.number().check(z.int())),
        }),
      ),
    }),
  ),
});
export type ScalePlan = z.infer<typeof ScalePlanSchema>;
