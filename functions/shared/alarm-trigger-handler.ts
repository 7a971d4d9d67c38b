// The handler of a function that starts one workflow execution per alarm transition (scale-alarm,
// remediation-trigger): its environment parsed once, each batch processed, one log line, and the
// SQS-or-direct ending.
import { SFNClient } from '@aws-sdk/client-sfn';
import type * as z from '../../events/zod.ts';
import { awsClient } from './clients.ts';
import type { Clock } from './clock.ts';
import { type Db, documentClient } from './dynamo.ts';
import { parseEnv } from './env.ts';
import { endBatch, lambdaHandler } from './lambda-handler.ts';
import { type Log, logger } from './logger.ts';
import { type BatchRejections, type Item, toItems } from './sqs-batch.ts';

export interface AlarmTriggerDeps<Env> {
  sfn: SFNClient;
  db: Db;
  clock: Clock;
  env: Env;
  log: Log;
}

export interface AlarmTriggerReport extends BatchRejections {
  received: number;
  started: { executionName: string }[];
  duplicates: unknown[];
}

export function alarmTriggerHandler<S extends z.ZodMiniType, R extends AlarmTriggerReport>(spec: {
  envSchema: S;
  clock: Clock;
  process: (deps: AlarmTriggerDeps<z.infer<S>>, items: Item[]) => Promise<R>;
  /** The error a direct invocation ends in when an execution could not be started. */
  failedMessage: string;
  /** What else the report counts, for the log line. */
  counts?: (report: R) => Record<string, number>;
}) {
  let env: z.infer<S> | undefined;
  return lambdaHandler(async (event: unknown) => {
    env ??= parseEnv(spec.envSchema);
    const { items, fromSqs } = toItems(event);
    const report = await spec.process(
      { sfn: awsClient(SFNClient), db: documentClient(), clock: spec.clock, env, log: logger },
      items,
    );
    logger.info('Alarm batch processed', {
      received: report.received,
      started: report.started.map((s) => s.executionName),
      duplicates: report.duplicates.length,
      ...spec.counts?.(report),
      invalid: report.invalid.length,
    });
    return endBatch(report, fromSqs, spec.failedMessage);
  });
}
