// Configuration of the rollout functions (rollout-step, rollout-analysis), defined once for
// infra, handlers and tests.
import * as z from 'zod';
import { RolloutDefaultsSchema } from '../../events/rollout-input.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../shared/env.ts';

/** A service the control plane may roll out, and the load balancer it may re-weigh for it. */
export const ManagedServiceSchema = z.object({
  cluster: z.string().min(1),
  service: z.string().min(1),
  /** Name of the ALB whose listener forwards to the service's blue and green target groups. */
  loadBalancerName: z.string().min(1),
  /** The task definition family its revisions are registered in (default `<cluster>-<service>`). */
  taskDefinitionFamily: z.string().min(1).optional(),
  /** The service's rollout defaults (config/rollouts/<env>.json), as written there. */
  defaults: RolloutDefaultsSchema.optional(),
});
export type ManagedService = z.input<typeof ManagedServiceSchema>;

/** MANAGED_SERVICES: the rollout functions read it, and so do the CLI and the tour. */
export const ManagedServicesSchema = jsonEnv(z.array(ManagedServiceSchema).min(1));

export const RolloutEnvSchema = ControlPlaneEnvSchema.extend({
  MANAGED_SERVICES: ManagedServicesSchema,
});
export type RolloutEnv = z.infer<typeof RolloutEnvSchema>;
export type RolloutEnvInput = z.input<typeof RolloutEnvSchema>;
