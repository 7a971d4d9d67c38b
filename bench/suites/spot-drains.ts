// Spot drains that keep minimum healthy: warnings on instances hosting services whose deployment
// configuration lets ECS neither stop nor replace their tasks (100/100), and services it drains
// on its own (50/200), on the emulator. What is added before the drain, what it costs in AWS
// calls and handler time, how long from the notice to the drain, and whether the give-back
// brings each service back to where it was.
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { awsClient } from '../../functions/shared/clients.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { readJournal, synthControlPlane, takeAlerts } from '../../local/control-plane.ts';
import { eventSources } from '../../local/event-sources.ts';
import { type SeededInstance, seedServiceWithTasks } from '../../local/seed.ts';
import { putEvents, sampleEvent } from '../../local/spot-harness.ts';
import { type Cell, type Column, median, type SuiteContext, type SuiteResult } from '../run.ts';
import { closeWorld, openWorld, type World } from '../spot/world.ts';
import { handleSpotQueue, type OperationCounts } from './spot.ts';

export const name = 'spot-drains';
export const description =
  'Spot warnings on instances hosting services, through EventBridge -> SQS -> the in-process handler on the emulator: ' +
  'tasks added before the drain to keep minimum healthy, their AWS calls, notice-to-drain time, and the give-back.';

const CLUSTER_SIZE = 60;
/** Protection's own calls: the tasks on the drained instances, their services, the raise. */
const PROTECTION_OPS = ['ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:DescribeServices', 'ecs:UpdateService'];

interface ServiceSpec {
  name: string;
  minimumHealthyPercent: number;
  maximumPercent: number;
  /** Tasks per drained instance. */
  tasksPerInstance: number;
}

interface Scenario {
  label: string;
  warnings: number;
  services: ServiceSpec[];
  /**
   * What a drain of `warnings` instances needs added, by service, worked out by hand from ECS's
   * documented rules (not by the code under test): at 100/100 ECS may neither stop nor replace a
   * drained task, so every one is added; at 50/200 it stops and replaces them on its own.
   */
  expectedAdded: Record<string, number>;
}

const STRICT = (n: string): ServiceSpec => ({
  name: n,
  minimumHealthyPercent: 100,
  maximumPercent: 100,
  tasksPerInstance: 1,
});
const ROOMY = (n: string): ServiceSpec => ({
  name: n,
  minimumHealthyPercent: 50,
  maximumPercent: 200,
  tasksPerInstance: 1,
});

function scenarios(): Scenario[] {
  return [
    { label: '1 warning, nothing running on it', warnings: 1, services: [], expectedAdded: {} },
    {
      label: '1 warning, a 100/100 service on it',
      warnings: 1,
      services: [STRICT('one-strict')],
      expectedAdded: { 'one-strict': 1 },
    },
    {
      label: 'storm of 10, a 100/100 and a 50/200 service on each',
      warnings: 10,
      services: [STRICT('storm-strict'), ROOMY('storm-roomy')],
      expectedAdded: { 'storm-strict': 10, 'storm-roomy': 0 },
    },
  ];
}

const COLUMNS: Column[] = [
  { key: 'scenario', label: 'scenario', align: 'left' },
  { key: 'warnings', label: 'warnings' },
  { key: 'tasks', label: 'tasks on drained instances' },
  { key: 'added', label: 'tasks added before the drain' },
  { key: 'expected', label: 'expected (by hand)' },
  {
    key: 'protectionCalls',
    label: 'protection calls (ListTasks, DescribeTasks, DescribeServices, UpdateService)',
  },
  { key: 'totalCalls', label: 'AWS calls, all' },
  { key: 'perDrained', label: 'calls per drained instance' },
  { key: 'noticeToDrainMs', label: 'notice to drain ms (max)' },
  { key: 'handlerMs', label: 'handler ms' },
  { key: 'restored', label: 'given back to where it was' },
  { key: 'named', label: 'alert names the protected services' },
];

interface Measure {
  calls: OperationCounts;
  handlerMs: number;
  noticeToDrainMs: number;
  added: Record<string, number>;
  restored: boolean;
  named: boolean;
  tasks: number;
  problems: string[];
}

const ecs = () => awsClient(ECSClient);

