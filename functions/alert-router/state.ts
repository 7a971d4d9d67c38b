// The router's state in the alerts table (pk `id`, TTL `expiresAt`), one item per:
//   episode#<dedupKey>                 a firing alert: when it was last sent, repeats since
//   group#<groupKey>                   firing episodes of the group, its thread, its open window
//   window#<groupKey>#<windowId>       one grouping window: counters, a bounded sample, the first alert
//   service#<cluster>/<service>        firing critical episodes of a service (inhibition)
// Every decision is a conditional write, so redeliveries and concurrent invocations agree on it.
import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { type Db, isConditionFailure, ttlSeconds } from '../shared/dynamo.ts';

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
  messageId: string;
  threadId: string;
  /** Distinct alerts the group's episode had. */
  keys: number;
  alert: string;
}

export interface GroupRecord {
  id: string;
  groupKey: string;
  firing?: number;
  keys?: number;
  ver?: number;
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
export const serviceId = (cluster: string | undefined, service: string) => `service#${cluster ?? ''}/${service}`;

/** Alerts with the same severity, kind, service and cluster share a group (one message per window). */
export function groupKeyOf(alert: Pick<Alert, 'severity' | 'kind' | 'service' | 'cluster'>): string {
  return [alert.severity, alert.kind, alert.service ?? '', alert.cluster ?? ''].join('|');
}

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
  const found = new Map<string, T>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 100) {
    let keys: Record<string, unknown>[] = unique.slice(i, i + 100).map((id) => ({ id }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`alerts table: ${keys.length} keys still unprocessed after retries`);
      const out = await db.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table] ?? []) found.set(String(item.id), item as T);
      keys = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      if (keys.length > 0) await sleep(25 * 2 ** attempt);
    }
  }
  return found;
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

/**
 * Opens the episode of a firing alert and counts it in its group (and, for a critical alert of a
 * service, in the service's inhibition record), in one transaction. `replaces` is an expired
 * episode of the same key whose slot in the group is reused.
 */
export async function openEpisode(
  db: Db,
  table: string,
  t: TimeSettings,
  alert: Alert,
  messageId: string,
  replaces: EpisodeRecord | undefined,
): Promise<OpenResult> {
  const groupKey = groupKeyOf(alert);
  const episode: EpisodeRecord = {
    id: episodeId(alert.dedupKey),
    dedupKey: alert.dedupKey,
    groupKey,
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
  // An expired episode of this group still counts as firing there: reuse its slot.
  const firingDelta = replaces && replaces.groupKey === groupKey ? 0 : 1;
  const staleBefore = t.now - t.episodeMs;
  for (let attempt = 0; ; attempt++) {
    const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
      {
        Put: {
          TableName: table,
          Item: episode,
          ConditionExpression: 'attribute_not_exists(id) OR expiresAt < :nowSeconds',
          ExpressionAttributeValues: { ':nowSeconds': ttlSeconds(t.now) },
        },
      },
      {
        Update: {
          TableName: table,
          Key: { id: groupId(groupKey) },
          UpdateExpression:
            'SET groupKey = :g, lastAtMs = :now, threadId = if_not_exists(threadId, :thread), ' +
            'openedAt = if_not_exists(openedAt, :nowIso), expiresAt = :expires ADD firing :delta, #keys :one, ver :one',
          // A group nobody touched for an episode's lifetime is over, even if nothing resolved it.
          ConditionExpression: 'attribute_not_exists(id) OR lastAtMs >= :stale',
          ExpressionAttributeNames: { '#keys': 'keys' },
          ExpressionAttributeValues: {
            ':g': groupKey,
            ':now': t.now,
            ':thread': newThreadId(groupKey, t.now),
            ':nowIso': iso(t.now),
            ':expires': ttlSeconds(t.now + 2 * t.episodeMs),
            ':delta': firingDelta,
            ':one': 1,
            ':stale': staleBefore,
          },
        },
      },
    ];
    if (alert.severity === 'critical' && alert.service) {
      items.push({
        Update: {
          TableName: table,
          Key: { id: serviceId(alert.cluster, alert.service) },
          UpdateExpression: 'SET lastCriticalAtMs = :now, expiresAt = :expires ADD criticalFiring :one',
          ExpressionAttributeValues: {
            ':now': t.now,
            ':expires': ttlSeconds(t.now + 2 * t.episodeMs),
            ':one': 1,
          },
        },
      });
    }
    try {
      await db.send(new TransactWriteCommand({ TransactItems: items }));
      return { result: 'opened', episode };
    } catch (error) {
      const reasons = cancellationCodes(error);
      if (!reasons) throw error;
      if (reasons[0] === 'ConditionalCheckFailed') return { result: 'exists' };
      if (reasons[1] === 'ConditionalCheckFailed' && attempt < 3) {
        await resetStaleGroup(db, table, groupKey, staleBefore);
        continue;
      }
      if (reasons.some((r) => r === 'TransactionConflict') && attempt < 5) {
        await sleep(20 * 2 ** attempt);
        continue;
      }
      throw error;
    }
  }
}

