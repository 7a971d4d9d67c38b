// Surge-then-drain for rebalance recommendations: replacement capacity was requested by
// the spot-interruption function; this loop waits until replacements have registered
// (then drains the at-risk instances) or until the interruption warning drained them.
// One Lambda holds the decisions; the state machine only loops and waits, so state
// transitions grow with the wait, bounded by the surge deadline in the input.

import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { lambdaStep } from './shared/lambda-step.ts';
import { rejectInvalidInput } from './shared/standard-states.ts';
import { loggedStateMachine } from './shared/state-machine.ts';

export interface SpotSurgeWorkflowProps {
  /** functions/spot-surge-step */
  readonly stepFunction: lambda.IFunction;
  /** How often to look for registered replacements. */
  readonly pollInterval?: Duration;
}

export const SPOT_SURGE_STATES = {
  validate: 'Validate input',
  check: 'Check replacements',
  decide: 'Replacements ready?',
  wait: 'Wait for replacements',
  done: 'Surge finished',
  rejected: 'Input rejected',
} as const;

export class SpotSurgeWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: SpotSurgeWorkflowProps) {
    super(scope, id);
    const S = SPOT_SURGE_STATES;

    const validate = lambdaStep(this, S.validate, {
      lambdaFunction: props.stepFunction,
      payload: { action: 'start', 'input.$': '$' },
    });
    rejectInvalidInput(this, S.rejected, validate);

    const check = lambdaStep(this, S.check, {
      lambdaFunction: props.stepFunction,
      payload: { action: 'check', 'surge.$': '$' },
    });

    const wait = new sfn.Wait(this, S.wait, {
      time: sfn.WaitTime.duration(props.pollInterval ?? Duration.seconds(15)),
    });
    const done = new sfn.Succeed(this, S.done);

    const decide = new sfn.Choice(this, S.decide)
      .when(sfn.Condition.stringEquals('$.status', 'waiting'), wait.next(check))
      .otherwise(done);

    const definition = validate.next(check).next(decide);

    this.stateMachine = loggedStateMachine(this, definition, {
      timeout: Duration.hours(2),
      logLevel: sfn.LogLevel.ERROR,
      logRetention: logs.RetentionDays.THREE_MONTHS,
    });
  }
}
