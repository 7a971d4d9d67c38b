// One interruption episode per EC2 instance (or Fargate task): the idempotency record.
// Every channel (rebalance, warning, task event, redelivery) advances the same record with
// a conditional write, so the strongest intent is acted on once, by one invocation at a time.
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { type Db, isConditionFailure, ttlSeconds } from '../dynamo.ts';
import { batchGetItems } from '../dynamo-batches.ts';
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
  /** A drain's replacement capacity could not be requested: the episode is retried for it. */
  replacementOwedAt?: string;
  /** The replacement capacity was requested. */
  replacedAt?: string;
  /** What was requested (group, desired before and after): for an alert raised on a redelivery. */
  replacement?: string;
  /**
   * A rebalance drain that no warning followed put the instance back to ACTIVE and ended the
   * episode (expiresAtMs in the past): the next signal opens a new one.
   */
  reactivatedAt?: string;
  reactivatedBy?: string;
  /** Its services' tasks were added before the drain: a redelivery does not add them again. */
  protectedAt?: string;
  /** 2 for episodes opened since replacements are recorded (replacedAt); absent before. */
  recordVersion?: number;
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

/** What a claim would write, or why it writes nothing (decided from the record as read). */
type ClaimPlan =
  | { result: 'duplicate'; episode: Episode; noteChannel: boolean }
  | { result: 'busy'; episode: Episode }
  | { result: 'write'; live: Episode | undefined; update: EpisodeUpdate };

/** An UpdateItem on one episode, as a plain request (sent alone or inside a transaction). */
interface EpisodeUpdate {
  TableName: string;
  Key: { id: string };
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/**
 * The claim's write, when the requested intent is stronger than what is recorded (or the recorded
 * action never completed). An expired episode (older than its TTL) counts as absent: the same
 * instance may be interrupted again another day.
 */
function planClaim(table: string, now: number, req: ClaimRequest, current: Episode | undefined): ClaimPlan {
  const id = episodeId(req.subject);
  const rank = INTENT_RANK[req.intent];
  const live = current && current.expiresAtMs > now ? current : undefined;

  if (live) {
    if (live.rank >= rank && isComplete(live))
      return { result: 'duplicate', episode: live, noteChannel: true };
    if (live.leaseUntilMs !== undefined && live.leaseUntilMs > now && live.leaseOwner !== req.owner) {
      return live.rank >= rank
        ? { result: 'duplicate', episode: live, noteChannel: false }
        : { result: 'busy', episode: live };
    }
  }

  const newRank = Math.max(rank, live?.rank ?? 0);
  const intent = (Object.keys(INTENT_RANK) as Intent[]).find((k) => INTENT_RANK[k] === newRank) ?? req.intent;
  const fresh = !live;
  return {
    result: 'write',
    live,
    update: {
      TableName: table,
      Key: { id },
      UpdateExpression: fresh
        ? 'SET #subject = :subject, #intent = :intent, #rank = :rank, openedAt = :nowIso, noticeAt = :noticeAt, #channels = :channels, leaseOwner = :owner, leaseUntilMs = :leaseUntil, expiresAtMs = :expiresAtMs, expiresAt = :ttl, #cluster = :cluster, recordVersion = :recordVersion REMOVE drainedAt, surgeStartedAt, alertedAt, replacementOwedAt, replacedAt, replacement, reactivatedAt, reactivatedBy, protectedAt'
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
              ':recordVersion': RECORD_VERSION,
            }
          : { ':openedAt': live.openedAt }),
      },
    },
  };
}

