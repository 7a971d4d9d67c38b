// The clusters the control plane manages, as the stack hands them to every capability that acts on
// capacity (spot handling, scaling, remediation). Defined once for infra, handlers and tests. (The
// services it rolls out are in rollouts/config.ts, with their rollout defaults.)
import * as z from '../../events/zod.ts';
import { jsonEnv } from './env.ts';

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
  /**
   * The two-minute warning's budget for its services' replacements: seconds kept free for event
   * delivery and the handler, and how long a started task takes to count as healthy.
   */
  /**
   * The services whose desired count spot handling may raise before a drain (and give back):
   * absent, every service of the cluster. An environment names its own; others are left to ECS.
   */
  protectServices: z.optional(z.array(z.string().check(z.minLength(1)))),
  /**
   * Fargate Spot fallback: these services move to FARGATE when more than `reclaims` of their
   * tasks are reclaimed inside `windowMinutes`, and back after `quietMinutes` without one; at
   * most `maxShiftsPerDay` moves in 24 hours.
   */
  fargateFallback: z.optional(
    z.object({
      services: z.array(z.string().check(z.minLength(1))),
      reclaims: z.number().check(z.int(), z.gte(1)),
      windowMinutes: z.number().check(z.int(), z.gte(1), z.lte(60)),
      quietMinutes: z.number().check(z.int(), z.gte(1), z.lte(1440)),
      maxShiftsPerDay: z.number().check(z.int(), z.gte(1), z.lte(24)),
    }),
  ),
  drainBudget: z.optional(
    z.object({
      marginSeconds: z.number().check(z.int(), z.gte(0), z.lte(60)),
      replacementSeconds: z.number().check(z.int(), z.gte(1), z.lte(3600)),
    }),
  ),
});
export type ManagedCluster = z.infer<typeof ManagedClusterSchema>;

/** MANAGED_CLUSTERS: every function that acts on a cluster's capacity reads it. */
export const ManagedClustersSchema = jsonEnv(z.array(ManagedClusterSchema).check(z.minLength(1)));

/** A cluster's drain budget, or the default one: 20 s of margin, a minute for a replacement. */
export const drainBudgetOf = (cluster: ManagedCluster) =>
  cluster.drainBudget ?? { marginSeconds: 20, replacementSeconds: 60 };
