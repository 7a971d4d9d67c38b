// Blue/green rollout of an ECS service with the EXTERNAL deployment controller: take the service
// lock, create green beside blue, move production traffic in steps (each set on the listener and
// read back), bake, analyse, ask humans where the plan says so, promote, keep blue for a rollback
// window, retire blue. Any failure goes back to blue (traffic first, read back, then green) or,
// with onFailure=freeze, stops where it is. Decisions live in the rollout-step and
// rollout-analysis functions; the state machine only sequences, waits and retries.
// Before production traffic it can point the test listener at green and ask a pre-traffic hook
// (a Lambda function named in the input) whether green is fit. A verdict that would fail during
// a spot storm holds the weight and bakes again, within a bound.
// State transitions grow with the number of steps, never with bake time: one Wait per bake.

import { Aws, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { catchEverything, retrySdkTransientErrors } from './shared/error-handling.ts';
import { callbackStep, lambdaStep, retryLambdaService } from './shared/lambda-step.ts';
import { validateInputStep } from './shared/standard-states.ts';
import { loggedStateMachine } from './shared/state-machine.ts';

export interface BlueGreenRolloutWorkflowProps {
  /** functions/rollout-step */
  readonly stepFunction: lambda.IFunction;
  /** functions/rollout-analysis */
  readonly analysisFunction: lambda.IFunction;
  /** ECS service and task-set ARNs (patterns) the state machine may promote, scale and delete in. */
  readonly serviceArns: string[];
  readonly taskSetArns: string[];
  /** Lambda functions (ARN patterns) the state machine may invoke as pre-traffic hooks. */
  readonly preTrafficHookArns: string[];
  /** How often to look at green while it starts. */
  readonly greenPollInterval?: Duration;
}

export const ROLLOUT_STATES = {
  validate: 'Validate input',
  rejected: 'Input rejected',
  lock: 'Take service lock',
  alreadyRunning: 'Another rollout is running',
  startFailed: 'Release lock after failed start',
  notStarted: 'Start failed',
  prepare: 'Create green',
  greenStatus: 'Check green',
  greenReady: 'Green ready?',
  waitGreen: 'Wait for green',
  preTraffic: 'Pre-traffic checks',
  hookChoice: 'Pre-traffic hook?',
  runHook: 'Run pre-traffic hook',
  invokeHook: 'Invoke pre-traffic hook',
  judgeHook: 'Judge the answer',
  hookResult: 'Check pre-traffic hook',
  hookPassed: 'Pre-traffic hook passed?',
  approvalBeforeTraffic: 'Approval before traffic?',
  gateBeforeTraffic: 'Gate: before traffic',
  shift: 'Shift traffic',
  bake: 'Bake',
  analyse: 'Analyse',
  verdict: 'Verdict?',
  stormHold: 'Hold for the spot storm',
  gateInconclusive: 'Gate: inconclusive verdict',
  moreSteps: 'More steps?',
  approvalBeforeFinalize: 'Approval before finalize?',
  gateBeforeFinalize: 'Gate: before finalize',
  waitForApproval: 'Wait for approval',
  closeGate: 'Record the answer',
  gateDecision: 'Approved?',
  promote: 'Promote green',
  keepBlue: 'Rollback window?',
  window: 'Rollback window',
  closeWindow: 'Close rollback window',
  windowOutcome: 'Rolled back in the window?',
  scaleDownBlue: 'Scale blue to zero',
  terminationWait: 'Termination wait',
  deleteBlue: 'Delete blue',
  finish: 'Finish',
  complete: 'Rollout complete',
  onFailure: 'Roll back or freeze?',
  freeze: 'Freeze',
  frozen: 'Rollout frozen',
  restoreBlue: 'Restore blue traffic',
  removeGreen: 'Remove green',
  recordRollback: 'Record rollback',
  rolledBack: 'Rolled back',
  rollbackFailed: 'Rollback failed',
  rollbackIncomplete: 'Rollback incomplete',
} as const;

/** What a gate's wait ends with when nobody answers in time. */
const GATE_TIMEOUT_ERRORS = ['States.HeartbeatTimeout', 'States.Timeout'];

export class BlueGreenRolloutWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: BlueGreenRolloutWorkflowProps) {
    super(scope, id);
    const S = ROLLOUT_STATES;

