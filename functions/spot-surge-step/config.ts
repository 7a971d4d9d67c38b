import * as z from '../../events/zod.ts';
import { SpotInterruptionEnvSchema } from '../shared/spot/config.ts';

/** The surge step needs what the interruption handler needs, minus the workflow that calls it (a cycle). */
export const SpotSurgeEnvSchema = z.omit(SpotInterruptionEnvSchema, { SURGE_STATE_MACHINE_ARN: true });
export type SpotSurgeEnv = z.infer<typeof SpotSurgeEnvSchema>;
export type SpotSurgeEnvInput = z.input<typeof SpotSurgeEnvSchema>;
