// What every remediation step takes (clients, clock, environment), the keys of its records in the
// operations table, and the journal and alert helpers the steps share.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import { type Alert, consoleLinks, raiseAlert, type Severity } from '../shared/alerts.ts';
import { type Clock, iso } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import { serviceLockResource } from '../shared/service-lock.ts';
import type { TaskCallbacks } from '../shared/task-callbacks.ts';
import type { RemediateStepEnv, Runbook } from './config.ts';
import type { AlarmView } from './runbooks.ts';

export interface RemediateDeps {
  cloudwatch: CloudWatchClient;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  sqs: SQSClient;
  db: Db;
  clock: Clock;
  env: RemediateStepEnv;
  /** Answers a rollout's waiting task (rollback-rollout): SendTaskSuccess on AWS. */
  callbacks: TaskCallbacks;
}

const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** The lease outlives the approval wait, the runbook and the verification window. */
export const LEASE_MARGIN_MS = 15 * MINUTE;

export const remediationLeaseResource = (runbook: Runbook, plan: RemediationPlan): string =>
  runbook.service
    ? `remediation/${runbook.cluster}/${runbook.service}`
    : `remediation/${runbook.cluster}/instance/${plan.alarm.dimensions.InstanceId ?? plan.alarm.name}`;
export const episodeKey = (alarmName: string) => `remediation/${alarmName}`;
export const escalationKey = (alarmName: string) => `remediation/${alarmName}/escalated`;
export const historyKey = (runbookId: string) => `remediation-history#${runbookId}`;
export const transitionKey = (alarmArn: string, at: string) => `remediation-transition#${alarmArn}#${at}`;
/** The newest transition of an alarm that an execution has taken up (any state). */
export const latestTransitionKey = (alarmArn: string) => `remediation-latest-transition#${alarmArn}`;
export const gateRecordId = (executionName: string) => `remediation-gate/${executionName}`;

// -------------------------------------------------------------------------------------------
// evidence

export function findRunbook(deps: RemediateDeps, id: string | undefined): Runbook | undefined {
  return deps.env.REMEDIATION_CONFIG.runbooks.find((r) => r.id === id);
}

export async function journal(
  deps: RemediateDeps,
  plan: RemediationPlan,
  runbook: Pick<Runbook, 'cluster' | 'service' | 'id'> | undefined,
  entry: Pick<JournalEntry, 'action' | 'outcome' | 'reason'> & { details?: Record<string, unknown> },
): Promise<void> {
  const cluster = runbook?.cluster ?? plan.runbook?.cluster;
  const service = runbook?.service ?? plan.runbook?.service;
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: cluster && service ? serviceLockResource(cluster, service) : `alarm/${plan.alarm.name}`,
      action: entry.action,
      outcome: entry.outcome,
      reason: entry.reason,
      trigger: plan.trigger,
      actor: plan.execution.id,
      details: {
        alarm: plan.alarm.name,
        alarmState: plan.alarm.state,
        ...(runbook?.id || plan.runbook?.id ? { runbook: runbook?.id ?? plan.runbook?.id } : {}),
        ...(plan.dryRun ? { dryRun: true } : {}),
        ...(entry.details ?? {}),
      },
    },
  ]);
}

export async function alert(
  deps: RemediateDeps,
  plan: RemediationPlan,
  parts: Pick<Alert, 'severity' | 'kind' | 'title' | 'whatWeDid' | 'nextSteps' | 'dedupKey'> & {
    state?: Alert['state'];
  },
): Promise<void> {
  const cluster = plan.runbook?.cluster;
  const service = plan.runbook?.service;
  await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
    state: parts.state ?? 'firing',
    severity: parts.severity as Severity,
    kind: parts.kind,
    title: parts.title,
    summary: plan.summary ?? parts.title,
    ...(cluster ? { cluster } : {}),
    ...(service ? { service } : {}),
    resources: [plan.alarm.arn, ...(cluster && service ? [`service/${cluster}/${service}`] : [])],
    whatHappened: `Alarm ${plan.alarm.name} went to ${plan.alarm.state.value} at ${plan.alarm.state.timestamp}${plan.alarm.state.reason ? `: ${plan.alarm.state.reason}` : ''}`,
    whatWeDid: parts.whatWeDid,
    nextSteps: parts.nextSteps,
    dedupKey: parts.dedupKey,
    links: consoleLinks(process.env.AWS_REGION, {
      ...(cluster ? { cluster } : {}),
      ...(service ? { service } : {}),
      executionArn: plan.execution.id,
      alarmName: plan.alarm.name,
    }),
    at: iso(deps.clock.now()),
  });
}

export type { AlarmView };
