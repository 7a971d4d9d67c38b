// The pre-scale rule on its own: the fewest tasks to add so the service keeps its healthy count
// through a drain, each candidate checked at its own desired count.
import { describe, expect, it } from 'vitest';
import {
  protectionFor,
  restoredDesiredCount,
  secondsLeft,
} from '../../functions/spot-interruption/protection-rules.ts';

const state = (desired: number, min: number, max: number, running = desired, pending = 0) => ({
  service: 'api',
  desiredCount: desired,
  runningCount: running,
  pendingCount: pending,
  minimumHealthyPercent: min,
  maximumPercent: max,
});
const inTime = { secondsLeft: 100, replacementSeconds: 60 };

describe('how many tasks a drain needs added first', () => {
  it.each([
    // desired, min, max, tasks on the drained instances -> added
    [4, 100, 100, 2, 2], // ECS may neither stop nor replace: all of them
    [4, 100, 200, 2, 0], // it starts replacements first, within 200%
    [4, 50, 200, 1, 0], // it stops and replaces within its limits
    [4, 50, 100, 4, 4], // at 6 the floor rises to 3: two would leave 3, not 4
    [10, 100, 150, 10, 4], // at 14 the ceiling is 21: 4 added and 7 replaced make 11
    [6, 100, 100, 0, 0], // nothing of it on the instance
  ])('desired %i at %i/%i with %i task(s) drained adds %i', (desired, min, max, tasks, added) => {
    expect(protectionFor(state(desired, min, max), tasks, inTime).add).toBe(added);
  });

  it('counts tasks started by an earlier pre-scale toward the maximum, not toward healthy', () => {
    // Another batch raised 6 -> 8 a moment ago: 2 pending, and this batch's 2 need 2 more.
    expect(protectionFor(state(8, 100, 100, 6, 2), 2, inTime).add).toBe(2);
  });

  it('says when the warning leaves too little time, and still adds', () => {
    const late = protectionFor(state(2, 100, 100), 1, { secondsLeft: 10, replacementSeconds: 60 });
    expect(late).toMatchObject({ add: 1, inBudget: false });
    expect(late.why).toContain('replacements need 60 s but 10 s of the warning are left');
    expect(
      protectionFor(state(2, 100, 100), 1, { secondsLeft: undefined, replacementSeconds: 60 }).inBudget,
    ).toBe(true);
  });

  it('takes the time left from the notice, less the margin, only for a warning', () => {
    const notice = '2026-12-06T00:00:00.000Z';
    expect(secondsLeft('warning', notice, Date.parse(notice) + 30_000, 20)).toBe(70);
    expect(secondsLeft('rebalance', notice, Date.parse(notice), 20)).toBeUndefined();
  });
});

describe('what a give-back leaves', () => {
  it.each([
    // now, added, floor -> after
    [6, 2, 4, 4], // what it added
    [5, 2, 4, 4], // a scale-in took one already: never below the floor
    [3, 2, 4, 3], // a scale-in took more: never raised
    [9, 2, 4, 7], // a scale-out since: it stays, ours goes
  ])('desired %i, %i added, floor %i: %i', (now, added, floor, after) => {
    expect(restoredDesiredCount(now, added, floor)).toBe(after);
  });
});
