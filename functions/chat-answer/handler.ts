// A chat button (an Amazon Q Developer custom action) -> `lambda invoke` -> this function -> the
// rollout's gate or rollback, as `ops approve|reject|abort` would. The answer goes back to the
// channel as the invocation's result.
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { parseEnv } from '../shared/env.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { stepFunctionsCallbacks } from '../shared/task-callbacks.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { answerFromChat, ChatAnswerSchema } from './answer.ts';
import { type ChatAnswerEnv, ChatAnswerEnvSchema } from './config.ts';

let env: ChatAnswerEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown) => {
    const input = parseOrThrow(ChatAnswerSchema, event);
    env ??= parseEnv(ChatAnswerEnvSchema);
    const outcome = await answerFromChat(
      {
        db: documentClient(),
        elb: awsClient(ElasticLoadBalancingV2Client),
        clock,
        env,
        callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
      },
      input,
      `chat channel ${env.CHAT_CHANNEL}`,
    );
    logger.info('Chat answer', { rollout: input.rollout, answer: input.answer, status: outcome.status });
    return outcome;
  });
}

export const handler = createHandler();
