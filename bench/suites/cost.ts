// The control plane's monthly AWS cost, at idle and at a stated activity level, from numbers
// measured here: each kind of event (a rollout, an alarm remediation, an alarm-driven scale-out,
// a spot interruption, the scheduled scaling runs, a group of alerts) runs once per run on the
// emulator, through the synthesized workflows and the in-process handlers, while a meter counts
// state transitions, Lambda invocations and their durations, SQS, SNS and DynamoDB requests (with
// request units from the requests themselves) and the log bytes the functions write. Fixed costs
// (alarms, keys, idle polling) come from the synthesized prod control-plane template; the prices
// and the arithmetic are in bench/cost-model.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resetClients } from '../../functions/shared/clients.ts';
import { logger } from '../../functions/shared/logger.ts';
import { OUTCOME_METRICS } from '../../functions/shared/metric-names.ts';
import { collectEmf } from '../../local/emf.ts';
import { OBSERVER_ENDPOINT_VAR } from '../../local/observer.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { takeRaisedAlerts } from '../../local/rollouts.ts';
import { captureLogs, GIB, Meter, meterEveryClient, meterInto } from '../cost/metering.ts';
import {
  ACTIVITY,
  alarmScaleOut,
  alertGroup,
  awsEventAlert,
  remediation,
  rollout,
  routerTick,
  scheduledScaling,
  spotInterruption,
  trainService,
} from '../cost/scenarios.ts';
import { openWorld, type World } from '../cost/world.ts';
import {
  billChecks,
  COMPONENTS,
  costOf,
  DAYS_PER_MONTH,
  DYNAMODB_BEFORE_NOV_2024,
  type EventKind,
  emptyUsage,
  formatPrice,
  formatQuantity,
  formatUsd,
  IDLE_POLLERS_PER_MAPPING,
  idlePollingRequests,
  LAMBDA_PLATFORM_LOG_BYTES,
  LONG_POLL_SECONDS,
  lambdaGbSeconds,
  monthlyBill,
  PRICE_REGION,
  PRICES,
  PRICES_TAKEN_ON,
  SFN_LOG_EVENT_BYTES,
  steadyStateStoredGb,
  total,
  type Usage,
  WEEKDAYS_PER_MONTH,
} from '../cost-model.ts';
import { type Cell, median, type SuiteContext, type SuiteResult } from '../run.ts';

export const name = 'cost';
export const description =
  "The control plane's monthly AWS cost (us-east-1 list prices, no free tier) at idle and at a stated activity level, from transitions, invocations, durations, requests and log bytes measured per event on the emulator.";

// ---------------------------------------------------------------------------------------------
// From a meter to usage.

interface Measured {
  usage: Usage;
  meter: Meter;
}

function toUsage(world: World, m: Meter, initMs: Record<string, number>): Measured {
  const memory = (fn: string) => world.facts.memoryMb[fn] ?? world.localFacts.memoryMb[fn] ?? 128;
  let gbSeconds = 0;
  let initGbSeconds = 0;
  let invocations = 0;
  let logBytesByRetention: Record<number, number> = { ...m.sfnLogBytes };
  for (const [fn, use] of Object.entries(m.functions)) {
    invocations += use.invocations;
    for (const ms of use.durationsMs) gbSeconds += lambdaGbSeconds(memory(fn), ms);
    // One cold start per function per event: at these rates instances rarely stay warm.
    initGbSeconds += lambdaGbSeconds(memory(fn), initMs[fn] ?? 0);
    const days = world.facts.functionLogRetentionDays[fn] ?? 90;
    logBytesByRetention = {
      ...logBytesByRetention,
      [days]: (logBytesByRetention[days] ?? 0) + use.logBytes + use.invocations * LAMBDA_PLATFORM_LOG_BYTES,
    };
  }
  const logBytes = Object.values(logBytesByRetention).reduce((a, b) => a + b, 0);
  const storedGb = Object.entries(logBytesByRetention).reduce(
    (n, [days, bytes]) => n + steadyStateStoredGb(bytes / GIB, Number(days)),
    0,
  );
  const sqsRequests = m.sqsChunks + m.esmRequests + m.eventBridgeDeliveries + m.modeledRaises;
  const usage: Usage = {
    ...emptyUsage(),
    transitions: m.transitions,
    lambdaRequests: invocations,
    lambdaGbSeconds: gbSeconds + initGbSeconds,
    sqsRequests,
    snsPublishes: m.snsChunks,
    dynamoWriteUnits: m.wru,
    dynamoReadUnits: m.rru,
    // A month's new items, held all month (an upper bound: nothing expires).
    dynamoStorageGb: m.dynamoBytesPut / GIB,
    // Upper bound: no data key reuse, so one KMS call per encrypted send, receive and publish.
    kmsRequests: m.sqsSends + m.modeledRaises + m.eventBridgeDeliveries + m.esmRequests / 2 + m.snsChunks,
    logsIngestedGb: logBytes / GIB,
    logsStoredGb: storedGb,
    metricsRequested: m.metricsRequested,
    traces: m.executions + m.esmInvocations,
    schedulerInvocations: m.schedulerInvocations,
  };
  return { usage, meter: m };
}