    const step = (name: string, action: string) =>
      lambdaStep(this, name, { lambdaFunction: props.stepFunction, payload: { action, 'state.$': '$' } });
    /** A step of the way back: any error is retried with backoff before the rollback gives up. */
    const rollbackStep = (name: string, action: string) => {
      const task = step(name, action);
      task.addRetry({
        errors: ['States.ALL'],
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 4,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return task;
    };
    const gateTask = (name: string, action: string, timeoutPath: string) =>
      callbackStep(this, name, {
        lambdaFunction: props.stepFunction,
        payload: { action, 'state.$': '$' },
        resultPath: '$.answer',
        // Nothing sends heartbeats, so this is the gate's timeout. (A TimeoutSecondsPath would do
        // on AWS too, but the local executor evaluates it against the task's parameters.)
        heartbeatTimeout: sfn.Timeout.at(timeoutPath),
      });
    const onFailureProps = { resultPath: '$.failure' };

    // ---- the way back (or not) -----------------------------------------------------------------
    const rollbackFailed = rollbackStep(S.rollbackFailed, 'rollback-failed').next(
      new sfn.Fail(this, S.rollbackIncomplete, {
        comment: 'Going back to blue failed after retries; the lock is released and a critical alert raised.',
        error: 'RollbackFailed',
        causePath: '$.stop.reason',
      }),
    );
    const restoreBlue = rollbackStep(S.restoreBlue, 'restore-blue');
    const removeGreen = rollbackStep(S.removeGreen, 'remove-green');
    const recordRollback = rollbackStep(S.recordRollback, 'rolled-back');
    for (const task of [restoreBlue, removeGreen, recordRollback])
      catchEverything(task, rollbackFailed, { resultPath: '$.rollbackError' });
    restoreBlue
      .next(removeGreen)
      .next(recordRollback)
      .next(new sfn.Fail(this, S.rolledBack, { error: 'RolledBack', causePath: '$.stop.reason' }));
    const freeze = rollbackStep(S.freeze, 'freeze');
    catchEverything(freeze, rollbackFailed, { resultPath: '$.rollbackError' });
    freeze.next(new sfn.Fail(this, S.frozen, { error: 'RolloutFrozen', causePath: '$.stop.reason' }));
    const onFailure = new sfn.Choice(this, S.onFailure)
      .when(sfn.Condition.stringEquals('$.rollout.onFailure', 'freeze'), freeze)
      .otherwise(restoreBlue);

    // ---- start -------------------------------------------------------------------------------
    const validate = validateInputStep(this, S.validate, S.rejected, props.stepFunction);
    const lock = step(S.lock, 'lock');
    lock.addCatch(
      new sfn.Fail(this, S.alreadyRunning, {
        comment: 'Another execution holds the service lock; the cause names it. Nothing was changed.',
        errorPath: '$.Error',
        causePath: '$.Cause',
      }),
      { errors: ['LockHeld'] },
    );
    // Any other failure of the lock step may come after the lock was taken (a timeout after its
    // work): the lock is given back before the execution fails with the step's error.
    const startFailed = rollbackStep(S.startFailed, 'start-failed').next(
      new sfn.Fail(this, S.notStarted, {
        comment: 'The lock step failed; the lock was released. Nothing else had changed.',
        errorPath: '$.failure.Error',
        causePath: '$.failure.Cause',
      }),
    );
    catchEverything(lock, startFailed, { resultPath: '$.failure' });

    const prepare = step(S.prepare, 'prepare');
    const greenStatus = step(S.greenStatus, 'green-status');
    const shift = step(S.shift, 'shift');
    const analyse = lambdaStep(this, S.analyse, {
      lambdaFunction: props.analysisFunction,
      payload: { action: 'analyse', 'state.$': '$' },
    });
    const closeGate = step(S.closeGate, 'close-gate');
    const promote = step(S.promote, 'promote');
    const closeWindow = step(S.closeWindow, 'close-window');
    const finish = step(S.finish, 'finish');
    finish.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 4,
    });
    // Every failure on the way forward is handled the same way: back to blue, or freeze.
    for (const task of [prepare, greenStatus, shift, analyse, closeGate, promote])
      catchEverything(task, onFailure, onFailureProps);
    finish.next(new sfn.Succeed(this, S.complete));

    // ---- gates -------------------------------------------------------------------------------
    const waitForApproval = gateTask(S.waitForApproval, 'open-gate', '$.gate.timeoutSeconds');
    waitForApproval.addCatch(closeGate, { errors: GATE_TIMEOUT_ERRORS, resultPath: '$.gateTimeout' });
    catchEverything(waitForApproval, onFailure, onFailureProps);
    waitForApproval.next(closeGate);
    const gate = (name: string, kind: string, timeoutPath: string, defaultPath: string) =>
      new sfn.Pass(this, name, {
        parameters: { kind, 'timeoutSeconds.$': timeoutPath, 'defaultAction.$': defaultPath },
        resultPath: '$.gate',
      }).next(waitForApproval);
    const gateBeforeTraffic = gate(
      S.gateBeforeTraffic,
      'before-traffic',
      '$.rollout.approval.timeoutSeconds',
      '$.rollout.approval.defaultAction',
    );
    const gateBeforeFinalize = gate(
      S.gateBeforeFinalize,
      'before-finalize',
      '$.rollout.approval.timeoutSeconds',
      '$.rollout.approval.defaultAction',
    );
    const gateInconclusive = gate(
      S.gateInconclusive,
      'inconclusive',
      '$.rollout.analysis.inconclusive.timeoutSeconds',
      '$.rollout.analysis.inconclusive.defaultAction',
    );

