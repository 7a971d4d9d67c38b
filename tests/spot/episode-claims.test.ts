import { beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { recentInterruptions, recordInterruptions } from '../../functions/shared/spot/capacity.ts';
import {
  type ClaimRequest,
  claimEpisode,
  claimEpisodes,
  completeEpisodes,
  type Episode,
  endForReactivation,
  getEpisodes,
} from '../../functions/shared/spot/episodes.ts';
import { createTable, useEmulator, useFaultProxy } from '../support/emulator.ts';

useEmulator();
const proxy = useFaultProxy();
const TABLE = 'episodes';
const clock = { now: () => Date.parse('2026-12-04T12:00:00Z') };

const request = (subject: string, owner: string): ClaimRequest => ({
  subject,
  intent: 'drain',
  channel: 'warning',
  noticeAt: '2026-12-04T12:00:00Z',
  cluster: 'web',
  owner,
  leaseMs: 60_000,
  episodeTtlMs: 3_600_000,
});

beforeAll(() => createTable(TABLE));

/** One batch's claims, as the handler makes them, over what it read (`known`). */
const claimBatch = (subjects: readonly string[], owner: string, known: Map<string, Episode>) =>
  claimEpisodes(
    documentClient(),
    TABLE,
    clock,
    subjects.map((s) => request(s, owner)),
    known,
  );

describe('claiming a batch of episodes', () => {
  it('claims every episode of a batch in one transaction and completes them in another', async () => {
    const db = documentClient();
    const subjects = ['i-0a0000000000000a1', 'i-0a0000000000000a2', 'i-0a0000000000000a3'];
    proxy.resetStats();
    const claims = await claimBatch(subjects, 'batch-1', new Map());
    expect([...claims.values()].map((c) => c.result)).toEqual(['claimed', 'claimed', 'claimed']);
    await completeEpisodes(
      db,
      TABLE,
      'batch-1',
      subjects.map((subject) => ({ subject, done: { drainedAt: 'then', alertedAt: 'then' } })),
    );
    expect(proxy.stats().byOperation).toEqual({
      'dynamodb:TransactWriteItems': 2,
      'dynamodb:BatchGetItem': 1,
    });
    const stored = await getEpisodes(db, TABLE, subjects);
    for (const s of subjects) {
      expect(stored.get(s)).toMatchObject({ intent: 'drain', drainedAt: 'then', alertedAt: 'then' });
      expect(stored.get(s)?.leaseOwner).toBeUndefined();
    }
    // Delivered again: duplicates, decided from the read alone, with no claim written.
    const again = await claimBatch(subjects, 'batch-2', stored);
    expect([...again.values()].map((c) => c.result)).toEqual(['duplicate', 'duplicate', 'duplicate']);
  });

  it('falls back to one claim at a time when a record changed after the batch read it', async () => {
    const db = documentClient();
    const subjects = ['i-0b0000000000000b1', 'i-0b0000000000000b2', 'i-0b0000000000000b3'];
    const read: Map<string, Episode> = await getEpisodes(db, TABLE, subjects);
    // Another invocation claims the second one after our read.
    const theirs = await claimEpisode(db, TABLE, clock, request(subjects[1] as string, 'batch-other'));
    expect(theirs.result).toBe('claimed');
    proxy.resetStats();
    const claims = await claimBatch(subjects, 'batch-1', read);
    expect(subjects.map((s) => claims.get(s)?.result)).toEqual(['claimed', 'duplicate', 'claimed']);
    // The cancelled transaction, a fresh read, then each claim on its own.
    expect(proxy.stats().byOperation['dynamodb:TransactWriteItems']).toBe(1);
    const stored = await getEpisodes(db, TABLE, subjects);
    expect(subjects.map((s) => stored.get(s)?.leaseOwner)).toEqual(['batch-1', 'batch-other', 'batch-1']);
  });

  it('claims once when the transaction was applied and its answer lost', async () => {
    const db = documentClient();
    const subjects = ['i-0c0000000000000c1', 'i-0c0000000000000c2'];
    proxy.resetStats();
    // The first transaction is applied and its answer lost: the SDK sends it again, and it fails
    // on the claims it made itself (the emulator keeps no client tokens; AWS would answer the
    // retry as the success it was). Either way each episode is claimed once, by this batch.
    proxy.setFaults({ lostResponseRate: 1, services: ['dynamodb'] });
    let first = true;
    const onlyFirst = setInterval(() => {
      if (first && proxy.stats().lostResponses > 0) {
        first = false;
        proxy.setFaults({ lostResponseRate: 0 });
      }
    }, 1);
    try {
      const claims = await claimBatch(subjects, 'batch-1', new Map());
      expect(subjects.map((s) => claims.get(s)?.result)).toEqual(['claimed', 'claimed']);
      // Nothing was there before this batch: our own write read back is not an earlier episode
      // (taken for one, it passed for a drain already done, and no replacement was asked for).
      expect(subjects.map((s) => (claims.get(s) as { previous?: unknown }).previous)).toEqual([
        undefined,
        undefined,
      ]);
    } finally {
      clearInterval(onlyFirst);
      proxy.setFaults({ lostResponseRate: 0 });
    }
    expect(proxy.stats().lostResponses).toBe(1);
    const stored = await getEpisodes(db, TABLE, subjects);
    expect(subjects.map((s) => stored.get(s)?.leaseOwner)).toEqual(['batch-1', 'batch-1']);
    expect(subjects.map((s) => stored.get(s)?.intent)).toEqual(['drain', 'drain']);
  });
});

describe('putting a rebalance drain back', () => {
  const rebalance = (subject: string, owner: string): ClaimRequest => ({
    ...request(subject, owner),
    channel: 'rebalance',
  });
  /** An episode a rebalance recommendation drained and announced. */
  async function drainedOnRebalance(subject: string): Promise<Episode> {
    const db = documentClient();
    const claimed = await claimEpisode(db, TABLE, clock, rebalance(subject, 'rebalance-batch'));
    expect(claimed.result).toBe('claimed');
    await completeEpisodes(db, TABLE, 'rebalance-batch', [
      { subject, done: { drainedAt: 'then', alertedAt: 'then', replacedAt: 'then' } },
    ]);
    return (await getEpisodes(db, TABLE, [subject])).get(subject) as Episode;
  }

  it('keeps an episode a warning was noted on', async () => {
    const db = documentClient();
    const subject = 'i-0d0000000000000d1';
    const episode = await drainedOnRebalance(subject);
    expect((await claimEpisode(db, TABLE, clock, request(subject, 'warning-batch'))).result).toBe(
      'duplicate',
    );
    expect(await endForReactivation(db, TABLE, clock, subject, episode.openedAt, 'recheck')).toBe(false);
  });

  it('lets a warning that read the episode before it was put back open a new one', async () => {
    const db = documentClient();
    const subjects = ['i-0e0000000000000e1', 'i-0e0000000000000e2'];
    const [one, two] = subjects as [string, string];
    for (const s of subjects) await drainedOnRebalance(s);
    // The warnings' batches read the episodes while they were still live and drained.
    const stale = await getEpisodes(db, TABLE, subjects);
    for (const s of subjects)
      expect(
        await endForReactivation(db, TABLE, clock, s, (stale.get(s) as Episode).openedAt, 'recheck'),
      ).toBe(true);
    // Read before, noted after: the note fails on the ended episode, and the warning claims anew,
    // alone and in a batch (whose transaction is cancelled on the note).
    const alone = await claimEpisode(db, TABLE, clock, request(one, 'warning-1'), {
      episode: stale.get(one),
    });
    expect(alone.result).toBe('claimed');
    const batch = await claimEpisodes(
      db,
      TABLE,
      clock,
      [request(two, 'warning-2'), request('i-0e0000000000000e3', 'warning-2')],
      stale,
    );
    expect(batch.get(two)?.result).toBe('claimed');
    const stored = await getEpisodes(db, TABLE, subjects);
    for (const s of subjects) {
      expect(stored.get(s)?.drainedAt).toBeUndefined();
      expect(stored.get(s)?.reactivatedAt).toBeUndefined();
      expect(stored.get(s)?.channels).toEqual(['warning']);
    }
  });
});

describe('counting interruptions', () => {
  it('counts an instance once when the write is applied again after a lost answer', async () => {
    const db = documentClient();
    const instances = ['i-0d0000000000000d1', 'i-0d0000000000000d2'];
    // Every answer lost: the SDK sends the write again until its attempts run out, and the
    // emulator applies each one. A counter would now say 6; the cluster would fall back early.
    proxy.setFaults({ lostResponseRate: 1, services: ['dynamodb'] });
    proxy.resetStats();
    try {
      await expect(recordInterruptions(db, TABLE, clock, 'rate-web', instances)).rejects.toThrow();
    } finally {
      proxy.setFaults({ lostResponseRate: 0 });
    }
    expect(proxy.stats().lostResponses).toBeGreaterThan(1);
    await recordInterruptions(db, TABLE, clock, 'rate-web', [instances[0] as string, 'i-0d0000000000000d3']);
    expect(await recentInterruptions(db, TABLE, clock, 'rate-web', 10)).toBe(3);
  });
});
