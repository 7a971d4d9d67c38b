// The decision step of the spot-surge workflow: `start` validates the input, `check` looks for
// registered replacements and drains when they are there.
import { randomUUID } from 'node:crypto';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import type { SpotSurgeState } from '../../events/spot-surge-input.ts';
import * as z from '../../events/zod.ts';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { parseEnv } from '../shared/env.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { type SpotSurgeEnv, SpotSurgeEnvSchema } from './config.ts';
import { checkSurge, startSurge } from './surge.ts';

export const StepRequestSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), input: z.unknown() }),
  z.object({ action: z.literal('check'), surge: z.unknown() }),
]);

let env: SpotSurgeEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown, context: Context): Promise<SpotSurgeState> => {
    const request = parseOrThrow(StepRequestSchema, event);
    env ??= parseEnv(SpotSurgeEnvSchema);
    if (request.action === 'start')
      return startSurge({ ecs: awsClient(ECSClient), clock, env }, request.input);
    const state = await checkSurge(
      {
        ecs: awsClient(ECSClient),
        sqs: awsClient(SQSClient),
        db: documentClient(),
        clock,
        env,
        owner: `spot-surge/${context?.awsRequestId ?? randomUUID()}`,
      },
      request.surge,
    );
    logger.info('Surge checked', {
      status: state.status,
      registered: state.registered,
      checks: state.checks,
    });
    return state;
  });
}

export const handler = createHandler();
