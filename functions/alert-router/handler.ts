// Alert queue -> this function -> SNS topics per severity. Producers raise alerts onto the queue;
// the router silences, inhibits, deduplicates, groups and renders them (route-batch.ts).
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { publishOutcomeMetrics } from '../shared/emf.ts';
import { parseEnv } from '../shared/env.ts';
import { endBatch, lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { toItems } from '../shared/sqs-batch.ts';
import { type AlertRouterEnv, AlertRouterEnvSchema } from './config.ts';
import { routerMetrics } from './metrics.ts';
import { type RouteReport, routeAlertBatch } from './route-batch.ts';

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown) => {
    // Parsed per invocation (microseconds): local runs change the group window between invocations.
    const env: AlertRouterEnv = parseEnv(AlertRouterEnvSchema);
    const { items, fromSqs } = toItems(event);
    const report: RouteReport = await routeAlertBatch(
      { db: documentClient(), sqs: awsClient(SQSClient), sns: awsClient(SNSClient), clock, env, log: logger },
      items,
    );
    publishOutcomeMetrics(routerMetrics(report));
    logger.info('Alert batch routed', { report: summarize(report) });
    return endBatch(report, fromSqs);
  });
}

function summarize(r: RouteReport) {
  const by: Record<string, number> = {};
  for (const o of r.outcomes) by[o.result] = (by[o.result] ?? 0) + 1;
  return { received: r.received, outcomes: by, sent: r.sent.length, failed: r.failedItemIds.length };
}

export const handler = createHandler();