    // ---- promotion, window, retirement ------------------------------------------------------------
    const blueTaskSet = {
      Cluster: sfn.JsonPath.stringAt('$.rollout.cluster'),
      Service: sfn.JsonPath.stringAt('$.rollout.service'),
      TaskSet: sfn.JsonPath.stringAt('$.blue.taskSetArn'),
    };
    const scaleDownBlue = new tasks.CallAwsService(this, S.scaleDownBlue, {
      service: 'ecs',
      action: 'updateTaskSet',
      parameters: { ...blueTaskSet, Scale: { Unit: 'PERCENT', Value: 0 } },
      iamResources: props.taskSetArns,
      resultPath: sfn.JsonPath.DISCARD,
    });
    const deleteBlue = new tasks.CallAwsService(this, S.deleteBlue, {
      service: 'ecs',
      action: 'deleteTaskSet',
      parameters: blueTaskSet,
      iamResources: props.taskSetArns,
      resultPath: sfn.JsonPath.DISCARD,
    });
    // A delete retried after its answer was lost finds blue gone: that is the success it was.
    // (Named before catchEverything's States.ALL, which must come last.)
    deleteBlue.addCatch(finish, {
      errors: ['Ecs.TaskSetNotFoundException'],
      resultPath: sfn.JsonPath.DISCARD,
    });
    for (const task of [scaleDownBlue, deleteBlue]) {
      retrySdkTransientErrors(task, 'Ecs');
      // Blue left behind is reported by Finish; it never undoes a promotion.
      catchEverything(task, finish, onFailureProps);
    }
    scaleDownBlue
      .next(
        new sfn.Wait(this, S.terminationWait, {
          time: sfn.WaitTime.secondsPath('$.rollout.terminationWaitSeconds'),
        }),
      )
      .next(deleteBlue)
      .next(finish);

    const window = gateTask(S.window, 'open-window', '$.rollout.rollbackWindowSeconds');
    // The window ends by timing out; a bookkeeping failure must not undo a good release either.
    catchEverything(window, closeWindow, { resultPath: '$.gateTimeout' });
    window.next(closeWindow);
    catchEverything(closeWindow, onFailure, onFailureProps);
    closeWindow.next(
      new sfn.Choice(this, S.windowOutcome)
        .when(sfn.Condition.stringEquals('$.outcome.decision', 'finalize'), scaleDownBlue)
        // The operator already put traffic on blue and read it back.
        .when(sfn.Condition.stringEquals('$.outcome.decision', 'revert'), removeGreen)
        .otherwise(onFailure),
    );
    promote.next(
      new sfn.Choice(this, S.keepBlue)
        .when(sfn.Condition.numberGreaterThan('$.rollout.rollbackWindowSeconds', 0), window)
        .otherwise(closeWindow),
    );

    // ---- the steps -------------------------------------------------------------------------------
    const approvalBeforeFinalize = new sfn.Choice(this, S.approvalBeforeFinalize)
      .when(sfn.Condition.stringEquals('$.rollout.approval.gate', 'before-finalize'), gateBeforeFinalize)
      .otherwise(promote);
    const moreSteps = new sfn.Choice(this, S.moreSteps)
      .when(sfn.Condition.booleanEquals('$.progress.last', false), shift)
      .otherwise(approvalBeforeFinalize);
    // A spot storm: hold the weight (one Wait, whatever its length), then analyse again.
    const stormHold = new sfn.Wait(this, S.stormHold, {
      time: sfn.WaitTime.secondsPath('$.progress.holdSeconds'),
    });
    shift
      .next(new sfn.Wait(this, S.bake, { time: sfn.WaitTime.secondsPath('$.progress.bakeSeconds') }))
      .next(analyse)
      .next(
        new sfn.Choice(this, S.verdict)
          .when(sfn.Condition.stringEquals('$.verdict.verdict', 'pass'), moreSteps)
          .when(sfn.Condition.stringEquals('$.verdict.verdict', 'inconclusive'), gateInconclusive)
          .when(sfn.Condition.stringEquals('$.verdict.verdict', 'paused'), stormHold)
          .otherwise(onFailure),
      );
    stormHold.next(analyse);
    const approved = (kind: string) =>
      sfn.Condition.and(
        sfn.Condition.stringEquals('$.outcome.decision', 'approve'),
        sfn.Condition.stringEquals('$.gate.kind', kind),
      );
    closeGate.next(
      new sfn.Choice(this, S.gateDecision)
        .when(approved('before-traffic'), shift)
        .when(approved('inconclusive'), moreSteps)
        .when(approved('before-finalize'), promote)
        .otherwise(onFailure),
    );

