// Release trains on the emulator, from the synthesized definitions: the train's state machine
// runs each service's blue-green-rollout as a nested execution, with IAM enforced for every call.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTaskSetsCommand,
  ECSClient,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { renderTrainReport } from '../../cli/report/train-render.ts';
import type { Verdict } from '../../events/rollout-state.ts';
import type { TrainInputDraft } from '../../events/train-input.ts';
import type { Alert } from '../../functions/shared/alerts.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { getRolloutRecord } from '../../functions/shared/rollouts/record.ts';
import {
  getTrainRecord,
  type TrainRecord,
  type TrainServiceRecord,
  trainServices,
} from '../../functions/shared/trains/record.ts';
import { readJournal } from '../../local/control-plane.ts';
import { observerClient } from '../../local/observer.ts';
import {
  localOperatorDeps,
  putTargetGroupMetrics,
  rolloutEnvironment,
  takeRaisedAlerts,
} from '../../local/rollouts.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { runDeployedWorkflow } from '../../local/workflows.ts';
import { CHROMIUM, inChromium, NO_CHROMIUM } from '../support/chromium.ts';
import { FREEZE_START, SERVICE_TASKS, type TrainWorld, useTrainWorld } from './world.ts';

const HOUR = 3_600_000;
const world = useTrainWorld();
const env = () => rolloutEnvironment(world.stack);
const table = () => env().OPERATIONS_TABLE as string;

/** What a Lambda step's error says (its cause is the function's error as JSON). */
const errorMessage = (cause: string | undefined) =>
  (JSON.parse(cause ?? '{}') as { errorMessage?: string }).errorMessage;

/** A clock that reads `at` now, and runs on from there. */
const clockAt = (at: number) => new VirtualClock(at - Date.now());

let slot = 0;
/** Each train lives hours after the previous one: metrics never fall in another's bake window. */
function trainClock(): VirtualClock {
  const clock = new VirtualClock();
  clock.advance(++slot * 12 * HOUR);
  return clock;
}

interface ServiceNow {
  primaryImage: string | undefined;
  /** The target group behind the primary task set (blue, until a rollout promotes the other). */
  primaryGroup: string | undefined;
  taskSets: string[];
  /** Production weights on the service's route: [blue group, green group]. */
  weights: number[];
}

async function serviceNow(w: TrainWorld, service: string): Promise<ServiceNow> {
  const ecs = observerClient(ECSClient);
  const described = await ecs.send(new DescribeServicesCommand({ cluster: 'web', services: [service] }));
  const sets =
    (await ecs.send(new DescribeTaskSetsCommand({ cluster: 'web', service }))).taskSets?.filter(
      (t) => t.status !== 'INACTIVE',
    ) ?? [];
  const primary = sets.find((t) => t.status === 'PRIMARY');
  const definition = primary?.taskDefinition
    ? await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: primary.taskDefinition }))
    : undefined;
  const route = service === 'api' ? undefined : w.services[service];
  let weights: number[] = [];
  if (route) {
    const rule = await observerClient(ElasticLoadBalancingV2Client).send(
      new DescribeRulesCommand({ RuleArns: [route.ruleArn] }),
    );
    const groups = rule.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
    const weightOf = (arn: string) => groups.find((g) => g.TargetGroupArn === arn)?.Weight ?? 0;
    const primaryGroup = primary?.loadBalancers?.[0]?.targetGroupArn;
    const other =
      primaryGroup === route.blueTargetGroupArn ? route.greenTargetGroupArn : route.blueTargetGroupArn;
    weights = [weightOf(primaryGroup ?? ''), weightOf(other)];
  }
  expect(described.services?.[0]?.status).toBe('ACTIVE');
  return {
    primaryImage: definition?.taskDefinition?.containerDefinitions?.[0]?.image,
    primaryGroup: primary?.loadBalancers?.[0]?.targetGroupArn,
    taskSets: sets.map((t) => t.status ?? '?').sort(),
    weights,
  };
}

/** One traffic profile on both of `service`'s target groups, from a minute before `clock`'s now. */
async function writeServiceTraffic(
  service: string,
  clock: VirtualClock,
  traffic: (minute: number) => { requests: number; errors: number; latencyMs: number },
  backMs: number,
): Promise<void> {
  const route = world.services[service] as TrainWorld['services'][string];
  for (const group of [route.blueTargetGroupArn, route.greenTargetGroupArn])
    await putTargetGroupMetrics({
      loadBalancerArn: world.web.loadBalancer.arn,
      targetGroupArn: group,
      from: clock.now() - backMs,
      to: clock.now() + 2 * HOUR,
      traffic,
    });
}

