// Blue/green rollouts: Step Functions state transitions per rollout for each strategy, with a
// 1-minute and a 60-minute bake (they must not grow with bake time, only with the number of
// steps), and what it takes to get 100% of traffic back on blue once a rollback is decided: by
// the workflow after a failed analysis, and by `ops rollback` inside the window (AWS calls
// counted by the fault proxy, wall time on the emulator).
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { RolloutInputDraft } from '../../events/rollout-input.ts';
import { awsClient, resetClients } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { rollbackService } from '../../functions/shared/rollouts/operator.ts';
import { getRolloutRecord } from '../../functions/shared/rollouts/record.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { type Emulator, localAwsEnv, startEmulator } from '../../local/emulator.ts';
import { type FaultProxy, startFaultProxy } from '../../local/fault-proxy.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
import {
  localOperatorDeps,
  putTargetGroupMetrics,
  rolloutEnvironment,
  runRollout,
} from '../../local/rollouts.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { useStepFunctionsEndpoint } from '../../local/step-functions-endpoint.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { type LambdaBinding, nextTaskToken, runWorkflow } from '../../local/workflow-runner.ts';
import { deployedWorkflow } from '../../local/workflows.ts';
import { type Cell, median, type SuiteContext, type SuiteResult } from '../run.ts';

export const name = 'rollouts';
export const description =
  'Blue/green rollouts on the emulator from the synthesized definition: state transitions per rollout by strategy and bake time, and the calls and time from a rollback decision to 100% blue.';

export const STRATEGIES: {
  label: string;
  steps: number;
  strategy: (bake: number) => RolloutInputDraft['strategy'];
}[] = [
  { label: 'all-at-once', steps: 1, strategy: () => ({ type: 'all-at-once' }) },
  { label: 'canary 10%', steps: 2, strategy: (bake) => ({ type: 'canary', percent: 10, bakeSeconds: bake }) },
  {
    label: 'linear 25%',
    steps: 4,
    strategy: (bake) => ({ type: 'linear', stepPercent: 25, intervalSeconds: bake }),
  },
  {
    label: 'steps 5/20/50/80/100',
    steps: 5,
    strategy: (bake) => ({
      type: 'steps',
      steps: [
        { weight: 5, bakeSeconds: bake },
        { weight: 20, bakeSeconds: bake },
        { weight: 50, bakeSeconds: bake },
        { weight: 80, bakeSeconds: bake },
        { weight: 100, bakeSeconds: 0 },
      ],
    }),
  },
];
export const BAKES = [60, 3600] as const;

const SHADOWING_VARS = ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_MAX_ATTEMPTS'];
const HOUR = 3_600_000;

interface World {
  emulator: Emulator;
  proxy: FaultProxy;
  stack: DeployedStack;
  seed: Seed;
  slot: number;
}

async function openWorld(): Promise<World> {
  const emulator = await startEmulator();
  const proxy = await startFaultProxy({ target: emulator.endpoint, throttleRate: 0 });
  for (const key of SHADOWING_VARS) delete process.env[key];
  Object.assign(process.env, localAwsEnv(proxy.endpoint));
  await useStepFunctionsEndpoint(proxy.endpoint);
  process.env.OPS_LOG_LEVEL ??= 'SILENT';
  resetClients();
  const stack = await deployControlPlane();
  const world = await seed(stack, { instances: 24, spotFraction: 0.5 });
  installPercentileStandIn();
  return { emulator, proxy, stack, seed: world, slot: 0 };
}

