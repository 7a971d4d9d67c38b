// What a batch does for one cluster once its episodes are claimed: drain the warned instances ten
// per call, ask for replacement capacity (on-demand when spot is reclaimed too fast), start the
// surge workflow for rebalance recommendations, complete the episodes, and raise one alert.
import { createHash } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type Alert, consoleLinks, raiseAlert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { drainContainerInstances } from '../shared/drain.ts';
import { digest, executionName } from '../shared/execution-names.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import type { ManagedCluster } from '../shared/managed-clusters.ts';
import {
  type CapacityRequest,
  chooseGroup,
  recentInterruptions,
  recordInterruptions,
  requestCapacity,
} from '../shared/spot/capacity.ts';
import { type Completion, completeEpisodes, replacementDone } from '../shared/spot/episodes.ts';
import {
  type BatchReport,
  type Claimed,
  type ClusterWork,
  type InstanceOutcome,
  type Progress,
  type SpotDeps,
  TWO_MINUTES,
} from './batch-model.ts';

export async function actOnCluster(
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
  // Every warning, a redelivered one too: the rate is a set of instances, so recording one twice
  // counts it once, and a delivery that failed before recording it must not leave it uncounted.
  const warned = active.filter((c) => c.signal.channel === 'warning').map((c) => c.where.instanceId);
  await recordInterruptions(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, cluster.name, warned);
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
