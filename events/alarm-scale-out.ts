// CloudWatch Alarm State Change events that scale a service out: the rule's pattern and the
// alarm-to-service mapping, defined once for the rule (infra/control-plane/scaling/scaling.ts), the scaling config,
// the scale-alarm trigger and the tests. The event itself is events/alarm-state-change.ts.
// Only mapped alarms entering ALARM match; leaving ALARM does nothing (scale-in stays slow).

import { ALARM_STATE_CHANGE_DETAIL_TYPE } from './alarm-state-change.ts';
import type { EventPattern } from './patterns.ts';
import * as z from './zod.ts';

export function alarmScaleOutPattern(alarmNames: readonly string[]): EventPattern {
  return {
    source: ['aws.cloudwatch'],
    'detail-type': [ALARM_STATE_CHANGE_DETAIL_TYPE],
    detail: { alarmName: [...alarmNames], state: { value: ['ALARM'] } },
  };
}

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
