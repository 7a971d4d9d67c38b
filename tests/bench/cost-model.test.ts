// The cost bench's arithmetic (bench/cost-model.ts), checked without an emulator: unit prices,
// AWS's rounding rules, DynamoDB request units from requests and responses, and that the monthly
// bill adds up from its parts.
import { describe, expect, it } from 'vitest';
import {
  addUsage,
  alarmMetricCount,
  billChecks,
  COMPONENTS,
  chunks64k,
  costOf,
  DAYS_PER_MONTH,
  dynamoUnits,
  type EventKind,
  emptyUsage,
  formatPrice,
  formatUsd,
  historyEvents,
  ITEM_OVERHEAD_BYTES,
  idlePollingRequests,
  itemBytes,
  lambdaGbSeconds,
  monthlyBill,
  PRICES,
  priceOf,
  readUnits,
  scaleUsage,
  steadyStateStoredGb,
  total,
  type Usage,
  WEEKDAYS_PER_MONTH,
  writeUnits,
} from '../../bench/cost-model.ts';

const usage = (u: Partial<Usage>): Usage => ({ ...emptyUsage(), ...u });

describe('prices', () => {
  it('prices each component per its unit', () => {
    expect(priceOf('transitions', 1_000)).toBeCloseTo(0.025, 12);
    expect(priceOf('lambdaRequests', 1_000_000)).toBeCloseTo(0.2, 12);
    expect(priceOf('sqsRequests', 2_500_000)).toBeCloseTo(1, 12);
    expect(priceOf('dynamoWriteUnits', 1_000_000)).toBeCloseTo(0.625, 12);
    expect(priceOf('dynamoReadUnits', 1_000_000)).toBeCloseTo(0.125, 12);
    expect(priceOf('kmsRequests', 10_000)).toBeCloseTo(0.03, 12);
    expect(priceOf('alarmMetrics', 31)).toBeCloseTo(3.1, 12);
  });

  it('names a pricing page for every component', () => {
    for (const c of COMPONENTS)
      expect(PRICES[c.key].url).toMatch(/^https:\/\/aws\.amazon\.com\/.+\/pricing\//);
    expect(formatPrice(PRICES.transitions)).toBe('$0.025 per 1,000 state transitions');
  });
});

describe('rounding rules', () => {
  it('bills Lambda by the millisecond, rounded up, at the memory size', () => {
    expect(lambdaGbSeconds(1024, 1000)).toBe(1);
    expect(lambdaGbSeconds(512, 10.2)).toBeCloseTo(0.0055, 12);
    expect(lambdaGbSeconds(256, 0.1)).toBeCloseTo(0.00025, 12);
  });

  it('counts SQS and SNS payloads in 64 KB chunks, at least one', () => {
    expect(chunks64k(0)).toBe(1);
    expect(chunks64k(65_536)).toBe(1);
    expect(chunks64k(65_537)).toBe(2);
    expect(chunks64k(256 * 1024)).toBe(4);
  });

  it('prices a metric-math alarm per metric it reads, a plain alarm as one', () => {
    expect(alarmMetricCount({})).toBe(1);
    expect(
      alarmMetricCount({ Metrics: [{}, { MetricStat: {} }, { MetricStat: {} }, { MetricStat: {} }] }),
    ).toBe(3);
  });

  it('derives idle polling and steady-state log storage from the month', () => {
    // 4 mappings x 5 pollers x one 20 s long poll = 60 requests a minute.
    expect(idlePollingRequests(4)).toBeCloseTo(60 * 60 * 730, 6);
    expect(steadyStateStoredGb(1, DAYS_PER_MONTH)).toBeCloseTo(1, 12);
    expect(steadyStateStoredGb(1, 90)).toBeCloseTo(90 / DAYS_PER_MONTH, 12);
    expect(WEEKDAYS_PER_MONTH).toBeCloseTo((730 / 24) * (5 / 7), 12);
  });

  it('maps the states a run entered onto Step Functions history events', () => {
    expect(historyEvents([])).toBe(2);
    expect(historyEvents(['Task', 'Choice', 'Wait'])).toBe(2 + 5 + 2 + 2);
    expect(historyEvents(['Task'], 2)).toBe(2 + 5 + 6);
  });
});

describe('DynamoDB request units', () => {
  it('sizes items by attribute names and values, marshalled or not', () => {
    expect(itemBytes({ pk: { S: 'abc' } })).toBe(5);
    expect(itemBytes({ pk: 'abc' })).toBe(5);
    // 12345: 5 significant digits -> 3 bytes + 1.
    expect(itemBytes({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemBytes({ n: 12345 })).toBe(1 + 4);
    expect(itemBytes({ ok: { BOOL: true }, gone: { NULL: true } })).toBe(2 + 1 + 4 + 1);
    expect(itemBytes({ m: { M: { a: { S: 'x' } } } })).toBe(1 + 3 + 2);
    expect(itemBytes({ l: { L: [{ S: 'x' }, { N: '1' }] } })).toBe(1 + 3 + (1 + 1) + (1 + 2));
    expect(itemBytes({ m: { a: 'x' } })).toBe(1 + 3 + 2);
  });

  it('rounds writes up per KB and reads per 4 KB', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(writeUnits(10, true)).toBe(2);
    expect(readUnits(4096, { consistent: true })).toBe(1);
    expect(readUnits(4096)).toBe(0.5);
    expect(readUnits(4097)).toBe(1);
    expect(readUnits(10, { transactional: true })).toBe(2);
  });

  it('prices each write of a call, batch items one by one', () => {
    const put = dynamoUnits('PutItem', { Item: { pk: { S: 'a'.repeat(1100) } } }, {});
    expect(put).toMatchObject({ wru: 2, rru: 0, items: 1, bytesPut: 1102 + ITEM_OVERHEAD_BYTES });
    const update = dynamoUnits(
      'UpdateItem',
      { Key: { pk: { S: 'k' } }, ExpressionAttributeValues: { ':v': { N: '1' } } },
      {},
    );
    expect(update).toMatchObject({ wru: 1, bytesPut: 0 });
    const batch = dynamoUnits(
      'BatchWriteItem',
      {
        RequestItems: {
          journal: [
            { PutRequest: { Item: { pk: { S: 'a' } } } },
            { PutRequest: { Item: { pk: { S: 'b' } } } },
            { DeleteRequest: { Key: { pk: { S: 'c' } } } },
          ],
        },
      },
      {},
    );
    expect(batch).toMatchObject({ wru: 3, items: 3 });
    expect(
      dynamoUnits(
        'TransactWriteItems',
        { TransactItems: [{ Put: { Item: {} } }, { ConditionCheck: { Key: {} } }] },
        {},
      ).wru,
    ).toBe(4);
  });

  it('prices reads by what came back, with the minimum for a miss', () => {
    expect(dynamoUnits('GetItem', { ConsistentRead: true }, {}).rru).toBe(1);
    expect(dynamoUnits('GetItem', {}, { Item: { pk: 'x' } }).rru).toBe(0.5);
    // Query: the sizes of all items are added before rounding.
    const items = Array.from({ length: 3 }, () => ({ d: 'x'.repeat(2000) }));
    expect(dynamoUnits('Query', { ConsistentRead: true }, { Items: items }).rru).toBe(2);
    const batchGet = dynamoUnits(
      'BatchGetItem',
      { RequestItems: { state: { Keys: [{}, {}, {}], ConsistentRead: true } } },
      { Responses: { state: [{ pk: 'a' }, { pk: 'b' }] } },
    );
    expect(batchGet).toMatchObject({ rru: 3, items: 2 });
  });

  it('leaves other operations unpriced', () => {
    expect(dynamoUnits('DescribeTable', {}, {})).toMatchObject({ wru: 0, rru: 0 });
  });
});

describe('the monthly bill', () => {
  const fixed = usage({ kmsKeys: 1, alarmMetrics: 31, sqsRequests: idlePollingRequests(4) });
  const kinds: EventKind[] = [
    {
      name: 'rollout',
      idlePerMonth: 0,
      activePerMonth: 20 * DAYS_PER_MONTH,
      perEvent: usage({ transitions: 27, lambdaRequests: 12, lambdaGbSeconds: 1.1, dynamoWriteUnits: 14 }),
    },
    {
      name: 'schedule',
      idlePerMonth: 2 * WEEKDAYS_PER_MONTH,
      activePerMonth: 2 * WEEKDAYS_PER_MONTH,
      perEvent: usage({ transitions: 9, schedulerInvocations: 1, lambdaRequests: 4 }),
    },
  ];

  it('adds fixed costs and each kind of event, at idle and at the activity level', () => {
    const bill = monthlyBill(fixed, kinds);
    const fixedCost = 1 + 3.1 + priceOf('sqsRequests', idlePollingRequests(4));
    const schedule = (9 * 0.025) / 1000 + 1 / 1e6 + (4 * 0.2) / 1e6;
    const rollout = (27 * 0.025) / 1000 + (12 * 0.2) / 1e6 + 1.1 * 0.0000133334 + (14 * 0.625) / 1e6;
    expect(bill.idle.total).toBeCloseTo(fixedCost + schedule * 2 * WEEKDAYS_PER_MONTH, 9);
    expect(bill.activity.total).toBeCloseTo(bill.idle.total + rollout * 20 * DAYS_PER_MONTH, 9);
    expect(bill.byKind.map((k) => k.name)).toEqual(['rollout', 'schedule']);
    expect(bill.byKind[0]?.perEventCost).toBeCloseTo(rollout, 12);
    expect(bill.byKind[0]?.idleMonthlyCost).toBe(0);
  });

  it('passes its own checks, and fails them when a part is left out', () => {
    const bill = monthlyBill(fixed, kinds);
    expect(billChecks(fixed, kinds, bill).filter((c) => !c.ok)).toEqual([]);
    const tampered = { ...bill, activity: { ...bill.activity, total: bill.activity.total + 0.01 } };
    const failed = billChecks(fixed, kinds, tampered).filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toContain(
      'activity total = fixed costs + each kind (cost per event x events per month)',
    );
  });

  it('adds and scales usage component by component', () => {
    const a = usage({ transitions: 2, sqsRequests: 3 });
    const sum = addUsage(a, scaleUsage(a, 2));
    expect(sum.transitions).toBe(6);
    expect(sum.sqsRequests).toBe(9);
    expect(total(costOf(sum))).toBeCloseTo(priceOf('transitions', 6) + priceOf('sqsRequests', 9), 12);
  });

  it('formats dollars so that fractions of a cent stay visible', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(5.1549)).toBe('$5.15');
    expect(formatUsd(0.0834)).toBe('$0.083');
    expect(formatUsd(0.000123)).toBe('$0.00012');
    expect(formatUsd(1234.4)).toBe('$1234');
  });
});
