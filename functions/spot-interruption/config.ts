// Configuration of spot-interruption handling, defined once for infra, handler and tests.
import * as z from '../../events/zod.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../shared/env.ts';

export const RebalanceModeSchema = z.enum(['drain', 'surge', 'observe']);
export type RebalanceMode = z.infer<typeof RebalanceModeSchema>;

export const ManagedClusterSchema = z.object({
  /** ECS cluster name. */
  name: z.string().check(z.minLength(1)),
  /** What a rebalance recommendation does: drain now, add capacity first then drain, or only record it. */
  rebalance: z._default(RebalanceModeSchema, 'surge'),
  /** Auto Scaling group that replaces interrupted spot capacity. */
  spotAsg: z.optional(z.string().check(z.minLength(1))),
  /** Auto Scaling group used instead when spot is being reclaimed too often. */
  onDemandAsg: z.optional(z.string().check(z.minLength(1))),
});
export type ManagedCluster = z.infer<typeof ManagedClusterSchema>;

export const SpotInterruptionEnvSchema = z.extend(ControlPlaneEnvSchema, {
  MANAGED_CLUSTERS: jsonEnv(z.array(ManagedClusterSchema).check(z.minLength(1))),
  /** Interruptions per cluster inside the window above which replacements come from on-demand. */
  SPOT_FALLBACK_THRESHOLD: z._default(z.coerce.number().check(z.int(), z.gte(0)), 5),
  SPOT_FALLBACK_WINDOW_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(60)), 10),
  /** How long one interruption episode (rebalance -> warning -> task events) stays one action. */
  EPISODE_TTL_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(5)), 360),
  /** The surge workflow that waits for replacement capacity before draining. */
  SURGE_STATE_MACHINE_ARN: z.string().check(z.minLength(1)),
});
export type SpotInterruptionEnv = z.infer<typeof SpotInterruptionEnvSchema>;
export type SpotInterruptionEnvInput = z.input<typeof SpotInterruptionEnvSchema>;
