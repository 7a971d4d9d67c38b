// The event-alerts function's environment: it raises alerts and reads which Auto Scaling groups
// are on-demand fallbacks. It acts on nothing, so it has no tables.
import * as z from '../../events/zod.ts';
import { ControlPlaneEnvSchema } from '../shared/env.ts';

export const EventAlertsEnvSchema = z.extend(
  z.pick(ControlPlaneEnvSchema, { ALERT_QUEUE_URL: true, OPS_ENVIRONMENT: true }),
  {
    /** Comma-separated on-demand Auto Scaling groups of the managed clusters (may be empty). */
    ON_DEMAND_GROUPS: z._default(z.string(), ''),
  },
);
export type EventAlertsEnv = z.infer<typeof EventAlertsEnvSchema>;
export type EventAlertsEnvInput = z.input<typeof EventAlertsEnvSchema>;
