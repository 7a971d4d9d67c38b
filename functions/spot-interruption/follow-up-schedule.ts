// Sends the follow-ups a batch owes itself, delayed, on its own queue: the recheck of a rebalance
// drain. (The give-back of a pre-scale is scheduled in protection.ts.) A follow-up that cannot be
// sent is journaled: the instance then stays drained, the safe side.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { RecheckRebalance } from '../../events/spot-follow-up.ts';
import { chunk } from '../shared/container-instances.ts';
import type { JournalEntry } from '../shared/journal.ts';
import type { Claimed, SpotDeps } from './batch-model.ts';
import { entry } from './records.ts';

export async function scheduleRechecks(
  deps: SpotDeps,
  cluster: string,
  drained: readonly Claimed[],
  journal: JournalEntry[],
): Promise<void> {
  for (const part of chunk(drained, 10)) {
    const messages = part.map(
      (c): RecheckRebalance => ({
        followUp: 'recheck-rebalance',
        cluster,
        instanceId: c.where.instanceId,
        containerInstanceArn: c.where.containerInstanceArn,
        episodeOpenedAt: c.episode.openedAt,
      }),
    );
    let failed = new Set(part.map((_, i) => String(i)));
    let why = '';
    try {
      const out = await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: deps.env.SPOT_QUEUE_URL,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            MessageBody: JSON.stringify(m),
            DelaySeconds: deps.env.REBALANCE_RECHECK_SECONDS,
          })),
        }),
      );
      failed = new Set((out.Failed ?? []).map((f) => String(f.Id)));
      why = (out.Failed ?? []).map((f) => f.Message ?? f.Code).join('; ');
    } catch (error) {
      why = (error as Error).message;
    }
    part.forEach((c, i) => {
      if (failed.has(String(i)))
        journal.push(
          entry(
            deps,
            c,
            'schedule-recheck',
            'failed',
            `the recheck could not be scheduled (${why}): the instance stays drained; put it back with UpdateContainerInstancesState if no interruption follows`,
          ),
        );
    });
  }
}