/** Module init time per function: the cold-start suite's medians when present, else one import each. */
function initTimes(ctx: SuiteContext, functions: string[]): { ms: Record<string, number>; source: string } {
  const latest = join(REPO_ROOT, 'bench', 'results', 'latest.json');
  if (existsSync(latest)) {
    const report = JSON.parse(readFileSync(latest, 'utf8')) as {
      suites?: { name: string; rows: Record<string, Cell>[] }[];
    };
    const rows = report.suites?.find((s) => s.name === 'cold-start')?.rows ?? [];
    const ms = Object.fromEntries(
      rows
        .filter((r) => typeof r['init ms'] === 'number')
        .map((r) => [String(r.function), r['init ms'] as number]),
    );
    if (functions.every((f) => f in ms))
      return { ms, source: 'the cold-start suite (bench/results/latest.json)' };
  }
  const ms: Record<string, number> = {};
  for (const fn of functions) {
    const bundle = join(REPO_ROOT, 'dist', 'functions', fn, 'index.mjs');
    if (!existsSync(bundle)) continue;
    const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(bundle).href)}); process.stdout.write(String(performance.now() - t));`;
    ms[fn] = Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_REGION: 'us-east-1' },
      }),
    );
  }
  ctx.log(
    `init times: ${Object.entries(ms)
      .map(([f, t]) => `${f} ${t.toFixed(0)} ms`)
      .join(', ')}`,
  );
  return {
    ms,
    source:
      Object.keys(ms).length === functions.length
        ? 'one import of each dist/functions bundle in a fresh Node process'
        : 'dist/functions bundles where built (npm run build); functions without one are priced without INIT',
  };
}

// ---------------------------------------------------------------------------------------------

interface KindSpec {
  name: string;
  idlePerMonth: number;
  activePerMonth: number;
  perDayLabel: string;
  measure: (world: World, run: number) => Promise<void>;
}

export const KINDS: KindSpec[] = [
  {
    name: 'rollout (canary 10%, 5 min bake)',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.rolloutsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.rolloutsPerDay}/day`,
    measure: rollout,
  },
  {
    name: 'release train, per service (canary 10%, 5 min bake)',
    idlePerMonth: 0,
    activePerMonth: (ACTIVITY.trainServicesPerWeek * 52) / 12,
    perDayLabel: `${ACTIVITY.trainServicesPerWeek} services/week`,
    measure: trainService,
  },
  {
    name: 'alarm remediation (scale-out, then OK)',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.remediationsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.remediationsPerDay}/day`,
    measure: (w) => remediation(w),
  },
  {
    name: 'alarm-driven scale-out',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.alarmScaleOutsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.alarmScaleOutsPerDay}/day`,
    measure: (w) => alarmScaleOut(w),
  },
  {
    name: 'spot interruption (rebalance + surge + warning)',
    idlePerMonth: 0,
    activePerMonth: ACTIVITY.spotInterruptionsPerDay * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.spotInterruptionsPerDay}/day`,
    measure: (w) => spotInterruption(w),
  },
  {
    name: 'scheduled scaling (2 runs)',
    idlePerMonth: WEEKDAYS_PER_MONTH,
    activePerMonth: WEEKDAYS_PER_MONTH,
    perDayLabel: 'each weekday',
    measure: (w) => scheduledScaling(w),
  },
  {
    name: `alert group (${ACTIVITY.alertsPerGroup} firing + ${ACTIVITY.alertsPerGroup} resolved)`,
    idlePerMonth: 0,
    activePerMonth: (ACTIVITY.alertsPerDay / (2 * ACTIVITY.alertsPerGroup)) * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.alertsPerDay / (2 * ACTIVITY.alertsPerGroup)}/day (${ACTIVITY.alertsPerDay.toLocaleString('en-US')} alerts)`,
    measure: alertGroup,
  },
  {
    name: 'AWS event alert (a Health event, then its close)',
    idlePerMonth: 0,
    activePerMonth: (ACTIVITY.awsEventsPerDay / 2) * DAYS_PER_MONTH,
    perDayLabel: `${ACTIVITY.awsEventsPerDay / 2}/day (${ACTIVITY.awsEventsPerDay} events)`,
    measure: awsEventAlert,
  },
  {
    name: 'alert router tick (silences checked, none to announce)',
    idlePerMonth: 60 * 24 * DAYS_PER_MONTH,
    activePerMonth: 60 * 24 * DAYS_PER_MONTH,
    perDayLabel: 'each minute',
    measure: (w) => routerTick(w),
  },
];

