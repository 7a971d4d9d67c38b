// Alerts go to one SNS topic per severity, with message attributes subscribers filter on.
// Email and other text subscribers get a readable body; SQS, Lambda and HTTPS subscribers
// get the alert as JSON (SNS MessageStructure=json delivers a body per protocol).
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { ControlPlaneEnv } from './env.ts';

export type Severity = 'critical' | 'warning' | 'info';

export interface Alert {
  severity: Severity;
  state: 'firing' | 'resolved';
  /** Machine-readable kind, e.g. `spot-interruption`. */
  kind: string;
  title: string;
  summary: string;
  cluster?: string;
  service?: string;
  resources: string[];
  whatHappened: string;
  whatWeDid: string;
  nextSteps: string[];
  /** Stable across repeats of the same episode: usable as a pager dedup key. */
  dedupKey: string;
  counts?: Record<string, Record<string, number>>;
  links?: Record<string, string>;
  at: string;
}

export type AlertTopics = Pick<
  ControlPlaneEnv,
  'ALERT_TOPIC_CRITICAL' | 'ALERT_TOPIC_WARNING' | 'ALERT_TOPIC_INFO'
>;

const SUBJECT_MAX = 100;

export function topicFor(topics: AlertTopics, severity: Severity): string {
  if (severity === 'critical') return topics.ALERT_TOPIC_CRITICAL;
  if (severity === 'warning') return topics.ALERT_TOPIC_WARNING;
  return topics.ALERT_TOPIC_INFO;
}

export function subjectOf(alert: Alert): string {
  const prefix = alert.state === 'resolved' ? '[RESOLVED] ' : `[${alert.severity.toUpperCase()}] `;
  const subject = `${prefix}${alert.title}`.replace(/[\r\n]+/g, ' ');
  return subject.length <= SUBJECT_MAX ? subject : `${subject.slice(0, SUBJECT_MAX - 3)}...`;
}

export function textOf(alert: Alert): string {
  const lines = [
    alert.title,
    '',
    alert.summary,
    '',
    `What happened: ${alert.whatHappened}`,
    `What the control plane did: ${alert.whatWeDid}`,
  ];
  if (alert.nextSteps.length > 0)
    lines.push('', 'What you can do:', ...alert.nextSteps.map((s) => `  - ${s}`));
  if (alert.counts) {
    for (const [by, counts] of Object.entries(alert.counts)) {
      const parts = Object.entries(counts).map(([k, n]) => `${k}: ${n}`);
      lines.push(`By ${by}: ${parts.join(', ')}`);
    }
  }
  if (alert.resources.length > 0)
    lines.push('', 'Resources:', ...alert.resources.slice(0, 50).map((r) => `  ${r}`));
  if (alert.resources.length > 50) lines.push(`  … and ${alert.resources.length - 50} more`);
  lines.push('', `Dedup key: ${alert.dedupKey}`);
  return lines.join('\n');
}

export async function publishAlert(
  sns: SNSClient,
  topics: AlertTopics,
  alert: Alert,
): Promise<string | undefined> {
  const json = JSON.stringify(alert);
  const text = textOf(alert);
  const attributes: Record<string, { DataType: 'String'; StringValue: string }> = {
    severity: { DataType: 'String', StringValue: alert.severity },
    kind: { DataType: 'String', StringValue: alert.kind },
    state: { DataType: 'String', StringValue: alert.state },
  };
  if (alert.service) attributes.service = { DataType: 'String', StringValue: alert.service };
  if (alert.cluster) attributes.cluster = { DataType: 'String', StringValue: alert.cluster };
  const out = await sns.send(
    new PublishCommand({
      TopicArn: topicFor(topics, alert.severity),
      Subject: subjectOf(alert),
      MessageStructure: 'json',
      Message: JSON.stringify({
        default: text,
        email: text,
        sqs: json,
        lambda: json,
        https: json,
        http: json,
      }),
      MessageAttributes: attributes,
    }),
  );
  return out.MessageId;
}
