// The follow-ups a batch sent itself, come back after their delay: give back the tasks added
// before a drain, and put back to ACTIVE an instance a rebalance recommendation drained when no
// interruption warning followed. Each is safe to receive twice and safe to race a late warning.
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RecheckRebalance, RestorePrescale, SpotFollowUp } from '../../events/spot-follow-up.ts';
import { consoleLinks, raiseAlert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { drainContainerInstances } from '../shared/drain.ts';
import { isConditionFailure, ttlSeconds } from '../shared/dynamo.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import { withLockWaiting } from '../shared/lock.ts';
import { endForReactivation, episodeId, getEpisode } from '../shared/spot/episodes.ts';
import type { SpotDeps } from './batch-model.ts';
import { shiftBack } from './fargate-fallback.ts';
import { ledgerItem, readLedger } from './prescale-ledger.ts';
import { desiredCountLock, ledgerStaleAfterMs } from './protection.ts';
import { restoredDesiredCount } from './protection-rules.ts';

export interface FollowUpOutcome {
  followUp: SpotFollowUp['followUp'];
  subject: string;
  result: 'restored' | 'reactivated' | 'waiting' | 'unchanged' | 'duplicate';
  reason: string;
}

const LEASE_MS = 60_000;

export async function processFollowUp(deps: SpotDeps, f: SpotFollowUp): Promise<FollowUpOutcome> {
  if (f.followUp === 'restore-prescale') return restorePrescale(deps, f);
  if (f.followUp === 'recheck-rebalance') return recheckRebalance(deps, f);
  const moved = await shiftBack(deps, f);
  return {
    followUp: f.followUp,
    subject: `service/${f.cluster}/${f.service}`,
    result: moved.action === 'shift-back' ? 'restored' : moved.action === 'waiting' ? 'waiting' : 'unchanged',
    reason: moved.why,
  };
}

interface PrescaleRecord {
  restoredAt?: string;
  restoreTarget?: number;
  leaseOwner?: string;
}

/**
 * Gives back what a pre-scale added: claimed on its record (a follow-up received twice gives back
 * once), decided under the service's desired-count lock, never below the count before it and
 * never raising a count that went down since. The target is recorded before it is set, so a
 * retry after a lost answer recognises its own change instead of taking the tasks off twice.
 */
async function restorePrescale(deps: SpotDeps, f: RestorePrescale): Promise<FollowUpOutcome> {
  const table = deps.env.OPERATIONS_TABLE;
  const id = `spot-prescale#${f.prescaleId}`;
  const subject = `service/${f.cluster}/${f.service}`;
  const now = deps.clock.now();
  let record: PrescaleRecord;
  try {
    const out = await deps.db.send(
      new UpdateCommand({
        TableName: table,
        Key: { id },
        UpdateExpression:
          'SET leaseOwner = :owner, leaseUntilMs = :until, #subject = :subject, added = :added, expiresAt = :ttl',
        ConditionExpression:
          'attribute_not_exists(restoredAt) AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now OR leaseOwner = :owner)',
        ExpressionAttributeNames: { '#subject': 'subject' },
        ExpressionAttributeValues: {
          ':owner': deps.owner,
          ':until': now + LEASE_MS,
          ':now': now,
          ':subject': subject,
          ':added': f.added,
          ':ttl': ttlSeconds(now + 7 * 24 * 3600_000),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    record = out.Attributes as PrescaleRecord;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const current = (
      await deps.db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))
    ).Item as PrescaleRecord | undefined;
    if (current?.restoredAt)
      return {
        followUp: f.followUp,
        subject,
        result: 'duplicate',
        reason: `given back at ${current.restoredAt}`,
      };
    throw new Error(`the give-back of ${subject} is held by ${current?.leaseOwner}; retried`);
  }

  const result = await withLockWaiting(
    deps.db,
    deps.env.LOCKS_TABLE,
    deps.clock,
    {
      resource: desiredCountLock(f.cluster, f.service),
      owner: deps.owner,
      leaseMs: 30_000,
      reason: 'give back a pre-scale',
    },
    async () => {
      const ledger = await readLedger(
        deps.db,
        table,
        deps.clock,
        f.cluster,
        f.service,
        ledgerStaleAfterMs(deps),
      );
      const described = await deps.ecs.send(
        new DescribeServicesCommand({ cluster: f.cluster, services: [f.service] }),
      );
      const service = described.services?.find((s) => s.serviceName === f.service && s.status === 'ACTIVE');
      if (!service) return { before: undefined, after: undefined };
      const desired = service.desiredCount ?? 0;
      if (record.restoreTarget !== undefined && desired === record.restoreTarget)
        return { before: desired, after: desired };
      // The others' pre-scales still outstanding stay: the floor is the base plus what they hold.
      const decided = record.restoreTarget !== undefined;
      const outstandingAfter = ledger ? Math.max(0, ledger.outstanding - (decided ? 0 : f.added)) : 0;
      const floor = ledger ? ledger.base + outstandingAfter : f.before;
      const target = restoredDesiredCount(desired, f.added, floor);
      if (!decided) {
        // The decision and the ledger's share go together: a retry finds both or neither.
        await deps.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: table,
                  Key: { id },
                  UpdateExpression: 'SET restoreTarget = :target',
                  ConditionExpression: 'leaseOwner = :owner AND attribute_not_exists(restoreTarget)',
                  ExpressionAttributeValues: { ':target': target, ':owner': deps.owner },
                },
              },
              ...(ledger
                ? [
                    {
                      Put: ledgerItem(
                        table,
                        deps.clock.now(),
                        f.cluster,
                        f.service,
                        ledger.base,
                        outstandingAfter,
                      ),
                    },
                  ]
                : []),
            ],
          }),
        );
      }
      if (target !== desired)
        await deps.ecs.send(
          new UpdateServiceCommand({ cluster: f.cluster, service: f.service, desiredCount: target }),
        );
      return { before: desired, after: target };
    },
  );

  await deps.db.send(
    new UpdateCommand({
      TableName: table,
      Key: { id },
      UpdateExpression: 'SET restoredAt = :at REMOVE leaseOwner, leaseUntilMs',
      ConditionExpression: 'leaseOwner = :owner',
      ExpressionAttributeValues: { ':at': iso(deps.clock.now()), ':owner': deps.owner },
    }),
  );
  const changed = result.before !== undefined && result.after !== result.before;
  const reason =
    result.before === undefined
      ? `the service is no longer active in ${f.cluster}: nothing to give back`
      : changed
        ? `gave back ${result.before - (result.after ?? 0)} of the ${f.added} task(s) added before the drain at ${f.prescaledAt} (desired ${result.before} -> ${result.after})`
        : `nothing to give back: desired is ${result.before}, at or under what it was before the drain and what other pre-scales still hold`;
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: subject,
      action: 'give-back-after-drain',
      outcome: changed ? 'changed' : 'unchanged',
      reason,
      trigger: { kind: 'spot-follow-up', id: f.prescaleId, at: f.prescaledAt },
      actor: deps.owner,
      ...(result.before !== undefined
        ? { before: { desiredCount: result.before }, after: { desiredCount: result.after } }
        : {}),
      details: { added: f.added, desiredBeforeDrain: f.before },
    },
  ]);
  return { followUp: f.followUp, subject, result: changed ? 'restored' : 'unchanged', reason };
}

