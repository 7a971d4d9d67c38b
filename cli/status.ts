// `ops status`: what is in flight right now. Running executions of every workflow, release trains
// and rollouts not yet ended (a local one runs in an `ops` process, not in Step Functions), remediations
// waiting for approval, held leases, active silences and the latest journal entries.
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../events/zod.ts';
import { type EpisodeRecord, episodeId, getMany } from '../functions/alert-router/episode-state.ts';
import { episodeLive, isActive } from '../functions/alert-router/rules.ts';
import { type Acknowledgement, readAlertControls, type Silence } from '../functions/alert-router/silences.ts';
import type { RemediationGateRecord } from '../functions/remediate-step/operator.ts';
import { awsClient } from '../functions/shared/clients.ts';
import { iso } from '../functions/shared/clock.ts';
import { type Db, documentClient } from '../functions/shared/dynamo.ts';
import { FreezeWindowSchema, freezeCalendar } from '../functions/shared/freeze-windows.ts';
import type { JournalRecord } from '../functions/shared/journal.ts';
import { type RolloutRecord, TERMINAL_PHASES } from '../functions/shared/rollouts/record.ts';
import {
  CAPACITY_FAILURE_PREFIX,
  describeFailure,
  liveFailuresOf,
  type RememberedFailure,
} from '../functions/shared/spot/capacity-failures.ts';
import type { TrainRecord } from '../functions/shared/trains/record.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { journalOfDay } from './journal-days.ts';
import { controlPlaneOutputs, outputOf, type TargetFlags } from './target.ts';
import type { Out } from './usage.ts';

export interface Status {
  at: string;
  executions: { workflow: string; name: string; executionArn: string; startedAt?: string }[];
  trains: {
    execution: string;
    name: string;
    status: string;
    /** Services done of all, failed so far, and the budget's tolerance. */
    progress: string;
    stop?: string;
  }[];
  rollouts: {
    execution: string;
    service: string;
    phase: string;
    weights: { blue: number; green: number };
    step: string;
    gate?: string;
    /** Its analysis was switched off. */
    blind?: boolean;
  }[];
  approvals: { execution: string; alarm: string; runbook?: string; closesAt: string }[];
  locks: { resource: string; owner: string; reason: string; expiresAt: string }[];
  silences: Silence[];
  /** Launch failures of managed groups that steer replacements elsewhere until they expire. */
  capacityFailures: RememberedFailure[];
  /** Firing alerts someone acknowledged (`ops ack`), until they resolve. */
  acknowledged: Acknowledgement[];
  /** Freeze windows in force now, and those starting within a week. */
  freezes: {
    inForce: { name: string; until: string; freezes: string[]; services?: string[]; reason?: string }[];
    upcoming: { name: string; from: string; until: string; freezes: string[]; services?: string[] }[];
  };
  journal: Pick<JournalRecord, 'at' | 'resource' | 'action' | 'outcome' | 'reason' | 'actor'>[];
}

const WORKFLOW_OUTPUTS: Record<string, string> = {
  'spot-surge': CONTROL_PLANE_OUTPUTS.surgeStateMachineArn,
  'blue-green-rollout': CONTROL_PLANE_OUTPUTS.rolloutStateMachineArn,
  'release-train': CONTROL_PLANE_OUTPUTS.trainStateMachineArn,
  'scale-service': CONTROL_PLANE_OUTPUTS.scaleStateMachineArn,
  'remediate-alarm': CONTROL_PLANE_OUTPUTS.remediationStateMachineArn,
};

