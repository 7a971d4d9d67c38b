// Time-boxed silences by service, kind or dedup key, and acknowledgements of firing alerts, kept in
// one item of the alerts table: operators set a handful, and the router reads them all with one
// GetItem per batch. The router announces each silence's start and end once (claimSilenceNotice).
import { randomUUID } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../events/zod.ts';
import type { Clock } from '../shared/clock.ts';
import { iso } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { keyHash } from './episode-state.ts';

export const SILENCES_ID = 'silences';

export const SilenceMatcherSchema = z
  .object({
    service: z.optional(z.string().check(z.minLength(1))),
    kind: z.optional(z.string().check(z.minLength(1))),
    dedupKey: z.optional(z.string().check(z.minLength(1))),
  })
  .check(
    z.refine((m) => m.service !== undefined || m.kind !== undefined || m.dedupKey !== undefined, {
      message: 'name a service, a kind or a dedup key',
    }),
  );
export type SilenceMatcher = z.infer<typeof SilenceMatcherSchema>;

export interface Silence {
  id: string;
  /** Every field given must match (service, kind, dedup key). */
  matcher: SilenceMatcher;
  startsAt: string;
  endsAt: string;
  reason: string;
  createdBy: string;
  createdAt: string;
  /** Who ended it before its time (`ops unsilence`); absent when it ran out. */
  endedBy?: string;
  /** When the router announced its creation, and its end (each once). */
  createdAnnouncedAt?: string;
  endAnnouncedAt?: string;
  /** A router invocation's claim on announcing them (silences.ts claimSilenceNotice). */
  createdClaim?: string;
  endClaim?: string;
}

/** An operator's acknowledgement of one firing alert (`ops ack`): no reminders for its episode. */
export interface Acknowledgement {
  dedupKey: string;
  by: string;
  reason?: string;
  at: string;
  /** The episode it acknowledges: a later episode of the same dedup key is not acknowledged. */
  episodeOpenedAt: string;
}

export interface AlertControls {
  silences: Silence[];
  /** By dedup key. */
  acks: Map<string, Acknowledgement>;
}

export interface NewSilence {
  matcher: SilenceMatcher;
  durationMs: number;
  reason: string;
  createdBy: string;
}

/** At most a week: a silence is a pause while someone works on it, not a way to switch alerts off. */
export const MAX_SILENCE_MS = 7 * 24 * 3600 * 1000;

/** Every stored silence (expired ones too, until the next addSilence prunes them). */
export async function listSilences(db: Db, table: string): Promise<Silence[]> {
  return (await readAlertControls(db, table)).silences;
}

/** The silences and acknowledgements, in one read. */
export async function readAlertControls(db: Db, table: string): Promise<AlertControls> {
  const out = await db.send(
    new GetCommand({ TableName: table, Key: { id: SILENCES_ID }, ConsistentRead: true }),
  );
  const entries = (out.Item?.entries ?? {}) as Record<string, Silence>;
  const acks = (out.Item?.acks ?? {}) as Record<string, Acknowledgement>;
  return {
    silences: Object.values(entries).sort(
      (a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id),
    ),
    acks: new Map(Object.values(acks).map((a) => [a.dedupKey, a])),
  };
}

/** How long an ended silence is kept unannounced before a new silence may prune it anyway. */
const UNANNOUNCED_KEEP_MS = 24 * 3600 * 1000;
/** Acknowledgements older than this are pruned (an episode lives 24 hours by default, 14 days at most). */
const ACK_KEEP_MS = 14 * 24 * 3600 * 1000;

/**
 * Sets `key` of the item's map `name` to `value` and removes the `pruned` keys, in one write; the
 * map is created first if it is not there yet (a nested SET needs it).
 */
async function putMapEntry(
  db: Db,
  table: string,
  name: 'entries' | 'acks',
  key: string,
  value: unknown,
  pruned: readonly string[],
): Promise<void> {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: SILENCES_ID },
      UpdateExpression: 'SET #map = if_not_exists(#map, :empty)',
      ExpressionAttributeNames: { '#map': name },
      ExpressionAttributeValues: { ':empty': {} },
    }),
  );
  const names: Record<string, string> = { '#map': name, '#new': key };
  pruned.forEach((old, i) => {
    names[`#old${i}`] = old;
  });
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: SILENCES_ID },
      UpdateExpression: `SET #map.#new = :value${pruned.length > 0 ? ` REMOVE ${pruned.map((_, i) => `#map.#old${i}`).join(', ')}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':value': value },
    }),
  );
}

export async function addSilence(db: Db, table: string, clock: Clock, input: NewSilence): Promise<Silence> {
  const matcher = SilenceMatcherSchema.safeParse(input.matcher);
  if (!matcher.success)
    throw new InvalidInputError('matcher', 'name a service, a kind or a dedup key', input.matcher);
  if (!(input.durationMs > 0 && input.durationMs <= MAX_SILENCE_MS)) {
    throw new InvalidInputError('duration', 'must be more than 0 and at most 7 days', input.durationMs);
  }
  if (input.reason.trim() === '')
    throw new InvalidInputError('reason', 'is required: say why, for the next person');
  const now = clock.now();
  const silence: Silence = {
    id: `silence-${randomUUID().slice(0, 8)}`,
    matcher: matcher.data,
    startsAt: iso(now),
    endsAt: iso(now + input.durationMs),
    reason: input.reason.trim(),
    createdBy: input.createdBy,
    createdAt: iso(now),
  };
  // Ended ones go once their end was announced (or long after, if the router never ran).
  const expired = (await listSilences(db, table))
    .filter(
      (s) =>
        Date.parse(s.endsAt) <= now &&
        (s.endAnnouncedAt !== undefined || Date.parse(s.endsAt) <= now - UNANNOUNCED_KEEP_MS),
    )
    .slice(0, 20);
  await putMapEntry(
    db,
    table,
    'entries',
    silence.id,
    silence,
    expired.map((s) => s.id),
  );
  return silence;
}

