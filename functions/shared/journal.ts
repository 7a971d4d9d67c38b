// The action journal: one record per decision, including "did nothing, because".
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from './clock.ts';
import { iso } from './clock.ts';
import { type Db, ttlSeconds } from './dynamo.ts';

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

const RETENTION_MS = 400 * 24 * 3600 * 1000;
const BATCH = 25;

export function toRecord(entry: JournalEntry, now: number): JournalRecord {
  const at = iso(now);
  const id = randomUUID();
  // The sort key carries the id too, so two records in the same millisecond never collide.
  return { ...entry, at: `${at}#${id}`, day: at.slice(0, 10), id, expiresAt: ttlSeconds(now + RETENTION_MS) };
}

export async function writeJournal(
  db: Db,
  table: string,
  clock: Clock,
  entries: JournalEntry[],
): Promise<JournalRecord[]> {
  const records = entries.map((e) => toRecord(e, clock.now()));
  for (let i = 0; i < records.length; i += BATCH) {
    let pending: Record<string, unknown>[] = records
      .slice(i, i + BATCH)
      .map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`journal: ${pending.length} records still unprocessed after retries`);
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
      if (pending.length > 0) await sleep(25 * 2 ** attempt);
    }
  }
  return records;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
