import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { awsClient } from '../../functions/shared/clients.ts';
import { DEFAULT_MANAGED_CLUSTERS } from '../../infra/app.ts';
import { readJournal, synthControlPlane } from '../../local/control-plane.ts';
import { eventSources } from '../../local/event-sources.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { seedFargateService } from '../../local/seed.ts';
import { fargateSpotReclaim, putEvents } from '../../local/spot-harness.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { type Cell, type Column, median, type SuiteContext, type SuiteResult } from '../run.ts';
import { closeWorld, openWorld, type World } from '../spot/world.ts';
import { handleSpotQueue, type OperationCounts } from './spot.ts';

export const name = 'spot-fallbacks';
export const description =
  'Fargate Spot reclaims of one service through EventBridge -> SQS -> the in-process handler on the emulator: ' +
  'the move to FARGATE past the threshold, once however many reclaims, and back after the quiet period.';

const SETTINGS = { reclaims: 3, windowMinutes: 10, quietMinutes: 30, maxShiftsPerDay: 4 };
const STRATEGY = [
  { capacityProvider: 'FARGATE', base: 1, weight: 25 },
  { capacityProvider: 'FARGATE_SPOT', weight: 75 },
];

interface Scenario {
  label: string;
  reclaims: number;
  /** Worked out from the settings by hand: more than `reclaims` in the window moves it. */
  moves: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    label: `${SETTINGS.reclaims} reclaims in the window (the most allowed)`,
    reclaims: SETTINGS.reclaims,
    moves: false,
  },
  { label: `${SETTINGS.reclaims + 1} reclaims in the window`, reclaims: SETTINGS.reclaims + 1, moves: true },
  { label: '50 reclaims at once (a Fargate Spot storm)', reclaims: 50, moves: true },
];

const COLUMNS: Column[] = [
  { key: 'scenario', label: 'scenario', align: 'left' },
  { key: 'reclaims', label: 'reclaims' },
  { key: 'invocations', label: 'handler invocations' },
  { key: 'moves', label: 'moves to FARGATE (journal)' },
  { key: 'expected', label: 'expected (by hand)' },
  { key: 'calls', label: 'AWS calls' },
  { key: 'perReclaim', label: 'calls per reclaim' },
  { key: 'updateService', label: 'UpdateService' },
  { key: 'handlerMs', label: 'handler ms' },
  { key: 'back', label: 'back on its strategy after the quiet period' },
];

interface Measure {
  calls: OperationCounts;
  invocations: number;
  handlerMs: number;
  moves: number;
  movedTo: unknown;
  back: boolean;
}

/** Strategies compared item by item, whatever order their keys come in. */
function sameStrategy(a: unknown, b: readonly Record<string, unknown>[]): boolean {
  const norm = (items: readonly Record<string, unknown>[]) =>
    items.map((i) => `${i.capacityProvider}/${i.base ?? 0}/${i.weight ?? 0}`).join(',');
  return Array.isArray(a) && norm(a as Record<string, unknown>[]) === norm(b);
}

