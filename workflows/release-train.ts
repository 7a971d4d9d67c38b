// A release train: ordered waves of services, each service rolled out by the blue-green-rollout
// workflow as a nested execution, the services of a wave in parallel (a Map with the wave's
// concurrency), the waves one after the other (a Map of one at a time). A shared budget stops the
// line: at most N services may fail per train, and at most P% of a cluster's tasks may be in
// green at once (a service waits for room). The train-step function decides and keeps the train's
// record; the state machine only sequences, waits and starts the rollouts.
// Every service's iteration ends recorded, whatever its rollout did, so one service never fails
// the train's Map: the budget decides, and the finish step reports.

import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { catchEverything } from './shared/error-handling.ts';
import { lambdaStep } from './shared/lambda-step.ts';
import { validateInputStep } from './shared/standard-states.ts';
import { loggedStateMachine } from './shared/state-machine.ts';

export interface ReleaseTrainWorkflowProps {
  /** functions/train-step */
  readonly stepFunction: lambda.IFunction;
  /** The blue-green-rollout workflow each service runs. */
  readonly rolloutStateMachine: sfn.IStateMachine;
}

export const TRAIN_STATES = {
  validate: 'Validate input',
  rejected: 'Input rejected',
  start: 'Start train',
  waves: 'Waves',
  openWave: 'Open wave',
  waveOpen: 'Wave open?',
  waveSkipped: 'Wave not started',
  services: 'Services',
  admit: 'Admit service',
  admission: 'Admitted?',
  waitForRoom: 'Wait for green room',
  skipped: 'Service not started',
  rollout: 'Roll out service',
  result: 'Record result',
  failedResult: 'Record failure',
  finish: 'Finish',
  finishAfterFailure: 'Finish after failure',
  outcome: 'Completed?',
  complete: 'Train complete',
  stopped: 'Train stopped',
  failed: 'Train failed',
} as const;

export class ReleaseTrainWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ReleaseTrainWorkflowProps) {
    super(scope, id);
    const S = TRAIN_STATES;
    const step = (name: string, action: string, payload: Record<string, unknown>, resultPath?: string) =>
      lambdaStep(this, name, {
        lambdaFunction: props.stepFunction,
        payload: { action, ...payload },
        ...(resultPath ? { resultPath } : {}),
      });

    // ---- one service: admit (or wait for room, or skip), roll out, record ------------------------
    const service = { 'train.$': '$.train', 'service.$': '$.service' };
    const admit = step(S.admit, 'admit', service, '$.admission');
    const rollout = new tasks.StepFunctionsStartExecution(this, S.rollout, {
      stateMachine: props.rolloutStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      input: sfn.TaskInput.fromJsonPathAt('$.admission.input'),
      // Named by the train and the service's place in it: a repeat of the start is the same execution.
      name: sfn.JsonPath.stringAt('$.admission.executionName'),
      associateWithParent: false,
      // The rollout's own output (its whole state) is not the train's to carry.
      resultSelector: { 'status.$': '$.Status' },
      resultPath: '$.rolloutResult',
    });
    const recordArgs = { ...service, 'executionName.$': '$.admission.executionName' };
    // An iteration ends with the step's small answer: the Map's result stays far under 256 KiB.
    const result = step(S.result, 'result', recordArgs);
    const failedResult = step(S.failedResult, 'result', { ...recordArgs, 'failure.$': '$.failure' });
    catchEverything(rollout, failedResult, { resultPath: '$.failure' });
    rollout.next(result);
    const waitForRoom = new sfn.Wait(this, S.waitForRoom, {
      time: sfn.WaitTime.secondsPath('$.admission.waitSeconds'),
    });
    waitForRoom.next(admit);
    admit.next(
      new sfn.Choice(this, S.admission)
        .when(sfn.Condition.stringEquals('$.admission.decision', 'start'), rollout)
        .when(sfn.Condition.stringEquals('$.admission.decision', 'wait'), waitForRoom)
        .otherwise(
          new sfn.Succeed(this, S.skipped, {
            comment: 'The line stopped before its turn.',
            outputPath: '$.admission',
          }),
        ),
    );

    // ---- one wave: open it (not once the line stopped), then its services ------------------------
    const services = new sfn.Map(this, S.services, {
      itemsPath: '$.wave.services',
      maxConcurrencyPath: '$.wave.maxConcurrency',
      itemSelector: { 'train.$': '$.train', 'service.$': '$$.Map.Item.Value' },
      resultPath: sfn.JsonPath.DISCARD,
      outputPath: '$.opened',
    });
    services.itemProcessor(admit);
    const openWave = step(S.openWave, 'open-wave', { 'train.$': '$.train', 'wave.$': '$.wave' }, '$.opened');
    openWave.next(
      new sfn.Choice(this, S.waveOpen)
        .when(sfn.Condition.booleanEquals('$.opened.open', true), services)
        .otherwise(
          new sfn.Succeed(this, S.waveSkipped, {
            comment: 'The line stopped: this wave never starts.',
            outputPath: '$.opened',
          }),
        ),
    );

    // ---- the train --------------------------------------------------------------------------------
    const waves = new sfn.Map(this, S.waves, {
      itemsPath: '$.waves',
      maxConcurrency: 1,
      itemSelector: { 'train.$': '$.train', 'wave.$': '$$.Map.Item.Value' },
      resultPath: sfn.JsonPath.DISCARD,
    });
    waves.itemProcessor(openWave);

    const validate = validateInputStep(this, S.validate, S.rejected, props.stepFunction);
    const start = step(S.start, 'start', { 'plan.$': '$' }, sfn.JsonPath.DISCARD);

    const outcome = new sfn.Choice(this, S.outcome)
      .when(sfn.Condition.stringEquals('$.outcome.status', 'completed'), new sfn.Succeed(this, S.complete))
      .otherwise(new sfn.Fail(this, S.stopped, { error: 'TrainStopped', causePath: '$.outcome.summary' }));
    const finish = step(S.finish, 'finish', { 'train.$': '$.train' }, '$.outcome');
    finish.next(outcome);
    const trainFailed = new sfn.Fail(this, S.failed, {
      errorPath: '$.failure.Error',
      causePath: '$.failure.Cause',
    });
    const finishAfterFailure = step(
      S.finishAfterFailure,
      'finish',
      { 'train.$': '$.train', 'failure.$': '$.failure' },
      sfn.JsonPath.DISCARD,
    );
    catchEverything(finishAfterFailure, trainFailed, { resultPath: sfn.JsonPath.DISCARD });
    finishAfterFailure.next(trainFailed);
    // A train whose own steps failed (its record out of reach, after retries) is reported as failed.
    catchEverything(waves, finishAfterFailure, { resultPath: '$.failure' });
    waves.next(finish);

    const definition = validate.next(start).next(waves);

    // Each rollout's plan fits in 7 days; a train of many waves may run for weeks.
    this.stateMachine = loggedStateMachine(this, definition, {
      timeout: Duration.days(60),
      logLevel: sfn.LogLevel.ALL,
      logRetention: logs.RetentionDays.ONE_YEAR,
    });
  }
}
