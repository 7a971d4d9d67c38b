// What a batch does for one cluster once its episodes are claimed: drain the warned instances ten
// per call, ask for replacement capacity (on-demand when spot is reclaimed too fast), start the
// surge workflow for rebalance recommendations, complete the episodes, and raise one alert. The
// rules of what to do are in rules.ts; this module carries them out.
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { raiseAlert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { drainContainerInstances } from '../shared/drain.ts';
import { digest, executionName } from '../shared/execution-names.ts';
import { writeJournal } from '../shared/journal.ts';
import {
  type CapacityRequest,
  capacityState,
  recordInterruptions,
  requestCapacity,
} from '../shared/spot/capacity.ts';
import { type Completion, completeEpisodes } from '../shared/spot/episodes.ts';
import { buildAlert } from './alert.ts';
import {
  type BatchReport,
  type ClusterWork,
  type Progress,
  type SpotDeps,
  TWO_MINUTES,
} from './batch-model.ts';
import { scheduleRechecks } from './follow-up-schedule.ts';
import { protectServices } from './protection.ts';
import { drainReason, entry, outcome } from './records.ts';
import {
  chooseGroup,
  needingCapacity,
  splitAlreadyDraining,
  toAnnounce,
  toDrain,
  toObserve,
  toRecheck,
  toSurge,
  warnedInstances,
} from './rules.ts';

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
  const set = (id: string, patch: Completion) => completions.set(id, { ...completions.get(id), ...patch });

  const { alreadyDraining, active } = splitAlreadyDraining(work.claimed);
  for (const c of alreadyDraining) {
    set(c.where.instanceId, { drainedAt: iso(now), alertedAt: 'not-needed' });
    report.instances.push(outcome(c, 'already-draining', 'container instance was already DRAINING'));
    journal.push(entry(deps, c, 'drain-instance', 'unchanged', 'already DRAINING in ECS; no second drain'));
  }

  const draining = toDrain(active);
  const drainFailed = new Set<string>();
  // Services that the drain would take below their minimum healthy get their tasks first.
  const protections = await protectServices(deps, cluster, draining, journal);
  report.protections.push(...protections.map((p) => ({ ...p, cluster: cluster.name })));
  for (const p of protections.filter((q) => q.after > q.before))
    for (const c of p.instances) set(c.where.instanceId, { protectedAt: iso(now) });
  if (draining.length > 0) {
    const result = await drainContainerInstances(
      deps.ecs,
      cluster.name,
      draining.map((c) => c.where.containerInstanceArn),
    );
    report.drainCalls += result.calls;
    const drainedAt = deps.clock.now();
    for (const c of draining) {
      const failure = result.failed.find((f) => f.arn === c.where.containerInstanceArn);
      if (failure) {
        drainFailed.add(c.where.instanceId);
        report.instances.push(outcome(c, 'failed', `drain not confirmed: ${failure.reason}`));
        journal.push(entry(deps, c, 'drain-instance', 'failed', `drain not confirmed: ${failure.reason}`));
        for (const id of c.itemIds) failed.add(id);
        continue;
      }
      set(c.where.instanceId, { drainedAt: iso(drainedAt) });
      const deadline = Date.parse(c.episode.noticeAt) + TWO_MINUTES;
      report.instances.push({
        ...outcome(c, 'drained', 'set to DRAINING'),
        noticeToDrainMs: Math.max(0, drainedAt - Date.parse(c.episode.noticeAt)),
      });
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
            // What the drain moves: ECS's count of the instance's running and pending tasks.
            tasksOnInstance: c.where.taskCount ?? null,
          },
        }),
      );
    }
  }

  // A rebalance drain that no warning follows is put back later (rebalance mode drain).
  await scheduleRechecks(deps, cluster.name, toRecheck(draining, drainFailed), journal);

  const needCapacity = needingCapacity(active, drainFailed);
  await recordInterruptions(
    deps.db,
    deps.env.OPERATIONS_TABLE,
    deps.clock,
    cluster.name,
    warnedInstances(active),
  );
  let capacity: CapacityRequest | undefined;
  let capacityNote = '';
  if (needCapacity.length > 0) {
    // The rate and the groups' remembered launch failures, in one read.
    const state = await capacityState(
      deps.db,
      deps.env.OPERATIONS_TABLE,
      deps.clock,
      cluster.name,
      deps.env.SPOT_FALLBACK_WINDOW_MINUTES,
      [cluster.spotAsg, cluster.onDemandAsg].filter((g): g is string => g !== undefined),
    );
    const recent = state.interrupted.size;
    const failures = state.failures;
    const choice = chooseGroup(cluster, recent, deps.env.SPOT_FALLBACK_THRESHOLD, failures);
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
  const surging = toSurge(active);
  let surgeExecutionArn: string | undefined;
  if (surging.length > 0) {
    // One reading of the clock: the deadline is exactly 30 minutes after the start.
    const surgeAt = deps.clock.now();
    const startedAt = iso(surgeAt);
    const subjects = surging.map((c) => c.where.instanceId).sort();
    // The digest of what is surged keeps the name unique however long the cluster's name.
    const name = executionName('surge', cluster.name, digest(subjects.join(',')));
    const input = {
      cluster: cluster.name,
      instances: surging.map((c) => ({
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
    for (const c of surging) {
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

  for (const c of toObserve(active)) {
    report.instances.push(
      outcome(c, 'observed', 'rebalance recommendation recorded (cluster in observe mode)'),
    );
    journal.push(entry(deps, c, 'observe-instance', 'unchanged', 'rebalance mode is observe: recorded only'));
  }

  // One alert for this cluster's batch.
  const alertable = toAnnounce(active, drainFailed);
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, journal);
  journal.length = 0; // Written: a later failure must not write it again.
  if (alertable.length > 0) {
    try {
      await raiseAlert(
        deps.sqs,
        deps.env.ALERT_QUEUE_URL,
        buildAlert(
          cluster,
          alertable,
          // An alert owed from an earlier delivery says what that delivery requested.
          capacityNote || (alertable.find((c) => c.episode.replacement)?.episode.replacement ?? ''),
          surgeExecutionArn,
          iso(deps.clock.now()),
          process.env.AWS_REGION,
          protections,
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
