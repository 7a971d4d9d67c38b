// The router's records of what fires: episodes (one per dedup key), groups and services, the keys
// they live under, and reading them back.
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { conditionalWrite, type Db, isConditionFailure, ttlSeconds } from '../shared/dynamo.ts';
import { batchGetItems } from '../shared/dynamo-batches.ts';
import { groupKeyOf } from './rules.ts';

export interface EpisodeRecord {
  id: string;
  dedupKey: string;
  groupKey: string;
  severity: Alert['severity'];
  kind: string;
  service?: string;
  cluster?: string;
  openedAt: string;
  lastSentAtMs: number;
  lastSeenAtMs: number;
  /** Repeats suppressed since the alert was last sent. */
  repeats: number;
  /** The queue message that last decided to send it: a redelivery of it resumes instead of counting as a repeat. */
  lastMessageId: string;
  lastDecision: 'new' | 'reminder';
  repeatsAtReminder?: number;
  expiresAt: number;
}

export interface PendingResolved {
  /** The queue message of the resolved alert, and its dedup key (a redriven copy has a new message id). */
  messageId: string;
  dedupKey: string;
  threadId: string;
  /** Distinct alerts the group's episode had. */
  keys: number;
  alert: string;
}

export interface GroupRecord {
  id: string;
  groupKey: string;
  /** Hashes of the dedup keys firing in this group; absent when none fire. */
  firingKeys?: Set<string>;
  /**
   * Hashes of the dedup keys sent in the group's current episode (for the resolved message's
   * count): a set, so an alert counted again (a retried or redelivered join) is still one.
   */
  episodeKeys?: Set<string>;
  threadId?: string;
  openedAt?: string;
  lastAtMs?: number;
  openWindow?: string;
  pendingResolved?: PendingResolved;
}

export interface WindowRecord {
  id: string;
  groupKey: string;
  windowId: string;
  threadId?: string;
  openedAt?: string;
  openedAtMs?: number;
  alerts?: number;
  newAlerts?: number;
  reminders?: number;
  repeats?: number;
  /** For reminders: repeats suppressed since the alert was last sent. */
  earlierRepeats?: number;
  resourceCount?: number;
  first?: string;
  sample?: Set<string>;
  titles?: Set<string>;
  flushQueued?: boolean;
  /** One entry per join that added to the counters (see joinWindow). */
  joins?: Set<string>;
  closedAtMs?: number;
  publishedAt?: string;
  messageId?: string;
  resolveAfter?: PendingResolved;
  resolvedPublishedAt?: string;
  [counter: `c#${string}`]: number;
}

export const episodeId = (dedupKey: string) => `episode#${dedupKey}`;
export const groupId = (groupKey: string) => `group#${groupKey}`;
export const windowId = (groupKey: string, window: string) => `window#${groupKey}#${window}`;
export const serviceId = (cluster: string | undefined, service: string) =>
  `service#${cluster ?? ''}/${service}`;

/** One chat thread (and pager incident key) per episode of a group. */
export function newThreadId(groupKey: string, now: number): string {
  return `alerts-${createHash('sha256').update(groupKey).digest('hex').slice(0, 12)}-${now.toString(36)}`;
}

/** Count attributes of a window: `c#["availability zone","us-east-1a"]`. */
export const countAttribute = (by: string, key: string): `c#${string}` => `c#${JSON.stringify([by, key])}`;

export function countsOf(window: WindowRecord): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [name, value] of Object.entries(window)) {
    if (!name.startsWith('c#') || typeof value !== 'number') continue;
    const [by, key] = JSON.parse(name.slice(2)) as [string, string];
    out[by] ??= {};
    (out[by] as Record<string, number>)[key] = value;
  }
  return out;
}

/** Consistent reads of many items, 100 per call, unprocessed keys retried. */
export async function getMany<T>(db: Db, table: string, ids: readonly string[]): Promise<Map<string, T>> {
  const items = await batchGetItems(
    db,
    table,
    [...new Set(ids)].map((id) => ({ id })),
    'alerts table',
  );
  return new Map(items.map((item) => [String(item.id), item as T]));
}

export async function getItem<T>(db: Db, table: string, id: string): Promise<T | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
  return out.Item as T | undefined;
}

export interface TimeSettings {
  now: number;
  episodeMs: number;
}

