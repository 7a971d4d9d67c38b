// The router's state in the alerts table (pk `id`, TTL `expiresAt`), one item per:
//   episode#<dedupKey>                 a firing alert: when it was last sent, repeats since
//   group#<groupKey>                   the group's firing alerts (a set of dedup-key hashes), its
//                                      thread, its open window
//   window#<groupKey>#<windowId>       one grouping window: counters, a bounded sample, the first alert
//   service#<cluster>/<service>        the service's firing critical alerts (inhibition)
// Decisions are conditional writes and memberships are set ADD/DELETE, which are idempotent: a
// redelivered message repeats its steps without counting twice. (No multi-item transactions: the
// episode record is the ledger a redelivery resumes from.)
import { createHash } from 'node:crypto';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { type Db, isConditionFailure, itemOfConditionFailure, ttlSeconds } from '../shared/dynamo.ts';

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

async function resetStaleGroup(db: Db, table: string, groupKey: string, staleBefore: number): Promise<void> {
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
  /** Hashes of the dedup keys sent (new and reminders): members of the group's firing set. */
  firingKeyHashes: string[];
  newAlerts: number;
  reminders: number;
  repeats: number;
  earlierRepeats: number;
  /** Message id of the first contribution (kept with the window for the record). */
  firstMessageId: string;
  /**
   * Names this join in the window's ledger: a join whose id is there already (its update retried
   * after a lost answer, or its alerts redelivered after a failure that followed it) adds nothing.
   */
  joinId: string;
}

export interface JoinedWindow {
  window: WindowRecord;
  /** This call opened the window (and so must schedule its flush). */
  opened: boolean;
}

