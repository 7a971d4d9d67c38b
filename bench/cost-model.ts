// The control plane's monthly AWS bill as pure arithmetic: list prices, usage (measured per event
// by bench/suites/cost.ts, fixed per month from the synthesized template), and the sums. No I/O,
// so tests/bench/cost-model.test.ts checks the math without an emulator.

/** When the prices below were written down (from memory of the public pages: no network here). */
export const PRICES_TAKEN_ON = '2026-12-02';
export const PRICE_REGION = 'us-east-1';

export interface Price {
  /** USD per `per` units. */
  usd: number;
  per: number;
  unit: string;
  url: string;
}

/** us-east-1 list prices, free tiers excluded. Re-check each against its page before relying on it. */
export const PRICES = {
  // Standard workflows.
  transitions: {
    usd: 0.025,
    per: 1_000,
    unit: 'state transitions',
    url: 'https://aws.amazon.com/step-functions/pricing/',
  },
  lambdaRequests: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'requests',
    url: 'https://aws.amazon.com/lambda/pricing/',
  },
  // Arm64; x86_64 is $0.0000166667.
  lambdaGbSeconds: {
    usd: 0.0000133334,
    per: 1,
    unit: 'GB-second (arm64)',
    url: 'https://aws.amazon.com/lambda/pricing/',
  },
  // Standard queues; each 64 KB chunk is a request.
  sqsRequests: {
    usd: 0.4,
    per: 1_000_000,
    unit: 'requests (64 KB chunks)',
    url: 'https://aws.amazon.com/sqs/pricing/',
  },
  // Standard topics; deliveries to SQS are free.
  snsPublishes: {
    usd: 0.5,
    per: 1_000_000,
    unit: 'publishes (64 KB chunks)',
    url: 'https://aws.amazon.com/sns/pricing/',
  },
  // After the 1 Nov 2024 cut; was $1.25.
  dynamoWriteUnits: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'write request units',
    url: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  // After the 1 Nov 2024 cut; was $0.25.
  dynamoReadUnits: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'read request units',
    url: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  // Table storage $0.25, PITR $0.20 per GB-month.
  dynamoStorageGb: {
    usd: 0.45,
    per: 1,
    unit: 'GB-month (storage + PITR)',
    url: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  kmsKeys: { usd: 1, per: 1, unit: 'key-month', url: 'https://aws.amazon.com/kms/pricing/' },
  kmsRequests: { usd: 0.03, per: 10_000, unit: 'requests', url: 'https://aws.amazon.com/kms/pricing/' },
  // Standard resolution, per metric in the alarm.
  alarmMetrics: {
    usd: 0.1,
    per: 1,
    unit: 'alarm metric-month',
    url: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  // Custom metrics (the EMF outcome metrics), per metric and dimension set, first 10,000.
  customMetrics: {
    usd: 0.3,
    per: 1,
    unit: 'metric-month',
    url: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  dashboards: {
    usd: 3,
    per: 1,
    unit: 'dashboard-month',
    url: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  // Standard log class.
  logsIngestedGb: {
    usd: 0.5,
    per: 1,
    unit: 'GB ingested',
    url: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  logsStoredGb: {
    usd: 0.03,
    per: 1,
    unit: 'GB-month stored',
    url: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  // GetMetricData, per metric requested.
  metricsRequested: {
    usd: 0.01,
    per: 1_000,
    unit: 'metrics requested',
    url: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  traces: { usd: 5, per: 1_000_000, unit: 'traces recorded', url: 'https://aws.amazon.com/xray/pricing/' },
  // Scheduler.
  schedulerInvocations: {
    usd: 1,
    per: 1_000_000,
    unit: 'scheduler invocations',
    url: 'https://aws.amazon.com/eventbridge/pricing/',
  },
} as const satisfies Record<string, Price>;

/** DynamoDB on-demand before the November 2024 reduction, for the note that says which was used. */
export const DYNAMODB_BEFORE_NOV_2024 = { writeUnits: 1.25, readUnits: 0.25 } as const;

export type UsageKey = keyof typeof PRICES;
export type Usage = Record<UsageKey, number>;

export const COMPONENTS: { key: UsageKey; label: string }[] = [
  { key: 'transitions', label: 'Step Functions state transitions' },
  { key: 'lambdaRequests', label: 'Lambda requests' },
  { key: 'lambdaGbSeconds', label: 'Lambda compute (incl. INIT)' },
  { key: 'sqsRequests', label: 'SQS requests' },
  { key: 'snsPublishes', label: 'SNS publishes' },
  { key: 'dynamoWriteUnits', label: 'DynamoDB writes' },
  { key: 'dynamoReadUnits', label: 'DynamoDB reads' },
  { key: 'dynamoStorageGb', label: 'DynamoDB storage + PITR' },
  { key: 'kmsKeys', label: 'KMS keys' },
  { key: 'kmsRequests', label: 'KMS requests' },
  { key: 'alarmMetrics', label: 'CloudWatch alarms' },
  { key: 'customMetrics', label: 'CloudWatch custom metrics (outcome metrics)' },
  { key: 'dashboards', label: 'CloudWatch dashboards' },
  { key: 'logsIngestedGb', label: 'CloudWatch Logs ingestion' },
  { key: 'logsStoredGb', label: 'CloudWatch Logs storage' },
  { key: 'metricsRequested', label: 'CloudWatch GetMetricData' },
  { key: 'traces', label: 'X-Ray traces' },
  { key: 'schedulerInvocations', label: 'EventBridge Scheduler' },
];

/** 730 hours, as AWS prices a month. */
export const DAYS_PER_MONTH = 730 / 24;
export const WEEKDAYS_PER_MONTH = (DAYS_PER_MONTH * 5) / 7;

export function emptyUsage(): Usage {
  return Object.fromEntries(COMPONENTS.map((c) => [c.key, 0])) as Usage;
}

export function addUsage(...usages: Partial<Usage>[]): Usage {
  const out = emptyUsage();
  for (const u of usages) for (const c of COMPONENTS) out[c.key] += u[c.key] ?? 0;
  return out;
}

export function scaleUsage(u: Partial<Usage>, factor: number): Usage {
  const out = emptyUsage();
  for (const c of COMPONENTS) out[c.key] = (u[c.key] ?? 0) * factor;
  return out;
}

export function priceOf(key: UsageKey, quantity: number): number {
  const p: Price = PRICES[key];
  return (quantity * p.usd) / p.per;
}

export function costOf(u: Partial<Usage>): Usage {
  const out = emptyUsage();
  for (const c of COMPONENTS) out[c.key] = priceOf(c.key, u[c.key] ?? 0);
  return out;
}

export function total(costs: Partial<Usage>): number {
  return COMPONENTS.reduce((sum, c) => sum + (costs[c.key] ?? 0), 0);
}

// ---------------------------------------------------------------------------------------------
// Unit rules.

/** Lambda bills each invocation's duration rounded up to the millisecond. */
export function lambdaGbSeconds(memoryMb: number, durationMs: number): number {
  return (memoryMb / 1024) * (Math.ceil(durationMs) / 1000);
}

/** SQS and SNS bill every 64 KB of a request's payload as one request. */
export function chunks64k(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 65_536));
}

/** A standard-resolution alarm costs per metric it evaluates (metric math: per MetricStat). */
export function alarmMetricCount(properties: { Metrics?: { MetricStat?: unknown }[] }): number {
  const metrics = properties.Metrics;
  if (!metrics || metrics.length === 0) return 1;
  return metrics.filter((m) => m.MetricStat !== undefined).length;
}

/**
 * Empty receives of an idle SQS event source mapping: Lambda long-polls (20 s) with several
 * pollers even when nothing arrives. Five pollers is the commonly observed idle count, not a
 * documented figure.
 */
export const IDLE_POLLERS_PER_MAPPING = 5;
export const LONG_POLL_SECONDS = 20;
export function idlePollingRequests(mappings: number, days = DAYS_PER_MONTH): number {
  return (mappings * IDLE_POLLERS_PER_MAPPING * days * 86_400) / LONG_POLL_SECONDS;
}

/** Logs kept `retentionDays` hold that many days of ingestion once the group is that old. */
export function steadyStateStoredGb(ingestedGbPerMonth: number, retentionDays: number): number {
  return (ingestedGbPerMonth * retentionDays) / DAYS_PER_MONTH;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB request units from the requests and responses themselves.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const TYPE_TAGS = new Set(['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL']);

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** DynamoDB's size of a number: about one byte per two significant digits, plus one. */
function numberBytes(n: string): number {
  const digits = n.replace(/^[-+]?0*/, '').replace(/[.eE].*$/, '').length + (n.split('.')[1]?.length ?? 0);
  return Math.ceil(Math.max(1, digits) / 2) + 1;
}

function isAttributeValue(v: unknown): v is Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && TYPE_TAGS.has(keys[0] as string);
}

/** Size of one marshalled AttributeValue ({ "S": "x" }, { "M": {...} }, ...). */
export function attributeValueBytes(v: Record<string, Json>): number {
  const [tag, value] = Object.entries(v)[0] as [string, Json];
  switch (tag) {
    case 'S':
      return utf8(String(value));
    case 'N':
      return numberBytes(String(value));
    case 'B':
      return Buffer.from(String(value), 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (value as string[]).reduce((n, s) => n + utf8(s), 0);
    case 'NS':
      return (value as string[]).reduce((n, s) => n + numberBytes(s), 0);
    case 'BS':
      return (value as string[]).reduce((n, s) => n + Buffer.from(s, 'base64').length, 0);
    case 'M':
      return 3 + itemBytes(value as Record<string, Json>);
    case 'L':
      return 3 + (value as Json[]).reduce<number>((n, e) => n + 1 + valueBytes(e), 0);
    default:
      return 0;
  }
}

/** Size of a plain (unmarshalled) value, by the same rules. */
function plainBytes(v: Json): number {
  if (v === null || typeof v === 'boolean') return 1;
  if (typeof v === 'number') return numberBytes(String(v));
  if (typeof v === 'string') return utf8(v);
  if (Array.isArray(v)) return 3 + v.reduce<number>((n, e) => n + 1 + valueBytes(e), 0);
  return 3 + itemBytes(v);
}

const valueBytes = (v: Json): number => (isAttributeValue(v) ? attributeValueBytes(v) : plainBytes(v));

/**
 * An item's size as DynamoDB bills it: attribute names plus values. Takes marshalled items (as
 * on the wire) and unmarshalled ones (as the document client returns them).
 */
export function itemBytes(item: Record<string, Json>): number {
  return Object.entries(item).reduce((n, [name, v]) => n + utf8(name) + valueBytes(v), 0);
}

/** One write: 1 WRU per KB (rounded up), twice that in a transaction. */
export function writeUnits(bytes: number, transactional = false): number {
  return Math.max(1, Math.ceil(bytes / 1024)) * (transactional ? 2 : 1);
}

/** One read: 1 RRU per 4 KB strongly consistent, half eventually consistent, twice in a transaction. */
export function readUnits(
  bytes: number,
  opts: { consistent?: boolean; transactional?: boolean } = {},
): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  if (opts.transactional) return units * 2;
  return opts.consistent ? units : units / 2;
}

export const ITEM_OVERHEAD_BYTES = 100;

export interface DynamoUnits {
  wru: number;
  rru: number;
  /** Items written or read. */
  items: number;
  /** Bytes of items put, with the per-item overhead (storage growth, before any TTL expires them). */
  bytesPut: number;
  largestItemBytes: number;
}

type Obj = Record<string, Json>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/**
 * The request units of one DynamoDB call, from its JSON request body and its (parsed) output.
 * UpdateItem and DeleteItem are sized from the request (key and new values): a lower bound, which
 * rounds to the same unit for items under 1 KB.
 */
export function dynamoUnits(operation: string, request: unknown, output: unknown): DynamoUnits {
  const req = obj(request);
  const out = obj(output);
  const u: DynamoUnits = { wru: 0, rru: 0, items: 0, bytesPut: 0, largestItemBytes: 0 };
  const wrote = (bytes: number, tx = false, put = false) => {
    u.wru += writeUnits(bytes, tx);
    u.items++;
    // DynamoDB stores 100 bytes of overhead per item on top of its attributes.
    if (put) u.bytesPut += bytes + ITEM_OVERHEAD_BYTES;
    u.largestItemBytes = Math.max(u.largestItemBytes, bytes);
  };
  const updateBytes = (r: Obj) => itemBytes(obj(r.Key)) + itemBytes(obj(r.ExpressionAttributeValues));
  const consistent = req.ConsistentRead === true;
  switch (operation) {
    case 'PutItem':
      wrote(itemBytes(obj(req.Item)), false, true);
      break;
    case 'UpdateItem':
      wrote(updateBytes(req));
      break;
    case 'DeleteItem':
      wrote(itemBytes(obj(req.Key)));
      break;
    case 'BatchWriteItem':
      for (const requests of Object.values(obj(req.RequestItems)))
        for (const r of list(requests)) {
          const put = obj(obj(r).PutRequest);
          if (put.Item) wrote(itemBytes(obj(put.Item)), false, true);
          else wrote(itemBytes(obj(obj(obj(r).DeleteRequest).Key)));
        }
      break;
    case 'TransactWriteItems':
      for (const t of list(req.TransactItems)) {
        const op = obj(t);
        if (op.Put) wrote(itemBytes(obj(obj(op.Put).Item)), true, true);
        else if (op.Update) wrote(updateBytes(obj(op.Update)), true);
        else if (op.Delete) wrote(itemBytes(obj(obj(op.Delete).Key)), true);
        else if (op.ConditionCheck) wrote(itemBytes(obj(obj(op.ConditionCheck).Key)), true);
      }
      break;
    case 'GetItem': {
      const bytes = out.Item ? itemBytes(obj(out.Item)) : 0;
      u.rru += readUnits(bytes, { consistent });
      u.items += out.Item ? 1 : 0;
      u.largestItemBytes = bytes;
      break;
    }
    case 'Query':
    case 'Scan': {
      const sizes = list(out.Items).map((i) => itemBytes(obj(i)));
      u.rru += readUnits(
        sizes.reduce((a, b) => a + b, 0),
        { consistent },
      );
      u.items += sizes.length;
      u.largestItemBytes = Math.max(0, ...sizes);
      break;
    }
    case 'BatchGetItem':
      for (const [table, spec] of Object.entries(obj(req.RequestItems))) {
        const found = list(obj(out.Responses)[table]).map((i) => itemBytes(obj(i)));
        const keys = list(obj(spec).Keys).length;
        const tableConsistent = obj(spec).ConsistentRead === true;
        for (const bytes of found) u.rru += readUnits(bytes, { consistent: tableConsistent });
        // A key that is not there still costs the minimum read.
        u.rru += Math.max(0, keys - found.length) * readUnits(0, { consistent: tableConsistent });
        u.items += found.length;
        u.largestItemBytes = Math.max(u.largestItemBytes, ...found);
      }
      break;
    case 'TransactGetItems':
      for (const r of list(obj(out).Responses)) {
        const item = obj(r).Item;
        const bytes = item ? itemBytes(obj(item)) : 0;
        u.rru += readUnits(bytes, { transactional: true });
        u.items++;
      }
      break;
    default:
      break;
  }
  return u;
}

// ---------------------------------------------------------------------------------------------
// Step Functions logs.

/**
 * History events of a Standard execution as CloudWatch Logs gets them at level ALL: started and
 * ended, entered and exited per state, and scheduled, started and succeeded per Task (again per
 * retry). The local runner reports states entered; this maps them onto AWS's history.
 */
export function historyEvents(stateTypes: readonly string[], retries = 0): number {
  return 2 + stateTypes.reduce((n, t) => n + (t === 'Task' ? 5 : 2), 0) + 3 * retries;
}

/** An execution history event with IncludeExecutionData false: ids, type, timestamps, ARN, name. */
export const SFN_LOG_EVENT_BYTES = 400;
/** START, END and REPORT lines Lambda writes per invocation (the REPORT line with X-Ray fields). */
export const LAMBDA_PLATFORM_LOG_BYTES = 350;

// ---------------------------------------------------------------------------------------------
// The bill.

export interface EventKind {
  name: string;
  /** How often it happens in a month at idle (schedules) and at the activity level. */
  idlePerMonth: number;
  activePerMonth: number;
  perEvent: Usage;
}

export interface Bill {
  idle: { usage: Usage; cost: Usage; total: number };
  activity: { usage: Usage; cost: Usage; total: number };
  /** Each kind's share of the activity total, beyond the fixed costs. */
  byKind: { name: string; perEventCost: number; monthlyCost: number; idleMonthlyCost: number }[];
}

export function monthlyBill(fixed: Usage, kinds: readonly EventKind[]): Bill {
  const idleUsage = addUsage(fixed, ...kinds.map((k) => scaleUsage(k.perEvent, k.idlePerMonth)));
  const activeUsage = addUsage(fixed, ...kinds.map((k) => scaleUsage(k.perEvent, k.activePerMonth)));
  const idleCost = costOf(idleUsage);
  const activeCost = costOf(activeUsage);
  return {
    idle: { usage: idleUsage, cost: idleCost, total: total(idleCost) },
    activity: { usage: activeUsage, cost: activeCost, total: total(activeCost) },
    byKind: kinds.map((k) => {
      const perEventCost = total(costOf(k.perEvent));
      return {
        name: k.name,
        perEventCost,
        monthlyCost: perEventCost * k.activePerMonth,
        idleMonthlyCost: perEventCost * k.idlePerMonth,
      };
    }),
  };
}

/** Checks that the bill adds up, each with the two sides it compared. */
export function billChecks(fixed: Usage, kinds: readonly EventKind[], bill: Bill) {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  const fixedTotal = total(costOf(fixed));
  const activityFromParts = fixedTotal + bill.byKind.reduce((n, k) => n + k.monthlyCost, 0);
  const idleFromParts = fixedTotal + bill.byKind.reduce((n, k) => n + k.idleMonthlyCost, 0);
  const recomputed = COMPONENTS.every((c) =>
    close(bill.activity.cost[c.key], (bill.activity.usage[c.key] * PRICES[c.key].usd) / PRICES[c.key].per),
  );
  return [
    {
      name: 'idle total is the sum of its components',
      ok: close(
        bill.idle.total,
        Object.values(bill.idle.cost).reduce((a, b) => a + b, 0),
      ),
      detail: `${bill.idle.total}`,
    },
    {
      name: 'activity total is the sum of its components',
      ok: close(
        bill.activity.total,
        Object.values(bill.activity.cost).reduce((a, b) => a + b, 0),
      ),
      detail: `${bill.activity.total}`,
    },
    {
      name: 'activity total = fixed costs + each kind (cost per event x events per month)',
      ok: close(bill.activity.total, activityFromParts),
      detail: `${bill.activity.total} vs ${activityFromParts}`,
    },
    {
      name: 'idle total = fixed costs + scheduled runs',
      ok: close(bill.idle.total, idleFromParts),
      detail: `${bill.idle.total} vs ${idleFromParts}`,
    },
    {
      name: 'every component is its quantity x unit price',
      ok: recomputed,
    },
    {
      name: 'no component costs less at the activity level than at idle',
      ok: COMPONENTS.every((c) => bill.activity.cost[c.key] + 1e-12 >= bill.idle.cost[c.key]),
    },
    {
      name: 'every activity runs at least as often as at idle',
      ok: kinds.every((k) => k.activePerMonth >= k.idlePerMonth),
    },
  ];
}

/** Dollars with enough digits to see a line that costs a fraction of a cent. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (Math.abs(usd) >= 100) return `$${usd.toFixed(0)}`;
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  if (Math.abs(usd) >= 0.01) return `$${usd.toFixed(3)}`;
  return `$${usd.toPrecision(2)}`;
}

/** A unit price as people read it: "$0.025 per 1,000 state transitions". */
export function formatPrice(p: Price): string {
  const per = p.per === 1 ? 'per' : `per ${p.per.toLocaleString('en-US')}`;
  return `$${p.usd} ${per} ${p.unit}`;
}

/** A quantity with thousands separators and at most 3 significant decimals below 10. */
export function formatQuantity(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 1) return n.toFixed(1).replace(/\.0$/, '');
  return n.toPrecision(2);
}