/** The service, its tasks on the instances to be warned and as many again elsewhere; its desired count. */
async function serviceOn(world: World, spec: ServiceSpec, hosts: readonly SeededInstance[]): Promise<number> {
  // Twice the drained tasks: half elsewhere, so the service is not only on the doomed instances.
  const desired = 2 * spec.tasksPerInstance * hosts.length;
  await seedServiceWithTasks(ecs(), world.cluster, {
    ...spec,
    desiredCount: desired,
    placements: hosts.map((h) => [h.containerInstanceArn, spec.tasksPerInstance] as const),
  });
  return desired;
}

async function desiredOf(world: World, services: readonly string[]): Promise<Record<string, number>> {
  if (services.length === 0) return {};
  const out = await ecs().send(
    new DescribeServicesCommand({ cluster: world.cluster, services: [...services] }),
  );
  return Object.fromEntries((out.services ?? []).map((s) => [s.serviceName as string, s.desiredCount ?? 0]));
}

async function runScenario(world: World, scenario: Scenario): Promise<Measure> {
  const hosts = world.instances
    .filter((c) => c.spot && !world.used.has(c.ec2InstanceId))
    .slice(0, scenario.warnings);
  if (hosts.length < scenario.warnings) throw new Error(`too few spot instances left for ${scenario.label}`);
  for (const h of hosts) world.used.add(h.ec2InstanceId);
  const before: Record<string, number> = {};
  for (const spec of scenario.services) before[spec.name] = await serviceOn(world, spec, hosts);

  const problems: string[] = [];
  const journalTable = world.stack.functions['spot-interruption']?.environment.JOURNAL_TABLE as string;
  const now = new Date().toISOString();
  await putEvents(
    hosts.map((h) => ({
      ...sampleEvent('ec2-spot-instance-interruption-warning', h.ec2InstanceId),
      time: now,
    })),
  );
  const { poll, calls, handlerMs } = await handleSpotQueue(world, world.fn);
  if (poll.failed > 0) problems.push(`${poll.failed} messages failed: ${poll.errors.join('; ')}`);

  const names = scenario.services.map((s) => s.name);
  const raised = await desiredOf(world, names);
  const added = Object.fromEntries(names.map((n) => [n, (raised[n] ?? 0) - (before[n] ?? 0)]));
  const records: JournalRecord[] = await readJournal(journalTable);
  const drains = records.filter(
    (r) => r.action === 'drain-instance' && hosts.some((h) => r.resource.endsWith(`/${h.ec2InstanceId}`)),
  );
  if (drains.length !== hosts.length) problems.push(`${drains.length} of ${hosts.length} drains journaled`);
  const noticeToDrainMs = Math.max(
    0,
    ...drains.map((r) => Date.parse(String(r.details?.drainedAt)) - Date.parse(String(r.details?.noticeAt))),
  );

  // The alert, through the router (its group window waited for), and the give-back after the
  // hold (1 s here).
  await eventSources(world.stack).run();
  const alerts: string[] = [];
  for (const queue of Object.values(world.alertQueues))
    for (const a of await takeAlerts(queue)) alerts.push(String(a.alert.whatWeDid ?? ''));
  const protectedNames = names.filter((n) => (added[n] ?? 0) > 0);
  const named = protectedNames.every((n) => alerts.some((text) => text.includes(`${n} +${added[n]}`)));
  const after = await desiredOf(world, names);
  const restored = names.every((n) => after[n] === before[n]);
  return {
    calls,
    handlerMs,
    noticeToDrainMs,
    added,
    restored,
    named,
    tasks: scenario.services.reduce((sum, s) => sum + s.tasksPerInstance * hosts.length, 0),
    problems,
  };
}

