// The error names every workflow retries and catches, written once. Step Functions matches
// names exactly, so each list holds the names the integrations really raise:
// - a Lambda step fails with the error's name as the function threw it (errorType): the AWS SDK
//   error names our functions let through when an AWS call stays throttled or faulted;
// - an AWS SDK task fails with <Service>.<Exception>; an error the service does not model (ECS
//   throttling among them) arrives as <Service>.<Service>Exception, and a call that got no
//   response (reset, timeout) as <Service>.SdkClientException.
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** Throttling and transient faults of AWS calls made by our functions (after the SDK's own retries). */
export const FUNCTION_TRANSIENT_ERRORS = [
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'ServerException',
  'TimeoutError',
];

/** Lambda's own transient errors, which a lambda:invoke task should retry. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

// Modeled transient errors per service, besides the unmodeled and no-response names.
const MODELED_TRANSIENT = {
  Ecs: ['ServerException'],
  ApplicationAutoScaling: ['ConcurrentUpdateException', 'InternalServiceException'],
};

/** What an AWS SDK task of `service` (Step Functions' prefix: Ecs, ApplicationAutoScaling, ...) should retry. */
export function sdkTransientErrors(service: keyof typeof MODELED_TRANSIENT): string[] {
  return [
    `${service}.${service}Exception`,
    `${service}.ThrottlingException`,
    `${service}.SdkClientException`,
    ...MODELED_TRANSIENT[service].map((name) => `${service}.${name}`),
  ];
}

/**
 * The one retry policy of AWS SDK tasks: their services' transient errors, six attempts with
 * exponential backoff and full jitter, so that parallel executions do not retry in step.
 */
export function retrySdkTransientErrors(
  task: { addRetry(props: sfn.RetryProps): unknown },
  ...services: (keyof typeof MODELED_TRANSIENT)[]
): void {
  task.addRetry({
    errors: services.flatMap(sdkTransientErrors),
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 6,
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/**
 * Sends every error to `handler`. States.ALL does not match States.DataLimitExceeded (a result
 * over 256 KiB), so that one is named first: a failure path must run whatever the failure.
 */
export function catchEverything(
  state: { addCatch(handler: sfn.IChainable, props?: sfn.CatchProps): unknown },
  handler: sfn.IChainable,
  props: Omit<sfn.CatchProps, 'errors'> = {},
): void {
  state.addCatch(handler, { ...props, errors: ['States.DataLimitExceeded'] });
  state.addCatch(handler, { ...props, errors: ['States.ALL'] });
}