    const approvalBeforeTraffic = new sfn.Choice(this, S.approvalBeforeTraffic)
      .when(sfn.Condition.stringEquals('$.rollout.approval.gate', 'before-traffic'), gateBeforeTraffic)
      .otherwise(shift);
    const waitGreen = new sfn.Wait(this, S.waitGreen, {
      time: sfn.WaitTime.duration(props.greenPollInterval ?? Duration.seconds(15)),
    });

    // ---- before production traffic: test listener, pre-traffic hook ----------------------------
    const preTraffic = step(S.preTraffic, 'pre-traffic');
    const hookResult = step(S.hookResult, 'pre-traffic-result');
    // The hook's ARN comes from the input, so the task is written out: LambdaInvoke needs a
    // function known at synth. The hook gets the request the previous step built (see docs/rollouts.md).
    const invokeHook = new sfn.CustomState(this, S.invokeHook, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::lambda:invoke`,
        Parameters: { 'FunctionName.$': '$.hook', 'Payload.$': '$.request' },
        // The answer alone is the state's output. The result also holds Lambda's HTTP metadata
        // (about 800 bytes): what fits the task's limit fits the judge's event, the answer and
        // its action.
        ResultSelector: { 'Payload.$': '$.Payload', 'StatusCode.$': '$.StatusCode' },
        // A hook that hangs fails the rollout; Lambda itself stops it at 15 minutes.
        TimeoutSeconds: 960,
      },
    });
    // The hook is the user's function: only Lambda's own errors are ours to retry.
    retryLambdaService(invokeHook);
    const judgeHook = lambdaStep(this, S.judgeHook, {
      lambdaFunction: props.stepFunction,
      payload: { action: 'pre-traffic-verdict', 'answer.$': '$' },
    });
    // Whatever went wrong (function error, timeout, no such function, no permission, an answer
    // over 256 KiB) is judged.
    catchEverything(invokeHook, judgeHook, { resultPath: '$.error' });
    // Apart from the rollout's state: an answer that fits one task's limit would not fit beside
    // the state. Only the judge's bounded verdict joins it.
    const runHook = new sfn.Parallel(this, S.runHook, {
      parameters: {
        'hook.$': '$.rollout.preTraffic.hookFunctionArn',
        'request.$': '$.preTraffic.request',
      },
      resultSelector: { 'verdict.$': '$[0]' },
      resultPath: '$.preTraffic',
    }).branch(invokeHook.next(judgeHook));
    catchEverything(runHook, onFailure, onFailureProps);
    runHook.next(hookResult);
    for (const task of [preTraffic, hookResult]) catchEverything(task, onFailure, onFailureProps);
    preTraffic.next(
      new sfn.Choice(this, S.hookChoice)
        .when(sfn.Condition.isPresent('$.rollout.preTraffic.hookFunctionArn'), runHook)
        .otherwise(approvalBeforeTraffic),
    );
    hookResult.next(
      new sfn.Choice(this, S.hookPassed)
        .when(sfn.Condition.isPresent('$.stop'), onFailure)
        .otherwise(approvalBeforeTraffic),
    );

    const ready = sfn.Condition.stringEquals('$.green.status', 'ready');
    const greenReady = new sfn.Choice(this, S.greenReady)
      // In this Choice, not one of its own: rollouts without pre-traffic checks pay no transition.
      .when(sfn.Condition.and(ready, sfn.Condition.isPresent('$.rollout.preTraffic')), preTraffic)
      .when(ready, approvalBeforeTraffic)
      .when(sfn.Condition.stringEquals('$.green.status', 'waiting'), waitGreen.next(greenStatus))
      .otherwise(onFailure);

    const definition = validate.next(lock).next(prepare).next(greenStatus).next(greenReady);

    // The input's plan must fit in 7 days (MAX_PLAN_SECONDS); this is the backstop.
    this.stateMachine = loggedStateMachine(this, definition, {
      timeout: Duration.days(8),
      logLevel: sfn.LogLevel.ALL,
      logRetention: logs.RetentionDays.ONE_YEAR,
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokePreTrafficHooks',
        actions: ['lambda:InvokeFunction'],
        resources: props.preTrafficHookArns,
      }),
    );
  }
}