export async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const template = await synthControlPlane();
  const rows: Record<string, Cell>[] = [];
  const checks: SuiteResult['checks'] = [];
  const details: unknown[] = [];
  for (const scenario of scenarios()) {
    const measures: Measure[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      ctx.log(`${scenario.label}: run ${r + 1}`);
      const world = await openWorld(template, CLUSTER_SIZE);
      try {
        // As every local deployment compresses waits: the give-back after 1 s, not 5 minutes.
        const env = world.stack.functions['spot-interruption']?.environment;
        if (env) env.PRESCALE_HOLD_SECONDS = '1';
        measures.push(await runScenario(world, scenario));
      } finally {
        await closeWorld(world);
      }
    }
    const first = measures[0] as Measure;
    const protectionCalls = PROTECTION_OPS.map((op) => first.calls[op] ?? 0);
    const total = Object.values(first.calls).reduce((a, b) => a + b, 0);
    const addedTotal = Object.values(first.added).reduce((a, b) => a + b, 0);
    const expectedTotal = Object.values(scenario.expectedAdded).reduce((a, b) => a + b, 0);
    rows.push({
      scenario: scenario.label,
      warnings: scenario.warnings,
      tasks: first.tasks,
      added:
        Object.entries(first.added)
          .map(([n, a]) => `${n} +${a}`)
          .join(', ') || 0,
      expected:
        Object.entries(scenario.expectedAdded)
          .map(([n, a]) => `${n} +${a}`)
          .join(', ') || 0,
      protectionCalls: `${protectionCalls.reduce((a, b) => a + b, 0)} (${protectionCalls.join(', ')})`,
      totalCalls: total,
      perDrained: Math.round((total / scenario.warnings) * 100) / 100,
      noticeToDrainMs: Math.round(median(measures.map((m) => m.noticeToDrainMs))),
      handlerMs: Math.round(median(measures.map((m) => m.handlerMs))),
      restored: measures.every((m) => m.restored),
      named: measures.every((m) => m.named),
    });
    checks.push({
      name: `${scenario.label}: added exactly what ECS could neither stop nor replace`,
      ok: measures.every((m) => JSON.stringify(m.added) === JSON.stringify(scenario.expectedAdded)),
      detail: `added ${addedTotal}, expected ${expectedTotal}`,
    });
    checks.push({
      name: `${scenario.label}: every target drained and journaled, no message failed`,
      ok: measures.every((m) => m.problems.length === 0),
      detail: measures.flatMap((m) => m.problems).join('; '),
    });
    // Checks that would pass on nothing are only made where there is something to check.
    if (scenario.services.length > 0)
      checks.push({
        name: `${scenario.label}: the give-back brings every service back to where it was`,
        ok: measures.every((m) => m.restored),
      });
    if (expectedTotal > 0)
      checks.push({
        name: `${scenario.label}: the alert names each protected service and what it got`,
        ok: measures.every((m) => m.named),
      });
    // The warning's budget: 120 s less the 20 s margin. The protection must leave it to the tasks.
    checks.push({
      name: `${scenario.label}: notice to drain within 10 s (of the 100 s the warning leaves)`,
      ok: measures.every((m) => m.noticeToDrainMs <= 10_000),
      detail: `${Math.max(...measures.map((m) => m.noticeToDrainMs))} ms at most`,
    });
    if (scenario.services.length === 0)
      checks.push({
        name: `${scenario.label}: no protection call for an instance ECS counts no task on`,
        ok: protectionCalls.every((c) => c === 0),
        detail: protectionCalls.join(', '),
      });
    else
      checks.push({
        name: `${scenario.label}: protection costs one ListTasks per drained instance and a handful more`,
        ok:
          (first.calls['ecs:ListTasks'] ?? 0) === scenario.warnings &&
          protectionCalls.reduce((a, b) => a + b, 0) <= scenario.warnings + 6,
        detail: protectionCalls.join(', '),
      });
    details.push({ scenario: scenario.label, runs: measures });
  }
  return {
    title: 'drains that keep minimum healthy (pre-scaling)',
    columns: COLUMNS,
    rows,
    checks,
    notes: [
      `Each run opens a fresh emulator with the synthesized control plane and a ${CLUSTER_SIZE}-instance cluster (bench/spot/world.ts), creates the services with their deployment configuration, and starts one task of each on every instance that will be warned (and as many again elsewhere, in the desired count). The warnings carry the current time, so the two-minute budget is real.`,
      '"expected (by hand)" is worked out from ECS\'s documented draining rules, not by the code under test: at 100/100 ECS may neither stop a task on a draining instance nor start its replacement, so every such task is added first; at 50/200 it stops and replaces them within its limits, so nothing is added.',
      'Protection calls are one filtered ListTasks per warned instance that ECS counts tasks on, DescribeTasks per 100 tasks, DescribeServices per 10 services (once to decide, once under the lock for each service raised) and one UpdateService per service raised; the lock and the ledger are DynamoDB calls, in the "all" column. An instance with no task costs none of them.',
      'The give-back is a follow-up on the function\'s own queue, delayed PRESCALE_HOLD_SECONDS (300 s deployed, 1 s here); "given back" compares each service\'s desired count after it with the count before the warning.',
      "Notice to drain is drainedAt - noticeAt from the journal (the warning's time is its notice): it includes the protection, done before the drain.",
    ],
    details,
  };
}