async function resetStaleGroup(db: Db, table: string, groupKey: string, staleBefore: number): Promise<void> {
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: { id: groupId(groupKey), groupKey, firing: 0, keys: 0, ver: 0, lastAtMs: staleBefore },
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
        ExpressionAttributeValues: { ':now': t.now, ':expires': ttlSeconds(t.now + t.episodeMs), ':n': count },
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
  try {
    await db.send(
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
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export interface WindowContribution {
  alerts: Alert[];
  newAlerts: number;
  reminders: number;
  repeats: number;
  earlierRepeats: number;
  /** Message id of the first contribution (kept with the window for the record). */
  firstMessageId: string;
}

export interface JoinedWindow {
  window: WindowRecord;
  /** This call opened the window (and so must schedule its flush). */
  opened: boolean;
}

const SAMPLE_RESOURCES = 50;
const SAMPLE_TITLES = 10;
const MAX_COUNT_ATTRIBUTES = 200;
/** Windows outlive the alert queue's DLQ retention, so a redriven flush still finds its window. */
export const WINDOW_RETENTION_MS = 15 * 24 * 3600 * 1000;

/**
 * Adds alerts to the group's open window, opening one if there is none. Counters are atomic
 * ADDs, so concurrent invocations add up; a window the flush has closed is never written to.
 */
export async function joinWindow(
  db: Db,
  table: string,
  t: TimeSettings & { windowSeconds: number },
  groupKey: string,
  contribution: WindowContribution,
): Promise<JoinedWindow> {
  const first = contribution.alerts[0];
  for (let attempt = 0; ; attempt++) {
    const candidate = `${t.now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const group = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: groupId(groupKey) },
        UpdateExpression:
          'SET groupKey = :g, openWindow = if_not_exists(openWindow, :w), lastAtMs = :now, ' +
          'threadId = if_not_exists(threadId, :thread), expiresAt = :expires',
        ExpressionAttributeValues: {
          ':g': groupKey,
          ':w': candidate,
          ':now': t.now,
          ':thread': newThreadId(groupKey, t.now),
          ':expires': ttlSeconds(t.now + 2 * t.episodeMs),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const g = group.Attributes as GroupRecord;
    const window = g.openWindow as string;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':g': groupKey,
      ':w': window,
      ':thread': g.threadId,
      ':nowIso': iso(t.now),
      ':now': t.now,
      ':first': first ? JSON.stringify(first) : '',
      ':mid': contribution.firstMessageId,
      ':expires': ttlSeconds(t.now + WINDOW_RETENTION_MS),
      ':alerts': contribution.alerts.length,
      ':new': contribution.newAlerts,
      ':reminders': contribution.reminders,
      ':repeats': contribution.repeats,
      ':earlier': contribution.earlierRepeats,
      ':resources': contribution.alerts.reduce((n, a) => n + (a.truncated?.resources ?? a.resources.length), 0),
    };
    const adds = [
      'alerts :alerts',
      'newAlerts :new',
      'reminders :reminders',
      '#repeats :repeats',
      'earlierRepeats :earlier',
      'resourceCount :resources',
    ];
    names['#repeats'] = 'repeats';
    let n = 0;
    for (const [attribute, count] of mergeCounts(contribution.alerts)) {
      if (n >= MAX_COUNT_ATTRIBUTES) break;
      names[`#c${n}`] = attribute;
      values[`:c${n}`] = count;
      adds.push(`#c${n} :c${n}`);
      n++;
    }
    try {
      const out = await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { id: windowId(groupKey, window) },
          UpdateExpression:
            'SET groupKey = :g, windowId = :w, threadId = if_not_exists(threadId, :thread), ' +
            'openedAt = if_not_exists(openedAt, :nowIso), openedAtMs = if_not_exists(openedAtMs, :now), ' +
            '#first = if_not_exists(#first, :first), firstMessageId = if_not_exists(firstMessageId, :mid), ' +
            `expiresAt = :expires ADD ${adds.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(closedAtMs)',
          ExpressionAttributeNames: { ...names, '#first': 'first' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const record = out.Attributes as WindowRecord;
      await addSamples(db, table, groupKey, window, record, contribution.alerts);
      return { window: record, opened: window === candidate };
    } catch (error) {
      if (!isConditionFailure(error) || attempt >= 3) throw error;
      // The flush closed this window after we read the pointer: drop the stale pointer, open another.
      await clearOpenWindow(db, table, groupKey, window);
    }
  }
}

function mergeCounts(alerts: readonly Alert[]): Map<`c#${string}`, number> {
  const merged = new Map<`c#${string}`, number>();
  for (const alert of alerts) {
    for (const [by, values] of Object.entries(alert.counts ?? {})) {
      for (const [key, count] of Object.entries(values)) {
        const name = countAttribute(by, key);
        merged.set(name, (merged.get(name) ?? 0) + count);
      }
    }
  }
  return merged;
}

/** Bounded samples of resources and titles: only while the window's sample is not yet full. */
async function addSamples(
  db: Db,
  table: string,
  groupKey: string,
  window: string,
  record: WindowRecord,
  alerts: readonly Alert[],
): Promise<void> {
  const haveResources = record.sample?.size ?? 0;
  const haveTitles = record.titles?.size ?? 0;
  const resources = [...new Set(alerts.flatMap((a) => a.resources))].slice(0, SAMPLE_RESOURCES - haveResources);
  const titles = [...new Set(alerts.map((a) => a.title))].slice(0, SAMPLE_TITLES - haveTitles);
  const adds: string[] = [];
  const values: Record<string, unknown> = {};
  if (resources.length > 0) {
    adds.push('#sample :r');
    values[':r'] = new Set(resources);
  }
  if (titles.length > 0) {
    adds.push('titles :t');
    values[':t'] = new Set(titles);
  }
  if (adds.length === 0) return;
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: windowId(groupKey, window) },
      UpdateExpression: `ADD ${adds.join(', ')}`,
      ...(resources.length > 0 ? { ExpressionAttributeNames: { '#sample': 'sample' } } : {}),
      ExpressionAttributeValues: values,
    }),
  );
}

