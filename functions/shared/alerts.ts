// The one alert model. Producers (spot-interruption, spot-surge-step, ...) do not publish to SNS:
// they raise an alert onto the alert queue, and the alert-router function decides what people
// hear (silences, inhibition, dedup, grouping) and renders it per protocol onto the severity topics.
import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from '../../events/zod.ts';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

export const AlertStateSchema = z.enum(['firing', 'resolved']);
export type AlertState = z.infer<typeof AlertStateSchema>;

/** The longest dedup key the router takes (raiseAlert shortens longer ones). */
export const MAX_DEDUP_KEY_LENGTH = 512;

export const AlertSchema = z.object({
  severity: SeveritySchema,
  /** `resolved` ends the episode of this dedupKey and goes out at once. */
  state: AlertStateSchema,
  /** Machine-readable kind, e.g. `spot-interruption`; silences and grouping match on it. */
  kind: z.string().check(z.minLength(1), z.maxLength(100)),
  title: z.string().check(z.minLength(1)),
  summary: z.string(),
  cluster: z.optional(z.string().check(z.minLength(1))),
  service: z.optional(z.string().check(z.minLength(1))),
  resources: z.array(z.string()),
  whatHappened: z.string(),
  whatWeDid: z.string(),
  /** What a human can do next, most useful first. */
  nextSteps: z.array(z.string()),
  /** Stable across repeats of the same episode: usable as a PagerDuty dedup_key / incident key. */
  dedupKey: z.string().check(z.minLength(1), z.maxLength(MAX_DEDUP_KEY_LENGTH)),
  /** Counts by dimension, e.g. { "availability zone": { "us-east-1a": 3 } }. */
  counts: z.optional(z.record(z.string(), z.record(z.string(), z.number()))),
  /** Console links by label: Step Functions execution, CloudWatch alarm, ECS service. */
  links: z.optional(z.record(z.string(), z.string())),
  at: z.string().check(z.minLength(1)),
  /** Answers a person can give from chat (buttons): to this rollout's execution. */
  answers: z.optional(
    z.object({
      execution: z.string().check(z.minLength(1), z.maxLength(256)),
      choices: z.enum(['approve-reject', 'rollback']),
    }),
  ),
  /** Set by the router on an acknowledged alert's notifications (`ops ack`): who, when and why. */
  acknowledged: z.optional(z.object({ by: z.string(), at: z.string(), reason: z.optional(z.string()) })),
  /** Set when parts were cut to fit a size limit: what was cut, and how many resources there were. */
  truncated: z.optional(
    z.object({ resources: z.optional(z.number().check(z.int())), fields: z.array(z.string()) }),
  ),
});
export type Alert = z.infer<typeof AlertSchema>;

/** SQS and SNS both take at most 256 KiB; the queue message keeps room for the router's flush envelope. */
export const ALERT_QUEUE_BUDGET_BYTES = 200 * 1024;

/** Puts the alert on the alert queue; the router takes it from there. */
export async function raiseAlert(
  sqs: SQSClient,
  queueUrl: string,
  alert: Alert,
): Promise<string | undefined> {
  const bounded = { ...alert, dedupKey: boundedDedupKey(alert.dedupKey) };
  const fitted = fitAlert(bounded, ALERT_QUEUE_BUDGET_BYTES, (a) => byteLength(JSON.stringify(a)));
  const out = await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(fitted.alert) }),
  );
  return out.MessageId;
}

/**
 * A dedup key the router takes: keys join names (ECS allows 255 characters per cluster and per
 * service), so a long one keeps its start and ends in a digest of the whole. The same key always
 * shortens the same way, so repeats still match and a silence on it still applies.
 */
export function boundedDedupKey(key: string): string {
  if (key.length <= MAX_DEDUP_KEY_LENGTH) return key;
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${key.slice(0, MAX_DEDUP_KEY_LENGTH - digest.length - 1)}#${digest}`;
}

export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * Cuts the least important parts of an alert (resources first, then long texts and counts)
 * until `measure` says it fits in `budget` bytes. Never fails: the last level keeps only the
 * title, a short summary and the identity fields.
 */
