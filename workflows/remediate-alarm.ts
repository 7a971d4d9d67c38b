// Remediate one alarm transition. The Lambda step decides (runbook, guards, lease), an approval
// gate waits on a task token for risky runbooks, the runbook runs (scale-out as a nested
// scale-service execution, force-new-deployment as an SDK task, the others in the step), then
// the alarm is watched until it is OK or the window ends; if it is not OK, the workflow escalates
// once and ends FAILED with NotRemediated. It never retries a runbook: no loop acts twice.

import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { catchEverything, retrySdkTransientErrors } from './shared/error-handling.ts';
import { actionSteps, callbackStep } from './shared/lambda-step.ts';
import { failureCleanup, rejectInvalidInput } from './shared/standard-states.ts';
import { loggedStateMachine } from './shared/state-machine.ts';

export interface RemediateAlarmWorkflowProps {
  /** functions/remediate-step */
  readonly stepFunction: lambda.IFunction;
  /** The scale-service workflow the scale-out runbook runs (absent: no service is scaled). */
  readonly scaleStateMachine?: sfn.IStateMachine;
  /** ECS services the force-new-deployment runbook may update. */
  readonly serviceArns: readonly string[];
}

export const REMEDIATE_ALARM_STATES = {
  validate: 'Validate input',
  rejected: 'Input rejected',
  decide: 'Decide',
  route: 'What to do?',
  reported: 'Decision reported',
  gate: 'Wait for approval',
  gateTimedOut: 'Approval timed out',
  closeGate: 'Approval answered',
  approved: 'Approved?',
  notApproved: 'Not approved',
  whichRunbook: 'Which runbook?',
  runStep: 'Run runbook',
  scaleOut: 'Scale out',
  forceDeployment: 'Force new deployment',
  record: 'Record runbook result',
  ended: 'Ended already?',
  wait: 'Wait for the alarm',
  verify: 'Check the alarm',
  recovered: 'Recovered?',
  finish: 'Journal and alert',
  outcome: 'Remediated?',
  remediated: 'Remediated',
  escalated: 'Escalated',
  abort: 'Clean up after failure',
  failed: 'Remediation failed',
} as const;

export class RemediateAlarmWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: RemediateAlarmWorkflowProps) {
    super(scope, id);
    const S = REMEDIATE_ALARM_STATES;

    const step = actionSteps(this, props.stepFunction);

    const validate = step(S.validate, 'validate', {
      'input.$': '$',
      execution: { 'id.$': '$$.Execution.Id', 'name.$': '$$.Execution.Name' },
    });
    rejectInvalidInput(this, S.rejected, validate);
    const decide = step(S.decide, 'decide', { 'plan.$': '$' });

    // After the decision: release the lease, journal and alert, then fail visibly. Never a retry of the runbook.
    const { cleanup, onFailure } = failureCleanup(
      this,
      S.failed,
      step(S.abort, 'abort', { 'plan.$': '$', 'failure.$': '$.failure' }, '$.cleanup'),
    );

    // Verification: watch the alarm until it is OK or the window ends; then journal and alert once.
    const finish = step(S.finish, 'finish', { 'plan.$': '$' });
    catchEverything(finish, cleanup, onFailure);
    const outcome = new sfn.Choice(this, S.outcome)
      .when(
        sfn.Condition.stringEquals('$.outcome', 'escalated'),
        new sfn.Fail(this, S.escalated, { error: 'NotRemediated', causePath: '$.summary' }),
      )
      .otherwise(new sfn.Succeed(this, S.remediated));
    finish.next(outcome);
    const verify = step(S.verify, 'verify', { 'plan.$': '$' });
    catchEverything(verify, cleanup, onFailure);
    const wait = new sfn.Wait(this, S.wait, { time: sfn.WaitTime.secondsPath('$.verification.pollSeconds') });
    const recovered = new sfn.Choice(this, S.recovered)
      .when(sfn.Condition.stringEquals('$.verification.status', 'waiting'), wait)
      .otherwise(finish);
    wait.next(verify).next(recovered);
    // Runbooks that ended in their own step (notify-only, nothing scaled) carry an outcome already.
    const ended = new sfn.Choice(this, S.ended)
      .when(sfn.Condition.isPresent('$.outcome'), outcome)
      .otherwise(wait);

    const runStep = step(S.runStep, 'execute', { 'plan.$': '$' });
    catchEverything(runStep, cleanup, onFailure);
    runStep.next(ended);
    const record = step(S.record, 'record', { 'plan.$': '$' });
    catchEverything(record, cleanup, onFailure);
    record.next(ended);