const SAMPLE_RESOURCES = 50;
const SAMPLE_TITLES = 10;
/** Count attributes one join may add: DynamoDB caps an expression at 4 KB; the largest counts win. */
const MAX_COUNT_ATTRIBUTES = 40;
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
    const staleBefore = t.now - t.episodeMs;
    const newKeys = contribution.firingKeyHashes.length > 0;
    let g: GroupRecord;
    try {
      const group = await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { id: groupId(groupKey) },
          UpdateExpression:
            'SET groupKey = :g, openWindow = if_not_exists(openWindow, :w), lastAtMs = :now, ' +
            'threadId = if_not_exists(threadId, :thread), openedAt = if_not_exists(openedAt, :nowIso), ' +
            `expiresAt = :expires${newKeys ? ' ADD firingKeys :keys, episodeKeys :keys' : ''}`,
          // A group nobody touched for an episode's lifetime is over, even if nothing resolved it.
          ConditionExpression: 'attribute_not_exists(lastAtMs) OR lastAtMs >= :stale',
          ExpressionAttributeValues: {
            ':g': groupKey,
            ':w': candidate,
            ':now': t.now,
            ':nowIso': iso(t.now),
            ':thread': newThreadId(groupKey, t.now),
            ':expires': ttlSeconds(t.now + 2 * t.episodeMs),
            ':stale': staleBefore,
            ...(newKeys ? { ':keys': new Set(contribution.firingKeyHashes) } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      g = group.Attributes as GroupRecord;
    } catch (error) {
      if (!isConditionFailure(error) || attempt >= 3) throw error;
      await resetStaleGroup(db, table, groupKey, staleBefore);
      continue;
    }
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
      ':resources': contribution.alerts.reduce(
        (n, a) => n + (a.truncated?.resources ?? a.resources.length),
        0,
      ),
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
    const counts = [...mergeCounts(contribution.alerts)].sort((x, y) => y[1] - x[1]);
    for (const [attribute, count] of counts) {
      if (n >= MAX_COUNT_ATTRIBUTES) break;
      names[`#c${n}`] = attribute;
      values[`:c${n}`] = count;
      adds.push(`#c${n} :c${n}`);
      n++;
    }
    // This join's entry in the window's ledger: a join found there adds nothing again, even when
    // other batches joined in between (the ledger holds one short id per join of the window).
    const join = contribution.joinId;
    values[':join'] = new Set([join]);
    values[':joinId'] = join;
    adds.push('joins :join');
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
          ConditionExpression: 'attribute_not_exists(closedAtMs) AND NOT contains(joins, :joinId)',
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
      const found = itemOfConditionFailure<WindowRecord>(error);
      if (found?.joins?.has(join)) {
        await addSamples(db, table, groupKey, window, found, contribution.alerts);
        return { window: found, opened: window === candidate };
      }
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
  const resources = [...new Set(alerts.flatMap((a) => a.resources))].slice(
    0,
    SAMPLE_RESOURCES - haveResources,
  );
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

export async function clearOpenWindow(
  db: Db,
  table: string,
  groupKey: string,
  window: string,
): Promise<void> {
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
  /** Other alerts of the group still fire: recorded, nothing to send. */
  | { result: 'recorded'; firing: number }
  /** The group's last firing alert resolved while its window is still open: the flush sends it. */
  | { result: 'deferred'; pending: PendingResolved }
  | { result: 'resolved'; pending: PendingResolved };

/**
 * Ends the episode of a resolved alert. When it was the group's last firing alert, the group's
 * episode ends too: the resolved notification is stored on the group (and on the open window, if
 * there is one, so it follows that window's message) before the episode record is deleted, so a
 * failed publish is retried from the record instead of lost. Every step is safe to repeat.
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
  const hash = keyHash(episode.dedupKey);
  const out = await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: groupId(groupKey) },
      UpdateExpression: 'SET groupKey = :g, lastAtMs = :now DELETE firingKeys :key',
      ExpressionAttributeValues: { ':g': groupKey, ':now': t.now, ':key': new Set([hash]) },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const group = out.Attributes as GroupRecord;
  if (episode.severity === 'critical' && episode.service) {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: serviceId(episode.cluster, episode.service) },
        UpdateExpression: 'DELETE criticalKeys :key',
        ExpressionAttributeValues: { ':key': new Set([hash]) },
      }),
    );
  }
  const firing = group.firingKeys?.size ?? 0;
  let result: ResolveResult = { result: 'recorded', firing };
  if (firing === 0) {
    // A redelivery finds what the first attempt stored (the thread id is gone from the group by then).
    const pending: PendingResolved =
      group.pendingResolved?.messageId === messageId
        ? group.pendingResolved
        : {
            messageId,
            dedupKey: episode.dedupKey,
            threadId: group.threadId ?? newThreadId(groupKey, t.now),
            keys: Math.max(1, group.episodeKeys?.size ?? 1),
            alert: JSON.stringify(alert),
          };
    const ended = await endGroupEpisode(db, table, groupKey, pending);
    if (ended) {
      const deferred = group.openWindow
        ? await deferToWindow(db, table, groupKey, group.openWindow, pending)
        : false;
      result = deferred ? { result: 'deferred', pending } : { result: 'resolved', pending };
    } else {
      // Another alert of the group started firing in between: the group's episode goes on.
      result = { result: 'recorded', firing: 1 };
    }
  }
  await db.send(new DeleteCommand({ TableName: table, Key: { id: episode.id } }));
  return result;
}

/** Stores the resolved notification and ends the thread, unless the group fires again meanwhile. */
async function endGroupEpisode(
  db: Db,
  table: string,
  groupKey: string,
  pending: PendingResolved,
): Promise<boolean> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: groupId(groupKey) },
        UpdateExpression: 'SET pendingResolved = :pending REMOVE threadId, openedAt, episodeKeys',
        ConditionExpression: 'attribute_not_exists(firingKeys)',
        ExpressionAttributeValues: { ':pending': pending },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

async function deferToWindow(
  db: Db,
  table: string,
  groupKey: string,
  window: string,
  pending: PendingResolved,
): Promise<boolean> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: windowId(groupKey, window) },
        UpdateExpression: 'SET resolveAfter = :pending',
        ConditionExpression: 'attribute_exists(id) AND attribute_not_exists(closedAtMs)',
        ExpressionAttributeValues: { ':pending': pending },
      }),
    );
    return true;
  } catch (error) {
    // The window's flush already closed it: send the resolved now.
    if (isConditionFailure(error)) return false;
    throw error;
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
  criticalKeys?: Set<string>;
  lastCriticalAtMs?: number;
}

/** A critical alert of the service fires (and one was raised within an episode's lifetime). */
export function criticalFiring(record: ServiceRecord | undefined, t: TimeSettings): boolean {
  return (record?.criticalKeys?.size ?? 0) > 0 && (record?.lastCriticalAtMs ?? 0) > t.now - t.episodeMs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
