// Alarm-triggered remediation: the rule's pattern, the workflow's input (from the trigger or the
// console) and the plan its steps pass along, defined once for infra, the functions and the tests.

import { ALARM_STATE_CHANGE_DETAIL_TYPE } from './alarm-state-change.ts';
import type { EventPattern } from './patterns.ts';
import * as z from './zod.ts';

/**
 * Every alarm state change reaches the remediation trigger, but those of alarms the scale-alarm
 * function already acts on (fast scale-out): one alarm, one reaction. Unknown alarms come in
 * too, so that "nothing to do" is journaled and announced rather than silent. The alarms on the
 * control plane itself (`excludedAlarmArnPrefix`, matched on the ARN because the name already
 * carries the list) are news for people, which the event-alerts rule brings them; no runbook acts on them.
 */
export function alarmRemediationPattern(
  excludedAlarmNames: readonly string[],
  excludedAlarmArnPrefix?: string,
): EventPattern {
  return {
    source: ['aws.cloudwatch'],
    'detail-type': [ALARM_STATE_CHANGE_DETAIL_TYPE],
    ...(excludedAlarmArnPrefix
      ? { resources: [{ 'anything-but': { prefix: excludedAlarmArnPrefix } }] }
      : {}),
    ...(excludedAlarmNames.length > 0
      ? { detail: { alarmName: [{ 'anything-but': [...excludedAlarmNames] }] } }
      : {}),
  };
}

export const ALARM_STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
export const AlarmStateValueSchema = z.enum(ALARM_STATES);

const AlarmStateSnapshotSchema = z.strictObject({
  value: AlarmStateValueSchema,
  reason: z._default(z.string().check(z.maxLength(2000)), ''),
  timestamp: z.string().check(z.minLength(1, 'expected an ISO 8601 timestamp')),
});

/**
 * Console input: `{ "alarmName": "...", "dryRun": true }` is enough; the first state reads the
 * alarm's current state. The trigger also passes the state change it saw.
 */
export const RemediationInputSchema = z.strictObject({
  alarmName: z.string().check(z.minLength(1, 'expected the name of a CloudWatch alarm'), z.maxLength(255)),
  /** Decide and explain, change nothing. */
  dryRun: z._default(z.boolean(), false),
  /** Why a human started it (console, ops remediate). */
  reason: z.optional(z.string().check(z.maxLength(500))),
  alarmArn: z.optional(z.string().check(z.startsWith('arn:'))),
  state: z.optional(AlarmStateSnapshotSchema),
  previousState: z.optional(z.partial(AlarmStateSnapshotSchema)),
  trigger: z.optional(
    z.strictObject({
      kind: z.enum(['alarm', 'operator']),
      id: z.optional(z.string()),
      source: z.optional(z.string()),
      at: z.optional(z.string()),
    }),
  ),
});
export type RemediationInput = z.infer<typeof RemediationInputSchema>;
export type RemediationInputDraft = z.input<typeof RemediationInputSchema>;

export const RUNBOOK_KINDS = [
  'scale-out',
  'rollback-rollout',
  'force-new-deployment',
  'replace-unhealthy-tasks',
  'drain-instance',
  'notify-only',
] as const;
export const RunbookKindSchema = z.enum(RUNBOOK_KINDS);
export type RunbookKind = z.infer<typeof RunbookKindSchema>;

/** What the decide step chose. Only `execute` and `approve` go on to change anything. */
export type RemediationDecision =
  | 'execute'
  | 'approve'
  | 'resolved'
  | 'unknown-alarm'
  | 'skipped'
  | 'refused'
  | 'dry-run';

export interface RunbookPlan {
  id: string;
  kind: RunbookKind;
  cluster?: string;
  service?: string;
  /** scale-out: the scale-service workflow's input. */
  scaleInput?: Record<string, unknown>;
  /** scale-out: the nested scale-service execution's name (at most 80 characters). */
  scaleExecutionName?: string;
  /** replace-unhealthy-tasks, drain-instance: what will be touched, within the blast radius. */
  targets?: string[];
  /** drain-instance: the EC2 instance behind the alarm. */
  instanceId?: string;
  blastRadius?: { maxTasks: number; maxPercent: number; allowed: number; wanted: number };
  severity?: 'critical' | 'warning' | 'info';
}

/** The state the workflow carries from one step to the next (also its output). */
export interface RemediationPlan {
  execution: { id: string; name: string };
  alarm: {
    name: string;
    arn: string;
    state: { value: z.infer<typeof AlarmStateValueSchema>; reason: string; timestamp: string };
    previousState?: { value?: string; timestamp?: string };
    dimensions: Record<string, string>;
  };
  trigger: { kind: 'alarm' | 'operator'; id?: string; source?: string; at?: string };
  dryRun: boolean;
  reason?: string;
  decision?: RemediationDecision;
  runbook?: RunbookPlan;
  /** Plain words: what was decided and why. */
  summary?: string;
  explanation?: string[];
  /** Held from decide to finish: `remediation/<cluster>/<service>` (or the alarm). */
  lease?: { resource: string; owner: string };
  approval?: { timeoutSeconds: number; defaultAction: 'approve' | 'reject' };
  /** What the runbook did, in plain words, and its details. */
  action?: { done: string; details?: Record<string, unknown> };
  verification?: {
    status: 'waiting' | 'recovered' | 'not-recovered';
    deadline: string;
    pollSeconds: number;
    checks: number;
    lastState?: string;
  };
  outcome?: 'remediated' | 'escalated' | 'rejected' | 'failed';
}
