// CloudWatch Alarm State Change events that scale a service out: the rule's pattern and the
// event's schema, defined once for the rule (infra/scaling.ts), the trigger function and the tests.
// Only mapped alarms entering ALARM match; leaving ALARM does nothing (scale-in stays slow).
import * as z from 'zod';
import { EventBridgeEnvelope } from './eventbridge-envelope.ts';
import type { EventPattern } from './patterns.ts';

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
  reason: z.string().default(''),
  /** JSON text with recentDatapoints and threshold (metric alarms); absent for composite alarms. */
  reasonData: z.string().optional(),
  timestamp: z.string().min(1),
});

export const AlarmStateChangeSchema = EventBridgeEnvelope.extend({
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal(ALARM_STATE_CHANGE_DETAIL_TYPE),
  resources: z.array(z.string()).min(1, 'expected the alarm ARN'),
  detail: z.object({
    alarmName: z.string().min(1),
    state: State,
    previousState: State.partial().optional(),
    configuration: z.object({ description: z.string().optional() }).passthrough().optional(),
  }),
});
export type AlarmStateChange = z.infer<typeof AlarmStateChangeSchema>;

/** The datapoints and threshold behind a metric alarm's state, when its reasonData carries them. */
export const AlarmReasonDataSchema = z.object({
  recentDatapoints: z.array(z.number()).min(1),
  threshold: z.number(),
});
