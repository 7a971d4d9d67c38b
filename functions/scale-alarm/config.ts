import { AlarmMappingSchema } from '../../events/alarm-scale-out.ts';
import * as z from '../../events/zod.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../shared/env.ts';

// It raises no alerts (the workflow it starts does): no alert queue, and no grant to send to it.
export const ScaleAlarmEnvSchema = z.extend(z.omit(ControlPlaneEnvSchema, { ALERT_QUEUE_URL: true }), {
  /** Which alarm scales which service, and by how much (from config/scaling/<environment>.json). */
  SCALE_ALARMS: jsonEnv(z.array(AlarmMappingSchema)),
  /** The scale-service workflow this function starts. */
  SCALE_STATE_MACHINE_ARN: z.string().check(z.minLength(1)),
});
export type ScaleAlarmEnv = z.infer<typeof ScaleAlarmEnvSchema>;
export type ScaleAlarmEnvInput = z.input<typeof ScaleAlarmEnvSchema>;
