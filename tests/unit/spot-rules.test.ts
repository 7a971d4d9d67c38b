// The spot-interruption rules on their own (functions/spot-interruption/rules.ts): what a batch
// drains, replaces, counts, surges, observes and announces for one cluster.
import { describe, expect, it } from 'vitest';
import type { ManagedCluster } from '../../functions/shared/managed-clusters.ts';
import type { Episode } from '../../functions/shared/spot/episodes.ts';
import type { Intent } from '../../functions/shared/spot/signals.ts';
import type { Claimed } from '../../functions/spot-interruption/batch-model.ts';
import {
  chooseGroup,
  needingCapacity,
  replacementOwed,
  splitAlreadyDraining,
  toAnnounce,
  toDrain,
  toObserve,
  toSurge,
  warnedInstances,
} from '../../functions/spot-interruption/rules.ts';

const cluster: ManagedCluster = {
  name: 'web',
  rebalance: 'surge',
  spotAsg: 'web-spot',
  onDemandAsg: 'web-od',
};

const episode = (patch: Partial<Episode> = {}): Episode => ({
  id: 'spot-episode#i-1',
  subject: 'i-1',
  intent: 'drain',
  rank: 3,
  openedAt: 't0',
  noticeAt: 't0',
  channels: ['warning'],
  recordVersion: 2,
  expiresAtMs: 0,
  ...patch,
});

function claimed(
  id: string,
  intent: Intent,
  opts: {
    channel?: 'warning' | 'rebalance';
    status?: string;
    episode?: Partial<Episode>;
    previous?: Partial<Episode>;
  } = {},
): Claimed {
  const signal = {
    kind: 'ec2' as const,
    channel: opts.channel ?? (intent === 'drain' ? 'warning' : 'rebalance'),
    instanceId: id,
    noticeAt: 't0',
    eventId: `e-${id}`,
  };
  return {
    where: {
      instanceId: id,
      cluster: 'web',
      containerInstanceArn: `arn:ci/${id}`,
      status: opts.status ?? 'ACTIVE',
      availabilityZone: 'us-east-1a',
      instanceType: 'm6i.large',
    },
    intent,
    signal,
    signals: [signal],
    itemIds: [`m-${id}`],
    episode: episode({ subject: id, intent, ...opts.episode }),
    previous: opts.previous ? episode({ subject: id, ...opts.previous }) : undefined,
  };
}

const ids = (cs: readonly Claimed[]) => cs.map((c) => c.where.instanceId);

describe('spot interruption rules', () => {
  it('leaves an instance someone else set to DRAINING alone, but confirms a drain of our own', () => {
    const theirs = claimed('i-theirs', 'drain', { status: 'DRAINING' });
    const ours = claimed('i-ours', 'drain', { status: 'DRAINING', previous: { intent: 'drain' } });
    const fresh = claimed('i-fresh', 'drain');
    const { alreadyDraining, active } = splitAlreadyDraining([theirs, ours, fresh]);
    expect(ids(alreadyDraining)).toEqual(['i-theirs']);
    expect(ids(active)).toEqual(['i-ours', 'i-fresh']);
    expect(ids(toDrain(active))).toEqual(['i-ours', 'i-fresh']);
    expect(ids(toDrain([claimed('i-done', 'drain', { episode: { drainedAt: 't1' } })]))).toEqual([]);
  });

  it('replaces once per episode, and not for a drain that failed here', () => {
    const warned = claimed('i-w', 'drain');
    const failed = claimed('i-f', 'drain');
    const surged = claimed('i-s', 'surge');
    const alreadyReplaced = claimed('i-r', 'drain', { episode: { replacedAt: 't1' } });
    const afterSurge = claimed('i-as', 'drain', { episode: { surgeStartedAt: 't1' } });
    const observed = claimed('i-o', 'observe');
    const need = needingCapacity(
      [warned, failed, surged, alreadyReplaced, afterSurge, observed],
      new Set(['i-f']),
    );
    expect(ids(need)).toEqual(['i-w', 'i-s']);
  });

  it('counts every warning toward the rate, a redelivered one too, and no recommendation', () => {
    const redelivered = claimed('i-again', 'drain', { previous: { intent: 'drain', drainedAt: 't1' } });
    const fresh = claimed('i-new', 'drain');
    const rebalance = claimed('i-rb', 'drain', { channel: 'rebalance' });
    expect(warnedInstances([redelivered, fresh, rebalance])).toEqual(['i-again', 'i-new']);
  });

  it('replaces from spot up to the threshold and from on-demand past it', () => {
    expect(chooseGroup(cluster, 3, 3)).toMatchObject({ group: 'web-spot', market: 'spot' });
    expect(chooseGroup(cluster, 4, 3)).toEqual({
      group: 'web-od',
      market: 'on-demand',
      why: '4 spot interruptions in the window exceed 3: replacing with on-demand',
    });
    const spotOnly = { ...cluster, onDemandAsg: undefined };
    expect(chooseGroup(spotOnly, 40, 3)).toMatchObject({ group: 'web-spot', market: 'spot' });
    const onDemandOnly = { ...cluster, spotAsg: undefined };
    expect(chooseGroup(onDemandOnly, 0, 3)).toMatchObject({
      group: 'web-od',
      why: 'no spot group configured',
    });
    expect(chooseGroup({ name: 'bare', rebalance: 'surge' }, 9, 3)).toBeUndefined();
  });

  it('surges and observes a recommendation once', () => {
    const surge = claimed('i-s', 'surge');
    const surgedAlready = claimed('i-s2', 'surge', { episode: { surgeStartedAt: 't1' } });
    const drainedFirst = claimed('i-s3', 'surge', { episode: { drainedAt: 't1' } });
    expect(ids(toSurge([surge, surgedAlready, drainedFirst]))).toEqual(['i-s']);
    const observe = claimed('i-o', 'observe');
    const announced = claimed('i-o2', 'observe', { episode: { alertedAt: 't1' } });
    expect(ids(toObserve([observe, announced]))).toEqual(['i-o']);
  });

  it('announces what is new in its episode, a drain after an observed recommendation too', () => {
    const fresh = claimed('i-new', 'drain');
    const announced = claimed('i-old', 'drain', { episode: { alertedAt: 't1' } });
    const afterObserve = claimed('i-obs', 'drain', {
      episode: { alertedAt: 't1' },
      previous: { intent: 'observe', alertedAt: 't1' },
    });
    const failed = claimed('i-f', 'drain');
    expect(ids(toAnnounce([fresh, announced, afterObserve, failed], new Set(['i-f'])))).toEqual([
      'i-new',
      'i-obs',
    ]);
  });

  it('owes a replacement to an instance drained in a step that failed before requesting it', () => {
    const c = claimed('i-1', 'drain');
    expect(replacementOwed(cluster, c, { drainedAt: 't1' })).toBe(true);
    expect(replacementOwed(cluster, c, { drainedAt: 't1', replacedAt: 't1' })).toBe(false);
    expect(replacementOwed(cluster, c, {})).toBe(false);
    expect(replacementOwed({ name: 'bare', rebalance: 'surge' }, c, { drainedAt: 't1' })).toBe(false);
    expect(replacementOwed(cluster, undefined, { drainedAt: 't1' })).toBe(false);
    const replacedBefore = claimed('i-2', 'drain', { episode: { replacedAt: 't0' } });
    expect(replacementOwed(cluster, replacedBefore, { drainedAt: 't1' })).toBe(false);
  });
});
