// The path an event takes to a function, written once for every capability that reacts to
// events: EventBridge rules -> a KMS-encrypted queue that only those rules may send to, with a
// dead-letter queue for what the function fails on and one for what EventBridge cannot deliver
// -> the function, reading the queue in batches and reporting failed items one by one.
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * Batches of one event queue a function may work on at once (SQS MaximumConcurrency). Every
 * capability is idempotent and locked, so more would be safe; five bounds what a storm of events
 * takes from the account's Lambda concurrency and from the ECS and DynamoDB rate limits, and still
 * drains a 500-interruption storm (100 per batch) in one round. Reserved concurrency is not set:
 * Lambda keeps 100 of the account's concurrency unreserved, so an account still at a low limit
 * cannot reserve any, and the first deploy would fail.
 */
export const EVENT_SOURCE_MAX_CONCURRENCY = 5;

export function encryptedQueue(
  scope: Construct,
  id: string,
  key: kms.IKey,
  props: sqs.QueueProps = {},
): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    ...props,
  });
}

export interface EventQueueProps {
  key: kms.IKey;
  /**
   * Before the construct ids `Queue`, `QueueDlq` and `DeliveryDlq` in the caller's scope (default
   * none). They name the deployed queues' logical ids, so they stay what each capability first
   * deployed: another id would replace a queue and its messages.
   */
  idPrefix?: string;
  /** At least six times the function's timeout, plus its batching window (Lambda's guidance). */
  visibilityTimeout: Duration;
  /** How long an event is worth acting on. */
  retentionPeriod: Duration;
  /** Receives before an event the function keeps failing on moves to the queue's DLQ. */
  maxReceiveCount: number;
  /** What the dead-letter queues hold, for their acknowledgements: e.g. "alarm events". */
  holds: string;
}

export interface EventQueue {
  queue: sqs.Queue;
  /** What the function failed on `maxReceiveCount` times. */
  queueDlq: sqs.Queue;
  /** What EventBridge could not deliver to the queue. */
  deliveryDlq: sqs.Queue;
}

/** The queue and its two dead-letter queues. */
export function eventQueue(scope: Construct, props: EventQueueProps): EventQueue {
  const prefix = props.idPrefix ?? '';
  const queueDlq = encryptedQueue(scope, `${prefix}QueueDlq`, props.key);
  const deliveryDlq = encryptedQueue(scope, `${prefix}DeliveryDlq`, props.key);
  const queue = encryptedQueue(scope, `${prefix}Queue`, props.key, {
    visibilityTimeout: props.visibilityTimeout,
    retentionPeriod: props.retentionPeriod,
    deadLetterQueue: { queue: queueDlq, maxReceiveCount: props.maxReceiveCount },
  });
  for (const dlq of [queueDlq, deliveryDlq]) {
    Validations.of(dlq).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: `This queue is itself a dead-letter queue; failed ${props.holds} rest here for inspection and redrive.`,
    });
  }
  // EventBridge DLQs are set on rule targets, which cdk-nag does not follow.
  Validations.of(deliveryDlq).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is the dead-letter queue of the EventBridge rule targets that send to its queue.',
  });
  return { queue, queueDlq, deliveryDlq };
}

export interface EventRule {
  id: string;
  description: string;
  pattern: events.EventPattern;
}

/**
 * One rule per pattern, each sending to the queue (undeliverable events to the delivery DLQ),
 * and a queue policy that refuses EventBridge any rule but these. CDK leaves the rules' send
 * permission on a KMS-encrypted queue unscoped (a scoped key policy would be a dependency
 * cycle); the queue policy itself can name the rules.
 */
export function routeEventsToQueue(
  scope: Construct,
  target: EventQueue,
  rules: readonly EventRule[],
): events.Rule[] {
  const created = rules.map(
    (rule) =>
      new events.Rule(scope, rule.id, {
        description: rule.description,
        eventPattern: rule.pattern,
        targets: [
          new eventTargets.SqsQueue(target.queue, {
            deadLetterQueue: target.deliveryDlq,
            // A late event is still journaled when it comes, but not for days.
            maxEventAge: Duration.hours(1),
            retryAttempts: 20,
          }),
        ],
      }),
  );
  if (created.length === 0) return created;
  const ruleArns = created.map((rule) => rule.ruleArn);
  target.queue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: created.length === 1 ? 'OnlyOurRuleMaySend' : 'OnlyOurRulesMaySend',
      effect: iam.Effect.DENY,
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [target.queue.queueArn],
      conditions: { ArnNotEquals: { 'aws:SourceArn': ruleArns.length === 1 ? ruleArns[0] : ruleArns } },
    }),
  );
  return created;
}

/**
 * The function reads the queue in batches and reports failed items one by one, so that only
 * those come back. An SQS event source has no on-failure destination: the queue's redrive
 * policy is that destination.
 */
export function consumeQueue(
  fn: lambda.Function,
  queue: sqs.IQueue,
  batch: lambdaEvents.SqsEventSourceProps,
  maxReceiveCount: number,
): void {
  fn.addEventSource(new lambdaEvents.SqsEventSource(queue, { ...batch, reportBatchItemFailures: true }));
  const mapping = fn.node.findAll().find((c) => c.node.id.startsWith('SqsEventSource'));
  if (mapping) {
    Validations.of(mapping).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: `SQS event sources do not support on-failure destinations; the queue redrives to its DLQ after ${maxReceiveCount} receives.`,
    });
  }
}
