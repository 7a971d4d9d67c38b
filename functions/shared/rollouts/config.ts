// Configuration of the rollout functions (rollout-step, rollout-analysis), defined once for
// infra, handlers and tests.
import * as z from '../../../events/zod.ts';
import { ControlPlaneEnvSchema } from '../env.ts';
import { ManagedServicesSchema } from '../managed-resources.ts';

export const RolloutEnvSchema = z.extend(ControlPlaneEnvSchema, {
  MANAGED_SERVICES: ManagedServicesSchema,
});
export type RolloutEnv = z.infer<typeof RolloutEnvSchema>;
export type RolloutEnvInput = z.input<typeof RolloutEnvSchema>;
