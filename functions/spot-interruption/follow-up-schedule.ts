// Sends the follow-ups a batch owes itself, delayed, on its own queue (written once): the recheck
// of a rebalance drain here, the give-back of a pre-scale from protection.ts. A follow-up that
// cannot be sent is journaled by its caller: the instance stays drained, the tasks stay added.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { RecheckRebalance, SpotFollowUp } from '../../events/spot-follow-up.ts';
import { chunk } from '../shared/container-instances.ts';
import type { JournalEntry } from '../shared/journal.ts';
import type { Claimed, SpotDeps } from './batch-model.ts';
import { entry } from './records.ts';

/**
 * Sends the follow-ups ten per call, each with its own delay; answers, for each, why it was not
 * sent (undefined when it was).
 */
export async function sendFollowUps(
  deps: SpotDeps,
  followUps: readonly { message: SpotFollowUp; delaySeconds: number }[],
): Promise<(string | undefined)[]> {
  const problems: (string | undefined)[] = [];
  for (const part of chunk(followUps, 10)) {
    try {
      const out = await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: deps.env.SPOT_QUEUE_URL,
          Entries: part.map((f, i) => ({
            Id: String(i),
            MessageBody: JSON.stringify(f.message),
            DelaySeconds: f.delaySeconds,
          })),
        }),
      );
      const failed = new Map((out.Failed ?? []).map((f) => [String(f.Id), f.Message ?? f.Code ?? 'refused']));
      part.forEach((_, i) => {
        problems.push(failed.get(String(i)));
      });
    } catch (error) {
      for (const _ of part) problems.push((error as Error).message);
    }
  }
  return problems;
}

export async function scheduleRechecks(
  deps: SpotDeps,
  cluster: string,
  drained: readonly Claimed[],
  journal: JournalEntry[],
): Promise<void> {
  const problems = await sendFollowUps(
    deps,
    drained.map((c) => ({
      message: {
        followUp: 'recheck-rebalance',
        cluster,
        instanceId: c.where.instanceId,
        containerInstanceArn: c.where.containerInstanceArn,
        episodeOpenedAt: c.episode.openedAt,
      } satisfies RecheckRebalance,
      delaySeconds: deps.env.REBALANCE_RECHECK_SECONDS,
    })),
  );
  drained.forEach((c, i) => {
    const why = problems[i];
    if (why !== undefined)
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
