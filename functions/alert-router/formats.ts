// What subscribers receive. One SNS publish carries a body per protocol (MessageStructure=json):
//   default (email, email-json, http, sms, ...)  plain text for people
//   sqs, lambda                                  the alert as JSON for machines
//   https                                        an Amazon Q Developer in chat custom notification
// (Amazon Q Developer subscribes to a topic over HTTPS.) The subject is for email (<= 100 chars);
// message attributes carry what SNS filter policies match on.
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { CHAT_ACTION_CONTEXT, type ChatNotification } from '../../events/chat-notification.ts';
import { type Alert, byteLength, fitAlert } from '../shared/alerts.ts';

export type NotificationKind = 'alert' | 'group' | 'reminder' | 'resolved';

export interface GroupSummary {
  /** severity|kind|service|cluster */
  key: string;
  /** Alerts sent in this window: new episodes plus reminders. */
  alerts: number;
  newAlerts: number;
  reminders: number;
  /** Repeats of already-sent alerts that arrived while the window was open (suppressed). */
  repeats: number;
  /** Resources over all alerts of the window (the message lists a sample). */
  resources: number;
  windowSeconds: number;
  openedAt: string;
}

export interface Notification {
  kind: NotificationKind;
  /** The content; for a group, an alert that stands for the whole window. */
  alert: Alert;
  /** One per episode of a group: firing, reminders and resolved share it (chat thread, pager key). */
  threadId: string;
  environment: string;
  group?: GroupSummary;
  /** For reminders: how often the alert came again since it was last sent. */
  repeatsSinceLastSent?: number;
}

export interface RenderedMessage {
  subject: string;
  /** The MessageStructure=json document. */
  message: string;
  attributes: Record<string, MessageAttributeValue>;
  /** Message, subject and attributes, as SNS counts them against its limit. */
  bytes: number;
  /** The alert as sent (after any truncation). */
  alert: Alert;
  truncated: boolean;
}

/** SNS allows 256 KiB for message, subject and attributes together; keep a margin for the envelope. */
export const SNS_BUDGET_BYTES = 256 * 1024 - 4 * 1024;
export const SUBJECT_MAX = 100;

const SEVERITY_MARK = {
  critical: ':red_circle:',
  warning: ':large_orange_circle:',
  info: ':information_source:',
};

export function subjectOf(n: Notification): string {
  const a = n.alert;
  const prefix =
    n.kind === 'resolved'
      ? '[RESOLVED] '
      : n.kind === 'reminder'
        ? `[${a.severity.toUpperCase()}] still firing: `
        : `[${a.severity.toUpperCase()}] `;
  // SNS subjects may not carry line breaks or control characters.
  const subject = `${prefix}${a.title}`.replace(/\p{Cc}+/gu, ' ').trim();
  return subject.length <= SUBJECT_MAX ? subject : `${subject.slice(0, SUBJECT_MAX - 1)}…`;
}

/** "by alice at 2026-12-05T10:00:00Z: looking into it". */
function acknowledgedText(ack: NonNullable<Alert['acknowledged']>): string {
  return `by ${ack.by} at ${ack.at}${ack.reason ? `: ${ack.reason}` : ''}`;
}

export function textOf(n: Notification): string {
  const a = n.alert;
  const lines = [subjectOf(n), '', a.summary, ''];
  if (n.kind === 'reminder') {
    lines.push(
      `Still firing since it was last sent${n.repeatsSinceLastSent ? `; it came ${n.repeatsSinceLastSent} more time(s) since` : ''}.`,
      '',
    );
  }
  lines.push(`What happened: ${a.whatHappened}`, `What the control plane did: ${a.whatWeDid}`);
  if (a.acknowledged) lines.push(`Acknowledged: ${acknowledgedText(a.acknowledged)}`);
  if (a.nextSteps.length > 0) lines.push('', 'What you can do:', ...a.nextSteps.map((s) => `  - ${s}`));
  if (a.counts) {
    lines.push('');
    for (const [by, counts] of Object.entries(a.counts)) {
      lines.push(
        `By ${by}: ${Object.entries(counts)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')}`,
      );
    }
  }
  const total = a.truncated?.resources ?? a.resources.length;
  if (a.resources.length > 0) lines.push('', 'Resources:', ...a.resources.map((r) => `  ${r}`));
  if (total > a.resources.length) lines.push(`  … and ${total - a.resources.length} more`);
  if (a.links && Object.keys(a.links).length > 0)
    lines.push('', 'Links:', ...Object.entries(a.links).map(([label, url]) => `  ${label}: ${url}`));
  lines.push(
    '',
    `Severity: ${a.severity}; state: ${a.state}; kind: ${a.kind}${a.service ? `; service: ${a.service}` : ''}${a.cluster ? `; cluster: ${a.cluster}` : ''}; environment: ${n.environment}`,
    `Dedup key: ${a.dedupKey}`,
    `Thread: ${n.threadId}`,
  );
  if (a.truncated) lines.push(`Shortened to fit the message size limit: ${a.truncated.fields.join(', ')}`);
  return lines.join('\n');
}

