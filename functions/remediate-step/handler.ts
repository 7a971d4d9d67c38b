// The decision steps of the remediate-alarm workflow: one function, one action per state
// (validate, decide, open-gate, close-gate, execute, record, verify, finish, abort); see decide.ts, approval-gate.ts and
// run-and-verify.ts (overview in remediate.ts).
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import * as z from '../../events/zod.ts';
import { awsClient } from '../shared/clients.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { documentClient } from '../shared/dynamo.ts';
import { publishOutcomeMetrics } from '../shared/emf.ts';
import { parseEnv } from '../shared/env.ts';
import { lambdaHandler } from '../shared/lambda-handler.ts';
import { logger } from '../shared/logger.ts';
import { AbortRequestSchema, ValidateRequestSchema } from '../shared/step-requests.ts';
import { stepFunctionsCallbacks } from '../shared/task-callbacks.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { type RemediateStepEnv, RemediateStepEnvSchema } from './config.ts';
import { remediationMetrics } from './metrics.ts';
import {
  abortRemediation,
  closeApprovalGate,
  decideRemediation,
  executeRunbook,
  finishRemediation,
  openApprovalGate,
  type RemediateDeps,
  recordRunbookResult,
  validateRemediation,
  verifyRemediation,
} from './remediate.ts';

export const StepRequestSchema = z.discriminatedUnion('action', [
  ValidateRequestSchema,
  z.object({ action: z.literal('decide'), plan: z.unknown() }),
  z.object({ action: z.literal('open-gate'), plan: z.unknown(), token: z.string().check(z.minLength(1)) }),
  z.object({ action: z.literal('close-gate'), plan: z.unknown() }),
  z.object({ action: z.literal('execute'), plan: z.unknown() }),
  z.object({ action: z.literal('record'), plan: z.unknown() }),
  z.object({ action: z.literal('verify'), plan: z.unknown() }),
  z.object({ action: z.literal('finish'), plan: z.unknown() }),
  AbortRequestSchema,
]);

let env: RemediateStepEnv | undefined;

export function createHandler(options: { clock?: Clock } = {}) {
  const clock = options.clock ?? systemClock;
  return lambdaHandler(async (event: unknown): Promise<RemediationPlan> => {
    const step = parseOrThrow(StepRequestSchema, event);
    env ??= parseEnv(RemediateStepEnvSchema);
    if (step.action === 'validate') {
      return validateRemediation(
        { cloudwatch: awsClient(CloudWatchClient), clock },
        step.input,
        step.execution,
      );
    }
    const deps: RemediateDeps = {
      cloudwatch: awsClient(CloudWatchClient),
      ecs: awsClient(ECSClient),
      elb: awsClient(ElasticLoadBalancingV2Client),
      sqs: awsClient(SQSClient),
      db: documentClient(),
      clock,
      env,
      // Built per invocation, as every other client: none is constructed at init.
      callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
    };
    // The workflow passes its own state back: typed by the step that wrote it.
    const plan = step.plan as RemediationPlan;
    let out: RemediationPlan;
    switch (step.action) {
      case 'decide':
        out = await decideRemediation(deps, plan);
        break;
      case 'open-gate':
        out = await openApprovalGate(deps, plan, step.token);
        break;
      case 'close-gate':
        out = await closeApprovalGate(deps, plan);
        break;
      case 'execute':
        out = await executeRunbook(deps, plan);
        break;
      case 'record':
        out = await recordRunbookResult(deps, plan);
        break;
      case 'verify':
        out = await verifyRemediation(deps, plan);
        break;
      case 'finish':
        out = await finishRemediation(deps, plan);
        break;
      case 'abort':
        out = await abortRemediation(deps, {
          plan: step.plan,
          ...(step.failure ? { failure: step.failure } : {}),
        });
        break;
    }
    publishOutcomeMetrics(remediationMetrics(step.action, out));
    logger.info('Remediation step', {
      action: step.action,
      alarm: out.alarm?.name,
      decision: out.decision,
      outcome: out.outcome,
      verification: out.verification?.status,
      summary: out.summary,
    });
    return out;
  });
}

export const handler = createHandler();
