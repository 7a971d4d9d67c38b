// The journal one UTC day at a time, through its byDay index: how every command reads it (never
// a table scan, which would read every record the table keeps for 400 days).
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from '../functions/shared/dynamo.ts';
import type { JournalRecord } from '../functions/shared/journal.ts';
import { JOURNAL_BY_DAY_INDEX } from '../infra/shared/stack-outputs.ts';

/**
 * The records of `day` (`2026-12-05`), oldest first (newest first with `newestFirst`), every page
 * of them or the first `limit`; with `actor`, only that actor's.
 */
export async function journalOfDay(
  db: Db,
  table: string,
  day: string,
  opts: { newestFirst?: boolean; limit?: number; actor?: string } = {},
): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const left = opts.limit === undefined ? undefined : opts.limit - records.length;
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        IndexName: JOURNAL_BY_DAY_INDEX,
        KeyConditionExpression: '#day = :day',
        ExpressionAttributeNames: { '#day': 'day', ...(opts.actor ? { '#actor': 'actor' } : {}) },
        ExpressionAttributeValues: { ':day': day, ...(opts.actor ? { ':actor': opts.actor } : {}) },
        ...(opts.actor ? { FilterExpression: '#actor = :actor' } : {}),
        ...(opts.newestFirst ? { ScanIndexForward: false } : {}),
        ...(left === undefined ? {} : { Limit: left }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    records.push(...((out.Items ?? []) as JournalRecord[]));
    start = out.LastEvaluatedKey;
  } while (start && (opts.limit === undefined || records.length < opts.limit));
  return records;
}
