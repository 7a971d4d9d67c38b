// The scaling decision step's guardrails and environment, defined once for infra, the handler and
// the tests. The config file's own schema (schedules, alarms) is in scaling-config.ts: the step
// reads only the guardrails, so it constructs none of the rest at cold start.
import * as z from '../../events/zod.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../shared/env.ts';
import { ManagedClustersSchema } from '../shared/managed-clusters.ts';

const Name = z.string().check(z.minLength(1), z.maxLength(255));
export const Tasks = z.number().check(z.int('must be a whole number of tasks'), z.gte(0), z.lte(10_000));
const Seconds = (max: number) => z.number().check(z.int('must be whole seconds'), z.gte(0), z.lte(max));

/** The safety envelope of one service: every request, whoever sends it, is checked against it. */
export const GuardrailsShape = z.object({
  cluster: Name,
  service: Name,
  /** The desired count never goes below or above these (nor outside the scalable target's range). */
  minTasks: Tasks,
  maxTasks: Tasks.check(z.gte(1)),
  /** Largest change in one action, as a count of tasks and as a share of the current desired count. */
  maxStepCount: z._default(z.number().check(z.int(), z.gte(1), z.lte(10_000)), 10),
  maxStepPercent: z._default(z.number().check(z.gte(1), z.lte(1000)), 100),
  /** After a scale-out, no further scale-out for this long. */
  cooldownOutSeconds: z._default(Seconds(86_400), 60),
  /** After any scaling action, no scale-in for this long (scale-in stays slow and conservative). */
  cooldownInSeconds: z._default(Seconds(86_400), 600),
  /** Scaling actions (counts and limits) allowed in any rolling hour. */
  maxActionsPerHour: z._default(z.number().check(z.int(), z.gte(1), z.lte(120)), 10),
  /** A request past a limit or the largest step: move as far as allowed, or do nothing. */
  overLimit: z._default(z.enum(['clamp', 'refuse']), 'clamp'),
  /** How long to wait for the service to reach its new count before calling it not reached. */
  verifyTimeoutSeconds: z._default(Seconds(3600).check(z.gte(30)), 600),
  /**
   * EC2 capacity: Auto Scaling groups to raise (in this order) when new tasks would not fit.
   * Default: the managed cluster's spot group, then its on-demand group.
   */
  capacityGroups: z.optional(z.array(Name)),
});
export const minWithinMax = (g: { minTasks: number; maxTasks: number }) => g.minTasks <= g.maxTasks;
export const minWithinMaxIssue = { message: 'must not exceed maxTasks', path: ['minTasks'] };

export const GuardrailsSchema = GuardrailsShape.check(z.refine(minWithinMax, minWithinMaxIssue));
export type Guardrails = z.infer<typeof GuardrailsSchema>;
export type GuardrailsInput = z.input<typeof GuardrailsSchema>;

export const ScaleStepEnvSchema = z.extend(ControlPlaneEnvSchema, {
  MANAGED_CLUSTERS: ManagedClustersSchema,
  SCALED_SERVICES: jsonEnv(z.array(GuardrailsSchema)),
  /** Scale-in is refused inside these (functions/shared/freeze-windows.ts). */
  FREEZE_WINDOWS: z.optional(z.string()),
});
export type ScaleStepEnv = z.infer<typeof ScaleStepEnvSchema>;
export type ScaleStepEnvInput = z.input<typeof ScaleStepEnvSchema>;
