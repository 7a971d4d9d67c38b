// The spot-interruption decision flow for one batch of events (one SQS batch, or one event
// invoked directly). A storm arrives as a batch: drains are grouped ten per call, capacity is
// requested once per cluster, and one alert per cluster says what happened, by AZ and type.
import { createHash } from 'node:crypto';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type Alert, consoleLinks, raiseAlert } from '../shared/alerts.ts';
import type { Clock } from '../shared/clock.ts';
import { iso } from '../shared/clock.ts';
import { type LocatedInstance, locateContainerInstances } from '../shared/container-instances.ts';
import { drainContainerInstances } from '../shared/drain.ts';
import type { Db } from '../shared/dynamo.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { digest, executionName } from '../shared/execution-names.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import type { Log } from '../shared/logger.ts';
import type { ManagedCluster } from '../shared/managed-resources.ts';
import {
  type CapacityRequest,
  chooseGroup,
  recentInterruptions,
  recordInterruptions,
  requestCapacity,
} from '../shared/spot/capacity.ts';
import type { SpotInterruptionEnv } from '../shared/spot/config.ts';
import {
  abandonEpisode,
  type Claim,
  type Completion,
  claimEpisode,
  claimEpisodes,
  completeEpisode,
  completeEpisodes,
  type Episode,
  getEpisodes,
  replacementDone,
} from '../shared/spot/episodes.ts';
import {
  INTENT_RANK,
  type InstanceSignal,
  type Intent,
  intentOf,
  parseSpotEvent,
  type Signal,
  type TaskSignal,
  toSignal,
} from '../shared/spot/signals.ts';

export interface SpotDeps {
  ecs: ECSClient;
  autoscaling: AutoScalingClient;
  sfn: SFNClient;
  /** Alerts go onto the alert queue; the alert-router publishes them. */
  sqs: SQSClient;
  db: Db;
  clock: Clock;
  env: SpotInterruptionEnv;
  log: Log;
  /** Identifies this invocation as the holder of leases. */
  owner: string;
}

export interface BatchItem {
  /** SQS message id, or the event id for a direct invocation. */
  id: string;
  body: unknown;
}

export interface InstanceOutcome {
  instanceId: string;
  cluster?: string;
  containerInstanceArn?: string;
  intent?: Intent;
  result:
    | 'drained'
    | 'surging'
    | 'observed'
    | 'duplicate'
    | 'already-draining'
    | 'unmanaged'
    | 'busy'
    | 'failed';
  reason: string;
}

export interface BatchReport {
  received: number;
  invalid: { id: string; field: string; problem: string; received?: unknown; message: string }[];
  instances: InstanceOutcome[];
  tasks: {
    taskArn: string;
    cluster: string;
    result: 'noted' | 'duplicate' | 'unmanaged' | 'covered' | 'busy';
  }[];
  capacity: CapacityRequest[];
  surgeExecutions: string[];
  alerts: number;
  drainCalls: number;
  /** Items to hand back to SQS for a retry (and, after the last retry, the dead-letter queue). */
  failedItemIds: string[];
}

const LEASE_MS = 60_000;
const TWO_MINUTES = 120_000;

export async function processSpotBatch(deps: SpotDeps, items: BatchItem[]): Promise<BatchReport> {
  const report: BatchReport = {
    received: items.length,
    invalid: [],
    instances: [],
    tasks: [],
    capacity: [],
    surgeExecutions: [],
    alerts: 0,
    drainCalls: 0,
    failedItemIds: [],
  };
  const failed = new Set<string>();

  // 1. Parse at the edge. A bad event is rejected by name and changes nothing.
  const instanceSignals = new Map<string, { signals: InstanceSignal[]; itemIds: string[] }>();
  const taskSignals: { signal: TaskSignal; itemId: string }[] = [];
  for (const item of items) {
    let signal: Signal;
    try {
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
    } else {
      taskSignals.push({ signal, itemId: item.id });
    }
  }

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

  report.failedItemIds = [...failed];
  return report;
}

