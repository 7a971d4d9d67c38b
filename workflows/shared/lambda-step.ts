// The Lambda tasks of every workflow, built one way: Lambda's own transient errors (the invoke
// never ran, or its answer was lost) are retried on every Lambda task; the AWS errors our
// functions let through are retried on the steps whose result is the function's answer.
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { FUNCTION_TRANSIENT_ERRORS, LAMBDA_SERVICE_ERRORS } from './error-handling.ts';

/**
 * Retries Lambda's own transient errors, as Step Functions recommends: a throttled invoke (which
 * never ran the function), Lambda failing, or its answer lost on the way.
 */
export function retryLambdaService(task: { addRetry(props: sfn.RetryProps): unknown }): void {
  task.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 6,
    jitterStrategy: sfn.JitterType.FULL,
  });
}

export interface LambdaStepProps {
  lambdaFunction: lambda.IFunction;
  /** The function's event; JSONPath values as `'key.$': '$.path'`. */
  payload: Record<string, unknown>;
  resultPath?: string;
  /** Errors of the function's own to retry as transient too (a lease another workflow holds). */
  retryAlso?: string[];
}

/** A step whose result is the function's answer, retried on Lambda's and on AWS's transient errors. */
export function lambdaStep(scope: Construct, id: string, props: LambdaStepProps): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: props.lambdaFunction,
    payload: sfn.TaskInput.fromObject(props.payload),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    ...(props.resultPath ? { resultPath: props.resultPath } : {}),
  });
  retryLambdaService(task);
  task.addRetry({
    errors: [...FUNCTION_TRANSIENT_ERRORS, ...(props.retryAlso ?? [])],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 5,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/**
 * The maker of a workflow's decision steps: each invokes the workflow's step function with
 * `{ action, ...payload }` and is retried as `lambdaStep` is.
 */
export function actionSteps(
  scope: Construct,
  lambdaFunction: lambda.IFunction,
  options: Pick<LambdaStepProps, 'retryAlso'> = {},
): (
  stateId: string,
  action: string,
  payload: Record<string, unknown>,
  resultPath?: string,
) => tasks.LambdaInvoke {
  return (stateId, action, payload, resultPath) =>
    lambdaStep(scope, stateId, {
      lambdaFunction,
      payload: { action, ...payload },
      ...(options.retryAlso ? { retryAlso: options.retryAlso } : {}),
      ...(resultPath ? { resultPath } : {}),
    });
}

/**
 * A step that waits for a callback (`token` in its payload). Only Lambda's own errors are retried,
 * not the function's: a function that failed after opening its gate must not open it again and
 * announce it twice. (An invoke whose answer Lambda lost may also have run; its second open
 * replaces the token with the live one, which is the one an answer must reach.)
 */
export function callbackStep(
  scope: Construct,
  id: string,
  props: Omit<LambdaStepProps, 'retryAlso'> & { heartbeatTimeout: sfn.Timeout },
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: props.lambdaFunction,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ ...props.payload, token: sfn.JsonPath.taskToken }),
    retryOnServiceExceptions: false,
    heartbeatTimeout: props.heartbeatTimeout,
    ...(props.resultPath ? { resultPath: props.resultPath } : {}),
  });
  retryLambdaService(task);
  return task;
}