/** Ends a silence now (by `endedBy`, when a person ends it); false when there is no such silence. */
export async function expireSilence(
  db: Db,
  table: string,
  clock: Clock,
  id: string,
  endedBy?: string,
): Promise<boolean> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: SILENCES_ID },
        UpdateExpression: `SET entries.#id.endsAt = :now${endedBy ? ', entries.#id.endedBy = :by' : ''}`,
        ConditionExpression: 'attribute_exists(entries.#id)',
        ExpressionAttributeNames: { '#id': id },
        ExpressionAttributeValues: { ':now': iso(clock.now()), ...(endedBy ? { ':by': endedBy } : {}) },
      }),
    );
    return true;
  } catch (error) {
    if (
      (error as Error).name === 'ConditionalCheckFailedException' ||
      (error as Error).name === 'ValidationException'
    )
      return false;
    throw error;
  }
}

type NoticeField = 'createdAnnouncedAt' | 'endAnnouncedAt';

/** The fields a notice marks: a silence that came and went between two looks is both created and ended. */
export function noticeFields(which: 'created' | 'ended' | 'created-and-ended' | 'stale'): NoticeField[] {
  if (which === 'created') return ['createdAnnouncedAt'];
  if (which === 'ended') return ['endAnnouncedAt'];
  return ['createdAnnouncedAt', 'endAnnouncedAt'];
}

const claimOf = (field: NoticeField) => (field === 'createdAnnouncedAt' ? 'createdClaim' : 'endClaim');

/** A claim left this long without its notice marked announced (the router stopped in between) lapses. */
export const NOTICE_CLAIM_MS = 5 * 60_000;

/**
 * Claims a silence's announcement for this caller: true for the one router invocation that gets it
 * (they run concurrently), false when another holds it or it was made. The claim carries a token
 * of its own, so a claim whose answer was lost, and whose retry the condition refuses, is still
 * known to be this caller's; and it lapses after NOTICE_CLAIM_MS, so a router that stopped between
 * claiming and raising does not lose the notice.
 */
export async function claimSilenceNotice(
  db: Db,
  table: string,
  id: string,
  fields: readonly NoticeField[],
  now: number,
): Promise<string | undefined> {
  const token = `${iso(now)}#${randomUUID().slice(0, 8)}`;
  const names: Record<string, string> = { '#id': id };
  const conditions = ['attribute_exists(entries.#id)'];
  fields.forEach((field, i) => {
    names[`#done${i}`] = field;
    names[`#claim${i}`] = claimOf(field);
    conditions.push(
      `attribute_not_exists(entries.#id.#done${i})`,
      `(attribute_not_exists(entries.#id.#claim${i}) OR entries.#id.#claim${i} < :lapsed)`,
    );
  });
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: SILENCES_ID },
        UpdateExpression: `SET ${fields.map((_, i) => `entries.#id.#claim${i} = :token`).join(', ')}`,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':token': token, ':lapsed': iso(now - NOTICE_CLAIM_MS) },
      }),
    );
    return token;
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    const stored = (await listSilences(db, table)).find((s) => s.id === id) as
      | Record<string, unknown>
      | undefined;
    return fields.every((field) => stored?.[claimOf(field)] === token) ? token : undefined;
  }
}

/** Marks a claimed (or stale) notice announced; `release` instead gives the claim back. */
export async function settleSilenceNotice(
  db: Db,
  table: string,
  id: string,
  fields: readonly NoticeField[],
  outcome: { announcedAt: string } | 'release',
): Promise<void> {
  const release = outcome === 'release';
  const names: Record<string, string> = { '#id': id };
  fields.forEach((field, i) => {
    names[`#f${i}`] = release ? claimOf(field) : field;
  });
  const paths = fields.map((_, i) => `entries.#id.#f${i}`);
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: SILENCES_ID },
        UpdateExpression: release
          ? `REMOVE ${paths.join(', ')}`
          : `SET ${paths.map((p) => `${p} = :at`).join(', ')}`,
        ConditionExpression: 'attribute_exists(entries.#id)',
        ExpressionAttributeNames: names,
        ...(release ? {} : { ExpressionAttributeValues: { ':at': outcome.announcedAt } }),
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}

/** Records an acknowledgement (a second one for the same alert replaces the first), pruning old ones. */
export async function addAck(db: Db, table: string, clock: Clock, ack: Acknowledgement): Promise<void> {
  const now = clock.now();
  const old = [...(await readAlertControls(db, table)).acks.values()]
    .filter((a) => a.dedupKey !== ack.dedupKey && Date.parse(a.at) <= now - ACK_KEEP_MS)
    .slice(0, 20);
  await putMapEntry(
    db,
    table,
    'acks',
    keyHash(ack.dedupKey),
    ack,
    old.map((a) => keyHash(a.dedupKey)),
  );
}

/** Drops the acknowledgement of an alert whose episode ended (no-op when there is none). */
export async function removeAck(db: Db, table: string, dedupKey: string): Promise<void> {
  await db
    .send(
      new UpdateCommand({
        TableName: table,
        Key: { id: SILENCES_ID },
        UpdateExpression: 'REMOVE acks.#key',
        ConditionExpression: 'attribute_exists(acks.#key)',
        ExpressionAttributeNames: { '#key': keyHash(dedupKey) },
      }),
    )
    .catch((error: Error) => {
      if (error.name !== 'ConditionalCheckFailedException') throw error;
    });
}