async function trainAlerts(): Promise<Alert[]> {
  return (await takeRaisedAlerts(env().ALERT_QUEUE_URL as string)).filter((a) => a.kind === 'release-train');
}

async function runTrain(
  input: TrainInputDraft,
  opts: {
    clock: VirtualClock;
    executionName: string;
    gateWaitMs?: number;
    watch?: (record: TrainRecord) => void;
    beforeLambda?: (functionName: string, event: unknown) => Promise<void>;
  },
) {
  return runDeployedWorkflow(world.stack, 'release-train', input, {
    clock: opts.clock,
    executionName: opts.executionName,
    taskTokenTimeoutMs: opts.gateWaitMs ?? 100,
    beforeLambda: async (functionName, event) => {
      const record = await getTrainRecord(documentClient(), table(), opts.executionName);
      if (record) opts.watch?.(record);
      await opts.beforeLambda?.(functionName, event);
    },
  });
}

/** Waits until `service`'s rollout record is at `phase` (the world's timing, played by the test). */
async function untilRolloutPhase(service: string, phase: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await getRolloutRecord(documentClient(), table(), 'web', service))?.phase !== phase) {
    if (Date.now() > until) throw new Error(`${service} never reached ${phase}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function servicesOf(executionName: string): Promise<TrainServiceRecord[]> {
  const record = await getTrainRecord(documentClient(), table(), executionName);
  if (!record) throw new Error(`no record of ${executionName}`);
  return trainServices(documentClient(), table(), record);
}

describe('release trains', () => {
  it('completes: waves in order, services of a wave in parallel within the green-task budget, one status, one alert', async () => {
    await takeRaisedAlerts(env().ALERT_QUEUE_URL as string);
    const clock = trainClock();
    const executionName = 'train-complete-1';
    let maxGreen = 0;
    const result = await runTrain(
      {
        name: 'all green',
        waves: [
          {
            name: 'first',
            maxConcurrency: 2,
            services: [
              { service: 'api', image: 'registry.local/api:t1', strategy: { type: 'all-at-once' } },
              { service: 'cart', image: 'registry.local/cart:t1', strategy: { type: 'all-at-once' } },
            ],
          },
          {
            name: 'second',
            maxConcurrency: 4,
            services: ['search', 'orders', 'billing', 'profile'].map((s) => ({
              service: s,
              image: `registry.local/${s}:t1`,
              strategy: { type: 'all-at-once' as const },
            })),
          },
        ],
        // 14 tasks in web: at most 4 in green, so two services of two tasks at once (api's four alone).
        budget: { maxFailedServices: 0, maxGreenTaskPercent: 30 },
        requestedBy: 'train-test',
      },
      { clock, executionName, watch: (r) => (maxGreen = Math.max(maxGreen, r.green.web ?? 0)) },
    );
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');

    for (const s of ['api', 'cart', 'search', 'orders', 'billing', 'profile']) {
      const now = await serviceNow(world, s);
      expect(now.primaryImage, s).toBe(`registry.local/${s}:t1`);
      expect(now.taskSets, s).toEqual(['PRIMARY']);
      if (s !== 'api') expect(now.weights, s).toEqual([100, 0]);
    }
    const record = await getTrainRecord(documentClient(), table(), executionName);
    expect(record).toMatchObject({
      status: 'completed',
      name: 'all green',
      counts: { succeeded: 6, failed: 0, skipped: 0 },
      green: { web: 0 },
      clusterTasks: { web: 4 + 5 * SERVICE_TASKS },
    });
    // The budget held, and it was used: two services of two tasks were in green at once.
    expect(maxGreen).toBe(4);
    const services = await servicesOf(executionName);
    expect(services.map((s) => `${s.service} ${s.phase}`)).toEqual([
      'api succeeded',
      'cart succeeded',
      'search succeeded',
      'orders succeeded',
      'billing succeeded',
      'profile succeeded',
    ]);
    // Four services of the second wave at most two at a time: two of them waited for room.
    expect(services.filter((s) => s.wave === 1 && s.waitingSince).length).toBeGreaterThanOrEqual(2);
    // api (four tasks, the whole limit) and cart never ran together; the first wave ended first.
    const [api, cart] = services;
    const apart = (a?: TrainServiceRecord, b?: TrainServiceRecord) =>
      (a?.finishedAt ?? '~') <= (b?.startedAt ?? '');
    expect(apart(api, cart) || apart(cart, api)).toBe(true);
    const lastOfFirst =
      services
        .filter((s) => s.wave === 0)
        .map((s) => s.finishedAt ?? '')
        .sort()
        .at(-1) ?? '';
    for (const s of services.filter((s) => s.wave === 1))
      expect((s.startedAt ?? '') >= lastOfFirst).toBe(true);

    const journal = (await readJournal(env().JOURNAL_TABLE as string)).filter(
      (r) => r.resource === record?.id,
    );
    expect(journal.map((r) => r.action).filter((a) => a !== 'train-service-ended')).toEqual([
      'train-started',
      'wave-started',
      'wave-started',
      'train-finished',
    ]);
    expect(journal.filter((r) => r.action === 'train-service-ended')).toHaveLength(6);
    // search and orders have SLOs, and no traffic at this clock: said at the start, not passed over.
    expect(journal.find((r) => r.action === 'train-started')?.reason).toContain(
      "error budgets not judged, no traffic in any rule's window: web/search, web/orders",
    );
    const raised = await takeRaisedAlerts(env().ALERT_QUEUE_URL as string);
    // The train's one alert, and no routine news of its rollouts (their starts and promotions are
    // journaled); each all-at-once rollout still warns that it runs blind.
    expect(raised.filter((a) => a.severity === 'info').map((a) => a.kind)).toEqual(['release-train']);
    expect(raised.filter((a) => a.severity !== 'info').map((a) => a.kind)).toEqual(
      Array(6).fill('rollout-blind'),
    );
    const alerts = raised.filter((a) => a.kind === 'release-train');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      severity: 'info',
      title: expect.stringContaining('release train all green completed'),
    });
    expect(alerts[0]?.whatHappened).toContain('second: web/search succeeded');
  });

  it('stops the line when the budget is spent: the failing service and the running one go back to blue, later waves are untouched', async () => {
    await trainAlerts();
    const clock = trainClock();
    const executionName = 'train-stopped-1';
    const before = await serviceNow(world, 'orders');
    // cart's green answers 12% 5xx: its canary fails. search's green has no traffic at all: its
    // canary waits at an inconclusive gate until the stop aborts it.
    const cart = world.services.cart as TrainWorld['services'][string];
    const from = clock.now() - 2 * 60_000;
    const to = clock.now() + 2 * HOUR;
    const blueGroup = (await serviceNow(world, 'cart')).primaryGroup as string;
    const cartGreen =
      blueGroup === cart.blueTargetGroupArn ? cart.greenTargetGroupArn : cart.blueTargetGroupArn;
    await putTargetGroupMetrics({
      loadBalancerArn: world.web.loadBalancer.arn,
      targetGroupArn: blueGroup,
      from,
      to,
      traffic: () => ({ requests: 1000, errors: 1, latencyMs: 50 }),
    });
    await putTargetGroupMetrics({
      loadBalancerArn: world.web.loadBalancer.arn,
      targetGroupArn: cartGreen,
      from,
      to,
      traffic: () => ({ requests: 100, errors: 12, latencyMs: 50 }),
    });
    const canary = { type: 'canary' as const, percent: 10, bakeSeconds: 300 };
    const result = await runTrain(
      {
        name: 'stops',
        waves: [
          {
            maxConcurrency: 2,
            services: [
              { service: 'search', image: 'registry.local/search:t2', strategy: canary },
              { service: 'cart', image: 'registry.local/cart:t2', strategy: canary },
            ],
          },
          {
            services: [
              { service: 'orders', image: 'registry.local/orders:t2', strategy: { type: 'all-at-once' } },
            ],
          },
        ],
        budget: { maxFailedServices: 0, maxGreenTaskPercent: 50 },
        onStop: 'rollback',
      },
      {
        clock,
        executionName,
        // search's gate waits up to 60 s here: only the train's abort ends it early.
        gateWaitMs: 60_000,
        // cart is judged once search waits at its gate: the stop then finds search running.
        beforeLambda: async (functionName, event) => {
          const e = event as { action?: string; state?: { rollout?: { service?: string } } };
          if (functionName === 'rollout-analysis' && e.state?.rollout?.service === 'cart')
            await untilRolloutPhase('search', 'gate');
        },
      },
    );
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TrainStopped');
    expect(result.cause).toContain('0 of 3 services rolled out, 2 failed, 1 not started');

    const record = await getTrainRecord(documentClient(), table(), executionName);
    expect(record).toMatchObject({
      status: 'stopped',
      stop: { by: 'budget', reason: expect.stringContaining('1 service failed; the train tolerates 0') },
      counts: { succeeded: 0, failed: 2, skipped: 0 },
      green: { web: 0 },
    });
    // Both went back to blue: one listener rule 100/0 over blue, one task set, blue's image.
    for (const s of ['cart', 'search']) {
      const now = await serviceNow(world, s);
      expect(now.primaryImage, s).toBe(`registry.local/${s}:t1`);
      expect(now.taskSets, s).toEqual(['PRIMARY']);
      expect(now.weights, s).toEqual([100, 0]);
    }
    const rollouts = await Promise.all(
      ['cart', 'search'].map((s) => getRolloutRecord(documentClient(), table(), 'web', s)),
    );
    expect(rollouts.map((r) => r?.phase)).toEqual(['rolled-back', 'rolled-back']);
    // search was stopped by the train, cart by its own verdict.
    expect(rollouts[1]?.abortRequested?.by).toBe(`release-train/${executionName}`);
    expect(rollouts[0]?.abortRequested).toBeUndefined();
    // The later wave never started: orders as it was, no rollout of it, no item for it.
    expect(await serviceNow(world, 'orders')).toEqual(before);
    expect(
      (await getRolloutRecord(documentClient(), table(), 'web', 'orders'))?.executionName ?? '',
    ).not.toContain(executionName);
    expect((await servicesOf(executionName)).map((s) => s.service)).toEqual(['search', 'cart']);

    const journal = (await readJournal(env().JOURNAL_TABLE as string)).filter(
      (r) => r.resource === record?.id,
    );
    expect(journal.map((r) => r.action)).toEqual(
      expect.arrayContaining(['train-started', 'wave-started', 'line-stopped', 'train-finished']),
    );
    expect(journal.filter((r) => r.action === 'wave-started')).toHaveLength(1);
    const alerts = await trainAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      severity: 'critical',
      title: expect.stringContaining('release train stops stopped'),
    });
    expect(alerts[0]?.whatHappened).toContain('wave 2: web/orders not started');
  });

  it('a stop rolls back a rollout already promoted and in its rollback window (onStop rollback)', async () => {
    const clock = trainClock();
    const executionName = 'train-window-1';
    // cart fails its canary; search is all-at-once, promoted, and waits in its rollback window.
    const cart = world.services.cart as TrainWorld['services'][string];
    const blueGroup = (await serviceNow(world, 'cart')).primaryGroup as string;
    const cartGreen =
      blueGroup === cart.blueTargetGroupArn ? cart.greenTargetGroupArn : cart.blueTargetGroupArn;
    const metrics = (group: string, errors: number) =>
      putTargetGroupMetrics({
        loadBalancerArn: world.web.loadBalancer.arn,
        targetGroupArn: group,
        from: clock.now() - 2 * 60_000,
        to: clock.now() + 2 * HOUR,
        traffic: () => ({ requests: 1000, errors, latencyMs: 50 }),
      });
    await metrics(blueGroup, 1);
    await metrics(cartGreen, 120);
    const searchBefore = await serviceNow(world, 'search');
    const result = await runTrain(
      {
        name: 'window',
        waves: [
          {
            maxConcurrency: 2,
            services: [
              { service: 'search', image: 'registry.local/search:w1', strategy: { type: 'all-at-once' } },
              {
                service: 'cart',
                image: 'registry.local/cart:w1',
                strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
              },
            ],
          },
        ],
        // Room for both in green at once (four of web's 14 tasks).
        budget: { maxGreenTaskPercent: 50 },
      },
      {
        clock,
        executionName,
        // search's window waits up to 60 s here: only the train's stop ends it early.
        gateWaitMs: 60_000,
        beforeLambda: async (functionName, event) => {
          const e = event as { state?: { rollout?: { service?: string } } };
          if (functionName === 'rollout-analysis' && e.state?.rollout?.service === 'cart')
            await untilRolloutPhase('search', 'window');
        },
      },
    );
    expect(result.error).toBe('TrainStopped');
    const search = await getRolloutRecord(documentClient(), table(), 'web', 'search');
    expect(search?.phase).toBe('rolled-back');
    // The train rolled it back inside its window, as ops rollback would: journaled with who.
    const rollback = (await readJournal(env().JOURNAL_TABLE as string)).find(
      (r) =>
        r.action === 'operator-rollback' &&
        r.resource === 'service/web/search' &&
        r.actor === `release-train/${executionName}`,
    );
    expect(rollback?.outcome).toBe('changed');
    // Back on the image it had, one task set, all traffic on it.
    expect(await serviceNow(world, 'search')).toMatchObject({
      primaryImage: searchBefore.primaryImage,
      taskSets: ['PRIMARY'],
      weights: [100, 0],
    });
  });

  it("writes the stopped train's report, which headless Chromium renders without a problem: outcome, budget, timeline, verdicts", async (ctx) => {
    const record = await getTrainRecord(documentClient(), table(), 'train-stopped-1');
    if (!record) throw new Error('the stopped train of the test before has no record');
    const { trainReportData } = await import('../../cli/train.ts');
    const page = renderTrainReport(await trainReportData(documentClient(), table(), record, Date.now()));
    expect(page).toContain('Train stopped: 0 of 3 services rolled out, 2 failed, 1 not rolled out');
    expect(page).toContain('Line stopped by budget');
    expect(page).toContain('1 service failed; the train tolerates 0');
    expect(page).toMatch(/web\/cart<\/td><td><span class="phase" style="background:#cf222e">failed/);
    expect(page).toMatch(/web\/orders<\/td><td><span class="phase" style="background:#8c959f">not started/);
    ctx.skip(!existsSync(CHROMIUM), NO_CHROMIUM);
    const dir = mkdtempSync(join(tmpdir(), 'train-report-'));
    const file = join(dir, 'train.html');
    writeFileSync(file, page);
    const shot = await inChromium<{ bars: number; width: number }>(
      file,
      join(dir, 'train.png'),
      `(() => { const svg = document.querySelector('svg.timeline'); return { bars: document.querySelectorAll('svg.timeline rect').length, width: svg ? svg.getBoundingClientRect().width : 0 }; })()`,
    );
    expect(shot.problems, shot.problems.join('\n')).toEqual([]);
    expect(shot.title).toBe('Release train stops');
    // A bar for each service that rolled out (cart and search), none for orders; the timeline spans the page.
    expect(shot.value.bars).toBe(2);
    expect(shot.value.width).toBeGreaterThan(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ops train abort stops the line: with onStop finish the running rollout runs to its end, the later wave never starts', async () => {
    await trainAlerts();
    const clock = trainClock();
    const executionName = 'train-aborted-1';
    const before = await serviceNow(world, 'billing');
    const cart = world.services.cart as TrainWorld['services'][string];
    const blueGroup = (await serviceNow(world, 'cart')).primaryGroup as string;
    const greenGroup =
      blueGroup === cart.blueTargetGroupArn ? cart.greenTargetGroupArn : cart.blueTargetGroupArn;
    for (const group of [blueGroup, greenGroup])
      await putTargetGroupMetrics({
        loadBalancerArn: world.web.loadBalancer.arn,
        targetGroupArn: group,
        from: clock.now() - 2 * 60_000,
        to: clock.now() + 2 * HOUR,
        traffic: (minute) => ({
          requests: 1000 + minute,
          errors: minute % 3 === 0 ? 1 : 0,
          latencyMs: 50 + (minute % 4),
        }),
      });
    // Imported here: it brings the functions' logger, which the rig sets up quiet on first invoke.
    const { abortTrain } = await import('../../functions/train-step/stop.ts');
    let aborted: Awaited<ReturnType<typeof abortTrain>> | undefined;
    const result = await runTrain(
      {
        name: 'aborted',
        waves: [
          {
            services: [
              {
                service: 'cart',
                image: 'registry.local/cart:t3',
                strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
              },
            ],
          },
          {
            services: [
              { service: 'billing', image: 'registry.local/billing:t3', strategy: { type: 'all-at-once' } },
            ],
          },
        ],
        onStop: 'finish',
      },
      {
        clock,
        executionName,
        // An operator aborts the train while cart bakes.
        beforeLambda: async (functionName) => {
          if (functionName === 'rollout-analysis' && !aborted)
            aborted = await abortTrain(
              localOperatorDeps(world.stack, clock),
              executionName,
              'ops-cli/tester',
              'bad day',
            );
        },
      },
    );
    expect(aborted?.stopped).toBe(true);
    expect(result.error).toBe('TrainStopped');
    const record = await getTrainRecord(documentClient(), table(), executionName);
    expect(record).toMatchObject({
      status: 'stopped',
      stop: { by: 'ops-cli/tester', reason: 'aborted by ops-cli/tester: bad day' },
      counts: { succeeded: 1, failed: 0, skipped: 0 },
    });
    // onStop finish: cart was not aborted, and it rolled out.
    expect((await serviceNow(world, 'cart')).primaryImage).toBe('registry.local/cart:t3');
    expect(
      (await getRolloutRecord(documentClient(), table(), 'web', 'cart'))?.abortRequested,
    ).toBeUndefined();
    expect(await serviceNow(world, 'billing')).toEqual(before);
    // A second abort changes nothing and says so.
    expect(
      (await abortTrain(localOperatorDeps(world.stack, clock), executionName, 'ops-cli/tester', 'again'))
        .stopped,
    ).toBe(false);
    expect((await trainAlerts()).map((a) => a.severity)).toEqual(['critical']);
  });

  it("a train's rollout refuses to start once its train stopped (TrainStopped), changing nothing", async () => {
    const clock = trainClock();
    const stopped = 'train-aborted-1';
    const before = await serviceNow(world, 'orders');
    const result = await runDeployedWorkflow(
      world.stack,
      'blue-green-rollout',
      {
        service: 'orders',
        image: 'registry.local/orders:late',
        strategy: { type: 'all-at-once' },
        train: `train/${stopped}`,
      },
      { clock, executionName: `${stopped}-w1-0` },
    );
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TrainStopped');
    expect(result.cause).toContain('release train aborted stopped (aborted by ops-cli/tester: bad day)');
    expect(await serviceNow(world, 'orders')).toEqual(before);
    expect((await getRolloutRecord(documentClient(), table(), 'web', 'orders'))?.executionName).not.toBe(
      `${stopped}-w1-0`,
    );
  });

  it('a freeze window refuses a rollout of a service it covers, naming the window; a break-glass override goes ahead, journaled and alerted', async () => {
    const clock = clockAt(Date.parse(FREEZE_START) + 12 * HOUR);
    await trainAlerts();
    const before = await serviceNow(world, 'profile');
    const input = {
      service: 'profile',
      image: 'registry.local/profile:hotfix',
      strategy: { type: 'all-at-once' },
    };
    const refused = await runDeployedWorkflow(world.stack, 'blue-green-rollout', input, {
      clock,
      executionName: 'freeze-refused-1',
    });
    expect(refused.status).toBe('FAILED');
    expect(refused.error).toBe('Frozen');
    expect(errorMessage(refused.cause)).toContain(
      'refused: rollouts of web/profile is frozen by freeze window "year end" (until 2031-01-03T00:00:00.000Z: change freeze over the new year)',
    );
    expect(await serviceNow(world, 'profile')).toEqual(before);
    const journal = () => readJournal(env().JOURNAL_TABLE as string);
    expect(
      (await journal()).filter((r) => r.action === 'freeze-refused' && r.resource === 'service/web/profile'),
    ).toHaveLength(1);

    const overridden = await runDeployedWorkflow(
      world.stack,
      'blue-green-rollout',
      { ...input, breakGlass: { reason: 'security fix for CVE-2031-0001' }, requestedBy: 'on-call' },
      { clock, executionName: 'freeze-override-1', taskTokenTimeoutMs: 100 },
    );
    expect(overridden.status, `${overridden.error}: ${overridden.cause}`).toBe('SUCCEEDED');
    expect((await serviceNow(world, 'profile')).primaryImage).toBe('registry.local/profile:hotfix');
    const override = (await journal()).find(
      (r) => r.action === 'freeze-override' && r.resource === 'service/web/profile',
    );
    expect(override?.reason).toContain('on-call went ahead inside freeze window "year end"');
    expect(override?.reason).toContain('by break glass: security fix for CVE-2031-0001');
    const alerts = (await takeRaisedAlerts(env().ALERT_QUEUE_URL as string)).filter(
      (a) => a.kind === 'freeze-override',
    );
    expect(alerts.map((a) => a.severity)).toEqual(['warning']);
  });

  it('a freeze window refuses a release train of a service it covers; with break glass the train runs, and a freeze that begins mid-train stops its line', async () => {
    await trainAlerts();
    const covered = {
      waves: [
        {
          services: [
            {
              service: 'billing',
              image: 'registry.local/billing:t9',
              strategy: { type: 'all-at-once' as const },
            },
          ],
        },
      ],
    };
    const inside = clockAt(Date.parse(FREEZE_START) + 12 * HOUR);
    const refused = await runTrain(covered, { clock: inside, executionName: 'train-frozen-1' });
    expect(refused.error).toBe('Frozen');
    expect(errorMessage(refused.cause)).toContain(
      'release train train-frozen-1 is frozen by freeze window "year end"',
    );
    expect(refused.states).toEqual(['Validate input']);
    expect(await getTrainRecord(documentClient(), table(), 'train-frozen-1')).toBeUndefined();

    const broken = await runTrain(
      { ...covered, breakGlass: { reason: 'payment outage fix' } },
      { clock: inside, executionName: 'train-frozen-2' },
    );
    expect(broken.status, `${broken.error}: ${broken.cause}`).toBe('SUCCEEDED');
    const journal = (await readJournal(env().JOURNAL_TABLE as string)).filter(
      (r) => r.action === 'freeze-override',
    );
    // The train journals and alerts the override once; its rollout journals it too, without an alert.
    expect(journal.map((r) => r.resource)).toEqual(
      expect.arrayContaining(['train/train-frozen-2', 'service/web/billing']),
    );
    expect((await trainAlerts()).map((a) => a.severity)).toEqual(['info']);

    // Started ten minutes before the freeze: cart rolls out (its rollback window alone takes 15
    // minutes of virtual time), then billing's turn comes inside the window and the line stops.
    const before = await serviceNow(world, 'billing');
    const straddling = await runTrain(
      {
        waves: [
          {
            services: [
              { service: 'cart', image: 'registry.local/cart:t9', strategy: { type: 'all-at-once' } },
            ],
          },
          {
            services: [
              { service: 'billing', image: 'registry.local/billing:t10', strategy: { type: 'all-at-once' } },
            ],
          },
        ],
      },
      { clock: clockAt(Date.parse(FREEZE_START) - 10 * 60_000), executionName: 'train-frozen-3' },
    );
    expect(straddling.error).toBe('TrainStopped');
    const record = await getTrainRecord(documentClient(), table(), 'train-frozen-3');
    expect(record).toMatchObject({
      status: 'stopped',
      stop: { by: 'freeze' },
      counts: { succeeded: 1, skipped: 1 },
    });
    expect(record?.stop?.reason).toContain('freeze window "year end"');
    expect(await serviceNow(world, 'billing')).toEqual(before);
  });

  it('an error budget burning too fast blocks a train, naming the service and its burn rates; break glass lets it start', async () => {
    const clock = trainClock();
    const before = await serviceNow(world, 'orders');
    // orders answered 5% 5xx over the last two hours: 50x what a 99.9% objective allows.
    await writeServiceTraffic(
      'orders',
      clock,
      () => ({ requests: 1000, errors: 50, latencyMs: 60 }),
      2 * HOUR,
    );
    const train = {
      waves: [
        {
          services: [
            {
              service: 'orders',
              image: 'registry.local/orders:fix',
              strategy: { type: 'all-at-once' as const },
            },
          ],
        },
      ],
    };
    const refused = await runTrain(train, { clock, executionName: 'train-burning-1' });
    expect(refused.error).toBe('ErrorBudgetBurning');
    expect(errorMessage(refused.cause)).toContain(
      'refused: the error budget of web/orders is burning: availability 1h 50.0x and 5m 50.0x (fires at 14.4x); availability 6h',
    );
    expect(refused.states).toEqual(['Validate input']);
    expect(await getTrainRecord(documentClient(), table(), 'train-burning-1')).toBeUndefined();
    expect(await serviceNow(world, 'orders')).toEqual(before);

    // Rolling a fix forward is what break glass is for: journaled with the budget it overrode.
    const fix = await runTrain(
      { ...train, breakGlass: { reason: 'rolling forward the fix for the 5xx' } },
      { clock, executionName: 'train-burning-2' },
    );
    expect(fix.status, `${fix.error}: ${fix.cause}`).toBe('SUCCEEDED');
    const override = (await readJournal(env().JOURNAL_TABLE as string)).find(
      (r) => r.action === 'freeze-override' && r.resource === 'train/train-burning-2',
    );
    expect(override?.reason).toContain('the error budget of web/orders is burning');
  });

  it('a rollout of a service whose error budget holds passes, its verdicts showing the budget; one whose budget burns fails', async () => {
    const clock = trainClock();
    // search's p95 is 60 ms on blue and green, against its 300 ms objective.
    await writeServiceTraffic('search', clock, () => ({ requests: 500, errors: 0, latencyMs: 60 }), 2 * HOUR);
    const input = {
      service: 'search',
      image: 'registry.local/search:t20',
      strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
    };
    const passed = await runDeployedWorkflow(world.stack, 'blue-green-rollout', input, {
      clock,
      executionName: 'slo-holds-1',
      taskTokenTimeoutMs: 100,
    });
    expect(passed.status, `${passed.error}: ${passed.cause}`).toBe('SUCCEEDED');
    const verdicts = (await readJournal(env().JOURNAL_TABLE as string))
      .filter((r) => r.action === 'analyse-step' && r.details?.execution === passed.executionArn)
      .map((r) => (r.details as { verdict: Verdict }).verdict);
    expect(verdicts.length).toBeGreaterThan(0);
    for (const v of verdicts) {
      expect(v.verdict).toBe('pass');
      expect(v.errorBudget?.burning).toBe(false);
      expect(v.errorBudget?.rules).toContain('latency 1h 0.0x and 5m 0.0x (fires at 14.4x)');
    }

    // Now every minute of search is slow (900 ms): the budget burns, and the same rollout fails.
    const slowClock = trainClock();
    await writeServiceTraffic(
      'search',
      slowClock,
      () => ({ requests: 500, errors: 0, latencyMs: 900 }),
      2 * HOUR,
    );
    const failed = await runDeployedWorkflow(
      world.stack,
      'blue-green-rollout',
      { ...input, image: 'registry.local/search:t21' },
      {
        clock: slowClock,
        executionName: 'slo-burns-1',
        taskTokenTimeoutMs: 100,
      },
    );
    expect(failed.error).toBe('RolledBack');
    expect(failed.cause).toContain(
      'the error budget of web/search is burning: latency 1h 100.0x and 5m 100.0x',
    );
    expect((await serviceNow(world, 'search')).primaryImage).toBe('registry.local/search:t20');
  });

  it('rejects bad train input in the first state, naming the field, changing nothing', async () => {
    const snapshot = async () => {
      const items = (await documentClient().send(new ScanCommand({ TableName: table() }))).Items ?? [];
      return {
        records: items.map((i) => JSON.stringify(i)).sort(),
        journal: (await readJournal(env().JOURNAL_TABLE as string)).length,
        services: await Promise.all(['api', 'cart'].map((s) => serviceNow(world, s))),
      };
    };
    const before = await snapshot();
    const wave = (services: unknown[]) => ({ waves: [{ services }] }) as TrainInputDraft;
    const cases: [TrainInputDraft, string, string][] = [
      [
        wave([{ service: 'nope', image: 'x:1' }]),
        'input.waves.0.services.0.service',
        'is not a service the control plane rolls out',
      ],
      [
        { waves: [{ services: [{ service: 'api', image: 'x:1' }] }, { services: [{ service: 'cart' }] }] },
        'input.waves.1.services.0.image',
        'give exactly one of image or taskDefinition',
      ],
      [
        wave([
          { service: 'cart', image: 'x:1', strategy: { type: 'canary', percent: 100, bakeSeconds: 60 } },
        ]),
        'input.waves.0.services.0.strategy.percent',
        '',
      ],
      [
        {
          waves: [
            { services: [{ service: 'cart', image: 'x:1' }] },
            { services: [{ cluster: 'web', service: 'cart', image: 'x:2' }] },
          ],
        },
        'input.waves.1.services.0.service',
        'already in the train (input.waves.0.services.0)',
      ],
      [
        { waves: [{ maxConcurrency: 41, services: [{ service: 'cart', image: 'x:1' }] }] },
        'input.waves.0.maxConcurrency',
        '',
      ],
      [
        { ...wave([{ service: 'cart', image: 'x:1' }]), budget: { maxGreenTaskPercent: 0 } },
        'input.budget.maxGreenTaskPercent',
        '',
      ],
      [{ ...wave([{ service: 'cart', image: 'x:1' }]), onStop: 'pause' } as never, 'input.onStop', ''],
      [{ waves: [] }, 'input.waves', ''],
    ];
    let n = 0;
    for (const [input, field, words] of cases) {
      const result = await runDeployedWorkflow(world.stack, 'release-train', input, {
        clock: trainClock(),
        executionName: `train-rejected-${++n}`,
      });
      expect(result.status, field).toBe('FAILED');
      expect(result.error, field).toBe('InvalidInput');
      expect(result.cause, field).toContain(field);
      if (words) expect(result.cause, field).toContain(words);
      expect(result.states, field).toEqual(['Validate input', 'Input rejected']);
    }
    expect(await snapshot()).toEqual(before);
  });
});
