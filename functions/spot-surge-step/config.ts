import * as z from '../../events/zod.ts';
import { SpotInterruptionEnvSchema } from '../shared/spot/config.ts';

/**
 * The surge step needs what the interruption handler needs, minus the workflow that calls it (a
 * cycle) and the follow-ups only the handler sends and receives.
 */
export const SpotSurgeEnvSchema = z.omit(SpotInterruptionEnvSchema, {
  SURGE_STATE_MACHINE_ARN: true,
  SPOT_QUEUE_URL: true,
  PRESCALE_HOLD_SECONDS: true,
  REBALANCE_RECHECK_SECONDS: true,
  CAPACITY_FAILURE_MEMORY_MINUTES: true,
  FARGATE_SHIFT_BACK_CHECK_SECONDS: true,
});
export type SpotSurgeEnv = z.infer<typeof SpotSurgeEnvSchema>;
export type SpotSurgeEnvInput = z.input<typeof SpotSurgeEnvSchema>;
