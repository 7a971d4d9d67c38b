// A managed group's launch failures, as a batch carries them: remembered (capacity-failures.ts)
// when they were for want of capacity, and journaled. A launch template or quota error would fail
// in the other group too, so it steers nothing; event alerts announce every failure either way.
import { writeJournal } from '../shared/journal.ts';
import { describeFailure, isCapacityShortage, rememberFailure } from '../shared/spot/capacity-failures.ts';
import type { CapacityFailureSignal } from '../shared/spot/signals.ts';
import { type BatchReport, isAwsFailure, type SpotDeps } from './batch-model.ts';

export async function rememberLaunchFailures(
  deps: SpotDeps,
  failures: readonly { signal: CapacityFailureSignal; itemId: string }[],
  report: BatchReport,
  failed: Set<string>,
): Promise<void> {
  for (const { signal, itemId } of failures) {
    if (!isCapacityShortage(signal.cause)) {
      deps.log.info('Launch failure not for want of capacity: not remembered', { group: signal.group });
      continue;
    }
    try {
      const failure = await rememberFailure(
        deps.db,
        deps.env.OPERATIONS_TABLE,
        signal,
        deps.env.CAPACITY_FAILURE_MEMORY_MINUTES,
      );
      report.capacityFailures.push(failure);
      await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
        {
          resource: `asg/${signal.group}`,
          action: 'remember-capacity-failure',
          outcome: 'changed',
          reason: `${describeFailure(failure)}: replacements go to another group meanwhile`,
          trigger: { kind: 'launch-failure', id: signal.eventId, at: signal.at },
          actor: deps.owner,
        },
      ]);
    } catch (error) {
      // Retried: the memory is a write of the same value, the journal one more line at worst.
      if (!isAwsFailure(error)) throw error;
      failed.add(itemId);
    }
  }
}