    // A runbook's own states, chosen by its kind; every other kind runs in the step.
    const runbookStates: [kind: string, state: sfn.IChainable][] = [];
    // Only when a runbook forces a deployment: the grant is on exactly those services.
    if (props.serviceArns.length > 0) {
      const forceDeployment = new tasks.CallAwsService(this, S.forceDeployment, {
        service: 'ecs',
        action: 'updateService',
        iamAction: 'ecs:UpdateService',
        parameters: {
          Cluster: sfn.JsonPath.stringAt('$.runbook.cluster'),
          Service: sfn.JsonPath.stringAt('$.runbook.service'),
          ForceNewDeployment: true,
        },
        iamResources: [...props.serviceArns],
        resultPath: sfn.JsonPath.DISCARD,
      });
      retrySdkTransientErrors(forceDeployment, 'Ecs');
      catchEverything(forceDeployment, cleanup, onFailure);
      forceDeployment.next(record);
      runbookStates.push(['force-new-deployment', forceDeployment]);
    }
    if (props.scaleStateMachine) {
      // The scaling workflow's guardrails decide how far; its execution is named after ours
      // (idempotent), by the step, which keeps the name within 80 characters.
      const scaleOut = new tasks.StepFunctionsStartExecution(this, S.scaleOut, {
        stateMachine: props.scaleStateMachine,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        input: sfn.TaskInput.fromJsonPathAt('$.runbook.scaleInput'),
        name: sfn.JsonPath.stringAt('$.runbook.scaleExecutionName'),
        associateWithParent: false,
        resultSelector: { 'Output.$': '$.Output', 'ExecutionArn.$': '$.ExecutionArn' },
        resultPath: '$.result',
      });
      catchEverything(scaleOut, cleanup, onFailure);
      scaleOut.next(record);
      runbookStates.push(['scale-out', scaleOut]);
    }
    let whichRunbook: sfn.IChainable = runStep;
    if (runbookStates.length > 0) {
      const choice = new sfn.Choice(this, S.whichRunbook);
      for (const [kind, state] of runbookStates)
        choice.when(sfn.Condition.stringEquals('$.runbook.kind', kind), state);
      whichRunbook = choice.otherwise(runStep);
    }

    // Approval for risky runbooks: the alert says how to answer; no answer in time takes the default.
    const gate = callbackStep(this, S.gate, {
      lambdaFunction: props.stepFunction,
      payload: { action: 'open-gate', 'plan.$': '$' },
      // Nothing sends heartbeats, so this is the gate's timeout, per runbook (as in rollouts).
      heartbeatTimeout: sfn.Timeout.at('$.approval.timeoutSeconds'),
      resultPath: '$.answer',
    });
    const timedOut = new sfn.Pass(this, S.gateTimedOut, {
      parameters: { 'decision.$': '$.approval.defaultAction', by: 'timeout' },
      resultPath: '$.answer',
    });
    const closeGate = step(S.closeGate, 'close-gate', { 'plan.$': '$' });
    catchEverything(closeGate, cleanup, onFailure);
    gate.addCatch(timedOut, {
      errors: ['States.HeartbeatTimeout', 'States.Timeout'],
      resultPath: '$.timeout',
    });
    catchEverything(gate, cleanup, onFailure);
    timedOut.next(closeGate);
    gate.next(closeGate);
    const approved = new sfn.Choice(this, S.approved)
      .when(sfn.Condition.stringEquals('$.decision', 'execute'), whichRunbook)
      .otherwise(new sfn.Succeed(this, S.notApproved, { comment: 'Rejected or timed out: nothing changed' }));
    closeGate.next(approved);

    const route = new sfn.Choice(this, S.route)
      .when(sfn.Condition.stringEquals('$.decision', 'execute'), whichRunbook)
      .when(sfn.Condition.stringEquals('$.decision', 'approve'), gate)
      .otherwise(
        new sfn.Succeed(this, S.reported, {
          comment: 'resolved, unknown alarm, skipped, refused or dry run: the output says why',
        }),
      );
    const definition = validate.next(decide).next(route);

    // Approval (at most a day) plus the verification window (at most an hour), with room.
    this.stateMachine = loggedStateMachine(this, definition, {
      timeout: Duration.hours(27),
      logLevel: sfn.LogLevel.ALL,
      logRetention: logs.RetentionDays.THREE_MONTHS,
    });
  }
}