interface Candidate {
  where: LocatedInstance;
  intent: Intent;
  signal: InstanceSignal;
  signals: InstanceSignal[];
  itemIds: string[];
}

interface Claimed extends Candidate {
  episode: Episode;
  previous: Episode | undefined;
}

interface ClusterWork {
  cluster: ManagedCluster;
  candidates: Candidate[];
  claimed: Claimed[];
}

const newClusterWork = (cluster: ManagedCluster): ClusterWork => ({ cluster, candidates: [], claimed: [] });

function strongestSignal(signals: InstanceSignal[], cluster: ManagedCluster) {
  let best = {
    signal: signals[0] as InstanceSignal,
    intent: intentOf(signals[0] as InstanceSignal, cluster.rebalance),
  };
  for (const signal of signals.slice(1)) {
    const intent = intentOf(signal, cluster.rebalance);
    if (INTENT_RANK[intent] > INTENT_RANK[best.intent]) best = { signal, intent };
  }
  return best;
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

/** What a cluster's step has done so far: recorded even when a later call fails. */
interface Progress {
  completions: Map<string, Completion>;
  journal: JournalEntry[];
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
  const replaceable = work.cluster.spotAsg !== undefined || work.cluster.onDemandAsg !== undefined;
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
      const owed =
        replaceable &&
        c !== undefined &&
        c.intent === 'drain' &&
        done.drainedAt !== undefined &&
        done.replacedAt === undefined &&
        !replacementDone(c.episode, c.previous);
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

/** An AWS call that failed past the SDK's retries (a service's answer, or none): worth retrying. */
function isAwsFailure(error: unknown): boolean {
  const e = error as { $metadata?: unknown; $fault?: unknown; name?: string };
  return e?.$metadata !== undefined || e?.$fault !== undefined || /Timeout/.test(e?.name ?? '');
}

async function actOnCluster(
  deps: SpotDeps,
  work: ClusterWork,
  report: BatchReport,
  failed: Set<string>,
  progress: Progress,
) {
  const { cluster } = work;
  const now = deps.clock.now();
  const { journal, completions } = progress;
  const alertable: Claimed[] = [];
  const set = (id: string, patch: Completion) => completions.set(id, { ...completions.get(id), ...patch });

  // Already DRAINING in ECS (an operator, or ECS managed draining): no second drain, no alert.
  // Not when an earlier delivery of this episode set out to drain: that drain is ours, confirmed
  // now (the call is idempotent), then replaced and announced as any other.
  const alreadyDraining = work.claimed.filter(
    (c) => c.where.status === 'DRAINING' && !c.episode.drainedAt && c.previous?.intent !== 'drain',
  );
  for (const c of alreadyDraining) {
    set(c.where.instanceId, { drainedAt: iso(now), alertedAt: 'not-needed' });
    report.instances.push(outcome(c, 'already-draining', 'container instance was already DRAINING'));
    journal.push(entry(deps, c, 'drain-instance', 'unchanged', 'already DRAINING in ECS; no second drain'));
  }
  const active = work.claimed.filter((c) => !alreadyDraining.includes(c));

  // Drain what must drain now.
  const toDrain = active.filter((c) => c.intent === 'drain' && !c.episode.drainedAt);
  if (toDrain.length > 0) {
    const result = await drainContainerInstances(
      deps.ecs,
      cluster.name,
      toDrain.map((c) => c.where.containerInstanceArn),
    );
    report.drainCalls += result.calls;
    const drainedAt = deps.clock.now();
    for (const c of toDrain) {
      const failure = result.failed.find((f) => f.arn === c.where.containerInstanceArn);
      if (failure) {
        report.instances.push(outcome(c, 'failed', `drain not confirmed: ${failure.reason}`));
        journal.push(entry(deps, c, 'drain-instance', 'failed', `drain not confirmed: ${failure.reason}`));
        for (const id of c.itemIds) failed.add(id);
        continue;
      }
      set(c.where.instanceId, { drainedAt: iso(drainedAt) });
      const deadline = Date.parse(c.episode.noticeAt) + TWO_MINUTES;
      report.instances.push(outcome(c, 'drained', 'set to DRAINING'));
      journal.push(
        entry(deps, c, 'drain-instance', 'changed', drainReason(c), {
          before: { status: c.where.status },
          after: { status: 'DRAINING' },
          details: {
            noticeAt: c.episode.noticeAt,
            drainedAt: iso(drainedAt),
            budgetLeftSeconds:
              c.signal.channel === 'warning' ? Math.round((deadline - drainedAt) / 1000) : null,
            channels: c.signals.map((s) => s.channel),
          },
        }),
      );
    }
  }

  // Replacement capacity, once per episode: not again after a surge asked for it, and still
  // owed when an earlier delivery's request failed.
  const needCapacity = active.filter(
    (c) =>
      (c.intent === 'drain' || c.intent === 'surge') &&
      !replacementDone(c.episode, c.previous) &&
      !(
        c.intent === 'drain' &&
        report.instances.some((o) => o.instanceId === c.where.instanceId && o.result === 'failed')
      ),
  );
  const newWarnings = active
    .filter(
      (c) => c.signal.channel === 'warning' && (c.previous === undefined || c.previous.intent !== 'drain'),
    )
    .map((c) => c.where.instanceId);
  await recordInterruptions(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, cluster.name, newWarnings);
  let capacity: CapacityRequest | undefined;
  let capacityNote = '';
  if (needCapacity.length > 0) {
    const recent = await recentInterruptions(
      deps.db,
      deps.env.OPERATIONS_TABLE,
      deps.clock,
      cluster.name,
      deps.env.SPOT_FALLBACK_WINDOW_MINUTES,
    );
    const choice = chooseGroup(cluster, recent, deps.env.SPOT_FALLBACK_THRESHOLD);
    if (!choice) {
      capacityNote =
        'no Auto Scaling group is configured for this cluster; capacity provider scaling must replace it';
    } else {
      try {
        capacity = await requestCapacity(
          {
            autoscaling: deps.autoscaling,
            db: deps.db,
            locksTable: deps.env.LOCKS_TABLE,
            clock: deps.clock,
            owner: deps.owner,
          },
          choice.group,
          choice.market,
          needCapacity.length,
        );
        report.capacity.push(capacity);
        capacityNote = `${choice.why}; ${capacity.group} desired ${capacity.before} -> ${capacity.after}${capacity.clamped ? ` (clamped at max ${capacity.max})` : ''}`;
        for (const c of needCapacity)
          set(c.where.instanceId, { replacedAt: iso(deps.clock.now()), replacement: capacityNote });
        journal.push({
          resource: `asg/${capacity.group}`,
          action: 'request-capacity',
          outcome: capacity.after !== capacity.before ? 'changed' : 'unchanged',
          reason: capacityNote,
          trigger: { kind: 'spot-interruption', id: needCapacity[0]?.signal.eventId },
          actor: deps.owner,
          before: { desired: capacity.before },
          after: { desired: capacity.after },
          details: {
            instances: needCapacity.map((c) => c.where.instanceId),
            market: choice.market,
            recentInterruptions: recent,
            fallbackThreshold: deps.env.SPOT_FALLBACK_THRESHOLD,
            windowMinutes: deps.env.SPOT_FALLBACK_WINDOW_MINUTES,
          },
        });
      } catch (error) {
        // The drain matters more than the replacement: record the failure, keep going, say so in
        // the alert. A drain's replacement is owed: its items are retried for it (the drain and
        // the alert are not repeated), and end in the dead-letter queue if it never goes through.
        capacityNote = `replacement capacity request failed: ${(error as Error).message}`;
        for (const c of needCapacity.filter((n) => n.intent === 'drain')) {
          set(c.where.instanceId, { replacementOwedAt: iso(deps.clock.now()) });
          for (const id of c.itemIds) failed.add(id);
        }
        deps.log.error('Capacity request failed', { cluster: cluster.name, error: (error as Error).message });
        journal.push({
          resource: `asg/${choice.group}`,
          action: 'request-capacity',
          outcome: 'failed',
          reason: capacityNote,
          trigger: { kind: 'spot-interruption' },
          actor: deps.owner,
        });
      }
    }
  }

  // Surge: drain later, when replacements registered (or the warning drains first).
  const toSurge = active.filter(
    (c) => c.intent === 'surge' && !c.episode.surgeStartedAt && !c.episode.drainedAt,
  );
  let surgeExecutionArn: string | undefined;
  if (toSurge.length > 0) {
    // One reading of the clock: the deadline is exactly 30 minutes after the start.
    const surgeAt = deps.clock.now();
    const startedAt = iso(surgeAt);
    const subjects = toSurge.map((c) => c.where.instanceId).sort();
    // The digest of what is surged keeps the name unique however long the cluster's name.
    const name = executionName('surge', cluster.name, digest(subjects.join(',')));
    const input = {
      cluster: cluster.name,
      instances: toSurge.map((c) => ({
        instanceId: c.where.instanceId,
        containerInstanceArn: c.where.containerInstanceArn,
      })),
      replacements: capacity ? capacity.after - capacity.before : 0,
      startedAt,
      deadline: iso(surgeAt + 30 * 60_000),
    };
    let executionArn: string | undefined;
    try {
      const out = await deps.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: deps.env.SURGE_STATE_MACHINE_ARN,
          name,
          input: JSON.stringify(input),
        }),
      );
      executionArn = out.executionArn;
    } catch (error) {
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
    }
    if (executionArn) report.surgeExecutions.push(executionArn);
    surgeExecutionArn = executionArn;
    for (const c of toSurge) {
      set(c.where.instanceId, { surgeStartedAt: startedAt });
      report.instances.push(outcome(c, 'surging', 'replacement capacity requested; drain follows'));
      journal.push(
        entry(
          deps,
          c,
          'surge-instance',
          'changed',
          'rebalance recommendation: add capacity first, drain when replacements registered',
          {
            details: { execution: executionArn ?? name, capacity: capacityNote },
          },
        ),
      );
    }
  }

  const toObserve = active.filter((c) => c.intent === 'observe' && !c.episode.alertedAt);
  for (const c of toObserve) {
    report.instances.push(
      outcome(c, 'observed', 'rebalance recommendation recorded (cluster in observe mode)'),
    );
    journal.push(entry(deps, c, 'observe-instance', 'unchanged', 'rebalance mode is observe: recorded only'));
  }

  // One alert for this cluster's batch, for instances not yet announced in their episode. A drain
  // after an observed recommendation is announced too: that info alert said nothing was done.
  for (const c of active) {
    const failedHere = report.instances.some(
      (o) => o.instanceId === c.where.instanceId && o.result === 'failed',
    );
    const drainAfterObserve = c.intent === 'drain' && c.previous?.intent === 'observe';
    if ((!c.episode.alertedAt || drainAfterObserve) && !failedHere) alertable.push(c);
  }
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, journal);
  journal.length = 0; // Written: a later failure must not write it again.
  if (alertable.length > 0) {
    try {
      await raiseAlert(
        deps.sqs,
        deps.env.ALERT_QUEUE_URL,
        buildAlert(
          deps,
          cluster,
          alertable,
          // An alert owed from an earlier delivery says what that delivery requested.
          capacityNote || (alertable.find((c) => c.episode.replacement)?.episode.replacement ?? ''),
          surgeExecutionArn,
        ),
      );
      report.alerts++;
      for (const c of alertable) set(c.where.instanceId, { alertedAt: iso(deps.clock.now()) });
    } catch (error) {
      // Not announced: retry the items so the alert is not lost (the actions themselves are recorded).
      deps.log.error('Raising the alert failed; items will be retried', { error: (error as Error).message });
      for (const c of alertable) for (const id of c.itemIds) failed.add(id);
    }
  }

  // One transaction gives the batch's leases back (an episode with nothing done records nothing).
  await completeEpisodes(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    deps.owner,
    work.claimed.map((c) => ({
      subject: c.where.instanceId,
      done: completions.get(c.where.instanceId) ?? {},
    })),
  );
}

