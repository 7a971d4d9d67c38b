// One interruption episode per EC2 instance (or Fargate task): the idempotency record.
// Every channel (rebalance, warning, task event, redelivery) advances the same record with
// a conditional write, so the strongest intent is acted on once, by one invocation at a time.
import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../shared/clock.ts';
import { iso } from '../shared/clock.ts';
import { type Db, isConditionFailure, ttlSeconds } from '../shared/dynamo.ts';
import { INTENT_RANK, type Intent } from './signals.ts';

export interface Episode {
  id: string;
  subject: string;
  intent: Intent;
  rank: number;
  openedAt: string;
  noticeAt: string;
  channels: string[];
  cluster?: string;
  drainedAt?: string;
  surgeStartedAt?: string;
  alertedAt?: string;
  leaseOwner?: string;
  leaseUntilMs?: number;
  expiresAtMs: number;
}

export type Claim =
  /** We hold the episode's lease and must act on `intent` (`previous` is what was already done). */
  | { result: 'claimed'; episode: Episode; previous: Episode | undefined }
  /** Already at this intent or stronger, and done: a duplicate. */
  | { result: 'duplicate'; episode: Episode }
  /** Another invocation is acting on it right now with a weaker intent: retry later. */
  | { result: 'busy'; episode: Episode };

export const episodeId = (subject: string) => `spot-episode#${subject}`;

export interface ClaimRequest {
  subject: string;
  intent: Intent;
  channel: string;
  noticeAt: string;
  cluster?: string;
  owner: string;
  leaseMs: number;
  episodeTtlMs: number;
}

/**
 * Takes the episode's lease when the requested intent is stronger than what is recorded (or the
 * recorded action never completed). An expired episode (older than its TTL) counts as absent:
 * the same instance may be interrupted again another day.
 */
export async function claimEpisode(
  db: Db,
  table: string,
  clock: Clock,
  req: ClaimRequest,
  /** The record as read in bulk just before (see getEpisodes); read here when not given. */
  known?: { episode: Episode | undefined },
): Promise<Claim> {
  const now = clock.now();
  const id = episodeId(req.subject);
  const rank = INTENT_RANK[req.intent];
  const current = known ? known.episode : await getEpisode(db, table, id);
  const live = current && current.expiresAtMs > now ? current : undefined;

  if (live) {
    const complete = isComplete(live);
    if (live.rank >= rank && complete) {
      await noteChannel(db, table, id, req.channel);
      return { result: 'duplicate', episode: live };
    }
    if (live.leaseUntilMs !== undefined && live.leaseUntilMs > now && live.leaseOwner !== req.owner) {
      return live.rank >= rank ? { result: 'duplicate', episode: live } : { result: 'busy', episode: live };
    }
  }

  const newRank = Math.max(rank, live?.rank ?? 0);
  const intent = (Object.keys(INTENT_RANK) as Intent[]).find((k) => INTENT_RANK[k] === newRank) ?? req.intent;
  const fresh = !live;
  try {
    const out = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id },
        UpdateExpression: fresh
          ? 'SET #subject = :subject, #intent = :intent, #rank = :rank, openedAt = :nowIso, noticeAt = :noticeAt, #channels = :channels, leaseOwner = :owner, leaseUntilMs = :leaseUntil, expiresAtMs = :expiresAtMs, expiresAt = :ttl, #cluster = :cluster REMOVE drainedAt, surgeStartedAt, alertedAt'
          : 'SET #intent = :intent, #rank = :rank, leaseOwner = :owner, leaseUntilMs = :leaseUntil, #channels = list_append(#channels, :channels)',
        // Fresh: nobody else opened it meanwhile. Existing: the record we read is still the record, and unleased.
        ConditionExpression: fresh
          ? 'attribute_not_exists(id) OR expiresAtMs < :now'
          : 'openedAt = :openedAt AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now OR leaseOwner = :owner)',
        ExpressionAttributeNames: {
          '#rank': 'rank',
          '#intent': 'intent',
          '#channels': 'channels',
          ...(fresh ? { '#subject': 'subject', '#cluster': 'cluster' } : {}),
        },
        ExpressionAttributeValues: {
          ':intent': intent,
          ':rank': newRank,
          ':owner': req.owner,
          ':leaseUntil': now + req.leaseMs,
          ':channels': [req.channel],
          ':now': now,
          ...(fresh
            ? {
                ':subject': req.subject,
                ':nowIso': iso(now),
                ':noticeAt': req.noticeAt,
                ':expiresAtMs': now + req.episodeTtlMs,
                ':ttl': ttlSeconds(now + req.episodeTtlMs),
                ':cluster': req.cluster ?? null,
              }
            : { ':openedAt': live.openedAt }),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { result: 'claimed', episode: out.Attributes as Episode, previous: live };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // Someone else got there between our read and write: look again.
    const winner = await getEpisode(db, table, id);
    if (winner && winner.rank >= rank) return { result: 'duplicate', episode: winner };
    return { result: 'busy', episode: winner ?? (live as Episode) };
  }
}

