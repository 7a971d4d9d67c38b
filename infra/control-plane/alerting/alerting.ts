// Alerting: producers raise alerts onto one encrypted queue; the alert-router function consumes it
// in batches and decides what people hear (silences, inhibition, dedup, grouping windows), with
// its state in the alerts table, then publishes one message per window onto the severity topics.
// Grouping windows are delayed "flush" messages on the same queue. What the router fails to
// publish is retried by SQS and then rests, intact, in the queue's dead-letter queue; an alarm on
// that queue pages the critical topic directly (not through the router). A schedule puts a tick
// on the queue each minute, so that the router announces a silence's start and end when no alert comes.
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlertRouterEnvInput } from '../../../functions/alert-router/config.ts';
import { TICK_MESSAGE } from '../../../functions/alert-router/messages.ts';
import type { ControlPlaneEnv } from '../../../functions/shared/env.ts';
import { standaloneDeadLetterQueue } from '../../shared/dead-letter-queue.ts';
import { ALERTING_OUTPUTS } from '../../shared/stack-outputs.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import { consumeQueue, EVENT_SOURCE_MAX_CONCURRENCY, encryptedQueue } from '../shared/event-queue.ts';
import {
  grantItemActions,
  SHARED_TABLE_ACCESS,
  type StateTables,
  TTL_ATTRIBUTE,
} from '../shared/state-tables.ts';
import type { AlertTopics } from './alert-topics.ts';

export interface AlertingProps {
  readonly topics: AlertTopics;
  /** The router journals what it silenced or inhibited. */
  readonly tables: StateTables;
  /** OPS_ENVIRONMENT of the router (shown in every notification). */
  readonly environmentName: string;
  /** Alerts of one group inside this window become one message. Default 30 s, at most 15 minutes (SQS DelaySeconds). */
  readonly groupWindow?: Duration;
  /** A repeated firing alert is sent again after this long. Default 4 hours. */
  readonly reminderInterval?: Duration;
  /** A firing episode nobody repeats or resolves ends after this long. Default 24 hours. */
  readonly episodeLifetime?: Duration;
  /** Override of dist/functions for the bundle (tests). */
  readonly assetRoot?: string;
}

/** The router's SQS event source: a burst of alerts arrives as a few large batches. */
export const ALERT_ROUTER_BATCH = {
  batchSize: 100,
  maxBatchingWindow: Duration.seconds(1),
  maxConcurrency: EVENT_SOURCE_MAX_CONCURRENCY,
} as const;
/** Receives before a message the router keeps failing on moves to the alert DLQ. */
export const ALERT_MAX_RECEIVE_COUNT = 3;
export const DEFAULT_GROUP_WINDOW = Duration.seconds(30);

const ROUTER_TIMEOUT = Duration.seconds(30);

export class Alerting extends Construct {
  /** Where producers raise alerts (and where the router schedules its window flushes). */
  readonly queue: sqs.Queue;
  /** Messages the router failed on ALERT_MAX_RECEIVE_COUNT times, alert intact. */
  readonly queueDlq: sqs.Queue;
  /** Episodes, group windows, inhibition state and silences. */
  readonly table: dynamodb.Table;
  readonly router: BundledFunction;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The router's tick: silence starts and ends are announced within a minute. */
  readonly tick: scheduler.CfnSchedule;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const key = props.topics.key;
    this.key = key;
    const groupWindow = props.groupWindow ?? DEFAULT_GROUP_WINDOW;
    if (groupWindow.toSeconds() > 900) {
      throw new Error(
        `Alerting: groupWindow is at most 900 s (SQS DelaySeconds), got ${groupWindow.toSeconds()} s`,
      );
    }

