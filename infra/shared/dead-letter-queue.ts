// A dead-letter queue that stands on its own (not an event queue's): the target of EventBridge
// Scheduler schedules or SNS subscriptions. SQS-managed encryption, so the services that send to
// it need no key grant; nothing consumes it, failed deliveries rest here for inspection.
import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** `of` says whose dead-letter queue it is, e.g. "the scaling schedules". */
export function standaloneDeadLetterQueue(scope: Construct, id: string, of: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge(
    { id: 'AwsSolutions-SQS3', reason: `This queue is itself the dead-letter queue of ${of}.` },
    {
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is itself a dead-letter queue; nothing consumes it.',
    },
  );
  return queue;
}