/** A clock hours after the previous rollout's, with healthy traffic on both target groups. */
async function freshClock(
  world: World,
  green?: (minute: number) => { requests: number; errors: number; latencyMs: number },
) {
  const clock = new VirtualClock();
  clock.advance(++world.slot * 6 * HOUR);
  const lb = world.seed.loadBalancer;
  const healthy = (m: number) => ({
    requests: 1000 + (m % 7) * 13,
    errors: m % 3 === 0 ? 1 : 0,
    latencyMs: 48 + (m % 5),
  });
  const from = clock.now() - 120_000;
  // Through the longest rollout measured (four one-hour bakes and the steps between them), and
  // short of the next rollout's clock, six hours on.
  const to = clock.now() + 5 * HOUR;
  // Which group serves depends on earlier rollouts: the primary task set's; green goes on the other.
  const service = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: 'web', services: ['api'] }),
  );
  const primary = service.services?.[0]?.taskSets?.find((t) => t.status === 'PRIMARY');
  const live = primary?.loadBalancers?.[0]?.targetGroupArn ?? lb.blueTargetGroupArn;
  const idle = live === lb.blueTargetGroupArn ? lb.greenTargetGroupArn : lb.blueTargetGroupArn;
  await putTargetGroupMetrics({ loadBalancerArn: lb.arn, targetGroupArn: live, from, to, traffic: healthy });
  await putTargetGroupMetrics({
    loadBalancerArn: lb.arn,
    targetGroupArn: idle,
    from,
    to,
    traffic: green ?? healthy,
  });
  return clock;
}

const input = (
  image: string,
  strategy: RolloutInputDraft['strategy'],
  extra: Partial<RolloutInputDraft> = {},
) =>
  ({
    cluster: 'web',
    service: 'api',
    image,
    strategy,
    // A one-minute bake gives one sample per color: limits only, the comparison switched off.
    analysis: { maxErrorRate: 0.01, maxP95LatencyMs: 400, baseline: { enabled: false } },
    rollbackWindowSeconds: 900,
    terminationWaitSeconds: 300,
    requestedBy: 'bench',
    ...extra,
  }) as Record<string, unknown>;

interface TransitionRun {
  transitions: number;
  states: number;
  wallMs: number;
  virtualMinutes: number;
  calls: number;
}

async function measureStrategy(
  world: World,
  s: (typeof STRATEGIES)[number],
  bake: number,
  run: number,
): Promise<TransitionRun> {
  const clock = await freshClock(world);
  const before = world.proxy.stats().forwarded;
  const started = clock.now();
  const t = performance.now();
  const result = await runRollout(
    world.stack,
    input(`bench/api:${s.steps}-${bake}-${run}`, s.strategy(bake)),
    {
      clock,
      taskTokenTimeoutMs: 20,
    },
  );
  const wallMs = performance.now() - t;
  if (result.status !== 'SUCCEEDED')
    throw new Error(`${s.label}, bake ${bake}s: ${result.error}: ${result.cause}`);
  return {
    transitions: result.transitions,
    states: result.states.length,
    wallMs,
    virtualMinutes: (clock.now() - started) / 60_000,
    calls: world.proxy.stats().forwarded - before,
  };
}

interface RollbackRun {
  wallMs: number;
  modifyListener: number;
  describeListeners: number;
  totalCalls: number;
  byOperation: Record<string, number>;
}

/**
 * A canary whose green answers 12% 5xx: the analysis decides to roll back; measured from the
 * analysis task's return to the end of the restore-blue task (the Choice states between them
 * included), with the calls the restore-blue task made.
 */
