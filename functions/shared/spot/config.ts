// Configuration of spot handling (the interruption handler and the surge step), defined once for
// infra, handlers and tests.
import * as z from '../../../events/zod.ts';
import { ControlPlaneEnvSchema } from '../env.ts';
import { ManagedClustersSchema } from '../managed-clusters.ts';

export const SpotInterruptionEnvSchema = z.extend(ControlPlaneEnvSchema, {
  MANAGED_CLUSTERS: ManagedClustersSchema,
  /** Interruptions per cluster inside the window above which replacements come from on-demand. */
  SPOT_FALLBACK_THRESHOLD: z._default(z.coerce.number().check(z.int(), z.gte(0)), 5),
  SPOT_FALLBACK_WINDOW_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(60)), 10),
  /** How long one interruption episode (rebalance -> warning -> task events) stays one action. */
  EPISODE_TTL_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(5)), 360),
  /** The surge workflow that waits for replacement capacity before draining. */
  SURGE_STATE_MACHINE_ARN: z.string().check(z.minLength(1)),
  /** Its own queue: follow-ups (give back a pre-scale, put back a rebalance drain) come back on it, delayed. */
  SPOT_QUEUE_URL: z.string().check(z.minLength(1)),
  /**
   * How long tasks added before a drain stay (seconds from the pre-scale): past the two-minute
   * warning and the replacements' start. SQS delays a message 900 s at most.
   */
  PRESCALE_HOLD_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(900)), 300),
  /**
   * How long after a rebalance drain an instance that no warning followed is put back to ACTIVE
   * (rebalance mode `drain`). At most 900 s, SQS's longest delay.
   */
  REBALANCE_RECHECK_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(900)), 600),
  /**
   * How often a Fargate service moved off Fargate Spot looks again whether its quiet period has
   * passed (at most 900 s, SQS's longest delay; the quiet period itself is the cluster's).
   */
  FARGATE_SHIFT_BACK_CHECK_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(900)), 900),
  /** How long a managed group's launch failure steers replacements to the other group. */
  CAPACITY_FAILURE_MEMORY_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1440)), 10),
});
export type SpotInterruptionEnv = z.infer<typeof SpotInterruptionEnvSchema>;
export type SpotInterruptionEnvInput = z.input<typeof SpotInterruptionEnvSchema>;