export async function collectStatus(
  outputs: Record<string, string>,
  now: number,
  journalLimit = 10,
): Promise<Status> {
  const db = documentClient();
  const sfn = awsClient(SFNClient);
  const executions: Status['executions'] = [];
  for (const [workflow, key] of Object.entries(WORKFLOW_OUTPUTS)) {
    const arn = outputs[key];
    if (!arn) continue;
    const out = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'RUNNING', maxResults: 50 }),
    );
    for (const e of out.executions ?? []) {
      executions.push({
        workflow,
        name: e.name ?? '',
        executionArn: e.executionArn ?? '',
        ...(e.startDate ? { startedAt: e.startDate.toISOString() } : {}),
      });
    }
  }
  const operations = outputOf(outputs, CONTROL_PLANE_OUTPUTS.operationsTable, 'the operations table');
  const trains = (await scanPrefix<TrainRecord & { kind?: string }>(db, operations, 'train/'))
    .filter((t) => t.kind === 'train' && (t.status === 'running' || t.status === 'stopping'))
    .map((t) => {
      const total = t.waves.reduce((sum, w) => sum + w.services.length, 0);
      const done = t.counts.succeeded + t.counts.failed + t.counts.skipped;
      return {
        execution: t.executionName,
        name: t.name,
        status: t.status,
        progress: `${done} of ${total} services done, ${t.counts.failed} failed (tolerates ${t.budget.maxFailedServices})`,
        ...(t.stop ? { stop: t.stop.reason } : {}),
      };
    });
  const rollouts = (await scanPrefix<RolloutRecord>(db, operations, 'rollout/'))
    .filter((r) => !TERMINAL_PHASES.includes(r.phase))
    .map((r) => ({
      execution: r.executionName,
      service: `${r.cluster}/${r.service}`,
      phase: r.phase,
      weights: r.weights,
      step: `${r.step.index}/${r.step.total}`,
      ...(r.gate ? { gate: r.gate.kind } : {}),
      ...(r.plan.blind ? { blind: true } : {}),
    }));
  const capacityFailures = (
    await scanPrefix<Record<string, unknown>>(db, operations, CAPACITY_FAILURE_PREFIX)
  )
    .flatMap((item) => liveFailuresOf(item, now))
    .sort((a, b) => a.group.localeCompare(b.group) || b.at.localeCompare(a.at));
  const approvals = (await scanPrefix<RemediationGateRecord>(db, operations, 'remediation-gate/'))
    .filter((g) => !g.answer && Date.parse(g.closesAt) > now)
    .map((g) => ({
      execution: g.executionName,
      alarm: g.alarm,
      ...(g.runbook ? { runbook: g.runbook } : {}),
      closesAt: g.closesAt,
    }));
  const lockTable = outputOf(outputs, CONTROL_PLANE_OUTPUTS.locksTable, 'the locks table');
  const locks = (await scanAll<Record<string, unknown>>(db, lockTable))
    .filter((l) => Number(l.expiresAtMs ?? 0) > now)
    .map((l) => ({
      resource: String(l.resource),
      owner: String(l.owner),
      reason: String(l.reason ?? ''),
      expiresAt: iso(Number(l.expiresAtMs)),
    }))
    .sort((a, b) => a.resource.localeCompare(b.resource));
  const alertTable = outputs[CONTROL_PLANE_OUTPUTS.stateTable];
  const controls = alertTable ? await readAlertControls(db, alertTable) : undefined;
  const silences = (controls?.silences ?? []).filter((s) => isActive(s, now));
  // Only those whose episode still fires: an ack outlives an episode that ended by its lifetime.
  const acks = [...(controls?.acks.values() ?? [])];
  const episodes =
    acks.length > 0
      ? await getMany<EpisodeRecord>(
          db,
          alertTable as string,
          acks.map((a) => episodeId(a.dedupKey)),
        )
      : new Map<string, EpisodeRecord>();
  const acknowledged = acks
    .filter((ack) => {
      const episode = episodes.get(episodeId(ack.dedupKey));
      return episodeLive(episode, now) && episode.openedAt === ack.episodeOpenedAt;
    })
    .sort((a, b) => a.at.localeCompare(b.at));
  const journal = await latestJournal(
    db,
    outputOf(outputs, CONTROL_PLANE_OUTPUTS.journalTable, 'the journal'),
    now,
    journalLimit,
  );
  return {
    at: iso(now),
    executions,
    trains,
    rollouts,
    approvals,
    locks,
    silences,
    capacityFailures,
    acknowledged,
    freezes: freezesOf(outputs, now),
    journal,
  };
}

const WEEK_MS = 7 * 86_400_000;

/** The stack's freeze windows (its FreezeWindows output) in force now, and those coming this week. */
function freezesOf(outputs: Record<string, string>, now: number): Status['freezes'] {
  const raw = outputs[CONTROL_PLANE_OUTPUTS.freezeWindows];
  const windows = raw ? z.array(FreezeWindowSchema).parse(JSON.parse(raw)) : [];
  const calendar = freezeCalendar(windows, now, WEEK_MS);
  const scope = (w: { freezes: readonly string[]; services?: readonly string[] | undefined }) => ({
    freezes: [...w.freezes],
    ...(w.services ? { services: [...w.services] } : {}),
  });
  return {
    inForce: calendar.inForce.map((w) => ({
      name: w.name,
      until: iso(w.end),
      ...scope(w),
      ...(w.reason ? { reason: w.reason } : {}),
    })),
    upcoming: calendar.upcoming.map((w) => ({
      name: w.name,
      from: iso(w.start),
      until: iso(w.end),
      ...scope(w),
    })),
  };
}