async function measureWorkflowRollback(world: World, run: number): Promise<RollbackRun> {
  const clock = await freshClock(world, () => ({ requests: 1000, errors: 120, latencyMs: 50 }));
  const machine = deployedWorkflow(world.stack, 'blue-green-rollout');
  const lambdas: Record<string, LambdaBinding> = {};
  let decidedAt = 0;
  let restoredAt = 0;
  let before: Record<string, number> = {};
  let after: Record<string, number> = {};
  for (const fn of Object.values(world.stack.functions)) {
    const local = await localFunction(world.stack, fn.name, { clock });
    lambdas[fn.arn] = async (event) => {
      const action = (event as { action?: string }).action;
      if (action === 'restore-blue') before = { ...world.proxy.stats().forwardedByOperation };
      const out = await local.invoke(event);
      if (action === 'analyse' && (out as { verdict?: { verdict: string } }).verdict?.verdict === 'fail')
        decidedAt = performance.now();
      if (action === 'restore-blue') {
        restoredAt = performance.now();
        after = { ...world.proxy.stats().forwardedByOperation };
      }
      return out;
    };
  }
  const result = await runWorkflow({
    definition: machine.definition,
    input: input(`bench/api:bad-${run}`, { type: 'canary', percent: 10, bakeSeconds: 300 }),
    lambdas,
    stateMachineName: machine.name,
    clock,
    taskTokenTimeoutMs: 20,
  });
  if (result.error !== 'RolledBack')
    throw new Error(`expected a rollback, got ${result.status} ${result.error}`);
  const byOperation = Object.fromEntries(
    Object.entries(after)
      .map(([op, n]) => [op, n - (before[op] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  return {
    wallMs: restoredAt - decidedAt,
    modifyListener: byOperation['elasticloadbalancing:ModifyListener'] ?? 0,
    describeListeners: byOperation['elasticloadbalancing:DescribeListeners'] ?? 0,
    totalCalls: Object.values(byOperation).reduce((a, b) => a + b, 0),
    byOperation,
  };
}

/** `ops rollback` inside the window: from the command to 100% blue read back. */
async function measureOperatorRollback(world: World, run: number): Promise<RollbackRun> {
  const clock = await freshClock(world);
  const rollout = runRollout(world.stack, input(`bench/api:window-${run}`, { type: 'all-at-once' }), {
    clock,
    taskTokenTimeoutMs: 60_000,
  });
  const window = await nextTaskToken({ stateName: 'Rollback window', timeoutMs: 60_000 });
  const table = rolloutEnvironment(world.stack).OPERATIONS_TABLE as string;
  for (;;) {
    const r = await getRolloutRecord(documentClient(), table, 'web', 'api');
    if (r?.executionName === window.executionName && r.phase === 'window') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const before = { ...world.proxy.stats().forwardedByOperation };
  const t = performance.now();
  await rollbackService(localOperatorDeps(world.stack, clock), 'web/api', 'bench');
  const wallMs = performance.now() - t;
  const after = world.proxy.stats().forwardedByOperation;
  const byOperation = Object.fromEntries(
    Object.entries(after)
      .map(([op, n]) => [op, n - (before[op] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  const result = await rollout;
  if (result.error !== 'RolledBack')
    throw new Error(`expected an operator rollback, got ${result.status} ${result.error}`);
  return {
    wallMs,
    modifyListener: byOperation['elasticloadbalancing:ModifyListener'] ?? 0,
    describeListeners: byOperation['elasticloadbalancing:DescribeListeners'] ?? 0,
    totalCalls: Object.values(byOperation).reduce((a, b) => a + b, 0),
    byOperation,
  };
}

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  ctx.log('starting the emulator, deploying the control plane from the synthesized template, seeding');
  const world = await openWorld();
  try {
    const rows: Record<string, Cell>[] = [];
    const checks: SuiteResult['checks'] = [];
    const byStrategy = new Map<string, Map<number, TransitionRun[]>>();
    for (const s of STRATEGIES) {
      const byBake = new Map<number, TransitionRun[]>();
      for (const bake of BAKES) {
        const runs: TransitionRun[] = [];
        for (let i = 0; i < ctx.runs; i++) runs.push(await measureStrategy(world, s, bake, i));
        byBake.set(bake, runs);
        const first = runs[0] as TransitionRun;
        ctx.log(`${s.label}, bake ${bake / 60} min: ${first.transitions} transitions`);
        rows.push({
          scenario: s.label,
          steps: s.steps,
          bake: `${bake / 60} min`,
          transitions: first.transitions,
          states: first.states,
          runsAgree: runs.every((r) => r.transitions === first.transitions),
          calls: first.calls,
          virtualMinutes: Math.round(first.virtualMinutes),
          wallMs: Math.round(median(runs.map((r) => r.wallMs))),
        });
      }
      byStrategy.set(s.label, byBake);
      const short = byBake.get(BAKES[0])?.[0]?.transitions;
      const long = byBake.get(BAKES[1])?.[0]?.transitions;
      checks.push({
        name: `${s.label}: transitions with a 60-minute bake equal those with a 1-minute bake`,
        ok: short === long,
        detail: `${short} vs ${long}`,
      });
    }
    const transitionsOf = (s: (typeof STRATEGIES)[number]) =>
      byStrategy.get(s.label)?.get(BAKES[0])?.[0]?.transitions ?? 0;
    const perStep = STRATEGIES.slice(1).map((s, i) => {
      const prev = STRATEGIES[i] as (typeof STRATEGIES)[number];
      return (transitionsOf(s) - transitionsOf(prev)) / (s.steps - prev.steps);
    });
    checks.push({
      name: 'transitions grow with the number of steps, by the same amount per step',
      ok: perStep.every((n) => n === perStep[0] && n > 0),
      detail: `per extra step: ${perStep.join(', ')}`,
    });

    ctx.log('rollback decided by the analysis -> 100% blue');
    const workflow: RollbackRun[] = [];
    for (let i = 0; i < ctx.runs; i++) workflow.push(await measureWorkflowRollback(world, i));
    ctx.log('ops rollback inside the window -> 100% blue');
    const operator: RollbackRun[] = [];
    for (let i = 0; i < ctx.runs; i++) operator.push(await measureOperatorRollback(world, i));
    const rollbackRows = [
      ['rollback after a failed analysis (restore-blue task)', workflow],
      ['ops rollback inside the window', operator],
    ] as const;
    for (const [label, runs] of rollbackRows) {
      const first = runs[0] as RollbackRun;
      rows.push({
        scenario: label,
        steps: null,
        bake: null,
        transitions: null,
        states: null,
        runsAgree: runs.every(
          (r) => r.totalCalls === first.totalCalls && r.modifyListener === first.modifyListener,
        ),
        calls: first.totalCalls,
        virtualMinutes: null,
        wallMs: Math.round(median(runs.map((r) => r.wallMs))),
        listenerUpdates: first.modifyListener,
        listenerReads: first.describeListeners,
      });
      checks.push({
        name: `${label}: one listener update plus one read-back`,
        ok: runs.every((r) => r.modifyListener === 1 && r.describeListeners === 1),
        detail: runs.map((r) => `${r.modifyListener} update(s), ${r.describeListeners} read(s)`).join('; '),
      });
    }

    return {
      title: 'state transitions per rollout, and rollback to 100% blue',
      columns: [
        { key: 'scenario', label: 'scenario' },
        { key: 'steps', label: 'steps' },
        { key: 'bake', label: 'bake per step' },
        { key: 'transitions', label: 'state transitions' },
        { key: 'states', label: 'states entered' },
        { key: 'runsAgree', label: 'runs agree' },
        { key: 'calls', label: 'AWS calls (emulator)' },
        { key: 'listenerUpdates', label: 'listener updates' },
        { key: 'listenerReads', label: 'listener reads' },
        { key: 'virtualMinutes', label: 'virtual minutes' },
        { key: 'wallMs', label: 'wall ms (median)' },
      ],
      rows,
      notes: [
        'Every rollout runs the synthesized blue-green-rollout definition through aws-local-stepfunctions against moto 5.2.5 behind the counting fault proxy (no faults). Waits are compressed; "virtual minutes" is the time the virtual clock moved (bakes and the termination wait), gates and the rollback window time out at once here.',
        'Transitions are StateEntered events plus retries, as Step Functions bills them. A bake is one Wait state whatever its length, so a 60-minute bake costs what a 1-minute bake costs; each extra step costs shift, bake, analyse, verdict and next-step states.',
        'Rollback after a failed analysis: from the analysis task returning "fail" to the restore-blue task returning (the Choice states between them included), and the calls restore-blue made; its listener update and read-back are the ones the design target counts. The calls besides them are the rollout record and the journal (DynamoDB).',
        'ops rollback: from the command to the read-back confirming 100% blue; the calls are the record claim, the listener update and read-back, the record update and the journal record. The workflow then removes green without touching the listener again.',
        'AWS call counts include the emulator-only effects of moto: DescribeTargetHealth returns no targets, so green is ready at the first check.',
        'Wall time grows with the bake (not the transitions): the analysis reads a longer metric window, and moto scans every stored datapoint once per one-minute period of it; on AWS GetMetricData is one call either way.',
      ],
      checks,
      details: {
        rollbacks: {
          workflow: workflow.map((r) => r.byOperation),
          operator: operator.map((r) => r.byOperation),
        },
      },
    };
  } finally {
    await world.proxy.stop();
    await world.emulator.stop();
    resetClients();
  }
}