function drainReason(c: Claimed): string {
  if (c.signal.channel === 'warning') return 'spot interruption warning: two minutes left, drained at once';
  return 'rebalance recommendation with rebalance mode drain';
}

function outcome(c: Claimed, result: InstanceOutcome['result'], reason: string): InstanceOutcome {
  return {
    instanceId: c.where.instanceId,
    cluster: c.where.cluster,
    containerInstanceArn: c.where.containerInstanceArn,
    intent: c.intent,
    result,
    reason,
  };
}

function entry(
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

function countBy(items: Claimed[], key: (c: Claimed) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of items) out[key(c)] = (out[key(c)] ?? 0) + 1;
  return out;
}

function buildAlert(
  deps: SpotDeps,
  cluster: ManagedCluster,
  items: Claimed[],
  capacityNote: string,
  surgeExecutionArn: string | undefined,
): Alert {
  const draining = items.filter((c) => c.intent === 'drain');
  const surging = items.filter((c) => c.intent === 'surge');
  const observed = items.filter((c) => c.intent === 'observe');
  const parts: string[] = [];
  if (draining.length > 0) parts.push(`draining ${draining.length}`);
  if (surging.length > 0) parts.push(`surging ${surging.length}`);
  if (observed.length > 0) parts.push(`observing ${observed.length}`);
  const n = items.length;
  const noun = n === 1 ? 'instance' : 'instances';
  const subjects = items.map((c) => c.where.instanceId).sort();
  return {
    severity: draining.length > 0 ? 'warning' : 'info',
    state: 'firing',
    kind: 'spot-interruption',
    cluster: cluster.name,
    title: `Spot interruption in ${cluster.name}: ${parts.join(', ')} ${noun}`,
    summary: `${n} spot ${noun} in cluster ${cluster.name} announced an interruption (${[...new Set(items.flatMap((c) => c.signals.map((s) => s.channel)))].join(', ')}).`,
    resources: items.map((c) => c.where.containerInstanceArn),
    whatHappened:
      draining.length > 0
        ? 'EC2 sent spot interruption warnings: these instances stop in about two minutes.'
        : 'EC2 sent rebalance recommendations: these instances are at elevated risk of interruption.',
    whatWeDid: [
      draining.length > 0
        ? `Set ${draining.length} container instance(s) to DRAINING so ECS moves their tasks.`
        : '',
      surging.length > 0
        ? `Requested replacement capacity for ${surging.length}; they drain once replacements register.`
        : '',
      observed.length > 0 ? `Recorded ${observed.length} recommendation(s) only (observe mode).` : '',
      capacityNote ? `Capacity: ${capacityNote}.` : '',
    ]
      .filter(Boolean)
      .join(' '),
    nextSteps: [
      `Check the service's running count recovers: ops journal --json, or the ECS console for cluster ${cluster.name}.`,
      'If interruptions keep coming, consider more instance types in the spot group or a larger on-demand base.',
    ],
    // Keyed by what was done too: the drain that follows an observed recommendation is news, not a
    // repeat the router may fold into the info alert of the same instances.
    dedupKey: `spot-interruption/${cluster.name}/${draining.length > 0 ? 'drain' : surging.length > 0 ? 'surge' : 'observe'}/${createHash('sha256').update(subjects.join(',')).digest('hex').slice(0, 16)}`,
    counts: {
      'availability zone': countBy(items, (c) => c.where.availabilityZone),
      'instance type': countBy(items, (c) => c.where.instanceType),
    },
    links: consoleLinks(process.env.AWS_REGION, { cluster: cluster.name, executionArn: surgeExecutionArn }),
    at: iso(deps.clock.now()),
  };
}

async function processTasks(
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