export function fitAlert(
  alert: Alert,
  budget: number,
  measure: (a: Alert) => number,
): { alert: Alert; truncated: boolean } {
  if (measure(alert) <= budget) return { alert, truncated: false };
  for (const level of TRUNCATION_LEVELS) {
    const cut = truncateAlert(alert, level);
    if (measure(cut) <= budget) return { alert: cut, truncated: true };
  }
  return { alert: truncateAlert(alert, LAST_RESORT), truncated: true };
}

interface TruncationLevel {
  resources: number;
  text: number;
  steps: number;
  countsPerDimension: number;
}

const TRUNCATION_LEVELS: TruncationLevel[] = [
  { resources: 200, text: 20_000, steps: 20, countsPerDimension: 100 },
  { resources: 50, text: 4_000, steps: 10, countsPerDimension: 30 },
  { resources: 10, text: 1_000, steps: 5, countsPerDimension: 10 },
  { resources: 0, text: 300, steps: 3, countsPerDimension: 0 },
];
const LAST_RESORT: TruncationLevel = { resources: 0, text: 100, steps: 0, countsPerDimension: 0 };

function truncateAlert(alert: Alert, level: TruncationLevel): Alert {
  const fields = new Set(alert.truncated?.fields ?? []);
  const text = (name: string, value: string, max: number): string => {
    if (value.length <= max) return value;
    fields.add(name);
    return `${value.slice(0, Math.max(0, max - 1))}…`;
  };
  const resourcesBefore = alert.truncated?.resources ?? alert.resources.length;
  const resources = alert.resources.slice(0, level.resources).map((r) => text('resources', r, 2048));
  if (resources.length < alert.resources.length) fields.add('resources');
  const nextSteps = alert.nextSteps.slice(0, level.steps).map((s) => text('nextSteps', s, level.text));
  if (nextSteps.length < alert.nextSteps.length) fields.add('nextSteps');

  let counts: Alert['counts'];
  if (alert.counts && level.countsPerDimension > 0) {
    counts = {};
    for (const [by, values] of Object.entries(alert.counts).slice(0, 10)) {
      const top = Object.entries(values)
        .sort((a, b) => b[1] - a[1])
        .slice(0, level.countsPerDimension);
      if (top.length < Object.keys(values).length) fields.add('counts');
      counts[text('counts', by, 200)] = Object.fromEntries(top.map(([k, n]) => [text('counts', k, 200), n]));
    }
  } else if (alert.counts) {
    fields.add('counts');
  }
  let links: Alert['links'];
  if (alert.links) {
    links = {};
    for (const [label, url] of Object.entries(alert.links).slice(0, 5)) {
      if (url.length <= 2048) links[text('links', label, 100)] = url;
      else fields.add('links');
    }
  }
  return {
    ...alert,
    title: text('title', alert.title, Math.max(level.text, 200)),
    summary: text('summary', alert.summary, level.text),
    whatHappened: text('whatHappened', alert.whatHappened, level.text),
    whatWeDid: text('whatWeDid', alert.whatWeDid, level.text),
    resources,
    nextSteps,
    counts,
    links,
    cluster: alert.cluster === undefined ? undefined : text('cluster', alert.cluster, 256),
    service: alert.service === undefined ? undefined : text('service', alert.service, 256),
    truncated: { resources: resourcesBefore, fields: [...fields].sort() },
  };
}

/** AWS console links for an alert; the region is the function's own. */
export function consoleLinks(
  region: string | undefined,
  targets: { cluster?: string; service?: string; executionArn?: string; alarmName?: string },
): Record<string, string> {
  if (!region) return {};
  const base = `https://${region}.console.aws.amazon.com`;
  const links: Record<string, string> = {};
  const e = encodeURIComponent;
  if (targets.cluster && targets.service) {
    links['ECS service'] =
      `${base}/ecs/v2/clusters/${e(targets.cluster)}/services/${e(targets.service)}/health?region=${region}`;
  } else if (targets.cluster) {
    links['ECS cluster'] = `${base}/ecs/v2/clusters/${e(targets.cluster)}/infrastructure?region=${region}`;
  }
  if (targets.executionArn) {
    links['Step Functions execution'] =
      `${base}/states/home?region=${region}#/v2/executions/details/${e(targets.executionArn)}`;
  }
  if (targets.alarmName) {
    links['CloudWatch alarm'] =
      `${base}/cloudwatch/home?region=${region}#alarmsV2:alarm/${e(targets.alarmName)}`;
  }
  return links;
}
