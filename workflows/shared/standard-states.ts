// The states every workflow begins and fails with, written once: the first state validates the
// input and an invalid one ends the execution with the field named and nothing changed; a
// failure after the decision runs the workflow's clean-up step, then fails visibly.

import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { catchEverything } from './error-handling.ts';
import { lambdaStep } from './lambda-step.ts';

/**
 * The first state: `fn` validates the console input (`$`) with the execution's id and name, and an
 * InvalidInput ends the execution in `rejectedId`, the field named, nothing changed.
 */
export function validateInputStep(
  scope: Construct,
  stateId: string,
  rejectedId: string,
  fn: lambda.IFunction,
): sfn.TaskStateBase {
  const validate = lambdaStep(scope, stateId, {
    lambdaFunction: fn,
    payload: {
      action: 'validate',
      'input.$': '$',
      execution: { 'id.$': '$$.Execution.Id', 'name.$': '$$.Execution.Name' },
    },
  });
  rejectInvalidInput(scope, rejectedId, validate);
  return validate;
}

/** Sends the first state's InvalidInput to a Fail state that carries its error and cause. */
export function rejectInvalidInput(scope: Construct, rejectedId: string, validate: sfn.TaskStateBase): void {
  validate.addCatch(
    new sfn.Fail(scope, rejectedId, {
      comment: 'The input failed validation; the error names the field. Nothing was changed.',
      errorPath: '$.Error',
      causePath: '$.Cause',
    }),
    { errors: ['InvalidInput'] },
  );
}

export interface FailureCleanup {
  /** Where a failing state goes: the clean-up step, then the Fail state. */
  cleanup: sfn.Chain;
  /** How a failing state is caught: its error kept at $.failure for the clean-up and the Fail. */
  onFailure: sfn.CatchProps;
}

/**
 * The way out after a failure: `abort` (release the leases, journal, alert; its result beside
 * $.failure) runs even if it fails itself, then the workflow fails with the original error.
 */
export function failureCleanup(scope: Construct, failedId: string, abort: sfn.TaskStateBase): FailureCleanup {
  const failed = new sfn.Fail(scope, failedId, {
    errorPath: '$.failure.Error',
    causePath: '$.failure.Cause',
  });
  catchEverything(abort, failed, { resultPath: sfn.JsonPath.DISCARD });
  return { cleanup: abort.next(failed), onFailure: { resultPath: '$.failure' } };
}
