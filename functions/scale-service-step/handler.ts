// The decision step of the scale-service workflow: one function, one action per state
// (validate, decide, raise-capacity, verify, finish, abort); see scale.ts.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ScalePlan, ScaleRequest } from '../../events/scale-input.ts';
import * as z from '../../events/zod.ts';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { publishOutcomeMetrics } from '../shared/emf.ts';
import { parseEnv } from '../shared/env.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { AbortRequestSchema, ValidateRequestSchema } from '../shared/step-requests.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { type ScaleStepEnv, ScaleStepEnvSchema } from './config.ts';
import { scaleMetrics } from './metrics.ts';
import {
  abortScale,
  decideScale,
  finishScale,
  raiseCapacity,
  type ScaleDeps,
  validateRequest,
  verifyScale,
} from './scale.ts';

export const StepRequestSchema = z.discriminatedUnion('action', [
  ValidateRequestSchema,
  z.object({ action: z.literal('decide'), request: z.unknown() }),
  z.object({ action: z.literal('raise-capacity'), plan: z.unknown() }),
  z.object({ action: z.literal('verify'), plan: z.unknown() }),
  z.object({ action: z.literal('finish'), plan: z.unknown() }),
  AbortRequestSchema,
]);

let env: ScaleStepEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown): Promise<ScaleRequest | ScalePlan> => {
    const step = parseOrThrow(StepRequestSchema, event);
    env ??= parseEnv(ScaleStepEnvSchema);
    if (step.action === 'validate') {
      return validateRequest({ ecs: awsClient(ECSClient), clock, env }, step.input, step.execution);
    }
    const deps: ScaleDeps = {
      ecs: awsClient(ECSClient),
      autoscaling: awsClient(AutoScalingClient),
      aas: awsClient(ApplicationAutoScalingClient),
      sqs: awsClient(SQSClient),
      db: documentClient(),
      clock,
      env,
    };
    let plan: ScalePlan;
    switch (step.action) {
      case 'decide':
        plan = await decideScale(deps, step.request);
        break;
      case 'raise-capacity':
        plan = await raiseCapacity(deps, step.plan);
        break;
      case 'verify':
        plan = await verifyScale(deps, step.plan);
        break;
      case 'finish':
        plan = await finishScale(deps, step.plan);
        break;
      case 'abort':
        plan = await abortScale(deps, {
          plan: step.plan,
          ...(step.failure ? { failure: step.failure } : {}),
        });
        break;
    }
    publishOutcomeMetrics(scaleMetrics(step.action, plan));
    logger.info('Scale step', {
      action: step.action,
      decision: plan.decision,
      summary: plan.summary,
      verification: plan.verification?.status,
    });
    return plan;
  });
}

export const handler = createHandler();