export type OpenResult = { result: 'opened'; episode: EpisodeRecord } | { result: 'exists' };

/** Short, fixed-size member of the group and service sets (dedup keys can be long). */
export const keyHash = (dedupKey: string): string =>
  createHash('sha256').update(dedupKey).digest('hex').slice(0, 20);

/**
 * Opens the episode of a firing alert (or replaces an expired one). The group and service sets
 * learn about it when the batch's window contribution is written (joinWindow, markCriticalFiring).
 */
export async function openEpisode(
  db: Db,
  table: string,
  t: TimeSettings,
  alert: Alert,
  messageId: string,
): Promise<OpenResult> {
  const episode: EpisodeRecord = {
    id: episodeId(alert.dedupKey),
    dedupKey: alert.dedupKey,
    groupKey: groupKeyOf(alert),
    severity: alert.severity,
    kind: alert.kind,
    ...(alert.service ? { service: alert.service } : {}),
    ...(alert.cluster ? { cluster: alert.cluster } : {}),
    openedAt: iso(t.now),
    lastSentAtMs: t.now,
    lastSeenAtMs: t.now,
    repeats: 0,
    lastMessageId: messageId,
    lastDecision: 'new',
    expiresAt: ttlSeconds(t.now + t.episodeMs),
  };
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: episode,
        ConditionExpression: 'attribute_not_exists(id) OR expiresAt < :nowSeconds',
        ExpressionAttributeValues: { ':nowSeconds': ttlSeconds(t.now) },
      }),
    );
    return { result: 'opened', episode };
  } catch (error) {
    if (isConditionFailure(error)) return { result: 'exists' };
    throw error;
  }
}

/** A critical alert of a service fires: its warnings are inhibited until the set is empty again. */
export async function markCriticalFiring(
  db: Db,
  table: string,
  t: TimeSettings,
  service: string,
  hashes: readonly string[],
): Promise<void> {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: service },
      UpdateExpression: 'SET lastCriticalAtMs = :now, expiresAt = :expires ADD criticalKeys :keys',
      ExpressionAttributeValues: {
        ':now': t.now,
        ':expires': ttlSeconds(t.now + 2 * t.episodeMs),
        ':keys': new Set(hashes),
      },
    }),
  );
}

export async function resetStaleGroup(
  db: Db,
  table: string,
  groupKey: string,
  staleBefore: number,
): Promise<void> {
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: { id: groupId(groupKey), groupKey, lastAtMs: staleBefore },
        ConditionExpression: 'lastAtMs < :stale',
        ExpressionAttributeValues: { ':stale': staleBefore },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** Repeats inside the reminder interval: counted, not sent. */
export async function recordRepeats(
  db: Db,
  table: string,
  t: TimeSettings,
  dedupKey: string,
  count: number,
): Promise<void> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: episodeId(dedupKey) },
        UpdateExpression: 'SET lastSeenAtMs = :now, expiresAt = :expires ADD repeats :n',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: {
          ':now': t.now,
          ':expires': ttlSeconds(t.now + t.episodeMs),
          ':n': count,
        },
      }),
    );
  } catch (error) {
    // Resolved in the meantime: nothing left to count.
    if (!isConditionFailure(error)) throw error;
  }
}

/** Claims the reminder of an episode; false when another invocation sent it first. */
export async function claimReminder(
  db: Db,
  table: string,
  t: TimeSettings,
  episode: EpisodeRecord,
  messageId: string,
): Promise<boolean> {
  return conditionalWrite(
    db,
    new UpdateCommand({
      TableName: table,
      Key: { id: episode.id },
      UpdateExpression:
        'SET lastSentAtMs = :now, lastSeenAtMs = :now, lastMessageId = :mid, lastDecision = :reminder, ' +
        'repeatsAtReminder = repeats, repeats = :zero, expiresAt = :expires',
      ConditionExpression: 'lastSentAtMs = :previous',
      ExpressionAttributeValues: {
        ':now': t.now,
        ':mid': messageId,
        ':reminder': 'reminder',
        ':zero': 0,
        ':expires': ttlSeconds(t.now + t.episodeMs),
        ':previous': episode.lastSentAtMs,
      },
    }),
  );
}

export interface ServiceRecord {
  id: string;
  criticalKeys?: Set<string>;
  lastCriticalAtMs?: number;
}
