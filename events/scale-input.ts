// Input of the scale-service workflow (console, `ops scale`, schedules, the alarm trigger) and
// the plan it carries from state to state. Defined once: the workflow's first state, the CLI,
// the alarm trigger, the schedules in infra and the tests all use these schemas.
import * as z from 'zod';

/** Application Auto Scaling's dimension for an ECS service's desired count. */
export const DESIRED_COUNT_DIMENSION = 'ecs:service:DesiredCount';
/** Application Auto Scaling's resource id of an ECS service. */
export const scalableTargetId = (cluster: string, service: string) => `service/${cluster}/${service}`;

/** The ways to say what the service should become; exactly one per request (min and max may go together). */
export const SCALE_MODES = ['desiredCount', 'delta', 'percent', 'min', 'max'] as const;

export const TriggerKindSchema = z.enum(['operator', 'schedule', 'alarm']);
export type TriggerKind = z.infer<typeof TriggerKindSchema>;

const Count = z.number().int('must be a whole number of tasks');

export const ScaleInputSchema = z
  .object({
    cluster: z.string().min(1).max(255),
    service: z.string().min(1).max(255),
    /** Set the desired count to exactly this. */
    desiredCount: Count.min(0).max(10_000).optional(),
    /** Add (or, negative, remove) this many tasks. */
    delta: Count.min(-10_000)
      .max(10_000)
      .refine((n) => n !== 0, 'must not be 0')
      .optional(),
    /** Grow (or, negative, shrink) by this share of the current desired count. */
    percent: z
      .number()
      .min(-100)
      .max(1000)
      .refine((n) => n !== 0, 'must not be 0')
      .optional(),
    /** New minimum of the service's Application Auto Scaling scalable target. */
    min: Count.min(0).max(10_000).optional(),
    /** New maximum of the service's Application Auto Scaling scalable target. */
    max: Count.min(0).max(10_000).optional(),
    /** Why, in plain words: it goes into the journal and the alert. */
    reason: z.string().trim().min(3, 'say why, in a few words').max(500),
    /** Decide and explain, change nothing. */
    dryRun: z.boolean().default(false),
    /**
     * Idempotency key: a second request with the same key does nothing (alarm events and
     * schedules are delivered at least once). Default: the execution's name.
     */
    requestId: z
      .string()
      .regex(/^[A-Za-z0-9_.:+-]{1,128}$/, 'letters, digits and _.:+- only, at most 128')
      .optional(),
    /** Who or what asked; the console and the CLI are operators. */
    trigger: z
      .object({
        kind: TriggerKindSchema,
        /** Alarm ARN, schedule name, operator name. */
        id: z.string().min(1).max(512).optional(),
        at: z.string().min(1).max(64).optional(),
      })
      .default({ kind: 'operator' }),
  })
  .strict()
  .superRefine((input, ctx) => {
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
  });
export type ScaleInput = z.infer<typeof ScaleInputSchema>;
export type ScaleInputDraft = z.input<typeof ScaleInputSchema>;

/** The validated request, as the first state hands it on. */
export const ScaleRequestSchema = z.object({
  cluster: z.string(),
  service: z.string(),
  desiredCount: z.number().int().optional(),
  delta: z.number().int().optional(),
  percent: z.number().optional(),
  min: z.number().int().optional(),
  max: z.number().int().optional(),
  reason: z.string(),
  dryRun: z.boolean(),
  requestId: z.string(),
  trigger: z.object({ kind: TriggerKindSchema, id: z.string().optional(), at: z.string().optional() }),
  /** The execution that carries the request (lease owner, journal actor). */
  executionId: z.string(),
  requestedAt: z.string(),
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
  add: z.number().int().min(1),
  before: z.number().int().optional(),
  after: z.number().int().optional(),
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
    desiredCount: z.number().int(),
    runningCount: z.number().int(),
    pendingCount: z.number().int(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
  }),
  to: z.object({
    desiredCount: z.number().int().optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
  }),
  /** Set when a guardrail ended the request early: which one, and until when it holds. */
  blockedBy: z
    .object({
      guardrail: z.enum([
        'cooldown',
        'rate',
        'rollout-lock',
        'scaling-lease',
        'limit',
        'step',
        'duplicate',
        'capacity',
      ]),
      until: z.string().optional(),
    })
    .optional(),
  capacity: z
    .object({
      kind: z.enum(['ec2', 'fargate']),
      /** Tasks that must be placed beyond what runs or is pending now. */
      tasksToPlace: z.number().int(),
      /** Tasks the cluster's remaining CPU and memory can still hold. */
      slots: z.number().int(),
      raise: z.array(CapacityRaiseSchema),
    })
    .optional(),
  /** True when Auto Scaling groups must be raised before the service grows. */
  needsCapacity: z.boolean(),
  /** The service's Application Auto Scaling resource id, `service/<cluster>/<service>`. */
  resourceId: z.string(),
  /** Leases this execution holds until it finishes. */
  leases: z.array(z.object({ resource: z.string(), owner: z.string() })),
  verification: z
    .object({
      status: z.enum(['waiting', 'reached', 'timed-out']),
      deadline: z.string(),
      checks: z.number().int(),
      observed: z
        .object({
          desiredCount: z.number().int().optional(),
          runningCount: z.number().int().optional(),
          min: z.number().int().optional(),
          max: z.number().int().optional(),
        })
        .optional(),
    })
    .optional(),
});
export type ScalePlan = z.infer<typeof ScalePlanSchema>;
