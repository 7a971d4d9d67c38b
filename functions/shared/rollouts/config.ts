// The services the control plane may roll out, and the configuration of the rollout functions
// (rollout-step, rollout-analysis, and remediation's rollback), defined once for infra, handlers
// and tests.

import { RolloutDefaultsSchema } from '../../../events/rollout-input.ts';
import * as z from '../../../events/zod.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../env.ts';
import { FreezeWindowsEnvSchema } from '../freeze-windows.ts';
import { SloEnvSchema } from '../slo/objectives.ts';

/** A service the control plane may roll out, and the load balancer it may re-weigh for it. */
export const ManagedServiceSchema = z.object({
  cluster: z.string().check(z.minLength(1)),
  service: z.string().check(z.minLength(1)),
  /** Name of the ALB whose listener forwards to the service's blue and green target groups. */
  loadBalancerName: z.string().check(z.minLength(1)),
  /** The task definition family its revisions are registered in (default `<cluster>-<service>`). */
  taskDefinitionFamily: z.optional(z.string().check(z.minLength(1))),
  /**
   * Who rolls it out: `external` (default), this project's task-set controller (the
   * blue-green-rollout workflow); `ecs`, ECS's own deployments (BLUE_GREEN, CANARY, LINEAR), judged
   * by the deployment-hook function at their lifecycle stages.
   */
  controller: z.optional(z.enum(['external', 'ecs'])),
  /** The service's rollout defaults (config/rollouts/<env>.json), as written there. */
  defaults: z.optional(RolloutDefaultsSchema),
});
export type ManagedService = z.input<typeof ManagedServiceSchema>;

/** MANAGED_SERVICES: the rollout functions read it, and so do the CLI and the tour. */
export const ManagedServicesSchema = jsonEnv(z.array(ManagedServiceSchema).check(z.minLength(1)));

export const RolloutEnvSchema = z.extend(ControlPlaneEnvSchema, {
  MANAGED_SERVICES: ManagedServicesSchema,
  /** Rollouts and release trains are refused inside these (functions/shared/freeze-windows.ts). */
  FREEZE_WINDOWS: FreezeWindowsEnvSchema,
  /** Services' SLOs: rollouts judge their error budget, trains need it unspent (functions/shared/slo/). */
  SERVICE_SLOS: SloEnvSchema,
});
export type RolloutEnv = z.infer<typeof RolloutEnvSchema>;
export type RolloutEnvInput = z.input<typeof RolloutEnvSchema>;
