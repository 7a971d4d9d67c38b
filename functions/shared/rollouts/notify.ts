// Evidence of a rollout: one journal record per decision (resource `service/<cluster>/<service>`,
// trigger = the execution), and alerts raised onto the alert queue for start, gates and end.
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { RolloutPlan, Verdict } from '../../../events/rollout-state.ts';
import { type Alert, consoleLinks, raiseAlert, type Severity } from '../alerts.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { Db } from '../dynamo.ts';
import { type JournalEntry, type Outcome, writeJournal } from '../journal.ts';
import { serviceLockResource } from '../service-lock.ts';
import { type RolloutController, rolloutActorKind } from './actors.ts';

type EvidencePlan = Pick<RolloutPlan, 'cluster' | 'service' | 'execution' | 'id'> & {
  controller?: RolloutController;
  /** The release train that started it: its routine (info) news is the train's one alert. */
  train?: string;
};

export interface EvidenceDeps {
  db: Db;
  clock: Clock;
  env: { JOURNAL_TABLE: string; ALERT_QUEUE_URL: string; OPS_ENVIRONMENT?: string };
  /** Created on first use: most steps raise no alert. */
  sqs: () => SQSClient;
}

export async function journal(
  deps: EvidenceDeps,
  plan: EvidencePlan & Pick<RolloutPlan, 'startedAt' | 'requestedBy'>,
  action: string,
  outcome: Outcome,
  reason: string,
  extra: Pick<JournalEntry, 'before' | 'after' | 'details'> = {},
): Promise<void> {
  const kind = rolloutActorKind(plan.controller);
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: serviceLockResource(plan.cluster, plan.service),
      action,
      outcome,
      reason,
      trigger: { kind, id: plan.execution, source: plan.requestedBy, at: plan.startedAt },
      actor: `${kind}/${plan.id}`,
      ...extra,
      details: { execution: plan.execution, ...extra.details },
    },
  ]);
}

export async function alert(
  deps: EvidenceDeps,
  plan: EvidencePlan,
  fields: {
    severity: Severity;
    kind: string;
    title: string;
    summary: string;
    whatHappened: string;
    whatWeDid: string;
    nextSteps: string[];
    resources?: string[];
    state?: Alert['state'];
    /** Within the rollout, what this alert is about when one rollout raises several of its kind. */
    episode?: string;
    /** The answers chat buttons may give to this rollout (its gate, or a rollback in its window). */
    answers?: 'approve-reject' | 'rollback';
  },
): Promise<void> {
  // A train of 200 services would otherwise announce 400 starts and promotions; the journal keeps them.
  if (plan.train && fields.severity === 'info') return;
  const env = deps.env.OPS_ENVIRONMENT ? `[${deps.env.OPS_ENVIRONMENT}] ` : '';
  await raiseAlert(deps.sqs(), deps.env.ALERT_QUEUE_URL, {
    severity: fields.severity,
    state: fields.state ?? 'firing',
    kind: fields.kind,
    title: `${env}${fields.title}`,
    summary: fields.summary,
    cluster: plan.cluster,
    service: plan.service,
    resources: fields.resources ?? [plan.execution],
    whatHappened: fields.whatHappened,
    whatWeDid: fields.whatWeDid,
    nextSteps: fields.nextSteps,
    // One episode per rollout and kind (and `episode`): repeats of a retried step collapse into one.
    dedupKey: `${fields.kind}/${plan.cluster}/${plan.service}/${plan.id}${fields.episode ? `/${fields.episode}` : ''}`,
    links: consoleLinks(process.env.AWS_REGION, {
      cluster: plan.cluster,
      service: plan.service,
      // A service deployment has no page of its own: the service's page shows its deployments.
      ...(plan.controller === 'ecs' ? {} : { executionArn: plan.execution }),
    }),
    ...(fields.answers ? { answers: { execution: plan.id, choices: fields.answers } } : {}),
    at: iso(deps.clock.now()),
  });
}

const pct = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(digits)}%`;
const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)} ms`);

/** A verdict's numbers in one line: what a human needs to judge it. */
export function describeVerdict(verdict: Verdict): string {
  const parts = [`step ${verdict.step + 1} at ${verdict.weight}% green: ${verdict.verdict}`];
  if (verdict.green) {
    parts.push(
      `green 5xx ${pct(verdict.green.errorRate)} (${verdict.green.errors} of ${verdict.green.requests} requests), p95 ${ms(verdict.green.p95LatencyMs)}`,
    );
  }
  if (verdict.blue) {
    parts.push(
      `blue 5xx ${pct(verdict.blue.errorRate)} (${verdict.blue.errors} of ${verdict.blue.requests}), p95 ${ms(verdict.blue.p95LatencyMs)}`,
    );
  }
  for (const c of verdict.comparisons) {
    parts.push(
      `${c.metric} vs blue: ${c.verdict}${c.pValue === null ? '' : ` (p=${c.pValue.toPrecision(3)}, U=${c.u})`}`,
    );
  }
  if (verdict.errorBudget)
    parts.push(
      `error budget ${verdict.errorBudget.burning ? 'BURNING' : 'holding'}: ${verdict.errorBudget.rules.join('; ')}`,
    );
  const firing = verdict.alarms.filter((a) => a.state !== 'OK');
  if (firing.length > 0) parts.push(`alarms: ${firing.map((a) => `${a.name}=${a.state}`).join(', ')}`);
  if (verdict.reasons.length > 0) parts.push(`why: ${verdict.reasons.join('; ')}`);
  return parts.join('; ');
}
