// The live record of a service's latest rollout, one item per service in the operations table
// (`rollout/<cluster>/<service>`): phase, weights, step, verdicts, the open gate and its task
// token. `ops rollout --watch` shows it, `ops approve|reject|abort|rollback` act through it, and
// every write is conditioned on the execution that owns it, so a finished rollout's record is
// never changed by a late step of an older one. The journal keeps the full history.
import { GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { GateKind, Topology } from '../../../events/rollout-state.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { type Db, isConditionFailure, ttlSeconds } from '../dynamo.ts';
import type { RolloutController } from './actors.ts';

export type RolloutPhase =
  | 'starting'
  | 'preparing'
  | 'waiting-for-green'
  | 'pre-traffic'
  | 'shifting'
  | 'baking'
  /** Holding the current weight through a spot storm, then baking again. */
  | 'paused'
  | 'gate'
  | 'window'
  | 'finalizing'
  | 'finalized'
  | 'reverting'
  | 'rolling-back'
  | 'rolled-back'
  | 'frozen'
  | 'rollback-failed';

/** Phases after which nothing of this rollout runs any more. */
export const TERMINAL_PHASES: readonly RolloutPhase[] = [
  'finalized',
  'rolled-back',
  'frozen',
  'rollback-failed',
];

export interface VerdictSummary {
  step: number;
  weight: number;
  verdict: string;
  reasons: string[];
  at: string;
}

export interface GateRecord {
  kind: GateKind | 'window';
  token: string;
  openedAt: string;
  expiresAt: string;
  defaultAction: 'approve' | 'reject' | 'finalize';
}

export interface AnswerRecord {
  token: string;
  decision: 'approve' | 'reject' | 'abort' | 'rollback';
  by: string;
  at: string;
  reason?: string;
}

/** Where an ECS-controlled deployment's lifecycle hook is, per stage it bakes (`<stage>@<green weight>`). */
export interface HookStageRecord {
  /** When the stage's bake started (analysed stages), or when it was checked (the others). */
  bakeStartedAt?: string;
  /** The verdict once judged; a gate may follow it. */
  verdict?: string;
  /** The stage's answer once given: the hook gives it again when ECS asks again. */
  answered?: 'SUCCEEDED' | 'FAILED';
  /** Since when the listener rules have not carried what the stage should have left. */
  driftSince?: string;
}

export interface HookProgress {
  stages: Record<string, HookStageRecord>;
  /** Green has had production traffic: a later call with green at 0 is ECS rolling back. */
  shifted: boolean;
  /** The service's test listener rule, when it has one: its weights are checked too. */
  testRuleArn?: string;
}

export interface RolloutRecord {
  id: string;
  /** Absent: the task-set controller's workflow. `ecs`: ECS rolls out, this project's hook judges. */
  controller?: RolloutController;
  /** ECS-controlled deployments: the hook's stages so far, and whether green has had production traffic. */
  hook?: HookProgress;
  execution: string;
  executionName: string;
  cluster: string;
  service: string;
  phase: RolloutPhase;
  weights: { blue: number; green: number };
  step: { index: number; total: number };
  /** analysis: what each step's analysis applies, in words (describeAnalysis); blind: it is off. */
  plan: { weights: number[]; strategy: string; analysis?: string[]; blind?: boolean };
  verdicts: VerdictSummary[];
  /** The bake the last appended verdict judged (see RecordUpdate.verdictKey). */
  lastVerdictKey?: string;
  gate?: GateRecord;
  answer?: AnswerRecord;
  abortRequested?: { by: string; at: string; reason?: string };
  windowEndsAt?: string;
  topology: Topology;
  blue: { taskSetArn: string; taskDefinition: string; image?: string };
  green?: { taskSetArn?: string; taskDefinition?: string; image?: string };
  image?: string;
  requestedBy: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  outcome?: string;
  expiresAt: number;
}

const RETENTION_MS = 30 * 24 * 3600 * 1000;
/** Verdicts kept on the record for --watch; the journal has all of them. */
const MAX_VERDICTS = 30;

export const rolloutRecordId = (cluster: string, service: string): string => `rollout/${cluster}/${service}`;

export async function getRolloutRecord(
  db: Db,
  table: string,
  cluster: string,
  service: string,
): Promise<RolloutRecord | undefined> {
  const out = await db.send(
    new GetCommand({
      TableName: table,
      Key: { id: rolloutRecordId(cluster, service) },
      ConsistentRead: true,
    }),
  );
  return out.Item as RolloutRecord | undefined;
}

/** The record of an execution (ARN or name) or a service (`cluster/service`, or a service name). */
export async function findRolloutRecord(
  db: Db,
  table: string,
  ref: string,
): Promise<RolloutRecord | undefined> {
  const records: RolloutRecord[] = [];
  let start: Record<string, unknown> | undefined;
  // A handful of items per managed service: a scan is the simple answer for an operator command.
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'begins_with(id, :prefix)',
        ExpressionAttributeValues: { ':prefix': 'rollout/' },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    records.push(...((out.Items ?? []) as RolloutRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return (
    records.find((r) => r.execution === ref || r.executionName === ref) ??
    records.find((r) => `${r.cluster}/${r.service}` === ref) ??
    records.filter((r) => r.service === ref).sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0]
  );
}

/** Starts a service's record for a new rollout (the caller holds the service's lock). */
export async function putRolloutRecord(
  db: Db,
  table: string,
  clock: Clock,
  record: Omit<RolloutRecord, 'id' | 'updatedAt' | 'expiresAt'>,
): Promise<RolloutRecord> {
  const now = clock.now();
  const item: RolloutRecord = {
    ...record,
    id: rolloutRecordId(record.cluster, record.service),
    updatedAt: iso(now),
    expiresAt: ttlSeconds(now + RETENTION_MS),
  };
  await db.send(new PutCommand({ TableName: table, Item: item }));
  return item;
}

export interface RecordUpdate {
  set?: Partial<Omit<RolloutRecord, 'id' | 'execution' | 'cluster' | 'service'>>;
  remove?: (keyof RolloutRecord)[];
  appendVerdict?: VerdictSummary;
  /**
   * The bake `appendVerdict` judges (step and bake start): an analysis retried after its append
   * (a later call of the step failed) appends nothing, and the rest of the update still applies.
   */
  verdictKey?: string;
  /** Extra condition, e.g. `phase = :window`, with its values. */
  condition?: { expression: string; names?: Record<string, string>; values?: Record<string, unknown> };
}

/**
 * Updates the record of `execution`; false when the record belongs to another execution or
 * the extra condition does not hold (nothing is written then).
 */
export async function updateRolloutRecord(
  db: Db,
  table: string,
  clock: Clock,
  key: { cluster: string; service: string; execution: string },
  update: RecordUpdate,
): Promise<boolean> {
  const names: Record<string, string> = { '#execution': 'execution', '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':execution': key.execution, ':updatedAt': iso(clock.now()) };
  const sets = ['#updatedAt = :updatedAt'];
  let n = 0;
  for (const [field, value] of Object.entries(update.set ?? {})) {
    if (value === undefined) continue;
    n++;
    names[`#f${n}`] = field;
    values[`:v${n}`] = value;
    sets.push(`#f${n} = :v${n}`);
  }
  if (update.appendVerdict) {
    names['#verdicts'] = 'verdicts';
    values[':verdict'] = [update.appendVerdict];
    values[':empty'] = [];
    sets.push('#verdicts = list_append(if_not_exists(#verdicts, :empty), :verdict)');
  }
  const once = update.appendVerdict !== undefined && update.verdictKey !== undefined;
  if (once) {
    names['#lastVerdictKey'] = 'lastVerdictKey';
    values[':verdictKey'] = update.verdictKey;
    sets.push('#lastVerdictKey = :verdictKey');
  }
  const removes = (update.remove ?? []).map((field, i) => {
    names[`#r${i}`] = field;
    return `#r${i}`;
  });
  if (update.condition) {
    Object.assign(names, update.condition.names ?? {});
    Object.assign(values, update.condition.values ?? {});
  }
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: rolloutRecordId(key.cluster, key.service) },
        UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: `#execution = :execution${update.condition ? ` AND (${update.condition.expression})` : ''}${once ? ' AND (attribute_not_exists(#lastVerdictKey) OR #lastVerdictKey <> :verdictKey)' : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // Perhaps this bake's verdict is there already: the rest of the update, without it.
    if (once) return updateRolloutRecord(db, table, clock, key, { ...omitVerdict(update) });
    return false;
  }
  if (update.appendVerdict) await trimVerdicts(db, table, key);
  return true;
}

/**
 * Claims the answer to the gate `answer.token` names, once: whoever claims first (an operator, an
 * abort, the gate's own timeout) decides, and a later claim on the same gate returns false.
 */
export function claimGateAnswer(
  db: Db,
  table: string,
  clock: Clock,
  key: { cluster: string; service: string; execution: string },
  answer: AnswerRecord,
): Promise<boolean> {
  return updateRolloutRecord(db, table, clock, key, {
    set: { answer },
    condition: {
      expression: '#gate.#token = :token AND attribute_not_exists(#answer)',
      names: { '#gate': 'gate', '#token': 'token', '#answer': 'answer' },
      values: { ':token': answer.token },
    },
  });
}

function omitVerdict(update: RecordUpdate): RecordUpdate {
  const { appendVerdict: _verdict, verdictKey: _key, ...rest } = update;
  return rest;
}

async function trimVerdicts(
  db: Db,
  table: string,
  key: { cluster: string; service: string; execution: string },
) {
  const record = await getRolloutRecord(db, table, key.cluster, key.service);
  if (!record || record.execution !== key.execution || record.verdicts.length <= MAX_VERDICTS) return;
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: record.id },
      UpdateExpression: 'SET verdicts = :kept',
      ConditionExpression: 'execution = :execution',
      ExpressionAttributeValues: {
        ':kept': record.verdicts.slice(-MAX_VERDICTS),
        ':execution': key.execution,
      },
    }),
  );
}
