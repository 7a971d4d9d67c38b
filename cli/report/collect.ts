// Gathers what a rollout report shows: the rollout's journal records (the full history), its live
// record in the operations table (phase, topology, outcome), and the target groups' load balancer
// metrics over the rollout's time range. Clients come in, so the same code reads the emulator and
// a deployed stack; `assembleReport` is the pure part (journal + record + metrics -> ReportData).
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Comparison, MetricNumbers } from '../../events/rollout-state.ts';
import type { Db } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { rolloutIdOfActor } from '../../functions/shared/rollouts/actors.ts';
import {
  LATENCY_STATISTIC,
  metricSeries,
  periodQueries,
  targetGroupDimensions,
} from '../../functions/shared/rollouts/analysis/metrics.ts';
import {
  findRolloutRecord,
  getRolloutRecord,
  type RolloutRecord,
} from '../../functions/shared/rollouts/record.ts';
import { journalOfDay } from '../journal-days.ts';
import {
  type GateRow,
  type MetricPoint,
  type ReportData,
  type ReportMetrics,
  type ReportOutcome,
  reportEnd,
  type TimelineRow,
  type VerdictRow,
  type WeightPoint,
} from './model.ts';

export interface ReportClients {
  db: Db;
  cloudwatch: CloudWatchClient;
}

export interface ReportTables {
  journal: string;
  operations: string;
}

/** No rollout answers to the reference: the message says what to give instead. */
export class RolloutNotFoundError extends Error {
  override readonly name = 'NotFound';
}

const ACTOR_PREFIX = 'blue-green-rollout/';
/** A rollout's plan fits in 7 days: its journal records are within 8 days of its start. */
const MAX_DAYS = 8;
/** Points per series in the chart at most: the period grows with the rollout's length. */
const MAX_POINTS = 600;

export async function collectReport(
  clients: ReportClients,
  tables: ReportTables,
  ref: string,
  opts: { now?: number; notes?: string[] } = {},
): Promise<ReportData> {
  const now = opts.now ?? Date.now();
  let record = await findRolloutRecord(clients.db, tables.operations, ref);
  let journal: JournalRecord[];
  if (record) {
    journal = await journalOf(clients.db, tables.journal, {
      resource: `service/${record.cluster}/${record.service}`,
      execution: record.execution,
      from: record.startedAt,
    });
  } else {
    // Not the service's latest rollout (its record was taken over by a newer one): the journal
    // still has it, under its execution name.
    const hits = await searchJournal(clients.db, tables.journal, executionNameOf(ref));
    const first = hits.find((r) => typeof r.details?.execution === 'string');
    if (!first) {
      throw new RolloutNotFoundError(
        `no rollout found for "${ref}": give an execution name or ARN (ops journal shows them as ${ACTOR_PREFIX}<name>), or [CLUSTER/]SERVICE for its latest rollout`,
      );
    }
    journal = await journalOf(clients.db, tables.journal, {
      resource: first.resource,
      execution: first.details?.execution as string,
      from: isoOf(first.at),
    });
    const [, cluster, service] = first.resource.split('/');
    record =
      cluster && service
        ? await getRolloutRecord(clients.db, tables.operations, cluster, service)
        : undefined;
  }
  const execution = record && journal.length === 0 ? record.execution : executionOf(journal);
  const own = record?.execution === execution ? record : undefined;
  const draft = assembleReport({ journal, record: own, now, notes: opts.notes ?? [] });

  const groups = targetGroups(own ?? record, journal);
  if (!groups) {
    draft.metricsNote =
      'the target groups of this rollout are not known any more (its record belongs to a newer rollout): no metrics';
    return draft;
  }
  const start = Date.parse(draft.startedAt);
  const end = reportEnd(draft);
  try {
    draft.metrics = await readMetrics(clients.cloudwatch, groups, start, end);
  } catch (error) {
    draft.metricsNote = `CloudWatch GetMetricData failed: ${(error as Error).name}: ${(error as Error).message}`;
  }
  return draft;
}

// ------------------------------------------------------------------------------------------
// Reads.

