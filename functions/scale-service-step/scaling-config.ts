// Scaling configuration, defined once: config/scaling/<environment>.json is parsed with these
// schemas at synth (infra/control-plane/scaling/scaling.ts), the guardrails reach the decision step as SCALED_SERVICES,
// the alarm mappings reach the alarm trigger as SCALE_ALARMS, and the tests reuse both.
import { type AlarmMapping, AlarmStepSchema } from '../../events/alarm-scale-out.ts';
import * as z from '../../events/zod.ts';
import { type Guardrails, GuardrailsShape, minWithinMax, minWithinMaxIssue, Tasks } from './config.ts';

const ScheduleSchema = z.object({
  /** Part of the schedule's name and of each run's request id. */
  name: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and - only, at most 40')),
  /** EventBridge Scheduler expression: cron(minutes hours day-of-month month day-of-week year), rate(...) or at(...). */
  expression: z.string().check(z.regex(/^(cron|rate|at)\(.+\)$/, 'must be cron(...), rate(...) or at(...)')),
  /** IANA time zone the cron expression is read in, e.g. Europe/Berlin (daylight saving included). */
  timezone: z._default(z.string().check(z.minLength(1)), 'UTC'),
  /** What to set, as in the workflow input: desiredCount, or min and/or max of the scalable target. */
  set: z
    .strictObject({ desiredCount: z.optional(Tasks), min: z.optional(Tasks), max: z.optional(Tasks) })
    .check(z.refine((s) => Object.keys(s).length > 0, 'set desiredCount, or min and/or max')),
  reason: z.string().check(z.minLength(3), z.maxLength(500)),
});
export type ScalingSchedule = z.infer<typeof ScheduleSchema>;

const AlarmTriggerSchema = z.object({
  alarmName: z.string().check(z.minLength(1), z.maxLength(255)),
  /**
   * Create this alarm on the service's own metric, 1 of 1 one-minute datapoints (fast). Omit it
   * to map an alarm that exists elsewhere (request count per target, latency on the load balancer).
   */
  create: z.optional(
    z.object({
      metric: z.enum(['CPUUtilization', 'MemoryUtilization']),
      threshold: z.number().check(z.gte(1), z.lte(100)),
    }),
  ),
  step: z._default(AlarmStepSchema, { kind: 'proportional', minPercent: 20 }),
});

/** One service's entry in config/scaling/<environment>.json. */
export const ScaledServiceSchema = z
  .extend(GuardrailsShape, {
    schedules: z._default(z.array(ScheduleSchema), []),
    alarms: z._default(z.array(AlarmTriggerSchema), []),
  })
  .check(z.refine(minWithinMax, minWithinMaxIssue));
export type ScaledService = z.infer<typeof ScaledServiceSchema>;
export type ScaledServiceInput = z.input<typeof ScaledServiceSchema>;

export const ScalingConfigSchema = z.object({ services: z.array(ScaledServiceSchema) }).check(
  z.superRefine((config, ctx) => {
    const seen = new Set<string>();
    const alarms = new Set<string>();
    config.services.forEach((s, i) => {
      const key = `${s.cluster}/${s.service}`;
      if (seen.has(key))
        ctx.addIssue({ code: 'custom', path: ['services', i, 'service'], message: `${key} is listed twice` });
      seen.add(key);
      s.alarms.forEach((a, j) => {
        if (alarms.has(a.alarmName)) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', i, 'alarms', j, 'alarmName'],
            message: 'maps one alarm to two services',
          });
        }
        alarms.add(a.alarmName);
      });
    });
  }),
);
export type ScalingConfig = z.infer<typeof ScalingConfigSchema>;

/** The guardrails part of a configured service (what the decision step's environment carries). */
export function guardrailsOf(service: ScaledService): Guardrails {
  const { schedules: _schedules, alarms: _alarms, ...guardrails } = service;
  return guardrails;
}

export function alarmMappingsOf(services: readonly ScaledService[]): AlarmMapping[] {
  return services.flatMap((s) =>
    s.alarms.map((a) => ({ alarmName: a.alarmName, cluster: s.cluster, service: s.service, step: a.step })),
  );
}
