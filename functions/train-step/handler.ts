// The decision steps of the release-train workflow: one function, one action per task.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from '../../events/zod.ts';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { parseEnv } from '../shared/env.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { type RolloutEnv, RolloutEnvSchema } from '../shared/rollouts/config.ts';
import { ExecutionRefSchema, WorkflowFailureSchema } from '../shared/step-requests.ts';
import { stepFunctionsCallbacks } from '../shared/task-callbacks.ts';
import { parseOrThrow } from '../shared/validation.ts';
import * as steps from './steps.ts';

/** The actions a Lambda task of the workflow asks for (workflows/release-train.ts). */
export const TRAIN_STEP_ACTIONS = ['validate', 'start', 'open-wave', 'admit', 'result', 'finish'] as const;

export const RequestSchema = z.object({
  action: z.enum(TRAIN_STEP_ACTIONS),
  /** validate: the console input and the execution ($$.Execution.Id and .Name). */
  input: z.optional(z.unknown()),
  execution: z.optional(ExecutionRefSchema),
  /** start: the plan validate returned. */
  plan: z.optional(z.unknown()),
  /** Every later action: the train, and the wave or service the Map state is at. */
  train: z.optional(z.unknown()),
  wave: z.optional(z.unknown()),
  service: z.optional(z.unknown()),
  /** result: the rollout's execution name, and the error its task failed with (absent: it succeeded). */
  executionName: z.optional(z.string().check(z.minLength(1))),
  failure: z.optional(WorkflowFailureSchema),
});

let env: RolloutEnv | undefined;

function required<T>(value: T | undefined, field: string, action: string): T {
  if (value === undefined) throw new InvalidInputError(field, `is required for ${action}`);
  return value;
}

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown): Promise<unknown> => {
    const request = parseOrThrow(RequestSchema, event);
    env ??= parseEnv(RolloutEnvSchema);
    const deps: steps.TrainDeps = {
      db: documentClient(),
      ecs: awsClient(ECSClient),
      elb: awsClient(ElasticLoadBalancingV2Client),
      sqs: () => awsClient(SQSClient),
      cloudwatch: () => awsClient(CloudWatchClient),
      callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
      clock,
      env,
    };
    const a = request.action;
    if (a === 'validate')
      return steps.validate(deps, request.input, required(request.execution, 'execution', a));
    if (a === 'start') return steps.start(deps, required(request.plan, 'plan', a) as steps.TrainPlan);
    // Later steps receive what the train's own states built: the workflow is their only caller.
    const train = required(request.train, 'train', a) as steps.TrainRef;
    logger.info('Train step', { action: a, train: train.id });
    switch (a) {
      case 'open-wave':
        return steps.openWave(deps, train, required(request.wave, 'wave', a) as steps.PlannedWave);
      case 'admit':
        return steps.admit(deps, train, required(request.service, 'service', a) as steps.PlannedService);
      case 'result':
        return steps.recordResult(
          deps,
          train,
          required(request.service, 'service', a) as steps.PlannedService,
          required(request.executionName, 'executionName', a),
          request.failure,
        );
      case 'finish':
        return steps.finish(deps, train, request.failure);
    }
  });
}

export const handler = createHandler();
