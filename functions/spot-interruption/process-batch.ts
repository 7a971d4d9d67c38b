// The spot-interruption decision flow for one batch of events (one SQS batch, or one event
// invoked directly). A storm arrives as a batch: drains are grouped ten per call, capacity is
// requested once per cluster, and one alert per cluster says what happened, by AZ and type.

import { type SpotFollowUp, SpotFollowUpSchema } from '../../events/spot-follow-up.ts';
import { iso } from '../shared/clock.ts';
import { type LocatedInstance, locateContainerInstances } from '../shared/container-instances.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { writeJournal } from '../shared/journal.ts';
import type { ManagedCluster } from '../shared/managed-clusters.ts';
import {
  type Claim,
  claimEpisodes,
  completeEpisodes,
  type Episode,
  getEpisodes,
} from '../shared/spot/episodes.ts';
import {
  type CapacityFailureSignal,
  type ExperimentSignal,
  type InstanceSignal,
  parseSpotEvent,
  type Signal,
  type TaskSignal,
  toSignal,
} from '../shared/spot/signals.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { actOnCluster } from './act-on-cluster.ts';
import {
  type BatchItem,
  type BatchReport,
  type ClusterWork,
  isAwsFailure,
  LEASE_MS,
  newClusterWork,
  type Progress,
  type SpotDeps,
  strongestSignal,
} from './batch-model.ts';
import { processFollowUp } from './follow-ups.ts';
import { noteExperiments } from './game-days.ts';
import { rememberLaunchFailures } from './launch-failures.ts';
import { replacementOwed } from './rules.ts';
import { processTasks } from './task-events.ts';

export async function processSpotBatch(deps: SpotDeps, items: BatchItem[]): Promise<BatchReport> {
  const report: BatchReport = {
    received: items.length,
    invalid: [],
    instances: [],
    tasks: [],
    capacity: [],
    protections: [],
    capacityFailures: [],
    fargateFallbacks: [],
    experiments: [],
    followUps: [],
    surgeExecutions: [],
    alerts: 0,
    drainCalls: 0,
    failedItemIds: [],
  };
  const failed = new Set<string>();

  // 1. Parse at the edge. A bad event is rejected by name and changes nothing.
  const instanceSignals = new Map<string, { signals: InstanceSignal[]; itemIds: string[] }>();
  const taskSignals: { signal: TaskSignal; itemId: string }[] = [];
  const capacityFailures: { signal: CapacityFailureSignal; itemId: string }[] = [];
  const followUps: { followUp: SpotFollowUp; itemId: string }[] = [];
  const experiments: { signal: ExperimentSignal; itemId: string }[] = [];
  for (const item of items) {
    let signal: Signal;
    try {
      if (isFollowUp(item.body)) {
        followUps.push({ followUp: parseOrThrow(SpotFollowUpSchema, item.body), itemId: item.id });
        continue;
      }
      signal = toSignal(parseSpotEvent(item.body));
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      deps.log.error('Rejected malformed event', {
        itemId: item.id,
        field: error.field,
        error: error.message,
      });
      report.invalid.push({
        id: item.id,
        field: error.field,
        problem: error.problem,
        received: error.received,
        message: error.message,
      });
      failed.add(item.id);
      continue;
    }
    if (signal.kind === 'ec2') {
      const entry = instanceSignals.get(signal.instanceId) ?? { signals: [], itemIds: [] };
      entry.signals.push(signal);
      entry.itemIds.push(item.id);
      instanceSignals.set(signal.instanceId, entry);
    } else if (signal.kind === 'capacity-failure') {
      capacityFailures.push({ signal, itemId: item.id });
    } else if (signal.kind === 'experiment') {
      experiments.push({ signal, itemId: item.id });
    } else {
      taskSignals.push({ signal, itemId: item.id });
    }
  }

  // A game day's start first: its announcement goes out before the interruptions' own.
  await noteExperiments(deps, experiments, report, failed);

  // Launch failures first: replacements this batch asks for already go elsewhere.
  await rememberLaunchFailures(deps, capacityFailures, report, failed);

  const clusters = new Map(deps.env.MANAGED_CLUSTERS.map((c) => [c.name, c]));

  // 2. Which of these instances do we manage?
  const located =
    instanceSignals.size > 0
      ? await locateContainerInstances(deps.ecs, [...clusters.keys()], [...instanceSignals.keys()])
      : new Map<string, LocatedInstance>();

  const perCluster = new Map<string, ClusterWork>();
  for (const [instanceId, { signals, itemIds }] of instanceSignals) {
    const where = located.get(instanceId);
    if (!where) {
      deps.log.info('Instance is not in a managed cluster; nothing to do', { instanceId });
      report.instances.push({
        instanceId,
        result: 'unmanaged',
        reason: 'not a container instance of a managed cluster',
      });
      continue;
    }
    const cluster = clusters.get(where.cluster) as ManagedCluster;
    const strongest = strongestSignal(signals, cluster);
    const work = perCluster.get(cluster.name) ?? newClusterWork(cluster);
    perCluster.set(cluster.name, work);
    work.candidates.push({ where, intent: strongest.intent, signal: strongest.signal, itemIds, signals });
  }

  // 3. Claim each episode (idempotency across channels and redeliveries), then act per cluster.
  for (const work of perCluster.values()) {
    const progress: Progress = { completions: new Map(), journal: [] };
    try {
      await claimAll(deps, work, report, failed);
      await actOnCluster(deps, work, report, failed, progress);
    } catch (error) {
      // Our own faults (a bug, a bad record) fail the invocation loudly, as before.
      if (!isAwsFailure(error)) throw error;
      await recordProgress(deps, work, progress, error);
      for (const c of work.candidates) for (const id of c.itemIds) failed.add(id);
    }
  }

  // 4. Fargate Spot tasks: ECS replaces them itself; we record and announce, once per task.
  await processTasks(deps, taskSignals, clusters, report, failed);

  // 5. Follow-ups this function sent itself: give-backs, rebalance rechecks, moves back to Fargate Spot.
  for (const { followUp, itemId } of followUps) {
    try {
      report.followUps.push(await processFollowUp(deps, followUp));
    } catch (error) {
      deps.log.error('Follow-up failed; retried', {
        followUp: followUp.followUp,
        error: (error as Error).message,
      });
      failed.add(itemId);
    }
  }

  report.failedItemIds = [...failed];
  return report;
}

