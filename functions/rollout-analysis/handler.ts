// The analysis step of the blue-green-rollout workflow: the verdict on one bake.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from '../../events/zod.ts';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { publishOutcomeMetrics } from '../shared/emf.ts';
import { parseEnv } from '../shared/env.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { type RolloutEnv, RolloutEnvSchema } from '../shared/rollouts/config.ts';
import { parseState } from '../shared/rollouts/state.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { analyseStep } from './analysis.ts';
import { verdictMetrics } from './metrics.ts';

export const RequestSchema = z.object({ action: z.literal('analyse'), state: z.unknown() });

let env: RolloutEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown) => {
    const request = parseOrThrow(RequestSchema, event);
    env ??= parseEnv(RolloutEnvSchema);
    const state = parseState(request.state);
    const next = await analyseStep(
      {
        cloudwatch: awsClient(CloudWatchClient),
        sqs: () => awsClient(SQSClient),
        db: documentClient(),
        clock,
        env,
      },
      state,
    );
    publishOutcomeMetrics(verdictMetrics(next));
    logger.info('Step analysed', {
      rollout: state.rollout.id,
      step: state.progress.index,
      weight: state.progress.weight,
      verdict: next.verdict?.verdict,
      reasons: next.verdict?.reasons,
    });
    return next;
  });
}

export const handler = createHandler();
