// The decision steps of the blue-green-rollout workflow: one function, one action per task.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from '../../events/zod.ts';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { publishOutcomeMetrics } from '../shared/emf.ts';
import { parseEnv } from '../shared/env.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { type RolloutEnv, RolloutEnvSchema } from '../shared/rollouts/config.ts';
import { parseState } from '../shared/rollouts/state.ts';
import { ExecutionRefSchema } from '../shared/step-requests.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { rolloutMetrics } from './metrics.ts';
import { judgeHook } from './pre-traffic.ts';
import * as steps from './steps.ts';

/** The actions a Lambda task of the workflow asks for (workflows/blue-green-rollout.ts). */
export const ROLLOUT_STEP_ACTIONS = [
  'validate',
  'lock',
  'start-failed',
  'prepare',
  'green-status',
  'pre-traffic',
  'pre-traffic-verdict',
  'pre-traffic-result',
  'shift',
  'open-gate',
  'close-gate',
  'promote',
  'open-window',
  'close-window',
  'finish',
  'restore-blue',
  'remove-green',
  'rolled-back',
  'freeze',
  'rollback-failed',
] as const;
export type RolloutStepAction = (typeof ROLLOUT_STEP_ACTIONS)[number];

export const RequestSchema = z.object({
  action: z.enum(ROLLOUT_STEP_ACTIONS),
  /** validate: the console input and the execution ($$.Execution.Id and .Name). */
  input: z.optional(z.unknown()),
  execution: z.optional(ExecutionRefSchema),
  /** Every other action: the workflow state. */
  state: z.optional(z.unknown()),
  /** pre-traffic-verdict: the hook's answer, or the error its invocation ended in. */
  answer: z.optional(z.unknown()),
  /** open-gate and open-window: the task token the gate waits on. */
  token: z.optional(z.string().check(z.minLength(1))),
});

let env: RolloutEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown): Promise<unknown> => {
    const request = parseOrThrow(RequestSchema, event);
    env ??= parseEnv(RolloutEnvSchema);
    const deps: steps.StepDeps = {
      ecs: awsClient(ECSClient),
      elb: awsClient(ElasticLoadBalancingV2Client),
      cloudwatch: () => awsClient(CloudWatchClient),
      sqs: () => awsClient(SQSClient),
      db: documentClient(),
      clock,
      env,
    };
    if (request.action === 'validate') {
      if (!request.execution) throw new InvalidInputError('execution', 'is required for validate');
      return steps.validate(deps, request.input, request.execution);
    }
    // Judged apart from the rollout's state, which the answer (up to 256 KiB) would not fit beside.
    if (request.action === 'pre-traffic-verdict') return judgeHook(request.answer);
    const state = parseState(request.state);
    const token = () => {
      if (!request.token) throw new InvalidInputError('token', `is required for ${request.action}`);
      return request.token;
    };
    logger.info('Rollout step', {
      action: request.action,
      rollout: state.rollout.id,
      step: state.progress.index,
      weight: state.progress.weight,
    });
    const result = await act(request.action, deps, state, token);
    publishOutcomeMetrics(rolloutMetrics(request.action, result, clock.now()));
    return result;
  });
}

/** The step an action asks for, on the rollout's state. */
async function act(
  action: Exclude<RolloutStepAction, 'validate' | 'pre-traffic-verdict'>,
  deps: steps.StepDeps,
  state: ReturnType<typeof parseState>,
  token: () => string,
): Promise<unknown> {
  switch (action) {
    case 'open-gate':
      return steps.openGate(deps, state, token());
    case 'open-window':
      return steps.openWindow(deps, state, token());
    case 'lock':
      return steps.lock(deps, state);
    case 'start-failed':
      return steps.startFailed(deps, state);
    case 'prepare':
      return steps.prepare(deps, state);
    case 'green-status':
      return steps.greenStatus(deps, state);
    case 'pre-traffic':
      return steps.preTraffic(deps, state);
    case 'pre-traffic-result':
      return steps.preTrafficResult(deps, state);
    case 'shift':
      return steps.shift(deps, state);
    case 'close-gate':
      return steps.closeGate(deps, state);
    case 'promote':
      return steps.promote(deps, state);
    case 'close-window':
      return steps.closeWindow(deps, state);
    case 'finish':
      return steps.finish(deps, state);
    case 'restore-blue':
      return steps.restoreBlue(deps, state);
    case 'remove-green':
      return steps.removeGreenStep(deps, state);
    case 'rolled-back':
      return steps.rolledBack(deps, state);
    case 'freeze':
      return steps.freeze(deps, state);
    case 'rollback-failed':
      return steps.rollbackFailed(deps, state);
  }
}

export const handler = createHandler();
