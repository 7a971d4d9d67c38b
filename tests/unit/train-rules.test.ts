// The release train's rules on their own: the green-task limit and where a service fits, when the
// line stops, how long a waiting service waits, what a rollout's end means, the train in words,
// and which DynamoDB refusals are conflicts to try again.
import { describe, expect, it } from 'vitest';
import {
  isWriteConflict,
  type TrainRecord,
  type TrainServiceRecord,
} from '../../functions/shared/trains/record.ts';
import {
  admissionRoom,
  admissionWaitSeconds,
  budgetStopReason,
  finalStatus,
  greenTaskLimit,
  rolloutEnd,
  summarizeTrain,
} from '../../functions/train-step/rules.ts';

describe('the budget', () => {
  it('limits green to a share of the cluster, rounding down, and fits a service by its tasks', () => {
    expect(greenTaskLimit(14, { maxGreenTaskPercent: 30 })).toBe(4);
    expect(greenTaskLimit(53, { maxGreenTaskPercent: 25 })).toBe(13);
    expect(admissionRoom(4, 2)).toEqual({ room: 2, alone: false });
    expect(admissionRoom(4, 4)).toEqual({ room: 0, alone: false });
    // Larger than the limit by itself: it still rolls out, alone in its cluster.
    expect(admissionRoom(3, 4)).toEqual({ room: 0, alone: true });
  });

  it('stops the line at one failure more than it tolerates', () => {
    expect(budgetStopReason(0, { maxFailedServices: 0 })).toBeUndefined();
    expect(budgetStopReason(1, { maxFailedServices: 0 })).toBe('1 service failed; the train tolerates 0');
    expect(budgetStopReason(2, { maxFailedServices: 2 })).toBeUndefined();
    expect(budgetStopReason(3, { maxFailedServices: 2 })).toBe('3 services failed; the train tolerates 2');
  });

  it('backs off a waiting service: half of what it waited, from 1 to 10 minutes', () => {
    expect(admissionWaitSeconds(0)).toBe(60);
    expect(admissionWaitSeconds(4 * 60_000)).toBe(120);
    expect(admissionWaitSeconds(3 * 3_600_000)).toBe(600);
    // A 45-minute wait is a handful of looks, each a few events of the train's history.
    let waited = 0;
    let looks = 0;
    while (waited < 45 * 60_000) {
      waited += admissionWaitSeconds(waited) * 1000;
      looks++;
    }
    expect(looks).toBe(11);
  });
});

describe("a rollout's end", () => {
  it("reads the nested execution's own error out of States.TaskFailed", () => {
    const cause = JSON.stringify({
      Status: 'FAILED',
      Error: 'RolledBack',
      Cause: 'step 1 at 10% green: fail; green 5xx rate 12.00% is over its limit',
    });
    expect(rolloutEnd({ Error: 'States.TaskFailed', Cause: cause })).toEqual({
      phase: 'failed',
      error: 'RolledBack',
      reason: 'step 1 at 10% green: fail; green 5xx rate 12.00% is over its limit',
    });
    expect(rolloutEnd(undefined)).toEqual({ phase: 'succeeded' });
    // A failure of the task itself, and a Lambda error's message.
    expect(rolloutEnd({ Error: 'States.Timeout' })).toEqual({
      phase: 'failed',
      error: 'States.Timeout',
      reason: 'States.Timeout',
    });
    expect(
      rolloutEnd({
        Error: 'StepFunctions.ExecutionLimitExceededException',
        Cause: JSON.stringify({ errorMessage: 'too many' }),
      }),
    ).toMatchObject({ reason: 'too many' });
  });
});

describe('the train in words', () => {
  const record = {
    id: 'train/t',
    name: 'friday',
    status: 'stopping',
    stop: { reason: 'budget spent: 1 service failed; the train tolerates 0', by: 'budget', at: '' },
    waves: [
      { name: 'wave 1', services: ['web/api', 'web/cart'] },
      { name: 'wave 2', services: ['web/orders'] },
    ],
  } as unknown as TrainRecord;
  const services = [
    { id: 'train/t/0.0', phase: 'succeeded' },
    { id: 'train/t/0.1', phase: 'failed', error: 'RolledBack' },
  ] as TrainServiceRecord[];

  it('says how it ended, wave by wave', () => {
    const status = finalStatus(record, false);
    expect(status).toBe('stopped');
    expect(finalStatus({ status: 'running' }, false)).toBe('completed');
    expect(finalStatus({ status: 'running' }, true)).toBe('failed');
    const s = summarizeTrain(record, services, status);
    expect(s).toMatchObject({
      severity: 'critical',
      title: 'release train friday stopped: budget spent: 1 service failed; the train tolerates 0',
      summary: '1 of 3 services rolled out, 1 failed, 1 not started',
      waves: ['wave 1: web/api succeeded, web/cart failed (RolledBack)', 'wave 2: web/orders not started'],
    });
    expect(
      summarizeTrain({ ...record, stop: undefined } as TrainRecord, services, 'completed'),
    ).toMatchObject({
      severity: 'warning',
      title: 'release train friday completed with failures within its budget',
    });
  });
});

describe('conflicts', () => {
  it('are refusals of a write in flight, not of a condition', () => {
    expect(isWriteConflict({ name: 'TransactionConflictException' })).toBe(true);
    expect(
      isWriteConflict({
        name: 'TransactionCanceledException',
        CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
      }),
    ).toBe(true);
    expect(
      isWriteConflict({
        name: 'TransactionCanceledException',
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    ).toBe(false);
    expect(isWriteConflict({ name: 'ConditionalCheckFailedException' })).toBe(false);
  });
});
