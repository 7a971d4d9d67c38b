// EventBridge (CloudWatch Alarm State Change) -> SQS -> this function -> the remediate-alarm
// workflow, one execution per alarm transition.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { parseEnv } from '../shared/env.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { logger } from '../shared/logger.ts';
import { batchResponse, toItems } from '../shared/sqs-batch.ts';
import { type RemediationTriggerEnv, RemediationTriggerEnvSchema } from './config.ts';
import { processRemediationBatch } from './trigger.ts';

let env: RemediationTriggerEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return middy(async (event: unknown) => {
    env ??= parseEnv(RemediationTriggerEnvSchema);
    const { items, fromSqs } = toItems(event);
    const report = await processRemediationBatch(
      { sfn: awsClient(SFNClient), db: documentClient(), clock, env, log: logger },
      items,
    );
    logger.info('Alarm batch processed', {
      received: report.received,
      started: report.started.map((s) => s.executionName),
      duplicates: report.duplicates.length,
      invalid: report.invalid.length,
    });
    if (fromSqs) return batchResponse(report.failedItemIds);
    // Invoked directly: a rejected event is an error naming the field, not a quiet success.
    const invalid = report.invalid[0];
    if (invalid) throw new InvalidInputError(invalid.field, invalid.problem, invalid.received);
    if (report.failedItemIds.length > 0)
      throw new Error('the remediation could not be started; see the logs');
    return report;
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createHandler();
