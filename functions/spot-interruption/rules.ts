// The rules of what a batch does for one cluster, with no I/O: which claimed instances drain,
// which need replacement capacity and from which group, which surge, which are only observed,
// and which are announced. act-on-cluster.ts carries them out against AWS and DynamoDB.
import type { ManagedCluster } from '../shared/managed-clusters.ts';
import { describeFailure, type RememberedFailure } from '../shared/spot/capacity-failures.ts';
import { type Completion, replacementDone } from '../shared/spot/episodes.ts';
import type { Claimed } from './batch-model.ts';

/**
 * Already DRAINING in ECS (an operator, or ECS managed draining): no second drain, no alert. Not
 * when an earlier delivery of this episode set out to drain: that drain is ours, confirmed now
 * (the call is idempotent), then replaced and announced as any other.
 */
export function splitAlreadyDraining(claimed: readonly Claimed[]): {
  alreadyDraining: Claimed[];
  active: Claimed[];
} {
  const alreadyDraining = claimed.filter(
    (c) => c.where.status === 'DRAINING' && !c.episode.drainedAt && c.previous?.intent !== 'drain',
  );
  return { alreadyDraining, active: claimed.filter((c) => !alreadyDraining.includes(c)) };
}

/** What must drain now: a drain intent not yet carried out in its episode. */
export const toDrain = (active: readonly Claimed[]): Claimed[] =>
  active.filter((c) => c.intent === 'drain' && !c.episode.drainedAt);

/**
 * Replacement capacity, once per episode: not again after a surge asked for it, still owed when an
 * earlier delivery's request failed, and not for a drain that did not go through this time.
 */
export const needingCapacity = (active: readonly Claimed[], drainFailed: ReadonlySet<string>): Claimed[] =>
  active.filter(
    (c) =>
      (c.intent === 'drain' || c.intent === 'surge') &&
      !replacementDone(c.episode, c.previous) &&
      !(c.intent === 'drain' && drainFailed.has(c.where.instanceId)),
  );

/**
 * The instances that count toward the cluster's interruption rate: every warning, a redelivered
 * one too. The rate is a set of instances, so recording one twice counts it once, and a delivery
 * that failed before recording it must not leave it uncounted.
 */
export const warnedInstances = (active: readonly Claimed[]): string[] =>
  active.filter((c) => c.signal.channel === 'warning').map((c) => c.where.instanceId);

/**
 * Where replacements come from: the spot group, or the on-demand group once more than
 * `threshold` instances were interrupted in the window (a capacity pool drying up is exactly when
 * more spot requests fail too). A group that could not launch lately (`failures`, remembered for a
 * while) is passed over for the other one while the other has no failure of its own: asking it
 * again would most likely fail again. Undefined when the cluster has no group to scale.
 */
export function chooseGroup(
  cluster: ManagedCluster,
  recent: number,
  threshold: number,
  failures: ReadonlyMap<string, readonly RememberedFailure[]> = new Map(),
): { group: string; market: 'spot' | 'on-demand'; why: string } | undefined {
  type Source = { group: string; market: 'spot' | 'on-demand' };
  const spot: Source | undefined = cluster.spotAsg ? { group: cluster.spotAsg, market: 'spot' } : undefined;
  const onDemand: Source | undefined = cluster.onDemandAsg
    ? { group: cluster.onDemandAsg, market: 'on-demand' }
    : undefined;
  let first: Source;
  let other: Source | undefined;
  let why: string;
  if (recent > threshold && onDemand) {
    first = onDemand;
    other = spot;
    why = `${recent} spot interruptions in the window exceed ${threshold}: replacing with on-demand`;
  } else if (spot) {
    first = spot;
    other = onDemand;
    why = 'replacing spot with spot';
  } else if (onDemand) {
    first = onDemand;
    why = 'no spot group configured';
  } else return undefined;
  const failed = failures.get(first.group)?.[0];
  if (!failed) return { ...first, why };
  if (other && !failures.has(other.group))
    return { ...other, why: `${describeFailure(failed)}: replacing from ${other.group} instead` };
  return { ...first, why: `${why} (${describeFailure(failed)}, and no other group is free of failures)` };
}

/**
 * Drained here on a rebalance recommendation alone (rebalance mode drain): put back later if no
 * warning follows. Drained on a warning, or not drained, nothing to put back.
 */
export const toRecheck = (draining: readonly Claimed[], drainFailed: ReadonlySet<string>): Claimed[] =>
  draining.filter((c) => c.signal.channel === 'rebalance' && !drainFailed.has(c.where.instanceId));

/** Rebalance recommendations to surge: capacity first, the drain later (or the warning first). */
export const toSurge = (active: readonly Claimed[]): Claimed[] =>
  active.filter((c) => c.intent === 'surge' && !c.episode.surgeStartedAt && !c.episode.drainedAt);

/** Rebalance recommendations in observe mode, recorded and announced once. */
export const toObserve = (active: readonly Claimed[]): Claimed[] =>
  active.filter((c) => c.intent === 'observe' && !c.episode.alertedAt);

/**
 * The instances this batch announces: not yet announced in their episode, and not failed here. A
 * drain after an observed recommendation is announced too: that info alert said nothing was done.
 */
export const toAnnounce = (active: readonly Claimed[], failedHere: ReadonlySet<string>): Claimed[] =>
  active.filter((c) => {
    const drainAfterObserve = c.intent === 'drain' && c.previous?.intent === 'observe';
    return (!c.episode.alertedAt || drainAfterObserve) && !failedHere.has(c.where.instanceId);
  });

/**
 * After a step failed part way: an instance drained here whose replacement was neither requested
 * here nor before is owed one, so its redelivery asks for it (when the cluster has a group).
 */
export function replacementOwed(
  cluster: ManagedCluster,
  claimed: Claimed | undefined,
  done: Completion,
): boolean {
  const replaceable = cluster.spotAsg !== undefined || cluster.onDemandAsg !== undefined;
  return (
    replaceable &&
    claimed !== undefined &&
    claimed.intent === 'drain' &&
    done.drainedAt !== undefined &&
    done.replacedAt === undefined &&
    !replacementDone(claimed.episode, claimed.previous)
  );
}