/** Takes the episode's lease when the requested intent calls for it (see planClaim). */
export async function claimEpisode(
  db: Db,
  table: string,
  clock: Clock,
  req: ClaimRequest,
  /** The record as read in bulk just before (see getEpisodes); read here when not given. */
  known?: { episode: Episode | undefined },
): Promise<Claim> {
  const id = episodeId(req.subject);
  const current = known ? known.episode : await getEpisode(db, table, id);
  const plan = planClaim(table, clock.now(), req, current);
  if (plan.result === 'duplicate') {
    // The note fails only on an episode ended meanwhile (put back to ACTIVE): claim it afresh.
    if (plan.noteChannel && !(await noteChannel(db, table, id, req.channel)))
      return claimEpisode(db, table, clock, req);
    return { result: 'duplicate', episode: plan.episode };
  }
  if (plan.result === 'busy') return plan;
  try {
    const out = await db.send(new UpdateCommand({ ...plan.update, ReturnValues: 'ALL_NEW' }));
    return { result: 'claimed', episode: out.Attributes as Episode, previous: plan.live };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // Someone else got there between our read and write, or we did: our write was applied, its
    // answer lost, and the SDK's retry failed on it. Look again.
    const winner = await getEpisode(db, table, id);
    if (winner && ownClaim(winner, req)) return { result: 'claimed', episode: winner, previous: plan.live };
    if (winner && winner.rank >= INTENT_RANK[req.intent]) return { result: 'duplicate', episode: winner };
    return { result: 'busy', episode: winner ?? (plan.live as Episode) };
  }
}

/** The most actions one TransactWriteItems takes. */
const TRANSACTION_LIMIT = 100;

/**
 * Claims many episodes with one conditional transaction per hundred (a storm's batch is one call,
 * not one per instance), each write exactly as claimEpisode would make it, then one strongly
 * consistent read of what was claimed. A transaction is all or nothing: when any condition fails
 * (someone else wrote in between, or our own transaction was applied and its answer lost), those
 * subjects are read again and claimed one by one, as before.
 */
export async function claimEpisodes(
  db: Db,
  table: string,
  clock: Clock,
  reqs: readonly ClaimRequest[],
  known: ReadonlyMap<string, Episode>,
): Promise<Map<string, Claim>> {
  const now = clock.now();
  const claims = new Map<string, Claim>();
  const writes: { req: ClaimRequest; live: Episode | undefined; update: EpisodeUpdate }[] = [];
  const notes: { req: ClaimRequest; update: EpisodeUpdate }[] = [];
  for (const req of reqs) {
    const plan = planClaim(table, now, req, known.get(req.subject));
    if (plan.result === 'write') writes.push({ req, live: plan.live, update: plan.update });
    else {
      claims.set(req.subject, plan.result === 'busy' ? plan : { result: 'duplicate', episode: plan.episode });
      if (plan.result === 'duplicate' && plan.noteChannel)
        notes.push({ req, update: noteChannelUpdate(table, episodeId(req.subject), req.channel) });
    }
  }
  const subjects = new Set(reqs.map((r) => r.subject));
  if (writes.length + notes.length <= 1 || subjects.size < reqs.length) {
    // One write gains nothing from a transaction; two claims of one subject cannot share one.
    for (const note of notes)
      if (!(await noteChannel(db, table, note.update.Key.id, note.req.channel)))
        claims.set(note.req.subject, await claimEpisode(db, table, clock, note.req));
    for (const w of writes)
      claims.set(w.req.subject, await claimEpisode(db, table, clock, w.req, { episode: w.live }));
    return claims;
  }
  // Claims first, then the channel notes. A cancelled chunk's notes are claimed again one by one:
  // a note fails only on an episode ended meanwhile, and then the signal opens a new one.
  const actions: {
    update: EpisodeUpdate;
    write?: (typeof writes)[number];
    note?: (typeof notes)[number];
  }[] = [
    ...writes.map((write) => ({ update: write.update, write })),
    ...notes.map((note) => ({ update: note.update, note })),
  ];
  const failed: typeof writes = [];
  const failedNotes: typeof notes = [];
  for (let i = 0; i < actions.length; i += TRANSACTION_LIMIT) {
    const chunk = actions.slice(i, i + TRANSACTION_LIMIT);
    if (
      !(await transact(
        db,
        chunk.map((a) => a.update),
      ))
    ) {
      failed.push(...chunk.flatMap((a) => (a.write ? [a.write] : [])));
      failedNotes.push(...chunk.flatMap((a) => (a.note ? [a.note] : [])));
    }
  }
  for (const note of failedNotes)
    claims.set(note.req.subject, await claimEpisode(db, table, clock, note.req));
  // One read of every subject written, whichever way its transaction went.
  const read =
    writes.length > 0
      ? await getEpisodes(
          db,
          table,
          writes.map((w) => w.req.subject),
        )
      : new Map<string, Episode>();
  for (const w of writes) {
    const now = read.get(w.req.subject);
    // Ours: claimed by a transaction that went through, or by one whose answer was lost (its
    // retry was cancelled on our own writes). `previous` stays what the batch read before it, not
    // our own write, which would pass for an earlier drain (and no replacement be asked for).
    if (now && ownClaim(now, w.req))
      claims.set(w.req.subject, { result: 'claimed', episode: now, previous: w.live });
    // Written, yet no longer ours: only a lease that ran out meanwhile could have done that.
    else if (!failed.includes(w))
      claims.set(w.req.subject, { result: 'busy', episode: now ?? (w.live as Episode) });
    // Cancelled on someone else's write: claimed one by one on what was read.
    else claims.set(w.req.subject, await claimEpisode(db, table, clock, w.req, { episode: now }));
  }
  return claims;
}

