// The remediation trigger's environment. Its own module: the trigger reads none of the runbook
// registry, so it constructs none of its schemas at cold start.
import * as z from '../../events/zod.ts';
import { ControlPlaneEnvSchema } from '../shared/env.ts';

// The trigger raises no alerts (the workflow does): no alert queue, and no grant to send to it.
export const RemediationTriggerEnvSchema = z.extend(
  z.omit(ControlPlaneEnvSchema, { ALERT_QUEUE_URL: true }),
  {
    REMEDIATION_STATE_MACHINE_ARN: z.string().check(z.minLength(1)),
  },
);
export type RemediationTriggerEnv = z.infer<typeof RemediationTriggerEnvSchema>;
export type RemediationTriggerEnvInput = z.input<typeof RemediationTriggerEnvSchema>;
