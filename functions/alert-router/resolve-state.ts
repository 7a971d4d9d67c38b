// Resolving an episode: its group ends with it, or the resolve waits for the open window's message
// so that people hear of the firing before they hear of the resolve.
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from '../shared/alerts.ts';
import { conditionalWrite, type Db, isConditionFailure } from '../shared/dynamo.ts';
import {
  type EpisodeRecord,
  type GroupRecord,
  groupId,
  keyHash,
  newThreadId,
  type PendingResolved,
  serviceId,
  type TimeSettings,
  windowId,
} from './episode-state.ts';

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
  return conditionalWrite(
    db,
    new UpdateCommand({
      TableName: table,
      Key: { id: groupId(groupKey) },
      UpdateExpression: 'SET pendingResolved = :pending REMOVE threadId, openedAt, episodeKeys',
      ConditionExpression: 'attribute_not_exists(firingKeys)',
      ExpressionAttributeValues: { ':pending': pending },
    }),
  );
}

async function deferToWindow(
  db: Db,
  table: string,
  groupKey: string,
  window: string,
  pending: PendingResolved,
): Promise<boolean> {
  // The window's flush already closed it: send the resolved now.
  return conditionalWrite(
    db,
    new UpdateCommand({
      TableName: table,
      Key: { id: windowId(groupKey, window) },
      UpdateExpression: 'SET resolveAfter = :pending',
      ConditionExpression: 'attribute_exists(id) AND attribute_not_exists(closedAtMs)',
      ExpressionAttributeValues: { ':pending': pending },
    }),
  );
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
