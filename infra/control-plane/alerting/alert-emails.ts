// Who gets alerts by e-mail: the critical topic pages `emails` with everything; the warning topic
// reaches `warningEmails` while an alert fires (the digest filter policy in docs/alerting.md).
// Undeliverable e-mails (bounces after SNS's retries) rest in a dead-letter queue, returned for
// the caller to alarm on. Added straight into the scope (no construct of its own), so the ids,
// and an existing environment's subscriptions, stay as they are wherever it is called from.
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { standaloneDeadLetterQueue } from '../../shared/dead-letter-queue.ts';
import type { AlertTopics } from './alert-topics.ts';

export interface AlertEmailsProps {
  readonly topics: Pick<AlertTopics, 'critical' | 'warning'>;
  readonly emails: readonly string[];
  readonly warningEmails: readonly string[];
}

/** The subscriptions, and the queue of undelivered e-mails (undefined when nobody is subscribed). */
export function subscribeAlertEmails(scope: Construct, props: AlertEmailsProps): sqs.Queue | undefined {
  if (props.emails.length === 0) return undefined;
  const undelivered = standaloneDeadLetterQueue(
    scope,
    'UndeliveredAlertEmails',
    'the alert e-mail subscriptions',
  );
  const recipients = [
    { id: 'CriticalEmail', topic: props.topics.critical, emails: props.emails },
    {
      id: 'WarningEmail',
      topic: props.topics.warning,
      emails: props.warningEmails,
      filterPolicy: { state: sns.SubscriptionFilter.stringFilter({ allowlist: ['firing'] }) },
    },
  ];
  for (const { id, topic, emails, filterPolicy } of recipients)
    for (const [i, email] of emails.entries())
      new sns.Subscription(scope, `${id}${i + 1}`, {
        topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: email,
        deadLetterQueue: undelivered,
        ...(filterPolicy ? { filterPolicy } : {}),
      });
  return undelivered;
}
