// Configuration of spot-interruption handling, defined once for infra, handler and tests.
import * as z from 'zod';
import { ControlPlaneEnvSchema, jsonEnv } from '../shared/env.ts';

export const RebalanceModeSchema = z.enum(['drain', 'surge', 'observe']);
export type RebalanceMode = z.infer<typeof RebalanceModeSchema>;

export const ManagedClusterSchema = z.object({
  /** ECS cluster name. */
  name: z.string().min(1),
  /** What a rebalance recommendation does: drain now, add capacity first then drain, or only record it. */
  rebalance: RebalanceModeSchema.default('surge'),
  /** Auto Scaling group that replaces interrupted spot capacity. */
  spotAsg: z.string().min(1).optional(),
  /** Auto Scaling group used instead when spot is being reclaimed too often. */
  onDemandAsg: z.string().min(1).optional(),
});
export type ManagedCluster = z.infer<typeof ManagedClusterSchema>;

export const SpotInterruptionEnvSchema = ControlPlaneEnvSchema.extend({
  MANAGED_CLUSTERS: jsonEnv(z.array(ManagedClusterSchema).min(1)),
  /** Interruptions per cluster inside the window above which replacements come from on-demand. */
  SPOT_FALLBACK_THRESHOLD: z.coerce.number().int().min(0).default(5),
  SPOT_FALLBACK_WINDOW_MINUTES: z.coerce.number().int().min(1).max(60).default(10),
  /** How long one interruption episode (rebalance -> warning -> task events) stays one action. */
  EPISODE_TTL_MINUTES: z.coerce.number().int().min(5).default(360),
  /** The surge workflow that waits for replacement capacity before draining. */
  SURGE_STATE_MACHINE_ARN: z.string().min(1),
});
export type SpotInterruptionEnv = z.infer<typeof SpotInterruptionEnvSchema>;
export type SpotInterruptionEnvInput = z.input<typeof SpotInterruptionEnvSchema>;