/**
 * The counts that must be the same in every run of a kind. DynamoDB units may not: records near
 * 1 KB (operations, journal) grow with the service's recorded history, so they take the median.
 */
const countsOf = (u: Usage) => [u.transitions, u.lambdaRequests, u.sqsRequests, u.snsPublishes].join('/');

const summary = (u: Usage) =>
  `${formatQuantity(u.transitions)} transitions, ${formatQuantity(u.lambdaRequests)} invocations (${u.lambdaGbSeconds.toFixed(2)} GB-s), ` +
  `${formatQuantity(u.sqsRequests)} SQS, ${formatQuantity(u.snsPublishes)} SNS, ` +
  `${formatQuantity(u.dynamoWriteUnits)} WRU, ${formatQuantity(u.dynamoReadUnits)} RRU, ${((u.logsIngestedGb * GIB) / 1024).toFixed(1)} KB logs`;

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const savedLevel = logger.getLevelName();
  const savedEnvLevel = process.env.OPS_LOG_LEVEL;
  ctx.log('starting the emulator');
  // Before the world opens: the clients it sets up (the percentile stand-in's) are then metered.
  const unmeterClients = meterEveryClient();
  const world = await openWorld(ctx);
  // The deployed level (INFO): the log bytes are part of the bill.
  process.env.OPS_LOG_LEVEL = 'INFO';
  logger.setLogLevel('INFO');
  // Before the meter's capture: the functions' EMF lines are log bytes too, and the meter counts them.
  collectEmf();
  const restoreLogs = captureLogs();
  try {
    const measured = new Map<string, Measured[]>();
    for (let i = 0; i < ctx.runs; i++) {
      for (const kind of KINDS) {
        const meter = new Meter(world.proxy);
        meterInto(meter);
        const t = performance.now();
        try {
          await kind.measure(world, i);
        } finally {
          meterInto(undefined);
        }
        meter.alertsRaised = (await takeRaisedAlerts(world.stack.outputs.AlertQueueUrl as string)).length;
        const runs = measured.get(kind.name) ?? [];
        runs.push(toUsage(world, meter, {}));
        measured.set(kind.name, runs);
        ctx.log(`run ${i + 1}: ${kind.name} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
    }

    const functions = Object.keys(world.stack.functions).map(
      (id) => world.stack.functions[id]?.name as string,
    );
    const init = initTimes(ctx, functions);
    const checks: SuiteResult['checks'] = [];
    const kinds: EventKind[] = [];
    const perKind: { spec: KindSpec; usage: Usage; first: Measured; runs: Measured[] }[] = [];
    for (const spec of KINDS) {
      const runs = (measured.get(spec.name) ?? []).map((m) => toUsage(world, m.meter, init.ms));
      const first = runs[0] as Measured;
      // Counts from the first run; compute (timed) and DynamoDB units (size-dependent) are medians.
      const mid = (key: keyof Usage) => median(runs.map((r) => r.usage[key]));
      const usage: Usage = {
        ...first.usage,
        lambdaGbSeconds: mid('lambdaGbSeconds'),
        dynamoWriteUnits: mid('dynamoWriteUnits'),
        dynamoReadUnits: mid('dynamoReadUnits'),
      };
      kinds.push({
        name: spec.name,
        idlePerMonth: spec.idlePerMonth,
        activePerMonth: spec.activePerMonth,
        perEvent: usage,
      });
      perKind.push({ spec, usage, first, runs });
      checks.push({
        name: `${spec.name}: every run made the same transitions, invocations, SQS and SNS requests`,
        ok: runs.every((r) => countsOf(r.usage) === countsOf(first.usage)),
        detail: runs.map((r) => countsOf(r.usage)).join(' | '),
      });
      for (const service of ['dynamodb', 'sqs', 'sns']) {
        const sum = (calls: Record<string, number>) =>
          Object.entries(calls)
            .filter(([op]) => op.startsWith(`${service}:`))
            .reduce((n, [, c]) => n + c, 0);
        const proxy = sum(first.meter.proxyCalls);
        const sdk = sum(first.meter.sdkCalls);
        checks.push({
          name: `${spec.name}: every ${service} call the fault proxy counted was priced`,
          ok: proxy === sdk,
          detail: `proxy ${proxy}, priced ${sdk}`,
        });
      }
    }

    const f = world.facts;
    const fixed: Usage = {
      ...emptyUsage(),
      kmsKeys: f.kmsKeys,
      alarmMetrics: f.alarmMetrics,
      // An upper bound: every outcome metric published every month (one dimension set each).
      customMetrics: Object.keys(OUTCOME_METRICS).length,
      dashboards: f.dashboards,
      sqsRequests: idlePollingRequests(f.eventSourceMappings),
    };
    const bill = monthlyBill(fixed, kinds);
    const fixedCost = total(costOf(fixed));
    checks.push(...billChecks(fixed, kinds, bill));
    const largestPayload = Math.max(...perKind.map((k) => k.first.meter.largestPayload));
    checks.push({
      name: 'every SQS and SNS payload fits one 64 KB chunk',
      ok: largestPayload <= 65_536,
      detail: `largest ${largestPayload} bytes`,
    });
    const largestItem = Math.max(...perKind.map((k) => k.first.meter.largestItemBytes));
    const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];
    const READS = ['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems'];
    const callsOf = (m: Meter, ops: string[]) =>
      ops.reduce((n, op) => n + (m.sdkCalls[`dynamodb:${op}`] ?? 0), 0);
    checks.push({
      name: 'every DynamoDB write costs at least 1 WRU and every read at least 0.5 RRU',
      ok: perKind.every(
        (k) =>
          k.usage.dynamoWriteUnits >= callsOf(k.first.meter, WRITES) &&
          k.usage.dynamoReadUnits >= 0.5 * callsOf(k.first.meter, READS),
      ),
      detail: perKind
        .map(
          (k) =>
            `${k.usage.dynamoWriteUnits} WRU/${callsOf(k.first.meter, WRITES)} writes, ${k.usage.dynamoReadUnits} RRU/${callsOf(k.first.meter, READS)} reads`,
        )
        .join('; '),
    });
    const raisedPerDay = perKind.reduce(
      (n, k) => n + (k.first.meter.alertsRaised * k.spec.activePerMonth) / DAYS_PER_MONTH,
      0,
    );
    checks.push({
      name: `the activities raise no more alerts than the ${ACTIVITY.alertsPerDay.toLocaleString('en-US')}/day the alert row routes`,
      ok: raisedPerDay <= ACTIVITY.alertsPerDay,
      detail: `${raisedPerDay.toFixed(0)}/day raised by the other rows`,
    });

    const rows: Record<string, Cell>[] = COMPONENTS.map((c) => {
      const p = PRICES[c.key];
      return {
        item: c.label,
        price: formatPrice(p),
        idleQuantity: formatQuantity(bill.idle.usage[c.key]),
        idleCost: formatUsd(bill.idle.cost[c.key]),
        activeQuantity: formatQuantity(bill.activity.usage[c.key]),
        activeCost: formatUsd(bill.activity.cost[c.key]),
        source: p.url,
      };
    });
    rows.push({
      item: '**Total per month**',
      price: null,
      idleQuantity: null,
      idleCost: `**${formatUsd(bill.idle.total)}**`,
      activeQuantity: null,
      activeCost: `**${formatUsd(bill.activity.total)}**`,
      source: null,
    });
    rows.push({
      item: 'of which: fixed (KMS key, alarms, outcome metrics, dashboard, idle queue polling)',
      price: null,
      idleQuantity: null,
      idleCost: formatUsd(fixedCost),
      activeQuantity: null,
      activeCost: formatUsd(fixedCost),
      source: null,
    });
    for (const [i, k] of perKind.entries()) {
      const share = bill.byKind[i];
      rows.push({
        item: `of which: ${k.spec.name}, ${k.spec.perDayLabel}`,
        price: `${formatUsd(share?.perEventCost ?? 0)} per event`,
        idleQuantity: k.spec.idlePerMonth > 0 ? formatQuantity(k.spec.idlePerMonth) : null,
        idleCost: k.spec.idlePerMonth > 0 ? formatUsd(share?.idleMonthlyCost ?? 0) : null,
        activeQuantity: formatQuantity(k.spec.activePerMonth),
        activeCost: formatUsd(share?.monthlyCost ?? 0),
        source: `per event: ${summary(k.usage)}`,
      });
    }

    const activityLine =
      `${ACTIVITY.rolloutsPerDay} rollouts, ${ACTIVITY.remediationsPerDay} alarm remediations, ${ACTIVITY.alarmScaleOutsPerDay} alarm-driven scale-outs, ` +
      `${ACTIVITY.spotInterruptionsPerDay} spot interruptions and ${ACTIVITY.alertsPerDay.toLocaleString('en-US')} alerts a day, plus the scheduled scaling runs`;
    const dynamoOld =
      (bill.activity.usage.dynamoWriteUnits * DYNAMODB_BEFORE_NOV_2024.writeUnits +
        bill.activity.usage.dynamoReadUnits * DYNAMODB_BEFORE_NOV_2024.readUnits) /
      1e6;
    const notes = [
      `Idle: nothing happens but the ${f.schedules} configured schedules (2 scaling runs per weekday, ${WEEKDAYS_PER_MONTH.toFixed(1)} weekdays a month). Activity level: ${activityLine}. A month is 730 hours (${DAYS_PER_MONTH.toFixed(2)} days).`,
      `Prices: ${PRICE_REGION} list prices as written down on ${PRICES_TAKEN_ON} from the pricing pages in the last column, without network access to re-read them: re-check each before relying on the totals. Free tiers (Lambda, SQS, SNS, DynamoDB, KMS requests, X-Ray, Logs) are excluded. DynamoDB uses the on-demand prices after the November 2024 reduction ($0.625 per million WRU, $0.125 per million RRU); at the earlier $1.25/$0.25 the DynamoDB request lines would total ${formatUsd(dynamoOld)} instead of ${formatUsd(bill.activity.cost.dynamoWriteUnits + bill.activity.cost.dynamoReadUnits)}.`,
      `Fixed costs, from the synthesized prod control-plane template: ${f.kmsKeys} KMS key (${formatUsd(PRICES.kmsKeys.usd)}/month; automatic yearly rotation adds $1/month for each of the first two rotations), ${f.alarms} CloudWatch alarms evaluating ${f.alarmMetrics} metrics (metric-math alarms pay per metric), ${Object.keys(OUTCOME_METRICS).length} outcome metrics (custom metrics, published as EMF log lines, so no PutMetricData; priced as if every one were published every month), ${f.dashboards} dashboard, and the empty receives of ${f.eventSourceMappings} SQS event source mappings: ${IDLE_POLLERS_PER_MAPPING} pollers each long-polling ${LONG_POLL_SECONDS} s (an observed idle figure, not a documented one) is ${formatQuantity(idlePollingRequests(f.eventSourceMappings))} requests a month. Together ${formatUsd(fixedCost)} of the idle ${formatUsd(bill.idle.total)}.`,
      "Measured per event (counts from the first run; every run must agree): each event runs the synthesized definitions (aws-local-stepfunctions) and the in-process handlers against moto behind the counting fault proxy; a meter counts only the functions and the state machines, not the harness (seeding, putting events, the local event source's receives, reading results). Transitions are StateEntered plus retries, nested executions included.",
      "Modeled, not measured: Lambda's event source receives and deletes (one ReceiveMessage and one DeleteMessageBatch per 10 messages handled), the SQS SendMessage of an EventBridge rule delivering an AWS service event (the events themselves are free), one SendMessage per alert a producer raises, KMS requests (an upper bound: one per encrypted send, receive and publish, ignoring the 5-minute data key reuse), X-Ray traces (one per top-level execution and per queue-triggered invocation, all sampled at these rates).",
      `Lambda compute: memory sizes from the template (arm64), billed duration = measured in-process handler wall time rounded up to 1 ms (median of the runs), which is dominated by the emulator's latency and so only indicates AWS's. Plus INIT (billed since August 2025; re-check) for one cold start per function per event, with init times from ${init.source}.`,
      `DynamoDB units are computed per call (largest item seen: ${largestItem} bytes) from the marshalled request and the returned items by DynamoDB's sizing rules (1 WRU per KB written, 1 RRU per 4 KB strongly consistent, half eventually consistent, batch items one by one); UpdateItem is sized from its key and new values. Storage is an upper bound: a month's new items (plus 100 bytes each) held all month, nothing expiring, with PITR on it.`,
      `Logs: the bytes the handlers wrote at the deployed level (INFO) plus ${LAMBDA_PLATFORM_LOG_BYTES} bytes of START/END/REPORT lines per invocation, and for workflows logging at level ALL (without execution data) ${SFN_LOG_EVENT_BYTES} bytes per history event (entered/exited per state, scheduled/started/succeeded per task). Storage is the steady state for each log group's retention, uncompressed (an upper bound).`,
      'Not priced: API calls to ECS, EC2, Elastic Load Balancing, Auto Scaling, Application Auto Scaling and the Step Functions API (no per-request charge), EventBridge rules on AWS service events (free), SNS deliveries to SQS subscribers (free; e-mail, HTTP or chat deliveries are priced per notification), data transfer inside the region, and the application stacks (docs/cost.md).',
      `Alerts raised per event: ${perKind.map((k) => `${k.spec.name} ${k.first.meter.alertsRaised}`).join(', ')}; they are routed in the alert row, whose ${ACTIVITY.alertsPerDay.toLocaleString('en-US')} alerts a day include them.`,
    ];
    return {
      title: 'monthly AWS cost of the control plane, idle and at an activity level',
      columns: [
        { key: 'item', label: 'item' },
        { key: 'price', label: `unit price (${PRICE_REGION})` },
        { key: 'idleQuantity', label: 'idle: quantity/month', align: 'right' },
        { key: 'idleCost', label: 'idle: $/month', align: 'right' },
        { key: 'activeQuantity', label: 'activity: quantity/month', align: 'right' },
        { key: 'activeCost', label: 'activity: $/month', align: 'right' },
        { key: 'source', label: 'price source / measured per event' },
      ],
      rows,
      notes,
      checks,
      details: {
        activity: ACTIVITY,
        pricesTakenOn: PRICES_TAKEN_ON,
        prices: PRICES,
        fixed,
        template: f,
        initMs: init.ms,
        bill,
        perEvent: perKind.map((k) => ({
          kind: k.spec.name,
          usage: k.usage,
          runs: k.runs.map((r) => r.usage),
          functions: Object.fromEntries(
            Object.entries(k.first.meter.functions).map(([fn, u]) => [
              fn,
              {
                invocations: u.invocations,
                durationsMs: u.durationsMs.map((d) => Math.round(d)),
                logBytes: u.logBytes,
              },
            ]),
          ),
          calls: k.first.meter.proxyCalls,
          dynamodb: k.runs.map((r) => r.meter.dynamoByTable),
          alertsRaised: k.first.meter.alertsRaised,
          childExecutions: k.first.meter.childExecutions,
        })),
      },
    };
  } finally {
    unmeterClients();
    restoreLogs();
    logger.setLogLevel(savedLevel);
    if (savedEnvLevel === undefined) delete process.env.OPS_LOG_LEVEL;
    else process.env.OPS_LOG_LEVEL = savedEnvLevel;
    await world.proxy.stop();
    await world.emulator.stop();
    delete process.env[OBSERVER_ENDPOINT_VAR];
    resetClients();
  }
}
