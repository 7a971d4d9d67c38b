// Fargate Spot reclaims (ECS task state changes): nothing to drain, ECS replaces the task; each is
// recorded and announced once per task.
import { createHash } from 'node:crypto';
import { consoleLinks, raiseAlert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { writeJournal } from '../shared/journal.ts';
import type { ManagedCluster } from '../shared/managed-clusters.ts';
import { abandonEpisode, claimEpisode, completeEpisode, type Episode } from '../shared/spot/episodes.ts';
import type { TaskSignal } from '../shared/spot/signals.ts';
import { type BatchReport, LEASE_MS, type SpotDeps } from './batch-model.ts';
import { fargateFallbacks } from './fargate-fallback.ts';

export async function processTasks(
  deps: SpotDeps,
  signals: { signal: TaskSignal; itemId: string }[],
  clusters: Map<string, ManagedCluster>,
  report: BatchReport,
  failed: Set<string>,
) {
  const announce = new Map<string, { signal: TaskSignal; episode: Episode }[]>();
  // One claim per task: a duplicate in the same batch would re-claim under our own lease.
  const byTask = new Map<string, { signal: TaskSignal; itemIds: string[] }>();
  for (const { signal, itemId } of signals) {
    const entry = byTask.get(signal.taskArn);
    if (entry) entry.itemIds.push(itemId);
    else byTask.set(signal.taskArn, { signal, itemIds: [itemId] });
  }
  for (const { signal, itemIds } of byTask.values()) {
    if (!clusters.has(signal.clusterName)) {
      deps.log.info('Task is not in a managed cluster; nothing to do', { taskArn: signal.taskArn });
      report.tasks.push({ taskArn: signal.taskArn, cluster: signal.clusterName, result: 'unmanaged' });
      continue;
    }
    if (signal.containerInstanceArn) {
      // A task on EC2 capacity: its instance's own episode (warning/rebalance) covers it.
      report.tasks.push({ taskArn: signal.taskArn, cluster: signal.clusterName, result: 'covered' });
      continue;
    }
    const claim = await claimEpisode(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, {
      subject: signal.taskArn,
      intent: 'observe',
      channel: 'task',
      noticeAt: signal.noticeAt,
      cluster: signal.clusterName,
      owner: deps.owner,
      leaseMs: LEASE_MS,
      episodeTtlMs: deps.env.EPISODE_TTL_MINUTES * 60_000,
    });
    if (claim.result !== 'claimed') {
      report.tasks.push({ taskArn: signal.taskArn, cluster: signal.clusterName, result: claim.result });
      if (claim.result === 'busy') for (const id of itemIds) failed.add(id);
      continue;
    }
    const list = announce.get(signal.clusterName) ?? [];
    list.push({ signal, episode: claim.episode });
    announce.set(signal.clusterName, list);
    report.tasks.push({ taskArn: signal.taskArn, cluster: signal.clusterName, result: 'noted' });
  }
  // Fargate Spot fallback: every reclaim counts, a redelivered one too (the count is a set).
  const fallbacks = await fargateFallbacks(deps, clusters, signals);
  report.fargateFallbacks.push(...fallbacks.outcomes);
  for (const id of fallbacks.failedItemIds) failed.add(id);
  for (const [cluster, list] of announce) {
    await writeJournal(
      deps.db,
      deps.env.JOURNAL_TABLE,
      deps.clock,
      list.map(({ signal }) => ({
        resource: `task/${cluster}/${signal.taskArn.split('/').pop()}`,
        action: 'note-fargate-spot-interruption',
        outcome: 'unchanged',
        reason: 'Fargate Spot reclaims the task; the ECS service scheduler starts a replacement',
        trigger: { kind: 'task', id: signal.eventId, at: signal.noticeAt },
        actor: deps.owner,
        details: { group: signal.group, availabilityZone: signal.availabilityZone },
      })),
    );
    const groups: Record<string, number> = {};
    const zones: Record<string, number> = {};
    for (const { signal } of list) {
      const g = signal.group ?? 'standalone';
      groups[g] = (groups[g] ?? 0) + 1;
      const z = signal.availabilityZone ?? 'unknown-az';
      zones[z] = (zones[z] ?? 0) + 1;
    }
    let alerted = false;
    try {
      await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
        severity: 'info',
        state: 'firing',
        kind: 'fargate-spot-interruption',
        cluster,
        title: `Fargate Spot reclaimed ${list.length} task(s) in ${cluster}`,
        summary: `${list.length} Fargate Spot task(s) in ${cluster} received a two-minute termination notice.`,
        resources: list.map(({ signal }) => signal.taskArn),
        whatHappened: 'AWS is reclaiming Fargate Spot capacity.',
        whatWeDid: 'Nothing to drain: the ECS service scheduler replaces the tasks. Recorded in the journal.',
        nextSteps: ['If this repeats, move a share of the service to the FARGATE capacity provider.'],
        dedupKey: `fargate-spot/${cluster}/${createHash('sha256')
          .update(
            list
              .map(({ signal }) => signal.taskArn)
              .sort()
              .join(','),
          )
          .digest('hex')
          .slice(0, 16)}`,
        counts: { group: groups, 'availability zone': zones },
        links: consoleLinks(process.env.AWS_REGION, { cluster }),
        at: iso(deps.clock.now()),
      });
      report.alerts++;
      alerted = true;
    } catch (error) {
      deps.log.error('Raising the alert failed; items will be retried', { error: (error as Error).message });
    }
    for (const { signal, episode } of list) {
      if (alerted) {
        await completeEpisode(deps.db, deps.env.OPERATIONS_TABLE, signal.taskArn, deps.owner, {
          alertedAt: iso(deps.clock.now()),
        });
      } else {
        await abandonEpisode(deps.db, deps.env.OPERATIONS_TABLE, episode.subject, deps.owner);
        for (const s of signals) if (s.signal.taskArn === signal.taskArn) failed.add(s.itemId);
      }
    }
  }
}