/** An execution ARN's name (its last segment); a name stays as it is. */
export const executionNameOf = (ref: string): string =>
  ref.startsWith('arn:') ? (ref.split(':').at(-1) ?? ref) : ref;

async function journalOf(
  db: Db,
  table: string,
  q: { resource: string; execution: string; from: string },
): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  let start: Record<string, unknown> | undefined;
  // Operators' records (approve, rollback, abort) are on the same resource and name the
  // execution in details too; other workflows' records on the service do not.
  const from = new Date(Date.parse(q.from) - 60_000).toISOString();
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#resource = :resource AND #at >= :from',
        FilterExpression: '#details.#execution = :execution',
        ExpressionAttributeNames: {
          '#resource': 'resource',
          '#at': 'at',
          '#details': 'details',
          '#execution': 'execution',
        },
        ExpressionAttributeValues: { ':resource': q.resource, ':from': from, ':execution': q.execution },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    records.push(...((out.Items ?? []) as JournalRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return records.filter((r) => r.details?.execution === q.execution).sort((a, b) => a.at.localeCompare(b.at));
}

/** The workflow's own records of an execution name: by day when the name carries its date. */
async function searchJournal(db: Db, table: string, name: string): Promise<JournalRecord[]> {
  const values = { ':actor': `${ACTOR_PREFIX}${name}` };
  const names = { '#actor': 'actor' };
  const dated = /-(\d{4})(\d{2})(\d{2})T\d{6}-/.exec(name);
  const pages: JournalRecord[] = [];
  if (dated) {
    const first = Date.parse(`${dated[1]}-${dated[2]}-${dated[3]}T00:00:00Z`);
    for (let d = 0; d < MAX_DAYS && pages.length === 0; d++) {
      const day = new Date(first + d * 86_400_000).toISOString().slice(0, 10);
      pages.push(...(await journalOfDay(db, table, day, { actor: values[':actor'] })));
    }
    return pages;
  }
  // A name without a date (started from the console with a name of its own): the whole table.
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: '#actor = :actor',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    pages.push(...((out.Items ?? []) as JournalRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return pages.sort((a, b) => a.at.localeCompare(b.at));
}

interface Groups {
  loadBalancerArn: string;
  green: string;
  blue: string;
}

/**
 * Green and blue of this rollout. Its own record has them; a newer rollout's record has the same
 * pair (possibly swapped): green is then the one its create-green record names.
 */
function targetGroups(record: RolloutRecord | undefined, journal: JournalRecord[]): Groups | undefined {
  if (!record) return undefined;
  const t = record.topology;
  if (journal.length === 0 || executionOf(journal) === record.execution)
    return { loadBalancerArn: t.loadBalancerArn, green: t.greenTargetGroupArn, blue: t.blueTargetGroupArn };
  const created = journal.find((r) => r.action === 'create-green')?.reason ?? '';
  if (created.includes(t.greenTargetGroupArn))
    return { loadBalancerArn: t.loadBalancerArn, green: t.greenTargetGroupArn, blue: t.blueTargetGroupArn };
  if (created.includes(t.blueTargetGroupArn))
    return { loadBalancerArn: t.loadBalancerArn, green: t.blueTargetGroupArn, blue: t.greenTargetGroupArn };
  return undefined;
}

/** Request and 5xx counts and p95 latency per period, for both groups, in one GetMetricData call. */
async function readMetrics(
  cloudwatch: CloudWatchClient,
  groups: Groups,
  start: number,
  end: number,
): Promise<ReportMetrics> {
  const periodSeconds = Math.max(60, Math.ceil((end - start) / 1000 / MAX_POINTS / 60) * 60);
  const period = periodSeconds * 1000;
  // A period before the start shows blue's level before anything changed.
  const from = Math.floor((start - period) / period) * period;
  const to = Math.ceil((end + period) / period) * period;
  const queries = (['green', 'blue'] as const).flatMap((color) =>
    periodQueries(color, targetGroupDimensions(groups[color], groups.loadBalancerArn), periodSeconds),
  );
  const series = await metricSeries(cloudwatch, queries, new Date(from), new Date(to));

  const points = (color: string): MetricPoint[] => {
    const requests = series.get(`${color}_requests`) ?? new Map<number, number>();
    const errors = series.get(`${color}_errors`) ?? new Map<number, number>();
    const latency = series.get(`${color}_latency`) ?? new Map<number, number>();
    const times = [...new Set([...requests.keys(), ...latency.keys()])].sort((a, b) => a - b);
    return times.map((t) => {
      const n = requests.get(t) ?? 0;
      // The ALB publishes no 5xx datapoint for a period without 5xx: zero, not missing.
      const e = errors.get(t) ?? 0;
      const l = latency.get(t);
      return {
        at: new Date(t).toISOString(),
        requests: n,
        errors: e,
        errorRate: n > 0 ? e / n : null,
        p95LatencyMs: l === undefined ? null : l * 1000,
      };
    });
  };
  return {
    periodSeconds,
    statistic: LATENCY_STATISTIC,
    green: points('green'),
    blue: points('blue'),
    greenTargetGroup: groups.green,
    blueTargetGroup: groups.blue,
  };
}

// ------------------------------------------------------------------------------------------
// Assembly: pure.

/** A journal record's time (its sort key also carries the record's id). */
export const isoOf = (at: string): string => at.split('#')[0] ?? at;

function executionOf(journal: JournalRecord[]): string {
  const found = journal.find((r) => typeof r.details?.execution === 'string');
  return (found?.details?.execution as string | undefined) ?? '';
}

const obj = (x: unknown): Record<string, unknown> =>
  x !== null && typeof x === 'object' ? (x as Record<string, unknown>) : {};
const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 ? x : undefined);
const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** 300 -> 5m, 90 -> 1m30s, 3600 -> 1h. */
export function shortDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
}

function planText(steps: { weight: number; bakeSeconds: number }[]): string {
  return steps
    .map((s) => `${s.weight}%${s.bakeSeconds > 0 ? ` for ${shortDuration(s.bakeSeconds)}` : ''}`)
    .join(' → ');
}

const TERMINAL_ACTIONS = ['rollout-complete', 'rollout-rolled-back', 'rollout-frozen', 'rollback-failed'];

export function assembleReport(input: {
  journal: JournalRecord[];
  record?: RolloutRecord | undefined;
  now: number;
  notes: string[];
}): ReportData {
  const { journal, record } = input;
  const started = journal.find((r) => r.action === 'rollout-started');
  const details = obj(started?.details);
  const steps = Array.isArray(details.plan)
    ? (details.plan as unknown[]).map((s) => ({
        weight: num(obj(s).weight) ?? 0,
        bakeSeconds: num(obj(s).bakeSeconds) ?? 0,
      }))
    : undefined;
  const name =
    record?.executionName ??
    journal.map((r) => rolloutIdOfActor(r.actor)).find((id) => id !== undefined) ??
    executionNameOf(executionOf(journal));
  const [, cluster = record?.cluster ?? '?', service = record?.service ?? '?'] = (
    journal[0]?.resource ?? `service/${record?.cluster}/${record?.service}`
  ).split('/');
  const terminal = [...journal].reverse().find((r) => TERMINAL_ACTIONS.includes(r.action));
  const startedAt =
    record?.startedAt ?? str(started?.trigger.at) ?? (journal[0] ? isoOf(journal[0].at) : undefined);
  const finishedAt = record?.finishedAt ?? (terminal ? isoOf(terminal.at) : undefined);
  const analysis = obj(details.analysis);
  const baseline = obj(analysis.baseline);
  const approval = obj(details.approval);
  const before = obj(started?.before);
  const after = obj(started?.after);
  const target =
    record?.image ??
    record?.green?.image ??
    str(after.image) ??
    str(after.taskDefinition) ??
    record?.green?.taskDefinition;
  const previous =
    record?.blue.image ?? str(before.image) ?? record?.blue.taskDefinition ?? str(before.taskDefinition);
  return {
    execution: { name, arn: record?.execution ?? executionOf(journal) },
    cluster,
    service,
    ...(target ? { target } : {}),
    ...(previous ? { previous } : {}),
    strategy: steps ? planText(steps) : (record?.plan.strategy ?? 'unknown'),
    plannedWeights: steps ? steps.map((s) => s.weight) : (record?.plan.weights ?? []),
    ...(record?.requestedBy || started?.trigger.source
      ? { requestedBy: record?.requestedBy ?? started?.trigger.source }
      : {}),
    startedAt: startedAt ?? new Date(input.now).toISOString(),
    ...(finishedAt ? { finishedAt } : {}),
    ...(record ? { phase: record.phase } : {}),
    outcome: outcomeOf(terminal, record),
    analysis: {
      ...(analysis.enabled === false || record?.plan.blind ? { blind: true } : {}),
      ...(Array.isArray(details.analysisPlan) || record?.plan.analysis
        ? { plan: (record?.plan.analysis ?? (details.analysisPlan as string[])).map(String) }
        : {}),
      alarms: Array.isArray(analysis.alarms) ? (analysis.alarms as string[]) : [],
      ...(num(analysis.maxErrorRate) !== undefined ? { maxErrorRate: num(analysis.maxErrorRate) } : {}),
      ...(num(analysis.maxP95LatencyMs) !== undefined
        ? { maxP95LatencyMs: num(analysis.maxP95LatencyMs) }
        : {}),
      ...(baseline.enabled === true
        ? {
            baseline: `green vs blue (Mann-Whitney U) at ${num(baseline.confidence) ?? '?'} confidence, ≥ ${num(baseline.minSamples) ?? '?'} samples, ${num(baseline.tolerancePercent) ?? '?'}% tolerance`,
          }
        : {}),
    },
    ...(str(approval.gate)
      ? {
          approval:
            approval.gate === 'none'
              ? 'none'
              : `${approval.gate} (timeout ${shortDuration(num(approval.timeoutSeconds) ?? 0)}, then ${str(approval.defaultAction) ?? '?'})`,
        }
      : {}),
    ...(str(details.onFailure) ? { onFailure: str(details.onFailure) } : {}),
    weights: weightsOf(journal, steps?.length ?? record?.plan.weights.length, startedAt),
    verdicts: verdictsOf(journal),
    gates: gatesOf(journal),
    timeline: journal.map(
      (r): TimelineRow => ({
        at: isoOf(r.at),
        action: r.action,
        outcome: r.outcome,
        reason: r.reason,
        actor: r.actor,
      }),
    ),
    notes: input.notes,
    generatedAt: new Date(input.now).toISOString(),
  };
}

function outcomeOf(terminal: JournalRecord | undefined, record: RolloutRecord | undefined): ReportOutcome {
  const stop = obj(obj(terminal?.details).stop);
  switch (terminal?.action) {
    case 'rollout-complete':
      return terminal.outcome === 'failed'
        ? {
            status: 'succeeded',
            summary: 'Succeeded: green is primary and serves 100% of traffic; blue could not be removed',
            detail: terminal.reason,
          }
        : {
            status: 'succeeded',
            summary: 'Succeeded: green is primary and serves 100% of traffic; blue was retired',
          };
    case 'rollout-rolled-back':
      return {
        status: 'rolled-back',
        summary: `Rolled back${str(stop.cause) ? ` (${stop.cause})` : ''}: 100% of traffic is back on blue; green was removed`,
        detail: str(stop.reason) ?? terminal.reason,
      };
    case 'rollout-frozen':
      return {
        status: 'frozen',
        summary: 'Frozen (onFailure=freeze): traffic and both task sets were left as they were',
        detail: str(stop.reason) ?? terminal.reason,
      };
    case 'rollback-failed':
      return {
        status: 'rollback-failed',
        summary: 'ROLLBACK FAILED: traffic may still reach green; check the listener',
        detail: terminal.reason,
      };
  }
  if (record?.outcome) {
    const status: ReportOutcome['status'] =
      record.phase === 'finalized'
        ? 'succeeded'
        : record.phase === 'rolled-back'
          ? 'rolled-back'
          : record.phase === 'frozen'
            ? 'frozen'
            : record.phase === 'rollback-failed'
              ? 'rollback-failed'
              : 'in-progress';
    return { status, summary: record.outcome };
  }
  return {
    status: 'in-progress',
    summary: record
      ? `In progress (${record.phase}): blue ${record.weights.blue}% / green ${record.weights.green}%`
      : 'In progress: no end recorded yet',
  };
}

function weightsOf(journal: JournalRecord[], total: number | undefined, startedAt: string | undefined) {
  const points: WeightPoint[] = [];
  const first = journal.find((r) => r.action === 'rollout-started');
  const at0 = first ? isoOf(first.at) : startedAt;
  if (at0) points.push({ at: at0, blue: 100, green: 0, label: 'start' });
  for (const r of journal) {
    const a = obj(r.after);
    const blue = num(a.blue);
    const green = num(a.green);
    if (blue === undefined || green === undefined) continue;
    const label =
      r.action === 'shift-traffic'
        ? `step ${(num(obj(r.details).step) ?? 0) + 1}${total ? ` of ${total}` : ''}`
        : r.action === 'restore-blue'
          ? 'rollback'
          : r.action === 'operator-rollback'
            ? `rollback by ${r.actor}`
            : r.action === 'operator-abort'
              ? `abort by ${r.actor}`
              : undefined;
    // Other records with weights (the test listener's) are not production traffic.
    if (label) points.push({ at: isoOf(r.at), blue, green, label });
  }
  return points;
}

function verdictsOf(journal: JournalRecord[]): VerdictRow[] {
  const rows: VerdictRow[] = [];
  for (const r of journal) {
    if (r.action !== 'analyse-step' && r.action !== 'spot-storm-pause') continue;
    const v = obj(obj(r.details).verdict);
    const window = obj(v.window);
    rows.push({
      at: str(v.at) ?? isoOf(r.at),
      step: num(v.step) ?? 0,
      weight: num(v.weight) ?? 0,
      verdict: str(v.verdict) ?? 'unknown',
      window: { start: str(window.start) ?? isoOf(r.at), end: str(window.end) ?? isoOf(r.at) },
      ...(v.green ? { green: v.green as MetricNumbers } : {}),
      ...(v.blue ? { blue: v.blue as MetricNumbers } : {}),
      comparisons: Array.isArray(v.comparisons) ? (v.comparisons as Comparison[]) : [],
      alarms: Array.isArray(v.alarms) ? (v.alarms as { name: string; state: string }[]) : [],
      reasons: Array.isArray(v.reasons) ? (v.reasons as string[]) : [],
    });
  }
  return rows;
}

function gatesOf(journal: JournalRecord[]): GateRow[] {
  const rows: GateRow[] = [];
  for (const r of journal) {
    const d = obj(r.details);
    const at = isoOf(r.at);
    switch (r.action) {
      case 'open-gate':
        rows.push({ at, gate: str(d.gate) ?? 'gate', event: 'opened', text: r.reason });
        break;
      case 'gate-answered':
      case 'gate-timed-out': {
        const decision = str(d.decision);
        const by = str(d.by);
        rows.push({
          at,
          gate: str(d.gate) ?? 'gate',
          event: r.action === 'gate-answered' ? 'answered' : 'timed out',
          ...(decision ? { decision } : {}),
          ...(by ? { by } : {}),
          text: r.reason,
        });
        break;
      }
      case 'promote':
        rows.push({ at, gate: 'rollback window', event: 'opened', text: r.reason });
        break;
      case 'close-rollback-window':
        rows.push({ at, gate: 'rollback window', event: 'closed', decision: 'finalize', text: r.reason });
        break;
      case 'operator-rollback':
        rows.push({
          at,
          gate: 'rollback window',
          event: 'answered',
          decision: 'rollback',
          by: r.actor,
          text: r.reason,
        });
        break;
      case 'operator-abort':
        rows.push({ at, gate: 'abort', event: 'answered', decision: 'abort', by: r.actor, text: r.reason });
        break;
      case 'pre-traffic-hook':
        rows.push({
          at,
          gate: 'pre-traffic hook',
          event: r.outcome === 'failed' ? 'failed' : 'passed',
          text: r.reason,
        });
        break;
    }
  }
  return rows;
}