/** Repeats that arrived while their alert's window is still open are counted there (never opens one). */
export async function addRepeatsToOpenWindow(
  db: Db,
  table: string,
  groupKey: string,
  repeats: number,
): Promise<boolean> {
  const group = await getItem<GroupRecord>(db, table, groupId(groupKey));
  if (!group?.openWindow) return false;
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: windowId(groupKey, group.openWindow) },
        UpdateExpression: 'ADD #repeats :n',
        ConditionExpression: 'attribute_exists(id) AND attribute_not_exists(closedAtMs)',
        ExpressionAttributeNames: { '#repeats': 'repeats' },
        ExpressionAttributeValues: { ':n': repeats },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function clearOpenWindow(db: Db, table: string, groupKey: string, window: string): Promise<void> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: groupId(groupKey) },
        UpdateExpression: 'REMOVE openWindow',
        ConditionExpression: 'openWindow = :w',
        ExpressionAttributeValues: { ':w': window },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

export async function markWindow(
  db: Db,
  table: string,
  groupKey: string,
  window: string,
  fields: Record<string, unknown>,
): Promise<void> {
  const entries = Object.entries(fields);
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: windowId(groupKey, window) },
      UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
      ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:f${i}`, v])),
    }),
  );
}

/**
 * Closes a window for good: the group no longer points at it and no alert can join it. Returns
 * what it holds, or undefined when no alert ever joined it (nothing was written).
 */
export async function closeWindow(
  db: Db,
  table: string,
  now: number,
  groupKey: string,
  window: string,
): Promise<WindowRecord | undefined> {
  await clearOpenWindow(db, table, groupKey, window);
  try {
    const out = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: windowId(groupKey, window) },
        UpdateExpression: 'SET closedAtMs = if_not_exists(closedAtMs, :now)',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':now': now },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes as WindowRecord;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

export type ResolveResult =
  | { result: 'not-firing' }
  /** Other alerts of the group still fire: recorded, nothing to send. */
  | { result: 'recorded'; firing: number }
  /** The group's last firing alert resolved while its window is still open: the flush sends it. */
  | { result: 'deferred'; pending: PendingResolved }
  | { result: 'resolved'; pending: PendingResolved };

/**
 * Ends the episode of a resolved alert. When it was the group's last firing one, the group's
 * episode ends too and the resolved notification is stored as pending in the same transaction
 * (sent by the caller, or by the flush when the window is still open), so a failed publish is
 * retried from the record instead of lost.
 */
export async function resolveEpisode(
  db: Db,
  table: string,
  t: TimeSettings,
  alert: Alert,
  episode: EpisodeRecord,
  messageId: string,
): Promise<ResolveResult> {
  const groupKey = episode.groupKey;
  for (let attempt = 0; ; attempt++) {
    const group = (await getItem<GroupRecord>(db, table, groupId(groupKey))) ?? { id: groupId(groupKey), groupKey };
    const firing = Math.max(0, (group.firing ?? 1) - 1);
    const last = firing === 0;
    const pending: PendingResolved = {
      messageId,
      threadId: group.threadId ?? newThreadId(groupKey, t.now),
      keys: Math.max(1, group.keys ?? 1),
      alert: JSON.stringify(alert),
    };
    const version = group.ver;
    const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
      {
        Delete: {
          TableName: table,
          Key: { id: episode.id },
          ConditionExpression: 'attribute_exists(id)',
        },
      },
      {
        Update: {
          TableName: table,
          Key: { id: groupId(groupKey) },
          UpdateExpression: last
            ? 'SET firing = :firing, ver = :next, lastAtMs = :now, pendingResolved = :pending, groupKey = :g ' +
              'REMOVE threadId, openedAt, #keys'
            : 'SET firing = :firing, ver = :next, lastAtMs = :now, groupKey = :g',
          ConditionExpression: version === undefined ? 'attribute_not_exists(ver)' : 'ver = :ver',
          ...(last ? { ExpressionAttributeNames: { '#keys': 'keys' } } : {}),
          ExpressionAttributeValues: {
            ':firing': firing,
            ':next': (version ?? 0) + 1,
            ':now': t.now,
            ':g': groupKey,
            ...(version === undefined ? {} : { ':ver': version }),
            ...(last ? { ':pending': pending } : {}),
          },
        },
      },
    ];
    if (episode.severity === 'critical' && episode.service) {
      items.push({
        Update: {
          TableName: table,
          Key: { id: serviceId(episode.cluster, episode.service) },
          UpdateExpression: 'ADD criticalFiring :minus',
          ExpressionAttributeValues: { ':minus': -1 },
        },
      });
    }
    const deferTo = last ? group.openWindow : undefined;
    if (deferTo) {
      items.push({
        Update: {
          TableName: table,
          Key: { id: windowId(groupKey, deferTo) },
          UpdateExpression: 'SET resolveAfter = :pending',
          ConditionExpression: 'attribute_exists(id) AND attribute_not_exists(closedAtMs)',
          ExpressionAttributeValues: { ':pending': pending },
        },
      });
    }
    try {
      await db.send(new TransactWriteCommand({ TransactItems: items }));
      if (!last) return { result: 'recorded', firing };
      return deferTo ? { result: 'deferred', pending } : { result: 'resolved', pending };
    } catch (error) {
      const reasons = cancellationCodes(error);
      if (!reasons) throw error;
      if (reasons[0] === 'ConditionalCheckFailed') return { result: 'not-firing' };
      // The group changed (another alert opened or resolved, or the window closed): read again.
      if (attempt < 8) {
        await sleep(10 * 2 ** Math.min(attempt, 5));
        continue;
      }
      throw error;
    }
  }
}

/** Clears the pending resolved notification once it is sent (only if it is still ours). */
export async function clearPendingResolved(db: Db, table: string, groupKey: string, messageId: string) {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: groupId(groupKey) },
        UpdateExpression: 'REMOVE pendingResolved',
        ConditionExpression: 'pendingResolved.messageId = :mid',
        ExpressionAttributeValues: { ':mid': messageId },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

export interface ServiceRecord {
  id: string;
  criticalFiring?: number;
  lastCriticalAtMs?: number;
}

export function criticalFiring(record: ServiceRecord | undefined, t: TimeSettings): boolean {
  return (record?.criticalFiring ?? 0) > 0 && (record?.lastCriticalAtMs ?? 0) > t.now - t.episodeMs;
}

function cancellationCodes(error: unknown): string[] | undefined {
  if ((error as Error | undefined)?.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  return (reasons ?? []).map((r) => r.Code ?? 'None');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
