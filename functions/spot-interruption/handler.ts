// EventBridge (spot warning, rebalance recommendation, Fargate Spot task) -> SQS -> this function.
import { randomUUID } from 'node:crypto';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { publishOutcomeMetrics } from '../shared/emf.ts';
import { parseEnv } from '../shared/env.ts';
import { endBatch, lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { type SpotInterruptionEnv, SpotInterruptionEnvSchema } from '../shared/spot/config.ts';
import { toItems } from '../shared/sqs-batch.ts';
import type { BatchReport } from './batch-model.ts';
import { spotMetrics } from './metrics.ts';
import { processSpotBatch } from './process-batch.ts';

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown, context: Context) => {
    // Read per invocation (a few fields): a changed delay or threshold applies at once.
    const env: SpotInterruptionEnv = parseEnv(SpotInterruptionEnvSchema);
    const { items, fromSqs } = toItems(event);
    const report: BatchReport = await processSpotBatch(
      {
        ecs: awsClient(ECSClient),
        autoscaling: awsClient(AutoScalingClient),
        sfn: awsClient(SFNClient),
        sqs: awsClient(SQSClient),
        db: documentClient(),
        clock,
        env,
        log: logger,
        owner: `spot-interruption/${context?.awsRequestId ?? randomUUID()}`,
      },
      items,
    );
    publishOutcomeMetrics(spotMetrics(report));
    logger.info('Spot batch processed', { report: summarize(report) });
    return endBatch(report, fromSqs);
  });
}

function summarize(r: BatchReport) {
  const by: Record<string, number> = {};
  for (const i of r.instances) by[i.result] = (by[i.result] ?? 0) + 1;
  return {
    received: r.received,
    invalid: r.invalid.length,
    instances: by,
    tasks: r.tasks.length,
    alerts: r.alerts,
    drainCalls: r.drainCalls,
  };
}

export const handler = createHandler();
