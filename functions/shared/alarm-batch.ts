// The loop of every function that reacts to alarm state changes in batches: each event parsed (a
// bad one rejected with its field named, and dead-lettered in the end), then acted on in turn; an
// event whose action throws is reported failed, so that the queue delivers it again; the journal
// entries the actions return are written once, together.
import { type AlarmStateChange, AlarmStateChangeSchema } from '../../events/alarm-state-change.ts';
import type { Clock } from './clock.ts';
import type { Db } from './dynamo.ts';
import { type JournalEntry, writeJournal } from './journal.ts';
import type { Log } from './logger.ts';
import { type BatchRejections, type Item, parseItem } from './sqs-batch.ts';

export interface AlarmBatchDeps {
  db: Db;
  clock: Clock;
  env: { JOURNAL_TABLE: string };
  log: Log;
}

export async function forEachAlarmEvent(
  deps: AlarmBatchDeps,
  items: readonly Item[],
  report: BatchRejections,
  /** What the action does, for the log line of a failure: "the scale-out". */
  what: string,
  act: (event: AlarmStateChange) => Promise<JournalEntry | undefined>,
): Promise<void> {
  const journal: JournalEntry[] = [];
  for (const item of items) {
    const event = parseItem(AlarmStateChangeSchema, item, report);
    if (!event) continue;
    try {
      const entry = await act(event);
      if (entry) journal.push(entry);
    } catch (error) {
      deps.log.error(`Could not start ${what}`, { alarmName: event.detail.alarmName, error: error as Error });
      report.failedItemIds.push(item.id);
    }
  }
  if (journal.length > 0) await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, journal);
}
