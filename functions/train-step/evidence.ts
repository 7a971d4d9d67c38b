// A release train's journal records: resource `train/<execution name>`, triggered by the train.
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { type JournalEntry, type Outcome, writeJournal } from '../shared/journal.ts';
import type { TrainRecord } from '../shared/trains/record.ts';

export async function journalTrain(
  deps: { db: Db; clock: Clock; env: { JOURNAL_TABLE: string } },
  record: TrainRecord,
  action: string,
  outcome: Outcome,
  reason: string,
  extra: Pick<JournalEntry, 'before' | 'after' | 'details'> = {},
): Promise<void> {
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: record.id,
      action,
      outcome,
      reason,
      trigger: {
        kind: 'release-train',
        id: record.execution,
        source: record.requestedBy,
        at: record.startedAt,
      },
      actor: `release-train/${record.executionName}`,
      ...extra,
      details: { execution: record.execution, train: record.name, ...extra.details },
    },
  ]);
}
