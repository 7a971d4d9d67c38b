// Grouping windows: one item per group and window, joined by every alert of the group that comes
// inside it, with bounded counters and samples, opened, marked and closed once.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import {
  conditionalWrite,
  type Db,
  isConditionFailure,
  itemOfConditionFailure,
  ttlSeconds,
} from '../shared/dynamo.ts';
import {
  countAttribute,
  type GroupRecord,
  getItem,
  groupId,
  newThreadId,
  resetStaleGroup,
  type TimeSettings,
  type WindowRecord,
  windowId,
} from './episode-state.ts';

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
  return conditionalWrite(
    db,
    new UpdateCommand({
      TableName: table,
      Key: { id: windowId(groupKey, group.openWindow) },
      UpdateExpression: 'ADD #repeats :n',
      ConditionExpression: 'attribute_exists(id) AND attribute_not_exists(closedAtMs)',
      ExpressionAttributeNames: { '#repeats': 'repeats' },
      ExpressionAttributeValues: { ':n': repeats },
    }),
  );
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
