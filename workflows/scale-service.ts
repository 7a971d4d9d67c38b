// Scale one ECS service inside its safety envelope. The Lambda step decides (guardrails, leases,
// capacity), the change itself goes through SDK integrations (ecs:updateService for the desired
// count, application-autoscaling:registerScalableTarget for min/max), then the step reads the
// service back until it reached the new count or the verification deadline, and journals and
// alerts from what to what and why. Decisions that change nothing end early with the reason.

import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DESIRED_COUNT_DIMENSION } from '../events/scale-input.ts';
import { catchEverything, retrySdkTransientErrors } from './shared/error-handling.ts';
import { actionSteps } from './shared/lambda-step.ts';
import { failureCleanup, rejectInvalidInput } from './shared/standard-states.ts';
import { loggedStateMachine } from './shared/state-machine.ts';

export interface ScaleServiceWorkflowProps {
  /** functions/scale-service-step */
  readonly stepFunction: lambda.IFunction;
  /** ECS service ARNs the workflow may update (the scaled services). */
  readonly serviceArns: readonly string[];
  /** How often to read the service back while it moves to the new count. */
  readonly pollInterval?: Duration;
}

export const SCALE_SERVICE_STATES = {
  validate: 'Validate input',
  rejected: 'Input rejected',
  decide: 'Decide',
  route: 'What to do?',
  reported: 'Decision reported',
  raiseCapacity: 'Raise capacity first',
  setDesired: 'Set desired count',
  setLimits: 'Set scalable target limits',
  verify: 'Read back',
  reached: 'Reached?',
  wait: 'Wait for the service',
  finish: 'Journal and alert',
  verified: 'Verified?',
  notReached: 'Not reached in time',
  scaled: 'Scaled',
  abort: 'Clean up after failure',
  failed: 'Scaling failed',
} as const;

export class ScaleServiceWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** What RegisterScalableTarget is granted on: this account's and region's scalable targets. */
  readonly scalableTargetArns: string[];

  constructor(scope: Construct, id: string, props: ScaleServiceWorkflowProps) {
    super(scope, id);
    const S = SCALE_SERVICE_STATES;

    // A step that meets another workflow's lease tries again, besides the transient errors.
    const step = actionSteps(this, props.stepFunction, { retryAlso: ['LockHeld'] });

    const validate = step(S.validate, 'validate', {
      'input.$': '$',
      execution: { 'id.$': '$$.Execution.Id', 'name.$': '$$.Execution.Name' },
    });
    rejectInvalidInput(this, S.rejected, validate);

    const decide = step(S.decide, 'decide', { 'request.$': '$' });

    // Failures after the decision: release the leases, journal and alert, then fail visibly.
    const { cleanup, onFailure } = failureCleanup(
      this,
      S.failed,
      step(S.abort, 'abort', { 'plan.$': '$', 'failure.$': '$.failure' }, '$.cleanup'),
    );

    const raiseCapacity = step(S.raiseCapacity, 'raise-capacity', { 'plan.$': '$' });
    catchEverything(raiseCapacity, cleanup, onFailure);

    const setDesired = new tasks.CallAwsService(this, S.setDesired, {
      service: 'ecs',
      action: 'updateService',
      iamAction: 'ecs:UpdateService',
      parameters: {
        Cluster: sfn.JsonPath.stringAt('$.request.cluster'),
        Service: sfn.JsonPath.stringAt('$.request.service'),
        DesiredCount: sfn.JsonPath.numberAt('$.to.desiredCount'),
      },
      iamResources: [...props.serviceArns],
      resultPath: sfn.JsonPath.DISCARD,
    });
    retrySdkTransientErrors(setDesired, 'Ecs');
    catchEverything(setDesired, cleanup, onFailure);

    this.scalableTargetArns = [
      Stack.of(this).formatArn({
        service: 'application-autoscaling',
        resource: 'scalable-target',
        resourceName: '*',
      }),
    ];
    const setLimits = new tasks.CallAwsService(this, S.setLimits, {
      service: 'applicationautoscaling',
      action: 'registerScalableTarget',
      iamAction: 'application-autoscaling:RegisterScalableTarget',
      parameters: {
        ServiceNamespace: 'ecs',
        ScalableDimension: DESIRED_COUNT_DIMENSION,
        ResourceId: sfn.JsonPath.stringAt('$.resourceId'),
        MinCapacity: sfn.JsonPath.numberAt('$.to.min'),
        MaxCapacity: sfn.JsonPath.numberAt('$.to.max'),
      },
      // Scalable target ARNs carry a generated id, so not a name: this account and region, and
      // (the denies below) ECS services' desired count only.
      iamResources: this.scalableTargetArns,
      resultPath: sfn.JsonPath.DISCARD,
    });
    retrySdkTransientErrors(setLimits, 'ApplicationAutoScaling');
    catchEverything(setLimits, cleanup, onFailure);

    const verify = step(S.verify, 'verify', { 'plan.$': '$' });
    catchEverything(verify, cleanup, onFailure);
    const wait = new sfn.Wait(this, S.wait, {
      time: sfn.WaitTime.duration(props.pollInterval ?? Duration.seconds(10)),
    });
    const finish = step(S.finish, 'finish', { 'plan.$': '$' });
    catchEverything(finish, cleanup, onFailure);

    const verified = new sfn.Choice(this, S.verified)
      .when(
        sfn.Condition.stringEquals('$.verification.status', 'timed-out'),
        new sfn.Fail(this, S.notReached, { error: 'VerificationFailed', causePath: '$.summary' }),
      )
      .otherwise(new sfn.Succeed(this, S.scaled));
    const reached = new sfn.Choice(this, S.reached)
      .when(sfn.Condition.stringEquals('$.verification.status', 'waiting'), wait.next(verify))
      .otherwise(finish.next(verified));
    setDesired.next(verify);
    setLimits.next(verify);
    verify.next(reached);

    const route = new sfn.Choice(this, S.route)
      .when(
        sfn.Condition.and(
          sfn.Condition.stringEquals('$.decision', 'scale'),
          sfn.Condition.booleanEquals('$.needsCapacity', true),
        ),
        raiseCapacity.next(setDesired),
      )
      .when(sfn.Condition.stringEquals('$.decision', 'scale'), setDesired)
      .when(sfn.Condition.stringEquals('$.decision', 'set-limits'), setLimits)
      .otherwise(
        new sfn.Succeed(this, S.reported, { comment: 'no-change, refused or dry-run: the output says why' }),
      );

    const definition = validate.next(decide).next(route);

    // The verification deadline is at most an hour; this only stops a run that lost its way.
    this.stateMachine = loggedStateMachine(this, definition, {
      timeout: Duration.hours(2),
      logLevel: sfn.LogLevel.ALL,
      logRetention: logs.RetentionDays.THREE_MONTHS,
    });
    const ecsNamespace = { 'application-autoscaling:service-namespace': 'ecs' };
    const desiredCount = { 'application-autoscaling:scalable-dimension': DESIRED_COUNT_DIMENSION };
    for (const [sid, condition] of [
      ['OnlyEcsScalableTargets', ecsNamespace],
      ['OnlyDesiredCount', desiredCount],
    ] as const)
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          actions: ['application-autoscaling:RegisterScalableTarget'],
          resources: ['*'],
          conditions: { StringNotEquals: condition },
        }),
      );
  }
}
