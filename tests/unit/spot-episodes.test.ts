// When an interruption episode counts as done: acted on and announced. A drain whose alert could
// not be raised must be retried for the alert (and must not be drained twice).
import { describe, expect, it } from 'vitest';
import { type Episode, isComplete, replacementDone } from '../../functions/shared/spot/episodes.ts';

const episode = (patch: Partial<Episode>): Episode => ({
  id: 'spot-episode#i-0abc',
  subject: 'i-0abc',
  intent: 'drain',
  rank: 3,
  openedAt: '2026-12-02T03:00:00.000Z',
  noticeAt: '2026-12-02T03:00:00.000Z',
  channels: ['warning'],
  expiresAtMs: Date.parse('2026-12-02T09:00:00.000Z'),
  ...patch,
});

describe('interruption episodes', () => {
  it('are complete once acted on and announced', () => {
    expect(isComplete(episode({ drainedAt: 't', alertedAt: 't' }))).toBe(true);
    expect(isComplete(episode({ drainedAt: 't', alertedAt: 'not-needed' }))).toBe(true);
    expect(isComplete(episode({ intent: 'surge', surgeStartedAt: 't', alertedAt: 't' }))).toBe(true);
    expect(isComplete(episode({ intent: 'observe', alertedAt: 't' }))).toBe(true);
  });

  it('are not complete while a drain’s replacement is owed, so a redelivery requests it', () => {
    const drained = { drainedAt: 't', alertedAt: 't' };
    expect(isComplete(episode({ ...drained, replacementOwedAt: 't' }))).toBe(false);
    expect(isComplete(episode({ ...drained, replacementOwedAt: 't', replacedAt: 't' }))).toBe(true);
  });

  it('ask for replacement capacity once: not after a surge or a confirmed drain, again after a failed drain or request', () => {
    const now = episode({});
    expect(replacementDone(now, undefined)).toBe(false);
    expect(replacementDone(now, episode({ intent: 'observe', alertedAt: 't' }))).toBe(false);
    expect(replacementDone(now, episode({ intent: 'surge' }))).toBe(true);
    expect(replacementDone(episode({ surgeStartedAt: 't' }), undefined)).toBe(true);
    // A drain confirmed before replacedAt existed asked in that invocation.
    expect(replacementDone(now, episode({ drainedAt: 't' }))).toBe(true);
    // A drain that was not confirmed asked for nothing: its redelivery asks.
    expect(replacementDone(now, episode({}))).toBe(false);
    expect(replacementDone(episode({ replacedAt: 't' }), episode({ drainedAt: 't' }))).toBe(true);
    expect(replacementDone(episode({ replacementOwedAt: 't' }), episode({ drainedAt: 't' }))).toBe(false);
    // Opened since replacements are recorded: only replacedAt (or a surge's start) says so.
    const recorded = episode({ recordVersion: 2 });
    expect(replacementDone(recorded, episode({ recordVersion: 2, intent: 'surge' }))).toBe(false);
    expect(replacementDone(recorded, episode({ recordVersion: 2, drainedAt: 't' }))).toBe(false);
    expect(replacementDone(episode({ recordVersion: 2, replacedAt: 't' }), undefined)).toBe(true);
  });

  it('are not complete while the alert is owed, so a redelivery announces it', () => {
    expect(isComplete(episode({ drainedAt: 't' }))).toBe(false);
    expect(isComplete(episode({ intent: 'surge', surgeStartedAt: 't' }))).toBe(false);
    expect(isComplete(episode({}))).toBe(false);
  });
});