/** The alert as JSON for machines (SQS, Lambda), with the notification's own facts beside it. */
export function machineOf(n: Notification): Record<string, unknown> {
  return {
    ...n.alert,
    notification: n.kind,
    threadId: n.threadId,
    environment: n.environment,
    ...(n.group ? { group: n.group } : {}),
    ...(n.repeatsSinceLastSent !== undefined ? { repeatsSinceLastSent: n.repeatsSinceLastSent } : {}),
  };
}

const CHAT_RESOURCES = 10;

export function chatOf(n: Notification): ChatNotification {
  const a = n.alert;
  const mark = n.kind === 'resolved' ? ':white_check_mark:' : SEVERITY_MARK[a.severity];
  const description: string[] = [a.summary || a.title];
  if (n.kind === 'reminder') description.push('_Still firing._');
  description.push(`*What happened:* ${a.whatHappened}`, `*What the control plane did:* ${a.whatWeDid}`);
  if (a.acknowledged) description.push(`*Acknowledged:* ${acknowledgedText(a.acknowledged)}`);
  if (a.counts) {
    for (const [by, counts] of Object.entries(a.counts)) {
      description.push(
        `*By ${by}:* ${Object.entries(counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }
  }
  const total = a.truncated?.resources ?? a.resources.length;
  if (a.resources.length > 0) {
    const shown = a.resources.slice(0, CHAT_RESOURCES).map((r) => `\`${r}\``);
    const more = total - shown.length;
    description.push(`*Resources:* ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  const links = Object.entries(a.links ?? {}).map(([label, url]) => `<${url}|${label}>`);
  const additionalContext: Record<string, string> = {
    severity: a.severity,
    state: a.state,
    kind: a.kind,
    dedupKey: a.dedupKey,
    environment: n.environment,
  };
  if (a.service) additionalContext.service = a.service;
  if (a.cluster) additionalContext.cluster = a.cluster;
  if (n.group) additionalContext.alerts = String(n.group.alerts);
  // A single alert that asks for an answer carries what the buttons need (a group's summary does not).
  const buttons = !n.group && n.kind !== 'resolved' ? a.answers : undefined;
  if (buttons) {
    additionalContext[CHAT_ACTION_CONTEXT.execution] = buttons.execution;
    additionalContext[CHAT_ACTION_CONTEXT.choices] = buttons.choices;
  }
  return {
    version: '1.0',
    source: 'custom',
    id: `${n.threadId}/${n.kind}/${a.at}`,
    content: {
      textType: 'client-markdown',
      title: `${mark} ${subjectOf(n)}`,
      description: description.join('\n'),
      nextSteps: [...a.nextSteps, ...(links.length > 0 ? [`Open: ${links.join(' · ')}`] : [])],
      keywords: [a.severity, a.kind, ...(a.service ? [a.service] : []), ...(a.cluster ? [a.cluster] : [])],
    },
    metadata: {
      threadId: n.threadId,
      summary: subjectOf(n),
      eventType: a.kind,
      relatedResources: a.resources.slice(0, CHAT_RESOURCES),
      additionalContext,
      ...(buttons ? { enableCustomActions: true } : {}),
    },
  };
}

/** SNS message attributes: what filter policies match on. Empty values are not allowed, so absent ones are left out. */
export function attributesOf(n: Notification): Record<string, MessageAttributeValue> {
  const a = n.alert;
  const out: Record<string, MessageAttributeValue> = {};
  const put = (name: string, value: string | undefined) => {
    if (value) out[name] = { DataType: 'String', StringValue: value };
  };
  put('severity', a.severity);
  put('state', a.state);
  put('kind', a.kind);
  put('service', a.service);
  put('cluster', a.cluster);
  put('notification', n.kind);
  return out;
}

function messageOf(n: Notification): string {
  const text = textOf(n);
  const machine = JSON.stringify(machineOf(n));
  return JSON.stringify({ default: text, sqs: machine, lambda: machine, https: JSON.stringify(chatOf(n)) });
}

function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  // SNS counts name, data type and value of each attribute.
  return Object.entries(attributes).reduce(
    (sum, [name, v]) =>
      sum + byteLength(name) + byteLength(v.DataType ?? '') + byteLength(v.StringValue ?? ''),
    0,
  );
}

/** Renders a notification for SNS, cutting the alert's least important parts until it fits. */
export function renderForSns(n: Notification, budget = SNS_BUDGET_BYTES): RenderedMessage {
  const measure = (alert: Alert) => {
    const candidate = { ...n, alert };
    return (
      byteLength(messageOf(candidate)) +
      byteLength(subjectOf(candidate)) +
      attributeBytes(attributesOf(candidate))
    );
  };
  const fitted = fitAlert(n.alert, budget, measure);
  const final = { ...n, alert: fitted.alert };
  return {
    subject: subjectOf(final),
    message: messageOf(final),
    attributes: attributesOf(final),
    bytes: measure(fitted.alert),
    alert: fitted.alert,
    truncated: fitted.truncated,
  };
}