async function claimAll(deps: SpotDeps, work: ClusterWork, report: BatchReport, failed: Set<string>) {
  const ttl = deps.env.EPISODE_TTL_MINUTES * 60_000;
  // One bulk read instead of a read per instance: a storm of 100 is one call, not 100.
  const known = await getEpisodes(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    work.candidates.map((c) => c.where.instanceId),
  );
  // One transaction claims the whole batch (per-item writes only when it meets a conflict).
  const claims = await claimEpisodes(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    deps.clock,
    work.candidates.map((c) => ({
      subject: c.where.instanceId,
      intent: c.intent,
      channel: c.signal.channel,
      noticeAt: c.signal.noticeAt,
      cluster: c.where.cluster,
      owner: deps.owner,
      leaseMs: LEASE_MS,
      episodeTtlMs: ttl,
    })),
    known,
  );
  for (const c of work.candidates) {
    const claim = claims.get(c.where.instanceId) as Claim;
    const base = {
      instanceId: c.where.instanceId,
      cluster: c.where.cluster,
      containerInstanceArn: c.where.containerInstanceArn,
    };
    if (claim.result === 'duplicate') {
      report.instances.push({
        ...base,
        intent: claim.episode.intent,
        result: 'duplicate',
        reason: describeDone(claim.episode),
      });
      continue;
    }
    if (claim.result === 'busy') {
      // A weaker action is in flight elsewhere; retry so the stronger one is not lost.
      report.instances.push({
        ...base,
        intent: c.intent,
        result: 'busy',
        reason: 'another invocation holds the episode',
      });
      for (const id of c.itemIds) failed.add(id);
      continue;
    }
    work.claimed.push({
      ...c,
      intent: claim.episode.intent,
      episode: claim.episode,
      previous: claim.previous,
    });
  }
}

function describeDone(e: Episode): string {
  if (e.drainedAt) return `already drained at ${e.drainedAt} in this episode`;
  if (e.surgeStartedAt)
    return `replacement capacity already requested at ${e.surgeStartedAt} in this episode`;
  return `already handled (${e.intent}) in this episode`;
}

/**
 * A cluster's step failed part way (an AWS call that stayed throttled past the SDK's retries):
 * what was done is journaled and recorded on its episodes, with the leases given back, so the
 * redelivery of its items does the rest (a drained instance's replacement and alert are owed)
 * rather than finding the episodes held by an invocation that is gone. If even that cannot be
 * written, the batch fails as a whole and the leases run out on their own.
 */
async function recordProgress(deps: SpotDeps, work: ClusterWork, progress: Progress, error: unknown) {
  deps.log.error('Spot batch step failed; progress recorded, items retried', {
    cluster: work.cluster.name,
    error: (error as Error).message,
  });
  const at = iso(deps.clock.now());
  // The episodes first: they keep the next delivery from draining, replacing or announcing twice.
  const recorded = await completeEpisodes(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    deps.owner,
    // Every candidate, claimed or not: a claim whose answer was lost is ours too, and only our
    // own leases are given back (the write is conditional on the owner).
    work.candidates.map((candidate) => {
      const c = work.claimed.find((k) => k.where.instanceId === candidate.where.instanceId);
      const done = progress.completions.get(candidate.where.instanceId) ?? {};
      const owed = replacementOwed(work.cluster, c, done);
      return { subject: candidate.where.instanceId, done: owed ? { ...done, replacementOwedAt: at } : done };
    }),
  ).then(
    () => true,
    () => false,
  );
  const journaled =
    progress.journal.length === 0 ||
    (await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, progress.journal).then(
      () => true,
      () => false,
    ));
  if (!recorded && !journaled) throw error;
}

/** A follow-up this function sent itself (it names itself), not an AWS event. */
function isFollowUp(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'followUp' in body;
}