/**
 * The episode holds our live lease at the intent we asked for: written by this invocation (owners
 * are unique per invocation), so a claim whose answer was lost, not someone else's.
 */
function ownClaim(episode: Episode, req: ClaimRequest): boolean {
  return episode.leaseOwner === req.owner && episode.rank >= INTENT_RANK[req.intent] && !isComplete(episode);
}

/** Sends the updates as one transaction; false when it was cancelled (a condition failed). */
async function transact(db: Db, updates: readonly EpisodeUpdate[]): Promise<boolean> {
  try {
    await db.send(new TransactWriteCommand({ TransactItems: updates.map((Update) => ({ Update })) }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'TransactionCanceledException') return false;
    throw error;
  }
}

/**
 * An episode is complete when what its intent asks for has been done and announced: a drain whose
 * alert could not be raised, or whose replacement could not be requested, is retried until that
 * is done (the drain itself is not repeated).
 */
export function isComplete(e: Episode): boolean {
  const announced = e.alertedAt !== undefined;
  const replaced = e.replacementOwedAt === undefined || e.replacedAt !== undefined;
  if (e.intent === 'drain') return e.drainedAt !== undefined && announced && replaced;
  if (e.intent === 'surge') return (e.surgeStartedAt !== undefined || e.drainedAt !== undefined) && announced;
  return announced;
}

/**
 * Whether the episode's replacement capacity was asked for already: `replacedAt` says so.
 * `previous` is the record as it was before this claim. Episodes opened before `replacedAt`
 * existed (no recordVersion) are read by what their intent did: a surge asked for capacity
 * first, and a drain asked in the invocation that drained it; an unconfirmed drain asked for none.
 */
export function replacementDone(episode: Episode, previous: Episode | undefined): boolean {
  if (episode.replacedAt !== undefined || episode.surgeStartedAt !== undefined) return true;
  if (episode.replacementOwedAt !== undefined || episode.recordVersion !== undefined) return false;
  if (previous?.intent === 'surge') return true;
  if (previous?.intent === 'drain') return previous.drainedAt !== undefined;
  return false;
}

/** Written on every episode opened since replacements are recorded: see replacementDone. */
const RECORD_VERSION = 2;

export interface Completion {
  drainedAt?: string;
  protectedAt?: string;
  surgeStartedAt?: string;
  alertedAt?: string;
  replacementOwedAt?: string;
  replacedAt?: string;
  replacement?: string;
}

/** Records what was done and gives the lease back. Only the lease holder may complete. */
export async function completeEpisode(
  db: Db,
  table: string,
  subject: string,
  owner: string,
  done: Completion,
): Promise<void> {
  try {
    await db.send(new UpdateCommand(completionUpdate(table, subject, owner, done)));
  } catch (error) {
    // Lease lost (we were too slow): the next holder re-checks state, our action was idempotent.
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * Completes many episodes with one transaction per hundred; when one lease was lost meanwhile
 * (the transaction is cancelled), each is completed on its own, as completeEpisode does.
 */
export async function completeEpisodes(
  db: Db,
  table: string,
  owner: string,
  completions: readonly { subject: string; done: Completion }[],
): Promise<void> {
  if (completions.length <= 1) {
    for (const c of completions) await completeEpisode(db, table, c.subject, owner, c.done);
    return;
  }
  for (let i = 0; i < completions.length; i += TRANSACTION_LIMIT) {
    const chunk = completions.slice(i, i + TRANSACTION_LIMIT);
    const applied = await transact(
      db,
      chunk.map((c) => completionUpdate(table, c.subject, owner, c.done)),
    );
    if (!applied) for (const c of chunk) await completeEpisode(db, table, c.subject, owner, c.done);
  }
}

function completionUpdate(table: string, subject: string, owner: string, done: Completion): EpisodeUpdate {
  const given = Object.entries(done).filter(([, v]) => v !== undefined);
  const sets = given.map(([k]) => `${k} = if_not_exists(${k}, :${k})`);
  return {
    TableName: table,
    Key: { id: episodeId(subject) },
    UpdateExpression: `${sets.length > 0 ? `SET ${sets.join(', ')} ` : ''}REMOVE leaseOwner, leaseUntilMs`,
    ConditionExpression: 'leaseOwner = :owner',
    ExpressionAttributeValues: {
      ...Object.fromEntries(given.map(([k, v]) => [`:${k}`, v])),
      ':owner': owner,
    },
  };
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
  const keys = subjects.map((s) => ({ id: episodeId(s) }));
  const items = await batchGetItems(db, table, keys, 'episodes');
  return new Map(items.map((item) => [String(item.subject), item as unknown as Episode]));
}

export async function getEpisode(db: Db, table: string, id: string): Promise<Episode | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
  return out.Item as Episode | undefined;
}

/**
 * Which channels announced this episode: a warning noted here keeps a rebalance drain from being
 * put back. Conditional on the episode not having been put back meanwhile (see reactivatedAt).
 */
function noteChannelUpdate(table: string, id: string, channel: string): EpisodeUpdate {
  return {
    TableName: table,
    Key: { id },
    UpdateExpression: 'SET #channels = list_append(if_not_exists(#channels, :empty), :c)',
    ConditionExpression: 'attribute_not_exists(reactivatedAt)',
    ExpressionAttributeNames: { '#channels': 'channels' },
    ExpressionAttributeValues: { ':c': [channel], ':empty': [] },
  };
}

/** Notes the channel; false when the episode was put back meanwhile. */
async function noteChannel(db: Db, table: string, id: string, channel: string): Promise<boolean> {
  try {
    await db.send(new UpdateCommand(noteChannelUpdate(table, id, channel)));
    return true;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return false;
  }
}

/**
 * Ends a rebalance drain's episode to put its instance back: only the episode opened at `openedAt`,
 * only when no warning was noted on it, and not while another invocation holds it. A warning
 * that arrives after this opens a new episode (the channel note above fails on it). False when
 * the episode is not one to put back.
 */
export async function endForReactivation(
  db: Db,
  table: string,
  clock: Clock,
  subject: string,
  openedAt: string,
  owner: string,
): Promise<boolean> {
  const now = clock.now();
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: episodeId(subject) },
        UpdateExpression: 'SET reactivatedAt = :nowIso, reactivatedBy = :owner, expiresAtMs = :ended',
        ConditionExpression:
          'openedAt = :openedAt AND NOT contains(#channels, :warning) AND attribute_not_exists(reactivatedAt) AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now)',
        ExpressionAttributeNames: { '#channels': 'channels' },
        ExpressionAttributeValues: {
          ':nowIso': iso(now),
          ':ended': now - 1,
          ':openedAt': openedAt,
          ':warning': 'warning',
          ':now': now,
          ':owner': owner,
        },
      }),
    );
    return true;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // Our own write, applied with its answer lost, fails the SDK's retry: it is still ours.
    const now = await getEpisode(db, table, episodeId(subject));
    return now?.openedAt === openedAt && now.reactivatedBy === owner;
  }
}
