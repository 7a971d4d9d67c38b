// EventBridge (CloudWatch Alarm State Change, mapped alarms entering ALARM) -> SQS -> this
// function -> the scale-service workflow, started at once with a computed step.
import { alarmTriggerHandler } from '../shared/alarm-trigger-handler.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { ScaleAlarmEnvSchema } from './config.ts';
import { processAlarmBatch } from './trigger.ts';

export function createHandler(options: { clock?: Clock } = {}) {
  return alarmTriggerHandler({
    envSchema: ScaleAlarmEnvSchema,
    clock: options.clock ?? systemClock,
    process: processAlarmBatch,
    failedMessage: 'the scale-out could not be started; see the logs',
    counts: (report) => ({ ignored: report.ignored.length }),
  });
}

export const handler = createHandler();
