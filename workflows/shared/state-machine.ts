// The state machine every workflow is: standard (exactly-once steps, a year of history), traced,
// and logged without execution data, because states carry task tokens and operators' reasons.
import type { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

export interface LoggedStateMachineProps {
  /** The backstop: an execution still running after this has lost its way. */
  timeout: Duration;
  /** ALL where an operator follows executions step by step; ERROR where the journal says enough. */
  logLevel: sfn.LogLevel;
  logRetention: logs.RetentionDays;
}

/** The workflow's state machine and its log group, as `Resource` and `Logs` in the workflow's scope. */
export function loggedStateMachine(
  scope: Construct,
  definition: sfn.IChainable,
  props: LoggedStateMachineProps,
): sfn.StateMachine {
  return new sfn.StateMachine(scope, 'Resource', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    stateMachineType: sfn.StateMachineType.STANDARD,
    timeout: props.timeout,
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'Logs', { retention: props.logRetention }),
      level: props.logLevel,
      includeExecutionData: false,
    },
  });
}