async function runScenario(world: World, scenario: Scenario, service: string): Promise<Measure> {
  const ecs = awsClient(ECSClient);
  await seedFargateService(ecs, world.cluster, {
    name: service,
    desiredCount: 8,
    capacityProviderStrategy: STRATEGY,
  });
  const clock = new VirtualClock();
  const fn = await localFunction(world.stack, 'spot-interruption', { clock, freshInstance: true });
  await putEvents(
    Array.from({ length: scenario.reclaims }, () => fargateSpotReclaim(world.cluster, service, clock.now())),
  );
  const { calls, handlerMs, invocations } = await handleSpotQueue(world, fn);
  const strategy = async () =>
    (await ecs.send(new DescribeServicesCommand({ cluster: world.cluster, services: [service] })))
      .services?.[0]?.capacityProviderStrategy;
  const movedTo = await strategy();
  const journalTable = world.stack.functions['spot-interruption']?.environment.JOURNAL_TABLE as string;
  const moves = (await readJournal(journalTable)).filter(
    (r) =>
      r.resource.endsWith(`/${service}`) && r.action === 'fargate-spot-fallback' && r.outcome === 'changed',
  ).length;
  // The quiet period passes on the function's clock; its follow-up then moves it back.
  clock.advance((SETTINGS.quietMinutes + 1) * 60_000);
  await eventSources(world.stack, { clocks: { 'spot-interruption': clock } }).run();
  const back = sameStrategy(await strategy(), STRATEGY);
  return { calls, invocations, handlerMs, moves, movedTo, back };
}

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const base = DEFAULT_MANAGED_CLUSTERS[0];
  if (!base) throw new Error('no default managed cluster');
  const services = SCENARIOS.flatMap((_, i) =>
    Array.from({ length: ctx.runs }, (_r, r) => `worker-${i}-${r}`),
  );
  const template = await synthControlPlane('local', {
    managedClusters: [{ ...base, fargateFallback: { services, ...SETTINGS } }],
  });
  const world = await openWorld(template, 2);
  const rows: Record<string, Cell>[] = [];
  const checks: SuiteResult['checks'] = [];
  const details: unknown[] = [];
  try {
    // As every local deployment: the look at the quiet period every second, not every 15 minutes.
    const env = world.stack.functions['spot-interruption']?.environment;
    if (env) env.FARGATE_SHIFT_BACK_CHECK_SECONDS = '1';
    for (const [i, scenario] of SCENARIOS.entries()) {
      const measures: Measure[] = [];
      for (let r = 0; r < ctx.runs; r++) {
        ctx.log(`${scenario.label}: run ${r + 1}`);
        measures.push(await runScenario(world, scenario, `worker-${i}-${r}`));
      }
      const first = measures[0] as Measure;
      const total = Object.values(first.calls).reduce((a, b) => a + b, 0);
      rows.push({
        scenario: scenario.label,
        reclaims: scenario.reclaims,
        invocations: first.invocations,
        moves: first.moves,
        expected: scenario.moves ? 1 : 0,
        calls: total,
        perReclaim: Math.round((total / scenario.reclaims) * 100) / 100,
        updateService: first.calls['ecs:UpdateService'] ?? 0,
        handlerMs: Math.round(median(measures.map((m) => m.handlerMs))),
        back: measures.every((m) => m.back),
      });
      checks.push({
        name: `${scenario.label}: ${scenario.moves ? 'one move to FARGATE' : 'no move'}`,
        ok: measures.every((m) => m.moves === (scenario.moves ? 1 : 0)),
        detail: measures.map((m) => m.moves).join(', '),
      });
      checks.push({
        name: `${scenario.label}: ${scenario.moves ? 'FARGATE alone, then back on its strategy after the quiet period' : 'its strategy untouched'}`,
        ok: measures.every(
          (m) =>
            m.back &&
            sameStrategy(
              m.movedTo,
              scenario.moves ? [{ capacityProvider: 'FARGATE', base: 1, weight: 1 }] : STRATEGY,
            ),
        ),
      });
      checks.push({
        name: `${scenario.label}: at most one UpdateService while moving`,
        ok: measures.every((m) => (m.calls['ecs:UpdateService'] ?? 0) === (scenario.moves ? 1 : 0)),
        detail: measures.map((m) => m.calls['ecs:UpdateService'] ?? 0).join(', '),
      });
      details.push({ scenario: scenario.label, runs: measures });
    }
  } finally {
    await closeWorld(world);
  }
  return {
    title: 'Fargate Spot fallback: the move to FARGATE and back',
    columns: COLUMNS,
    rows,
    checks,
    notes: [
      `One emulator with the synthesized control plane, its cluster handing every scenario's service to the fallback (reclaims ${SETTINGS.reclaims}, window ${SETTINGS.windowMinutes} min, quiet ${SETTINGS.quietMinutes} min, ${SETTINGS.maxShiftsPerDay} moves a day). Each run creates its own Fargate service (FARGATE base 1 weight 25, FARGATE_SPOT weight 75) and sends that many Fargate Spot reclaims of it through EventBridge at once; the queue's event source hands them to the handler in batches, as Lambda would.`,
      '"expected (by hand)": more reclaims than the threshold inside the window move the service once; the threshold itself does not.',
      "Calls are the handler's while the reclaims are handled (the move included: the lock, the record, DescribeServices, UpdateService with forceNewDeployment, the journal, the alert, the follow-up); the move back runs afterwards on a clock the suite moves past the quiet period and is checked, not counted. The emulator refuses a strategy change without forceNewDeployment, as ECS does.",
      'The info alert each batch raises for the reclaimed tasks (one per cluster per batch) is counted with the calls (sqs:SendMessage).',
    ],
    details,
  };
}