/**
 * Puts an instance a rebalance recommendation drained back to ACTIVE when no warning followed:
 * its episode is ended first (only if no warning was noted on it), so a warning that comes after
 * opens a new episode and drains again; one that came during the call is caught by the read after
 * it. An instance that is gone or no longer DRAINING is left as it is.
 */
async function recheckRebalance(deps: SpotDeps, f: RecheckRebalance): Promise<FollowUpOutcome> {
  const table = deps.env.OPERATIONS_TABLE;
  const subject = `container-instance/${f.cluster}/${f.instanceId}`;
  const episode = await getEpisode(deps.db, table, episodeId(f.instanceId));
  const kept = (reason: string): FollowUpOutcome => ({
    followUp: f.followUp,
    subject,
    result: 'unchanged',
    reason,
  });
  if (!episode || episode.openedAt !== f.episodeOpenedAt)
    return kept('a later episode supersedes this recheck');
  if ((episode.channels ?? []).includes('warning'))
    return kept('an interruption warning followed the recommendation: the instance stays drained');
  if (
    !episode.reactivatedAt &&
    !(await endForReactivation(deps.db, table, deps.clock, f.instanceId, f.episodeOpenedAt, deps.owner))
  )
    return kept('the episode moved on (a warning, or another invocation holds it): left as it is');

  // Auto Scaling may be ending it anyway (capacity rebalancing replaces an at-risk instance, and
  // managed draining drains one it terminates): an instance leaving service stays drained.
  const inGroup = await deps.autoscaling.send(
    new DescribeAutoScalingInstancesCommand({ InstanceIds: [f.instanceId] }),
  );
  const lifecycle = inGroup.AutoScalingInstances?.[0]?.LifecycleState;
  if (lifecycle !== undefined && lifecycle !== 'InService') {
    await journal(
      deps,
      f,
      'unchanged',
      `no interruption followed, but Auto Scaling has it ${lifecycle}: it stays drained`,
    );
    return kept(`Auto Scaling lifecycle state ${lifecycle}`);
  }
  const described = await deps.ecs.send(
    new DescribeContainerInstancesCommand({
      cluster: f.cluster,
      containerInstances: [f.containerInstanceArn],
    }),
  );
  const instance = described.containerInstances?.[0];
  if (instance?.status !== 'DRAINING') {
    await journal(
      deps,
      f,
      'unchanged',
      `no interruption followed, and the instance is ${instance?.status ?? 'gone'}: nothing to put back`,
    );
    return kept(`instance is ${instance?.status ?? 'gone'}`);
  }
  const out = await deps.ecs.send(
    new UpdateContainerInstancesStateCommand({
      cluster: f.cluster,
      containerInstances: [f.containerInstanceArn],
      status: 'ACTIVE',
    }),
  );
  if (out.containerInstances?.[0]?.status !== 'ACTIVE')
    throw new Error(`${f.instanceId} was not set ACTIVE: ${JSON.stringify(out.failures ?? [])}`);

  // A warning that raced the call opened a new episode: its drain may have come before ours.
  const after = await getEpisode(deps.db, table, episodeId(f.instanceId));
  if (
    after &&
    after.openedAt !== f.episodeOpenedAt &&
    after.intent === 'drain' &&
    after.expiresAtMs > deps.clock.now()
  ) {
    await drainContainerInstances(deps.ecs, f.cluster, [f.containerInstanceArn]);
    await journal(
      deps,
      f,
      'unchanged',
      'put back, then drained again: an interruption warning arrived meanwhile',
    );
    return kept('a warning arrived while putting it back: drained again');
  }
  const minutes = Math.round(deps.env.REBALANCE_RECHECK_SECONDS / 60);
  const reason = `no interruption warning followed the rebalance recommendation within ${deps.env.REBALANCE_RECHECK_SECONDS} s: put back to ACTIVE`;
  await journal(deps, f, 'changed', reason);
  await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
    severity: 'info',
    state: 'firing',
    kind: 'spot-rebalance-reactivated',
    cluster: f.cluster,
    title: `Spot instance ${f.instanceId} in ${f.cluster} put back in service`,
    summary: `A rebalance recommendation drained ${f.instanceId}; no interruption followed in ${minutes} minute(s), so it takes tasks again.`,
    resources: [f.containerInstanceArn],
    whatHappened: 'EC2 recommended a rebalance, but did not interrupt the instance.',
    whatWeDid: 'Set the container instance back to ACTIVE. A later warning drains it again.',
    nextSteps: [
      'Nothing to do. If it repeats, the spot group may be over-provisioned for a while: capacity providers scale it in.',
    ],
    dedupKey: `spot-reactivated/${f.cluster}/${f.instanceId}/${f.episodeOpenedAt}`,
    links: consoleLinks(process.env.AWS_REGION, { cluster: f.cluster }),
    at: iso(deps.clock.now()),
  });
  return { followUp: f.followUp, subject, result: 'reactivated', reason };
}

function journal(deps: SpotDeps, f: RecheckRebalance, outcome: JournalEntry['outcome'], reason: string) {
  return writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: `container-instance/${f.cluster}/${f.instanceId}`,
      action: 'reactivate-instance',
      outcome,
      reason,
      trigger: { kind: 'spot-follow-up', at: f.episodeOpenedAt },
      actor: deps.owner,
      details: { containerInstanceArn: f.containerInstanceArn, episodeOpenedAt: f.episodeOpenedAt },
    },
  ]);
}
