// What a batch writes down for each instance, with no I/O: its outcome in the batch report and
// its journal entry.
import type { JournalEntry } from '../shared/journal.ts';
import type { Claimed, InstanceOutcome, SpotDeps } from './batch-model.ts';

export function drainReason(c: Claimed): string {
  if (c.signal.channel === 'warning') return 'spot interruption warning: two minutes left, drained at once';
  return 'rebalance recommendation with rebalance mode drain';
}

export function outcome(c: Claimed, result: InstanceOutcome['result'], reason: string): InstanceOutcome {
  return {
    instanceId: c.where.instanceId,
    cluster: c.where.cluster,
    containerInstanceArn: c.where.containerInstanceArn,
    intent: c.intent,
    result,
    reason,
  };
}

export function entry(
  deps: SpotDeps,
  c: Claimed,
  action: string,
  outcomeKind: JournalEntry['outcome'],
  reason: string,
  extra: Partial<JournalEntry> = {},
): JournalEntry {
  return {
    resource: `container-instance/${c.where.cluster}/${c.where.instanceId}`,
    action,
    outcome: outcomeKind,
    reason,
    trigger: { kind: c.signal.channel, id: c.signal.eventId, at: c.signal.noticeAt },
    actor: deps.owner,
    ...extra,
    details: {
      containerInstanceArn: c.where.containerInstanceArn,
      availabilityZone: c.where.availabilityZone,
      instanceType: c.where.instanceType,
      episodeOpenedAt: c.episode.openedAt,
      ...extra.details,
    },
  };
}
