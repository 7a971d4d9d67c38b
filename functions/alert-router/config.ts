// Configuration of the alert router, defined once for infra, handler and tests. The router is the
// only function that knows the topics; producers only know the alert queue.
import * as z from '../../events/zod.ts';
import type { Severity } from '../shared/alerts.ts';
import { ControlPlaneEnvSchema } from '../shared/env.ts';

const nonEmpty = z.string().check(z.minLength(1));

export const AlertRouterEnvSchema = z
  .extend(
    z.pick(ControlPlaneEnvSchema, {
      JOURNAL_TABLE: true,
      ALERT_QUEUE_URL: true,
      OPS_ENVIRONMENT: true,
    }),
    {
      /** Episodes, group windows, inhibition state and silences (pk `id`, TTL `expiresAt`). */
      ALERTS_TABLE: nonEmpty,
      ALERT_TOPIC_CRITICAL: nonEmpty,
      ALERT_TOPIC_WARNING: nonEmpty,
      ALERT_TOPIC_INFO: nonEmpty,
      /** Alerts with the same group key inside this window become one message (SQS DelaySeconds: 0-900). */
      ALERT_GROUP_WINDOW_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(900)), 30),
      /** A firing alert repeated is suppressed until this long after it was last sent. */
      ALERT_REMINDER_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(1)), 240),
      /** A firing episode that is neither repeated nor resolved for this long ends on its own. */
      ALERT_EPISODE_HOURS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(14 * 24)), 24),
    },
  )
  .check(
    z.superRefine((env, ctx) => {
      // Reminders keep a group alive; an episode that ends before its first reminder never gets one.
      if (env.ALERT_REMINDER_MINUTES >= env.ALERT_EPISODE_HOURS * 60) {
        ctx.addIssue({
          code: 'custom',
          path: ['ALERT_REMINDER_MINUTES'],
          message: `must be shorter than ALERT_EPISODE_HOURS (${env.ALERT_EPISODE_HOURS} h)`,
        });
      }
    }),
  );
export type AlertRouterEnv = z.infer<typeof AlertRouterEnvSchema>;
export type AlertRouterEnvInput = z.input<typeof AlertRouterEnvSchema>;

export type AlertTopicsEnv = Pick<
  AlertRouterEnv,
  'ALERT_TOPIC_CRITICAL' | 'ALERT_TOPIC_WARNING' | 'ALERT_TOPIC_INFO'
>;

export function topicFor(topics: AlertTopicsEnv, severity: Severity): string {
  if (severity === 'critical') return topics.ALERT_TOPIC_CRITICAL;
  if (severity === 'warning') return topics.ALERT_TOPIC_WARNING;
  return topics.ALERT_TOPIC_INFO;
}
