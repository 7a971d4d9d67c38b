// What the control plane manages, as the stack hands it to every capability: the clusters (spot
// handling, scaling, remediation) and the services (rollouts, remediation). Defined once for
// infra, handlers and tests.
import { RolloutDefaultsSchema } from '../../events/rollout-input.ts';
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
});
export type ManagedCluster = z.infer<typeof ManagedClusterSchema>;

/** MANAGED_CLUSTERS: every function that acts on a cluster's capacity reads it. */
export const ManagedClustersSchema = jsonEnv(z.array(ManagedClusterSchema).check(z.minLength(1)));

/** A service the control plane may roll out, and the load balancer it may re-weigh for it. */
export const ManagedServiceSchema = z.object({
  cluster: z.string().check(z.minLength(1)),
  service: z.string().check(z.minLength(1)),
  /** Name of the ALB whose listener forwards to the service's blue and green target groups. */
  loadBalancerName: z.string().check(z.minLength(1)),
  /** The task definition family its revisions are registered in (default `<cluster>-<service>`). */
  taskDefinitionFamily: z.optional(z.string().check(z.minLength(1))),
  /** The service's rollout defaults (config/rollouts/<env>.json), as written there. */
  defaults: z.optional(RolloutDefaultsSchema),
});
export type ManagedService = z.input<typeof ManagedServiceSchema>;

/** MANAGED_SERVICES: the rollout functions read it, and so do the CLI and the tour. */
export const ManagedServicesSchema = jsonEnv(z.array(ManagedServiceSchema).check(z.minLength(1)));