async function scanAll<T>(db: Db, table: string, filter?: { prefix: string }): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        ...(filter
          ? {
              FilterExpression: 'begins_with(id, :prefix)',
              ExpressionAttributeValues: { ':prefix': filter.prefix },
            }
          : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...((out.Items ?? []) as T[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

const scanPrefix = <T>(db: Db, table: string, prefix: string) => scanAll<T>(db, table, { prefix });

/** Today's and yesterday's records through the byDay index, newest first: never a table scan. */
async function latestJournal(db: Db, table: string, now: number, limit: number): Promise<Status['journal']> {
  const records: JournalRecord[] = [];
  for (const day of [iso(now).slice(0, 10), iso(now - 86_400_000).slice(0, 10)]) {
    if (records.length >= limit) break;
    records.push(
      ...(await journalOfDay(db, table, day, { newestFirst: true, limit: limit - records.length })),
    );
  }
  return records.map(({ at, resource, action, outcome, reason, actor }) => ({
    at,
    resource,
    action,
    outcome,
    reason,
    actor,
  }));
}

export function describeStatus(s: Status): string {
  const section = (title: string, lines: string[]) => [
    `${title} (${lines.length})`,
    ...(lines.length ? lines.map((l) => `  ${l}`) : ['  none']),
  ];
  const bar = (green: number) =>
    `${'█'.repeat(Math.round(green / 10))}${'░'.repeat(10 - Math.round(green / 10))}`;
  return [
    `ops status at ${s.at}`,
    ...section(
      'executions running',
      s.executions.map(
        (e) => `${e.workflow.padEnd(18)} ${e.name}${e.startedAt ? `  since ${e.startedAt}` : ''}`,
      ),
    ),
    ...section(
      'release trains in flight',
      s.trains.map(
        (t) =>
          `${t.name}  ${t.execution}  ${t.status}${t.stop ? ` (${t.stop})` : ''}  ${t.progress}  -> ops train status ${t.execution}`,
      ),
    ),
    ...section(
      'rollouts in flight',
      s.rollouts.map(
        (r) =>
          `${r.service.padEnd(16)} ${r.execution}  ${r.phase}${r.gate ? ` (${r.gate} gate)` : ''}${r.blind ? '  BLIND (analysis off)' : ''}  step ${r.step}  green ${bar(r.weights.green)} ${r.weights.green}%`,
      ),
    ),
    ...section(
      'remediations waiting for approval',
      s.approvals.map(
        (a) => `${a.execution}  alarm ${a.alarm}  until ${a.closesAt}  -> ops approve|reject ${a.execution}`,
      ),
    ),
    ...section(
      'held locks',
      s.locks.map(
        (l) => `${l.resource.padEnd(28)} ${l.owner.split(':').pop()}  until ${l.expiresAt}  ${l.reason}`,
      ),
    ),
    ...section(
      'active silences',
      s.silences.map((x) => `${x.id}  until ${x.endsAt}  ${x.reason}`),
    ),
    ...section(
      'capacity failures remembered (replacements go elsewhere)',
      s.capacityFailures.map(describeFailure),
    ),
    ...section(
      'acknowledged alerts',
      s.acknowledged.map((a) => `${a.dedupKey}  by ${a.by} at ${a.at}${a.reason ? `  ${a.reason}` : ''}`),
    ),
    ...section(
      'freeze windows in force',
      s.freezes.inForce.map(
        (w) =>
          `${w.name}  until ${w.until}  freezes ${w.freezes.join(', ')} of ${w.services?.join(', ') ?? 'every service'}${w.reason ? `: ${w.reason}` : ''}`,
      ),
    ),
    ...section(
      'freeze windows this week',
      s.freezes.upcoming.map(
        (w) =>
          `${w.name}  ${w.from} to ${w.until}  freezes ${w.freezes.join(', ')} of ${w.services?.join(', ') ?? 'every service'}`,
      ),
    ),
    ...section(
      'latest journal entries',
      s.journal.map(
        (j) => `${j.at.slice(0, 19)}  ${j.outcome.padEnd(9)} ${j.action.padEnd(26)} ${j.resource}`,
      ),
    ),
  ].join('\n');
}

export async function statusCommand(flags: TargetFlags & { limit?: string }, out: Out): Promise<number> {
  const outputs = await controlPlaneOutputs(flags);
  const status = await collectStatus(outputs, Date.now(), flags.limit ? Number(flags.limit) : 10);
  out(describeStatus(status), status);
  return 0;
}
