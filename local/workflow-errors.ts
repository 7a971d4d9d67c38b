// The error names Step Functions gives a failed state, so that Retry and Catch match on the rig as
// they do on AWS: States.*, Lambda's errors, and <Service>.<Exception> for SDK integrations.
import type { AslState } from './workflow-asl.ts';
import type { OptimizedIntegration, SdkService } from './workflow-integrations.ts';

// ---------------------------------------------------------------------------------------------
// Errors raised into the state machine

export function stateError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/**
 * States.DataLimitExceeded is terminal: States.ALL and States.TaskFailed do not match it, only a
 * retrier or catcher that names it (and comes before any wildcard) does.
 */
export function dataLimitError(state: AslState | undefined, cause: string): Error {
  const namedFirst = (handlers: { ErrorEquals: string[] }[] | undefined) => {
    for (const handler of handlers ?? []) {
      if (handler.ErrorEquals.includes('States.DataLimitExceeded')) return true;
      if (handler.ErrorEquals.some((e) => e === 'States.ALL' || e === 'States.TaskFailed')) return false;
    }
    return false;
  };
  return Object.assign(stateError('States.DataLimitExceeded', cause), {
    isRetryable: namedFirst(state?.Retry),
    isCatchable: namedFirst(state?.Catch),
  });
}

/** States.Runtime: neither retried nor caught; the execution fails. */
export function runtimeError(cause: string): Error {
  return Object.assign(stateError('States.Runtime', cause), { isRetryable: false, isCatchable: false });
}

/** What Step Functions reports for a failed Lambda: Error = errorType, Cause = the JSON error. */
export function lambdaFunctionError(thrown: unknown): Error {
  const errorType = thrown instanceof Error ? thrown.name : 'Error';
  const errorMessage = thrown instanceof Error ? thrown.message : String(thrown);
  return stateError(errorType, JSON.stringify({ errorType, errorMessage }));
}

export interface ErrorNaming {
  prefix: string;
  /** The name used when the service's error is not modeled in the SDK. */
  unmodeled: string;
  /** Cause text the way the Java SDK behind the integration formats it. */
  cause(message: string, status: number | undefined, code: string, requestId: string | undefined): string;
}

export function sdkNaming(service: SdkService): ErrorNaming {
  return {
    prefix: service.prefix,
    unmodeled: `${service.prefix}Exception`,
    cause: (message, status, _code, requestId) =>
      `${message} (Service: ${service.prefix}, Status Code: ${status ?? 0}, Request ID: ${requestId ?? 'null'})`,
  };
}

export function optimizedNaming(integration: OptimizedIntegration): ErrorNaming {
  return {
    prefix: integration.prefix,
    unmodeled: integration.unmodeled,
    cause: (message, status, code, requestId) =>
      `${message} (Service: ${integration.serviceLabel}; Status Code: ${status ?? 0}; Error Code: ${code}; Request ID: ${requestId ?? 'null'}; Proxy: null)`,
  };
}

// Step Functions names SDK errors <Service>.<Name>, always with the Exception suffix.
export function awsStateError(thrown: unknown, naming: ErrorNaming, baseException: unknown): Error {
  const error = thrown as {
    name?: string;
    message?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  // A problem of the rig itself (an operation the IAM table lacks) is no task error to catch.
  if ((thrown as { isCatchable?: boolean } | undefined)?.isCatchable === false) return thrown as Error;
  const message = error?.message ?? String(thrown);
  if (!error || typeof error !== 'object' || error.$fault === undefined) {
    // No service response (connection refused, timeout): the SDK's client-side failure.
    return stateError(`${naming.prefix}.SdkClientException`, message);
  }
  const code = error.name ?? 'UnknownError';
  const unmodeled =
    typeof baseException === 'function' && Object.getPrototypeOf(error) === baseException.prototype;
  const name = unmodeled ? naming.unmodeled : code.endsWith('Exception') ? code : `${code}Exception`;
  return stateError(
    `${naming.prefix}.${name}`,
    naming.cause(message, error.$metadata?.httpStatusCode, code, error.$metadata?.requestId),
  );
}
