// The action journal: one record per decision, including "did nothing, because".
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.ts';
import { iso } from './clock.ts';
import { type Db, ttlSeconds } from './dynamo.ts';
import { batchPutItems } from './dynamo-batches.ts';

export type Outcome = 'changed' | 'unchanged' | 'refused' | 'failed';

export interface JournalEntry {
  /** What the action was about: `container-instance/web/i-0abc`, `service/web/api`, … */
  resource: string;
  /** Verb in kebab case: `drain-instance`, `request-capacity`, `ignore-unmanaged`. */
  action: string;
  outcome: Outcome;
  /** Why, in plain words. */
  reason: string;
  /** Who or what triggered it: event id and type, execution ARN, operator. */
  trigger: { kind: string; id?: string; source?: string; at?: string };
  actor: string;
  before?: unknown;
  after?: unknown;
  details?: Record<string, unknown>;
}

export interface JournalRecord extends JournalEntry {
  at: string;
  day: string;
  id: string;
  expiresAt: number;
}

/** How long a journal record is kept (its TTL). */
export const JOURNAL_RETENTION_MS = 400 * 24 * 3600 * 1000;

export function toRecord(entry: JournalEntry, now: number): JournalRecord {
  const at = iso(now);
  const id = randomUUID();
  // The sort key carries the id too, so two records in the same millisecond never collide.
  return {
    ...entry,
    at: `${at}#${id}`,
    day: at.slice(0, 10),
    id,
    expiresAt: ttlSeconds(now + JOURNAL_RETENTION_MS),
  };
}

export async function writeJournal(
  db: Db,
  table: string,
  clock: Clock,
  entries: JournalEntry[],
): Promise<JournalRecord[]> {
  const records = entries.map((e) => toRecord(e, clock.now()));
  await batchPutItems(db, table, records as unknown as Record<string, unknown>[], 'journal');
  return records;
}
