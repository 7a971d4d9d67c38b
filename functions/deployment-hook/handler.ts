// The lifecycle hook ECS calls at the stages of an ECS-controlled deployment of a managed service
// (BLUE_GREEN, CANARY, LINEAR): it answers SUCCEEDED, FAILED or IN_PROGRESS (docs/rollouts.md).
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { parseEnv } from '../shared/env.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { type RolloutEnv, RolloutEnvSchema } from '../shared/rollouts/config.ts';
import { answerLifecycleHook } from './hook.ts';

let env: RolloutEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown) => {
    env ??= parseEnv(RolloutEnvSchema);
    const answer = await answerLifecycleHook(
      {
        cloudwatch: awsClient(CloudWatchClient),
        elb: awsClient(ElasticLoadBalancingV2Client),
        ecs: awsClient(ECSClient),
        sqs: () => awsClient(SQSClient),
        db: documentClient(),
        clock,
        env,
      },
      event,
    );
    const e = event as { lifecycleStage?: string; resourceArn?: string };
    logger.info('Lifecycle hook answered', { stage: e.lifecycleStage, deployment: e.resourceArn, ...answer });
    return answer;
  });
}

export const handler = createHandler();
