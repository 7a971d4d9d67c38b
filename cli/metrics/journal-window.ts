// The journal records of a window of days, a day at a time through the byDay index, locally or
// on AWS.
import type { Db } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { journalOfDay } from '../journal-days.ts';

/** The UTC days `from` to `to` touch, oldest first, as the index keys them (`2026-12-05`). */
export function daysOf(from: number, to: number): string[] {
  const DAY = 86_400_000;
  const days: string[] = [];
  // Epoch milliseconds count whole UTC days: the first day starts at the multiple below `from`.
  for (let day = from - (from % DAY); day <= to; day += DAY)
    days.push(new Date(day).toISOString().slice(0, 10));
  return days;
}

export async function readJournalWindow(
  db: Db,
  table: string,
  from: number,
  to: number,
): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  for (const day of daysOf(from, to)) records.push(...(await journalOfDay(db, table, day)));
  return records;
}
