// What every handler is wrapped in and how every batch handler ends, written once.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { InvalidInputError } from './errors.ts';
import { logger } from './logger.ts';
import { type BatchRejections, batchResponse } from './sqs-batch.ts';

/**
 * The one middleware bundle: the Powertools logger with the Lambda context on every line, its
 * appended keys reset between invocations so that one invocation's keys never reach the next.
 */
export function lambdaHandler<E, R>(
  fn: (event: E, context: Context) => Promise<R>,
): MiddyfiedHandler<E, R, Error, Context> {
  return middy(fn).use(injectLambdaContext(logger, { resetKeys: true }));
}

/**
 * How a batch handler ends. Fed by SQS: the items that failed, which the queue delivers again and
 * then dead-letters. Invoked directly (a console test, `ops invoke`): a rejected event is an error
 * that names the field, not a quiet success; with `failedMessage`, so is an item that failed
 * otherwise; else the batch's report.
 */
export function endBatch<R extends BatchRejections>(
  report: R,
  fromSqs: boolean,
  failedMessage?: string,
): SQSBatchResponse | R {
  if (fromSqs) return batchResponse(report.failedItemIds);
  const invalid = report.invalid[0];
  if (invalid) throw new InvalidInputError(invalid.field, invalid.problem, invalid.received);
  if (failedMessage && report.failedItemIds.length > 0) throw new Error(failedMessage);
  return report;
}
