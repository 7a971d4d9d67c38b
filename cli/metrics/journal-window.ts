// The journal records of a window of days, read through the journal's byDay index one day at a
// time (never a table scan), locally or on AWS.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { JOURNAL_BY_DAY_INDEX } from '../../infra/shared/stack-outputs.ts';

/** The UTC days `from` to `to` touch, oldest first, as the index keys them (`2026-12-05`). */
export function daysOf(from: number, to: number): string[] {
  const days: string[] = [];
  const first = Date.UTC(
    new Date(from).getUTCFullYear(),
    new Date(from).getUTCMonth(),
    new Date(from).getUTCDate(),
  );
  for (let day = first; day <= to; day += 86_400_000) days.push(new Date(day).toISOString().slice(0, 10));
  return days;
}

export async function readJournalWindow(
  db: Db,
  table: string,
  from: number,
  to: number,
): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  for (const day of daysOf(from, to)) {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await db.send(
        new QueryCommand({
          TableName: table,
          IndexName: JOURNAL_BY_DAY_INDEX,
          KeyConditionExpression: '#day = :day',
          ExpressionAttributeNames: { '#day': 'day' },
          ExpressionAttributeValues: { ':day': day },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      records.push(...((out.Items ?? []) as JournalRecord[]));
      start = out.LastEvaluatedKey;
    } while (start);
  }
  return records;
}