    this.queueDlq = encryptedQueue(this, 'QueueDlq', key);
    Validations.of(this.queueDlq).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is itself the dead-letter queue of the alert queue; alerts rest here for inspection and redrive.',
    });
    this.queue = encryptedQueue(this, 'Queue', key, {
      // Lambda's guidance: at least 6x the function timeout, plus the batching window.
      visibilityTimeout: Duration.seconds(
        6 * ROUTER_TIMEOUT.toSeconds() + ALERT_ROUTER_BATCH.maxBatchingWindow.toSeconds(),
      ),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.queueDlq, maxReceiveCount: ALERT_MAX_RECEIVE_COUNT },
    });

    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Working state, not evidence (the journal is): episodes and windows rebuild themselves.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const routerEnv: AlertRouterEnvInput = {
      JOURNAL_TABLE: props.tables.journal.tableName,
      ALERT_QUEUE_URL: this.queue.queueUrl,
      OPS_ENVIRONMENT: props.environmentName,
      ALERTS_TABLE: this.table.tableName,
      ...props.topics.environment(),
      ALERT_GROUP_WINDOW_SECONDS: groupWindow.toSeconds(),
      ALERT_REMINDER_MINUTES: (props.reminderInterval ?? Duration.hours(4)).toMinutes(),
      ALERT_EPISODE_HOURS: (props.episodeLifetime ?? Duration.hours(24)).toHours(),
    };
    this.router = new BundledFunction(this, 'Router', {
      name: 'alert-router',
      description: 'Alert queue -> silences, inhibition, dedup, grouping -> SNS topics per severity',
      memorySize: 512,
      timeout: ROUTER_TIMEOUT,
      environment: lambdaEnvironment(routerEnv),
      assetRoot: props.assetRoot,
    });
    const fn = this.router.function;
    consumeQueue(fn, this.queue, ALERT_ROUTER_BATCH, ALERT_MAX_RECEIVE_COUNT);

    // Least privilege, spelled out: the CDK grant helpers would add kms:ReEncrypt* and GenerateDataKey*.
    // grantRaise also covers publishing: the topics use the same key.
    this.grantRaise(fn);
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['sns:Publish'],
      resourceArns: [
        props.topics.critical.topicArn,
        props.topics.warning.topicArn,
        props.topics.info.topicArn,
      ],
    });
    // The router's state modules (functions/alert-router/*-state.ts) and silences.ts: episodes,
    // group windows and silences, item by item.
    grantItemActions(fn, this.table, ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
    props.tables.grant(fn, SHARED_TABLE_ACCESS.journal);
    Validations.of(this.router.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });

    // A tick a minute: the router announces silences' starts and ends even when no alert comes. A
    // tick is stale after a minute, and one that cannot be delivered rests in a DLQ that pages.
    // Its own role, spelled out: CDK's SQS target would grant kms:GenerateDataKey*.
    const tickRole = new iam.Role(this, 'TickRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'EventBridge Scheduler: puts the alert router tick on the alert queue',
    });
    this.grantRaise(tickRole);
    const tickDlq = standaloneDeadLetterQueue(this, 'TickDlq', 'the alert router tick');
    iam.Grant.addToPrincipal({
      grantee: tickRole,
      actions: ['sqs:SendMessage'],
      resourceArns: [tickDlq.queueArn],
    });
    this.tick = new scheduler.CfnSchedule(this, 'Tick', {
      description: `ecs-ops ${props.environmentName}: the alert router looks at silences each minute`,
      scheduleExpression: 'rate(1 minute)',
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.queue.queueArn,
        roleArn: tickRole.roleArn,
        input: JSON.stringify(TICK_MESSAGE),
        deadLetterConfig: { arn: tickDlq.queueArn },
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 60 },
      },
    });

    // Nothing is lost silently: an alert that could not be published pages, bypassing the router.
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetters', {
      alarmDescription: `ecs-ops ${props.environmentName}: alerts the router could not publish are in the alert DLQ`,
      metric: this.queueDlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.topics.critical));

    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description }).overrideLogicalId(outputId);
    output(ALERTING_OUTPUTS.queueUrl, this.queue.queueUrl, 'Alert queue (producers -> alert-router)');
    output(ALERTING_OUTPUTS.queueDlqUrl, this.queueDlq.queueUrl, 'Alerts the router could not publish');
    output(
      ALERTING_OUTPUTS.stateTable,
      this.table.tableName,
      'Alert router state and silences (ops silence)',
    );
  }

  /** What a producer needs to raise alerts: sqs:SendMessage on the alert queue and use of its key. */
  grantRaise(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.key.keyArn],
    });
  }

  /** The alert-queue key of ControlPlaneEnvSchema (every producer's environment). */
  producerEnvironment(): Pick<ControlPlaneEnv, 'ALERT_QUEUE_URL'> {
    return { ALERT_QUEUE_URL: this.queue.queueUrl };
  }
}
