// EventBridge (ECS deployment failures and service actions, AWS Health for ECS and EC2, Auto
// Scaling launch failures, alarms on the control plane itself) -> SQS -> this function -> one
// alert each on the alert queue.
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClient } from '../shared/clients.ts';
import { parseEnv } from '../shared/env.ts';
import { endBatch, lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { toItems } from '../shared/sqs-batch.ts';
import { type EventAlertsEnv, EventAlertsEnvSchema } from './config.ts';
import { processEventAlertsBatch } from './process-batch.ts';

export function createHandler() {
  let env: EventAlertsEnv | undefined;
  return lambdaHandler(async (event: unknown) => {
    env ??= parseEnv(EventAlertsEnvSchema);
    const { items, fromSqs } = toItems(event);
    const report = await processEventAlertsBatch(
      { sqs: awsClient(SQSClient), env, region: process.env.AWS_REGION, log: logger },
      items,
    );
    logger.info('Event batch alerted', {
      received: report.received,
      raised: report.raised.map((r) => r.dedupKey),
      ignored: report.ignored.length,
      invalid: report.invalid.length,
      failed: report.failedItemIds.length,
    });
    return endBatch(report, fromSqs, 'an alert could not be raised; see the logs');
  });
}

export const handler = createHandler();
