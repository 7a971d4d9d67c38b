// Time-boxed silences by service, kind or dedup key, kept in one item of the alerts table: an
// operator sets a handful, and the router reads them all with one GetItem per batch.
import { randomUUID } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../events/zod.ts';
import type { Clock } from '../shared/clock.ts';
import { iso } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { InvalidInputError } from '../shared/errors.ts';

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
  const out = await db.send(
    new GetCommand({ TableName: table, Key: { id: SILENCES_ID }, ConsistentRead: true }),
  );
  const entries = (out.Item?.entries ?? {}) as Record<string, Silence>;
  return Object.values(entries).sort(
    (a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id),
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
  // A nested SET needs the map to exist first.
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: SILENCES_ID },
      UpdateExpression: 'SET entries = if_not_exists(entries, :empty)',
      ExpressionAttributeValues: { ':empty': {} },
    }),
  );
  const expired = (await listSilences(db, table)).filter((s) => Date.parse(s.endsAt) <= now).slice(0, 20);
  const names: Record<string, string> = { '#new': silence.id };
  expired.forEach((s, i) => {
    names[`#old${i}`] = s.id;
  });
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: SILENCES_ID },
      UpdateExpression: `SET entries.#new = :silence${expired.length > 0 ? ` REMOVE ${expired.map((_, i) => `entries.#old${i}`).join(', ')}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':silence': silence },
    }),
  );
  return silence;
}

/** Ends a silence now; false when there is no such silence. */
export async function expireSilence(db: Db, table: string, clock: Clock, id: string): Promise<boolean> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id: SILENCES_ID },
        UpdateExpression: 'SET entries.#id.endsAt = :now',
        ConditionExpression: 'attribute_exists(entries.#id)',
        ExpressionAttributeNames: { '#id': id },
        ExpressionAttributeValues: { ':now': iso(clock.now()) },
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
