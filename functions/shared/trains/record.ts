// The live record of a release train in the operations table: one item for the train
// (`train/<execution name>`: status, budget, counts, green tasks in flight per cluster) and one per
// service once it is admitted, waiting or skipped (`train/<execution name>/<wave>.<index>`).
// Admission and results change both in one transaction, so the green-task count and the counts
// never drift from the services' phases, whatever is retried. The journal keeps the history.
import {
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { TrainBudget } from '../../../events/train-input.ts';
import { type Clock, iso } from '../clock.ts';
import { type Db, isConditionFailure, ttlSeconds } from '../dynamo.ts';
import { batchGetItems } from '../dynamo-batches.ts';
import { getTrainRecordById, TRAIN_RECORD_PREFIX, trainRecordId } from './train-id.ts';

export type TrainStatus = 'running' | 'stopping' | 'completed' | 'stopped' | 'failed';
export type TrainServicePhase = 'waiting' | 'rolling' | 'succeeded' | 'failed' | 'skipped';
export const TERMINAL_SERVICE_PHASES: readonly TrainServicePhase[] = ['succeeded', 'failed', 'skipped'];

export interface TrainStop {
  reason: string;
  /** `budget`, or the operator who aborted the train. */
  by: string;
  at: string;
}

export interface TrainRecord {
  id: string;
  kind: 'train';
  execution: string;
  executionName: string;
  name: string;
  status: TrainStatus;
  onStop: 'rollback' | 'finish';
  budget: TrainBudget;
  requestedBy: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  stop?: TrainStop;
  counts: { succeeded: number; failed: number; skipped: number };
  /** Tasks in green (the desired counts of the services rolling out) per cluster, now. */
  green: Record<string, number>;
  /** The desired counts of each cluster's managed services at the start: the budget's base. */
  clusterTasks: Record<string, number>;
  waves: { name: string; services: string[] }[];
  expiresAt: number;
}

export interface TrainServiceRecord {
  id: string;
  train: string;
  wave: number;
  index: number;
  cluster: string;
  service: string;
  desiredCount: number;
  phase: TrainServicePhase;
  /** The rollout's execution name, once admitted. */
  execution?: string;
  waitingSince?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why it failed or was skipped, in words. */
  reason?: string;
  error?: string;
  updatedAt: string;
}

const RETENTION_MS = 30 * 24 * 3600 * 1000;

export { getTrainRecordById, TRAIN_RECORD_PREFIX, trainRecordId } from './train-id.ts';
export const trainServiceId = (executionName: string, wave: number, index: number): string =>
  `${trainRecordId(executionName)}/${wave}.${index}`;

/** The ids of every service item a train can have, from its record's waves. */
export function trainServiceIds(record: Pick<TrainRecord, 'executionName' | 'waves'>): string[] {
  return record.waves.flatMap((wave, w) =>
    wave.services.map((_, i) => trainServiceId(record.executionName, w, i)),
  );
}

export function getTrainRecord(db: Db, table: string, executionName: string) {
  return getTrainRecordById(db, table, trainRecordId(executionName));
}

export async function getTrainService(db: Db, table: string, id: string) {
  const out = await db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
  return out.Item as TrainServiceRecord | undefined;
}

/** The services of the train that have an item (admitted, waiting or skipped), in train order. */
export async function trainServices(
  db: Db,
  table: string,
  record: TrainRecord,
): Promise<TrainServiceRecord[]> {
  const ids = trainServiceIds(record);
  const found = (await batchGetItems(
    db,
    table,
    ids.map((id) => ({ id })),
    'train services',
  )) as unknown as TrainServiceRecord[];
  const order = new Map(ids.map((id, i) => [id, i]));
  return found.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

/** Every train record, newest first (an operator command: a scan is the simple answer). */
export async function listTrainRecords(db: Db, table: string): Promise<TrainRecord[]> {
  const records: TrainRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'begins_with(id, :prefix) AND kind = :train',
        ExpressionAttributeValues: { ':prefix': TRAIN_RECORD_PREFIX, ':train': 'train' },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    records.push(...((out.Items ?? []) as TrainRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return records.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** A train by its execution name or ARN, or its label (the newest train of that name). */
export async function findTrainRecord(db: Db, table: string, ref: string): Promise<TrainRecord | undefined> {
  const all = await listTrainRecords(db, table);
  return all.find((r) => r.execution === ref || r.executionName === ref) ?? all.find((r) => r.name === ref);
}

/** Creates the train's record; a repeat for the same execution (a retried step) finds it there. */
export async function putTrainRecord(
  db: Db,
  table: string,
  clock: Clock,
  record: Omit<TrainRecord, 'id' | 'kind' | 'updatedAt' | 'expiresAt' | 'status' | 'counts' | 'green'>,
): Promise<TrainRecord> {
  const now = clock.now();
  const item: TrainRecord = {
    ...record,
    id: trainRecordId(record.executionName),
    kind: 'train',
    status: 'running',
    counts: { succeeded: 0, failed: 0, skipped: 0 },
    green: Object.fromEntries(Object.keys(record.clusterTasks).map((c) => [c, 0])),
    updatedAt: iso(now),
    expiresAt: ttlSeconds(now + RETENTION_MS),
  };
  try {
    await retryingConflicts(() =>
      db.send(
        new PutCommand({ TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(id)' }),
      ),
    );
    return item;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const existing = await getTrainRecord(db, table, record.executionName);
    if (existing?.execution !== record.execution) throw error;
    return existing;
  }
}

/**
 * DynamoDB refused because another write to the item was in flight (a transaction conflicts with
 * it, or throttling cancelled it), not because a condition failed: the write may be tried again.
 * Every admission and result of a train writes the train's item, up to 40 at once.
 */
export function isWriteConflict(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e.name === 'TransactionConflictException') return true;
  if (e.name !== 'TransactionCanceledException') return false;
  return (e.CancellationReasons ?? []).some((r) =>
    ['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded'].includes(r.Code ?? ''),
  );
}

const CONFLICT_ATTEMPTS = 8;

/** `write`, tried again with jittered backoff while it conflicts with another write. */
async function retryingConflicts<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isWriteConflict(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
    }
  }
}

/** Writes the items in one transaction; false when a condition cancelled it. */
async function transact(
  db: Db,
  items: NonNullable<TransactWriteCommandInput['TransactItems']>,
): Promise<boolean> {
  try {
    await retryingConflicts(() => db.send(new TransactWriteCommand({ TransactItems: items })));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'TransactionCanceledException') return false;
    throw error;
  }
}

export interface Admission {
  trainId: string;
  serviceId: string;
  cluster: string;
  desiredCount: number;
  execution: string;
  /** The most green tasks the cluster may already have for this service to start: limit - desired. */
  room: number;
  /** The service alone exceeds the limit: it starts only when nothing else of its cluster is in green. */
  alone: boolean;
  item: Omit<TrainServiceRecord, 'phase' | 'updatedAt'>;
}

/**
 * Admits a service in one transaction: the train is running and its cluster has room for the
 * service's tasks in green (added), and the service is not admitted yet (marked rolling). False
 * when a condition failed: the caller reads both items to tell which.
 */
export async function admitService(db: Db, table: string, clock: Clock, a: Admission): Promise<boolean> {
  const at = iso(clock.now());
  return transact(db, [
    {
      Update: {
        TableName: table,
        Key: { id: a.trainId },
        UpdateExpression: 'ADD green.#cluster :tasks SET updatedAt = :at',
        ConditionExpression: `#status = :running AND ${a.alone ? 'green.#cluster = :zero' : 'green.#cluster <= :room'}`,
        ExpressionAttributeNames: { '#cluster': a.cluster, '#status': 'status' },
        ExpressionAttributeValues: {
          ':tasks': a.desiredCount,
          ':at': at,
          ':running': 'running',
          ...(a.alone ? { ':zero': 0 } : { ':room': a.room }),
        },
      },
    },
    {
      Put: {
        TableName: table,
        Item: { ...a.item, phase: 'rolling', execution: a.execution, startedAt: at, updatedAt: at },
        ConditionExpression: 'attribute_not_exists(id) OR phase = :waiting',
        ExpressionAttributeValues: { ':waiting': 'waiting' },
      },
    },
  ]);
}

/** Marks a service waiting for room (once: the first time it waited is kept). */
export async function markWaiting(
  db: Db,
  table: string,
  clock: Clock,
  item: Omit<TrainServiceRecord, 'phase' | 'updatedAt'>,
): Promise<void> {
  const at = iso(clock.now());
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: { ...item, phase: 'waiting', waitingSince: at, updatedAt: at },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** Marks a service skipped (the line stopped before it started); false when it was started already. */
export async function markSkipped(
  db: Db,
  table: string,
  clock: Clock,
  trainId: string,
  item: Omit<TrainServiceRecord, 'phase' | 'updatedAt'>,
  reason: string,
): Promise<boolean> {
  const at = iso(clock.now());
  return transact(db, [
    {
      Put: {
        TableName: table,
        Item: { ...item, phase: 'skipped', reason, finishedAt: at, updatedAt: at },
        ConditionExpression: 'attribute_not_exists(id) OR phase = :waiting',
        ExpressionAttributeValues: { ':waiting': 'waiting' },
      },
    },
    {
      Update: {
        TableName: table,
        Key: { id: trainId },
        UpdateExpression: 'ADD counts.skipped :one SET updatedAt = :at',
        ExpressionAttributeValues: { ':one': 1, ':at': at },
      },
    },
  ]);
}

/**
 * Records a rolled-out service's end in one transaction: its phase (from rolling, for this
 * execution), its tasks out of the cluster's green count, and the train's counts. False when it
 * was recorded already (a retried step).
 */
export async function recordServiceEnd(
  db: Db,
  table: string,
  clock: Clock,
  end: {
    trainId: string;
    serviceId: string;
    cluster: string;
    desiredCount: number;
    execution: string;
    phase: 'succeeded' | 'failed' | 'skipped';
    reason?: string;
    error?: string;
  },
): Promise<boolean> {
  const at = iso(clock.now());
  return transact(db, [
    {
      Update: {
        TableName: table,
        Key: { id: end.serviceId },
        UpdateExpression: `SET phase = :phase, finishedAt = :at, updatedAt = :at${end.reason ? ', reason = :reason' : ''}${end.error ? ', #error = :error' : ''}`,
        ConditionExpression: 'phase = :rolling AND #execution = :execution',
        ExpressionAttributeNames: {
          '#execution': 'execution',
          ...(end.error ? { '#error': 'error' } : {}),
        },
        ExpressionAttributeValues: {
          ':phase': end.phase,
          ':at': at,
          ':rolling': 'rolling',
          ':execution': end.execution,
          ...(end.reason ? { ':reason': end.reason } : {}),
          ...(end.error ? { ':error': end.error } : {}),
        },
      },
    },
    {
      Update: {
        TableName: table,
        Key: { id: end.trainId },
        UpdateExpression: 'ADD green.#cluster :release, counts.#outcome :one SET updatedAt = :at',
        ExpressionAttributeNames: { '#cluster': end.cluster, '#outcome': end.phase },
        ExpressionAttributeValues: { ':release': -end.desiredCount, ':one': 1, ':at': at },
      },
    },
  ]);
}

/** Stops the line once: from running to stopping, with why and by whom. False: not running any more. */
export async function claimTrainStop(
  db: Db,
  table: string,
  clock: Clock,
  executionName: string,
  stop: TrainStop,
): Promise<boolean> {
  try {
    await retryingConflicts(() =>
      db.send(
        new UpdateCommand({
          TableName: table,
          Key: { id: trainRecordId(executionName) },
          UpdateExpression: 'SET #status = :stopping, #stop = :stop, updatedAt = :at',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status', '#stop': 'stop' },
          ExpressionAttributeValues: {
            ':stopping': 'stopping',
            ':running': 'running',
            ':stop': stop,
            ':at': iso(clock.now()),
          },
        }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** The train's final status, set once. */
export async function finishTrainRecord(
  db: Db,
  table: string,
  clock: Clock,
  executionName: string,
  status: Extract<TrainStatus, 'completed' | 'stopped' | 'failed'>,
): Promise<void> {
  const at = iso(clock.now());
  await retryingConflicts(() =>
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: trainRecordId(executionName) },
        UpdateExpression:
          'SET #status = :status, finishedAt = if_not_exists(finishedAt, :at), updatedAt = :at',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':at': at },
      }),
    ),
  );
}
