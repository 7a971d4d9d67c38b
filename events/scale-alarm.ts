// CloudWatch Alarm State Change events that scale a service out: the rule's pattern, the
// event's schema and the alarm-to-service mapping, defined once for the rule (infra/scaling.ts),
// the scaling config, the trigger function and the tests.
// Only mapped alarms entering ALARM match; leaving ALARM does nothing (scale-in stays slow).

import { EventBridgeEnvelope } from './eventbridge-envelope.ts';
import type { EventPattern } from './patterns.ts';
import * as z from './zod.ts';

export const ALARM_STATE_CHANGE_DETAIL_TYPE = 'CloudWatch Alarm State Change';

export function alarmScaleOutPattern(alarmNames: readonly string[]): EventPattern {
  return {
    source: ['aws.cloudwatch'],
    'detail-type': [ALARM_STATE_CHANGE_DETAIL_TYPE],
    detail: { alarmName: [...alarmNames], state: { value: ['ALARM'] } },
  };
}

const State = z.object({
  value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z._default(z.string(), ''),
  /** JSON text with recentDatapoints and threshold (metric alarms); absent for composite alarms. */
  reasonData: z.optional(z.string()),
  timestamp: z.string().check(z.minLength(1)),
});

export const AlarmStateChangeSchema = z.extend(EventBridgeEnvelope, {
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal(ALARM_STATE_CHANGE_DETAIL_TYPE),
  resources: z.array(z.string()).check(z.minLength(1, 'expected the alarm ARN')),
  detail: z.object({
    alarmName: z.string().check(z.minLength(1)),
    state: State,
    previousState: z.optional(z.partial(State)),
    configuration: z.optional(z.looseObject({ description: z.optional(z.string()) })),
  }),
});
export type AlarmStateChange = z.infer<typeof AlarmStateChangeSchema>;

/** The datapoints and threshold behind a metric alarm's state, when its reasonData carries them. */
export const AlarmReasonDataSchema = z.object({
  recentDatapoints: z.array(z.number()).check(z.minLength(1)),
  threshold: z.number(),
});

/** How big a step an alarm asks for. */
export const AlarmStepSchema = z.discriminatedUnion('kind', [
  /**
   * Proportional to how far the alarm's datapoint is past its threshold (99 against 50 is +98%),
   * at least minPercent: the target-tracking formula, applied at once instead of over minutes.
   */
  z.object({
    kind: z.literal('proportional'),
    minPercent: z._default(z.number().check(z.gte(1), z.lte(1000)), 20),
  }),
  z.object({
    kind: z.literal('count'),
    count: z.number().check(z.int(), z.gte(1), z.lte(10_000)),
  }),
  z.object({ kind: z.literal('percent'), percent: z.number().check(z.gte(1), z.lte(1000)) }),
]);
export type AlarmStep = z.infer<typeof AlarmStepSchema>;

/** Which alarm scales which service, and by how much: from the scaling config to the alarm trigger. */
export const AlarmMappingSchema = z.object({
  /** The CloudWatch alarm whose ALARM state scales this service out. */
  alarmName: z.string().check(z.minLength(1), z.maxLength(255)),
  cluster: z.string().check(z.minLength(1), z.maxLength(255)),
  service: z.string().check(z.minLength(1), z.maxLength(255)),
  step: z._default(AlarmStepSchema, { kind: 'proportional', minPercent: 20 }),
});
export type AlarmMapping = z.infer<typeof AlarmMappingSchema>;
