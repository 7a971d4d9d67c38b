// EventBridge (CloudWatch Alarm State Change) -> SQS -> this function -> the remediate-alarm
// workflow, one execution per alarm transition.
import { alarmTriggerHandler } from '../shared/alarm-trigger-handler.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { RemediationTriggerEnvSchema } from './config.ts';
import { processRemediationBatch } from './trigger.ts';

export function createHandler(options: { clock?: Clock } = {}) {
  return alarmTriggerHandler({
    envSchema: RemediationTriggerEnvSchema,
    clock: options.clock ?? systemClock,
    process: processRemediationBatch,
    failedMessage: 'the remediation could not be started; see the logs',
  });
}

export const handler = createHandler();
