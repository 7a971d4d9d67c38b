// CloudWatch Alarm State Change events, as EventBridge delivers them: the detail type and the
// event's schema, defined once for every capability that reacts to alarms (the scale-out
// trigger, the remediation trigger), their rules and the tests.
import { EventBridgeEnvelope } from './eventbridge-envelope.ts';
import * as z from './zod.ts';

export const ALARM_STATE_CHANGE_DETAIL_TYPE = 'CloudWatch Alarm State Change';

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
