// The rollout record keeps one verdict per bake: an analysis step retried after its append (a
// later call of the step failed, and Step Functions runs the step again) appends nothing more,
// and the rest of its update still applies.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/shared/dynamo.ts';
import {
  getRolloutRecord,
  rolloutRecordId,
  updateRolloutRecord,
  type VerdictSummary,
} from '../../functions/shared/rollouts/record.ts';
import { createTable, useEmulator } from '../support/emulator.ts';

useEmulator();
const TABLE = 'operations';
const key = { cluster: 'web', service: 'api', execution: 'arn:aws:states:us-east-1:1:execution:r:one' };
const clock = { now: () => Date.parse('2026-12-04T12:00:00Z') };

beforeAll(async () => {
  await createTable(TABLE);
  await documentClient().send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        id: rolloutRecordId(key.cluster, key.service),
        execution: key.execution,
        phase: 'baking',
        verdicts: [],
      },
    }),
  );
});

const verdict = (step: number, name: string, at: string): VerdictSummary => ({
  step,
  weight: 10,
  verdict: name,
  reasons: [],
  at,
});

describe('the rollout record', () => {
  it('appends one verdict per bake, however often its analysis runs', async () => {
    const db = documentClient();
    const held = { set: { phase: 'paused' as const }, verdictKey: '0@2026-12-04T11:55:00.000Z' };
    expect(
      await updateRolloutRecord(db, TABLE, clock, key, { ...held, appendVerdict: verdict(0, 'paused', 'a') }),
    ).toBe(true);
    // The same bake analysed again, later: no second verdict, the phase still set.
    expect(
      await updateRolloutRecord(db, TABLE, clock, key, {
        set: { phase: 'baking' },
        verdictKey: held.verdictKey,
        appendVerdict: verdict(0, 'paused', 'b'),
      }),
    ).toBe(true);
    // The bake after the hold, and the next step's: each appended.
    await updateRolloutRecord(db, TABLE, clock, key, {
      verdictKey: '0@2026-12-04T12:00:00.000Z',
      appendVerdict: verdict(0, 'pass', 'c'),
    });
    await updateRolloutRecord(db, TABLE, clock, key, {
      verdictKey: '1@2026-12-04T12:05:00.000Z',
      appendVerdict: verdict(1, 'pass', 'd'),
    });
    const record = await getRolloutRecord(db, TABLE, key.cluster, key.service);
    expect(record?.verdicts.map((v) => [v.verdict, v.at])).toEqual([
      ['paused', 'a'],
      ['pass', 'c'],
      ['pass', 'd'],
    ]);
    expect(record?.phase).toBe('baking');
    // Another execution's update still changes nothing.
    expect(
      await updateRolloutRecord(
        db,
        TABLE,
        clock,
        { ...key, execution: 'other' },
        {
          verdictKey: '2@x',
          appendVerdict: verdict(2, 'pass', 'e'),
        },
      ),
    ).toBe(false);
  });
});