/**
 * An episode is complete when what its intent asks for has been done and announced: a drain whose
 * alert could not be raised is retried until the alert is out (the drain itself is not repeated).
 */
export function isComplete(e: Episode): boolean {
  const announced = e.alertedAt !== undefined;
  if (e.intent === 'drain') return e.drainedAt !== undefined && announced;
  if (e.intent === 'surge') return (e.surgeStartedAt !== undefined || e.drainedAt !== undefined) && announced;
  return announced;
}

export interface Completion {
  drainedAt?: string;
  surgeStartedAt?: string;
  alertedAt?: string;
}

/** Records what was done and gives the lease back. Only the lease holder may complete. */
export async function completeEpisode(
  db: Db,
  table: string,
  subject: string,
  owner: string,
  done: Completion,
): Promise<void> {
  const sets = Object.entries(done)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => `${k} = if_not_exists(${k}, :${k})`);
  const values = Object.fromEntries(
    Object.entries(done)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [`:${k}`, v]),
  );
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: episodeId(subject) },
        UpdateExpression: `${sets.length > 0 ? `SET ${sets.join(', ')} ` : ''}REMOVE leaseOwner, leaseUntilMs`,
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ...values, ':owner': owner },
      }),
    );
  } catch (error) {
    // Lease lost (we were too slow): the next holder re-checks state, our action was idempotent.
    if (!isConditionFailure(error)) throw error;
  }
}

/** Gives the lease back without recording progress (the action failed; a retry will redo it). */
export async function abandonEpisode(db: Db, table: string, subject: string, owner: string): Promise<void> {
  await completeEpisode(db, table, subject, owner, {});
}

/** Reads many episodes at once (100 keys per call), strongly consistent, by subject. */
export async function getEpisodes(
  db: Db,
  table: string,
  subjects: readonly string[],
): Promise<Map<string, Episode>> {
  const found = new Map<string, Episode>();
  for (let i = 0; i < subjects.length; i += 100) {
    let keys: Record<string, unknown>[] = subjects.slice(i, i + 100).map((s) => ({ id: episodeId(s) }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`episodes: ${keys.length} keys still unprocessed after retries`);
      const out = await db.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table] ?? []) found.set(String(item.subject), item as Episode);
      keys = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      if (keys.length > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
    }
  }
  return found;
}

export async function getEpisode(db: Db, table: string, id: string): Promise<Episode | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
  return out.Item as Episode | undefined;
}

async function noteChannel(db: Db, table: string, id: string, channel: string): Promise<void> {
  // Evidence only: which channels announced this episode. Best effort, no condition.
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id },
      UpdateExpression: 'SET #channels = list_append(if_not_exists(#channels, :empty), :c)',
      ExpressionAttributeNames: { '#channels': 'channels' },
      ExpressionAttributeValues: { ':c': [channel], ':empty': [] },
    }),
  );
}
