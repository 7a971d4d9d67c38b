// Races (issue 9): a rollout, three remediations (alarm events through the trigger), a scale
// (scale-service run) and a spot storm on web/api at once, for a few seeds. Each seed is one
// interleaving: three seeds force a conflict (one actor holds its lock or lease at a chosen step
// until the others are done), the others only shuffle the actors with seeded delays before every
// Lambda task. Whatever the interleaving, the end state must be consistent and explained: the
// listener all-blue or all-green behind the one primary task set, the desired count inside the
// guardrails and equal to what the journal says was changed, capacity requests adding up, no lock
// or lease left, and every refusal journaled naming who held what.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  ECSClient,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import type { RolloutInputDraft } from '../../events/rollout-input.ts';
import type { ScalePlan } from '../../events/scale-input.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { observerClient, observerDocumentClient } from '../../local/observer.ts';
import { rolloutEnvironment, runRollout, takeRaisedAlerts } from '../../local/rollouts.ts';
import type { SeededInstance } from '../../local/seed.ts';
import { seededRandom } from '../../local/seeded-random.ts';
import { sampleEvent } from '../../local/spot-harness.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import type { WorkflowResult } from '../../local/workflow-runner.ts';
import { runDeployedWorkflow } from '../../local/workflows.ts';
import { answersMayBeLost } from '../support/emulator.ts';
import {
  alarmEvent,
  deliverAlarmEvents,
  putAlarm,
  type StartedExecution,
  setAlarm,
  startedExecutions,
} from './alarm-events.ts';
import {
  actionKey,
  CLUSTER,
  expectConsistent,
  journal,
  SERVICE,
  serviceView,
  writeTraffic,
} from './service-view.ts';
import { useServiceWorld } from './service-world.ts';

const HOUR = 3_600_000;
/** config/scaling/local.json for web/api. */
const GUARDRAILS = { minTasks: 2, maxTasks: 12 };
const START_COUNT = 4;
const STORM = 2;

/** The alarms of config/remediation/local.json that act on web/api, one per runbook kind. */
const ALARMS = {
  cpu: 'web-api-cpu-high',
  fiveHundreds: 'web-api-green-5xx',
  unhealthy: 'web-api-unhealthy-hosts',
} as const;

type Order =
  /** The rollout holds the service lock (at its first analysis) until everyone else is done. */
  | 'rollout-holds-the-service-lock'
  /** The scale-in holds the service lock (while it verifies) until the rollout is done. */
  | 'scale-in-holds-the-service-lock'
  /** The CPU remediation holds the remediation lease (while it verifies) until the others are done. */
  | 'a-remediation-holds-the-lease'
  | 'free';

export interface Schedule {
  seed: number;
  order: Order;
  scaleDelta: number;
}

export const SCHEDULES: Schedule[] = [
  { seed: 1, order: 'rollout-holds-the-service-lock', scaleDelta: -1 },
  { seed: 2, order: 'scale-in-holds-the-service-lock', scaleDelta: -1 },
  { seed: 3, order: 'a-remediation-holds-the-lease', scaleDelta: 2 },
  { seed: 4, order: 'free', scaleDelta: -1 },
  { seed: 5, order: 'free', scaleDelta: 3 },
];

// ------------------------------------------------------------------------------------------

interface Latch {
  promise: Promise<void>;
  open(): void;
}
function latch(): Latch {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RaceResult {
  rollout: WorkflowResult & { executionName: string };
  scale: WorkflowResult & { executionName: string; plan?: ScalePlan };
  remediations: (WorkflowResult & { execution: StartedExecution; plan?: RemediationPlan })[];
  stormed: SeededInstance[];
  journal: JournalRecord[];
}

/** Execution ARNs a reason names. */
const executionArns = (text: string) => text.match(/arn:aws:states:[^\s),;]+:execution:[^\s),;]+/g) ?? [];

async function lockItems(table: string): Promise<Record<string, unknown>[]> {
  return (await observerDocumentClient().send(new ScanCommand({ TableName: table }))).Items ?? [];
}

async function groupDesired(names: string[]): Promise<number> {
  const out = await observerClient(AutoScalingClient).send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names }),
  );
  return (out.AutoScalingGroups ?? []).reduce((n, g) => n + (g.DesiredCapacity ?? 0), 0);
}

// ------------------------------------------------------------------------------------------

/**
 * The races, clean or behind `faults`. Where faults may lose answers, a raise retried after one
 * is the same alert twice, word for word: those copies are collapsed.
 */
export function describeRaces(
  title: string,
  faults?: Partial<FaultSettings>,
  schedules: readonly Schedule[] = SCHEDULES,
): void {
  describe(title, () => {
    const world = useServiceWorld({ instances: 24, ...(faults ? { faults } : {}) });
    const copies = { collapseCopies: answersMayBeLost(faults) };
    const clock = new VirtualClock();
    const seen = new Set<string>();
    const spotUsed = new Set<string>();
    const env = () => rolloutEnvironment(world.stack) as Record<string, string>;

    beforeAll(async () => {
      await putAlarm(ALARMS.cpu, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
      await putAlarm(ALARMS.fiveHundreds);
      await putAlarm(ALARMS.unhealthy, {
        metricName: 'UnHealthyHostCount',
        tags: { 'ecs-ops:runbook': 'replace-unhealthy-tasks' },
      });
    });

    async function race(schedule: Schedule): Promise<RaceResult> {
      const rng = seededRandom(schedule.seed);
      const jitter = () => sleep(Math.floor(rng() * 25));
      // Hours after the previous seed: past every cooldown, rate window and spot episode.
      clock.advance(8 * HOUR);
      const startedAt = clock.now();
      await observerClient(ECSClient).send(
        new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, desiredCount: START_COUNT }),
      );
      const before = await serviceView(world.seed);
      await writeTraffic(world.seed, before, startedAt, 'healthy');
      for (const name of Object.values(ALARMS)) await setAlarm(name, 'ALARM');
      const groups = [world.seed.autoScalingGroups.spot, world.seed.autoScalingGroups.onDemand];
      const capacityBefore = await groupDesired(groups);
      await takeRaisedAlerts(env().ALERT_QUEUE_URL as string, copies);

      const rolloutLocked = latch();
      const scaleLocked = latch();
      const cpuLeased = latch();
      const rolloutDone = latch();
      const scaleDone = latch();
      const remediationsDone = latch();
      const stormDone = latch();
      const othersOfCpuDone = latch();
      const { order } = schedule;

      const rollout = (async () => {
        try {
          if (order === 'scale-in-holds-the-service-lock') await scaleLocked.promise;
          await jitter();
          const input: RolloutInputDraft = {
            cluster: CLUSTER,
            service: SERVICE,
            image: `registry.local/api:race-${schedule.seed}`,
            strategy: { type: 'canary', percent: 20, bakeSeconds: 60 },
            // One sample a side in a one-minute bake: limits only, no comparison with blue.
            analysis: { maxErrorRate: 0.02, maxP95LatencyMs: 400, baseline: { enabled: false } },
            rollbackWindowSeconds: 60,
            terminationWaitSeconds: 60,
            requestedBy: `race-${schedule.seed}`,
          };
          let held = false;
          return await runRollout(world.stack, input as Record<string, unknown>, {
            clock,
            taskTokenTimeoutMs: 50,
            beforeLambda: async (fn, event) => {
              await jitter();
              const key = actionKey(fn, event);
              if (key === 'rollout-step:prepare') rolloutLocked.open();
              if (order === 'rollout-holds-the-service-lock' && key === 'rollout-analysis:analyse' && !held) {
                held = true;
                await Promise.all([scaleDone.promise, remediationsDone.promise, stormDone.promise]);
              }
            },
          });
        } finally {
          rolloutLocked.open();
          rolloutDone.open();
        }
      })();

      const scale = (async () => {
        try {
          if (order === 'rollout-holds-the-service-lock') await rolloutLocked.promise;
          await jitter();
          const executionName = `race-scale-${schedule.seed}`;
          let held = false;
          const result = await runDeployedWorkflow(
            world.stack,
            'scale-service',
            {
              cluster: CLUSTER,
              service: SERVICE,
              delta: schedule.scaleDelta,
              reason: `race seed ${schedule.seed}`,
            },
            {
              clock,
              executionName,
              beforeLambda: async (fn, event) => {
                await jitter();
                if (actionKey(fn, event) !== 'scale-service-step:verify' || held) return;
                held = true;
                scaleLocked.open();
                if (order === 'scale-in-holds-the-service-lock') await rolloutDone.promise;
              },
            },
          );
          return {
            ...result,
            executionName,
            ...(result.status === 'SUCCEEDED' ? { plan: result.output as ScalePlan } : {}),
          };
        } finally {
          scaleLocked.open();
          scaleDone.open();
        }
      })();

      const remediations = (async () => {
        try {
          if (order === 'rollout-holds-the-service-lock') await rolloutLocked.promise;
          if (order === 'scale-in-holds-the-service-lock') await scaleLocked.promise;
          await jitter();
          const at = new Date(clock.now()).toISOString();
          const delivered = await deliverAlarmEvents(
            world.stack,
            'remediation-trigger',
            clock,
            Object.values(ALARMS).map((name) => alarmEvent(world.stack, name, 'ALARM', { timestamp: at })),
          );
          expect(delivered.failed, delivered.errors.join('; ')).toBe(0);
          const started = await startedExecutions(world.stack, 'remediate-alarm', seen);
          expect(started.map((s) => s.input.alarmName).sort()).toEqual(Object.values(ALARMS).sort());
          const others: Promise<unknown>[] = [];
          const runs = started.map(async (execution) => {
            const isCpu = execution.input.alarmName === ALARMS.cpu;
            if (!isCpu && order === 'a-remediation-holds-the-lease') await cpuLeased.promise;
            let held = false;
            try {
              const result = await runDeployedWorkflow(world.stack, 'remediate-alarm', execution.input, {
                clock,
                executionName: execution.name,
                taskTokenTimeoutMs: 50,
                beforeLambda: async (fn, event) => {
                  await jitter();
                  if (actionKey(fn, event) !== 'remediate-step:verify') return;
                  // The runbook acted: the alarm recovers (moto evaluates no alarm).
                  await setAlarm(String(execution.input.alarmName), 'OK', 'recovered');
                  if (isCpu && !held) {
                    held = true;
                    cpuLeased.open();
                    if (order === 'a-remediation-holds-the-lease') await othersOfCpuDone.promise;
                  }
                },
              });
              return {
                ...result,
                execution,
                ...(result.status === 'SUCCEEDED' ? { plan: result.output as RemediationPlan } : {}),
              };
            } finally {
              if (isCpu) cpuLeased.open();
            }
          });
          for (const [i, run] of runs.entries())
            if (started[i]?.input.alarmName !== ALARMS.cpu) others.push(run.catch(() => undefined));
          void Promise.all(others).then(() => othersOfCpuDone.open());
          return await Promise.all(runs);
        } finally {
          othersOfCpuDone.open();
          remediationsDone.open();
        }
      })();

      const storm = (async () => {
        try {
          await jitter();
          const hit = world.seed.containerInstances
            .filter((c) => c.spot && !spotUsed.has(c.ec2InstanceId))
            .slice(0, STORM);
          expect(hit).toHaveLength(STORM);
          for (const c of hit) spotUsed.add(c.ec2InstanceId);
          const fn = await localFunction(world.stack, 'spot-interruption', { clock });
          let records = hit.map((c, i) => ({
            messageId: `race-${schedule.seed}-${i}`,
            body: JSON.stringify(sampleEvent('ec2-spot-instance-interruption-warning', c.ec2InstanceId)),
          }));
          // Items the handler reports failed come back, as SQS redelivers them (three receives).
          for (let receive = 1; records.length > 0; receive++) {
            const response = (await fn.invoke({ Records: records })) as {
              batchItemFailures: { itemIdentifier: string }[];
            };
            const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
            records = records.filter((r) => failed.has(r.messageId));
            if (!faults || receive === 3) expect(response.batchItemFailures).toEqual([]);
          }
          return hit;
        } finally {
          stormDone.open();
        }
      })();

      const [rolloutResult, scaleResult, remediationResults, stormed] = await Promise.all([
        rollout,
        scale,
        remediations,
        storm,
      ]);
      await takeRaisedAlerts(env().ALERT_QUEUE_URL as string, copies);
      const since = new Date(startedAt).toISOString();
      const records = (await journal(world.stack)).filter((r) => r.at >= since);

      // ---- the end state, whatever the interleaving ------------------------------------------
      const label = `seed ${schedule.seed} (${order})`;
      const after = await serviceView(world.seed);
      expectConsistent(label, after);
      expect(after.desiredCount, `${label}: desired count`).toBeGreaterThanOrEqual(GUARDRAILS.minTasks);
      expect(after.desiredCount, `${label}: desired count`).toBeLessThanOrEqual(GUARDRAILS.maxTasks);
      // Every change of the count is journaled, and they add up: no scaling overwrote another.
      const changes = records.filter((r) => r.action === 'scale-service' && r.outcome === 'changed');
      const moved = changes.reduce(
        (n, r) =>
          n +
          Number((r.after as { desiredCount: number }).desiredCount) -
          Number((r.before as { desiredCount: number }).desiredCount),
        0,
      );
      expect(after.desiredCount, `${label}: ${START_COUNT} plus the journaled changes`).toBe(
        START_COUNT + moved,
      );
      // No lock, lease or group lease is left behind by anyone.
      expect(await lockItems(env().LOCKS_TABLE as string), `${label}: locks table`).toEqual([]);
      // The storm drained its instances, and the capacity requests of storm and scaling add up.
      const statuses = await observerClient(ECSClient).send(
        new DescribeContainerInstancesCommand({
          cluster: CLUSTER,
          containerInstances: stormed.map((c) => c.containerInstanceArn),
        }),
      );
      expect((statuses.containerInstances ?? []).map((c) => c.status)).toEqual(stormed.map(() => 'DRAINING'));
      const added = (r: JournalRecord, field: string) =>
        Number((r.after as Record<string, number>)[field]) -
        Number((r.before as Record<string, number>)[field]);
      const spotRequests = records.filter((r) => r.action === 'request-capacity' && r.outcome === 'changed');
      const scalingRaises = records.filter((r) => r.action === 'raise-capacity' && r.outcome === 'changed');
      expect(
        spotRequests.reduce((n, r) => n + added(r, 'desired'), 0),
        `${label}: replacements`,
      ).toBe(STORM);
      expect(await groupDesired(groups), `${label}: group capacity`).toBe(
        capacityBefore + STORM + scalingRaises.reduce((n, r) => n + added(r, 'desiredCapacity'), 0),
      );

      // ---- every execution ended, and every refusal is explained with the holder named ----------
      const participants = new Set<string>([
        rolloutResult.executionArn,
        scaleResult.executionArn,
        ...remediationResults.map((r) => r.execution.arn),
        ...records.map((r) => r.actor).filter((a) => a.includes(':execution:')),
      ]);
      const namesHolder = (text: string, what: string) => {
        const named = executionArns(text);
        expect(named, `${label}: ${what} names the holder: ${text}`).not.toEqual([]);
        for (const arn of named)
          expect([...participants], `${label}: ${what}: ${arn} took part`).toContain(arn);
      };
      expect(['SUCCEEDED', 'RolledBack', 'LockHeld'], `${label}: rollout ${rolloutResult.cause}`).toContain(
        rolloutResult.status === 'SUCCEEDED' ? 'SUCCEEDED' : rolloutResult.error,
      );
      if (rolloutResult.error === 'LockHeld') namesHolder(rolloutResult.cause ?? '', 'the refused rollout');
      expect(scaleResult.status, `${label}: scale ${scaleResult.cause}`).toBe('SUCCEEDED');
      for (const r of remediationResults) {
        // Remediated, or (its scale-out refused by a guardrail) escalated once, journaled.
        const ended = r.status === 'SUCCEEDED' ? 'SUCCEEDED' : r.error;
        expect(
          ['SUCCEEDED', 'NotRemediated'],
          `${label}: remediation ${r.execution.name}: ${r.cause}`,
        ).toContain(ended);
        if (ended === 'NotRemediated') {
          const escalated = records.filter(
            (j) => j.actor === r.execution.arn && j.action === 'escalate-remediation',
          );
          expect(escalated, `${label}: ${r.execution.name} escalation journaled`).toHaveLength(1);
        }
      }

      // Scaling (the scale run and the remediation's nested scale-outs): each decision journaled once,
      // and a lock or lease that stopped it is named.
      for (const r of records.filter((j) => j.action === 'scale-service')) {
        const blockedBy = (r.details?.blockedBy as { guardrail?: string } | undefined)?.guardrail;
        if (blockedBy === 'rollout-lock' || blockedBy === 'scaling-lease')
          namesHolder(r.reason, `scaling refusal (${blockedBy})`);
      }
      const scaleRecords = records.filter(
        (j) => j.actor === scaleResult.executionArn && j.action === 'scale-service',
      );
      expect(
        scaleRecords.map((j) => j.reason),
        `${label}: the scale run's decision`,
      ).toEqual([scaleResult.plan?.summary]);
      // Remediations: a refusal is journaled with its reason; a lease or the rollout lock is named.
      for (const r of remediationResults) {
        const own = records.filter((j) => j.actor === r.execution.arn);
        if (r.plan?.decision !== 'refused') continue;
        const refusal = own.find((j) => j.action === 'remediation-refused');
        expect(refusal?.reason, `${label}: ${r.execution.name} refusal journaled`).toBe(
          r.plan.explanation?.join('; '),
        );
        const text = refusal?.reason ?? '';
        if (text.includes('another remediation')) namesHolder(text, 'lease refusal');
        const rolloutHolder = /would fight the rollout (\S+) that holds/.exec(text)?.[1];
        if (rolloutHolder !== undefined)
          expect(rolloutHolder, `${label}: rollout lock refusal names the rollout`).toBe(
            rolloutResult.executionName,
          );
        // The scale-in holds the same lease while it runs: a refusal then names it as what it is.
        const scaleInHolder = /would fight the scale-in (\S+) that holds/.exec(text)?.[1];
        if (scaleInHolder !== undefined)
          expect(scaleInHolder, `${label}: scale-in lock refusal names the scale run`).toBe(
            scaleResult.executionArn.split(':').pop(),
          );
      }
      return {
        rollout: rolloutResult,
        scale: scaleResult,
        remediations: remediationResults,
        stormed,
        journal: records,
      };
    }

    async function afterTheStorm(result: RaceResult) {
      // The storm is over: the drained instances serve again (later greens need the room).
      await observerClient(ECSClient).send(
        new UpdateContainerInstancesStateCommand({
          cluster: CLUSTER,
          containerInstances: result.stormed.map((c) => c.containerInstanceArn),
          status: 'ACTIVE',
        }),
      );
      for (const name of Object.values(ALARMS)) await setAlarm(name, 'OK');
    }

    const remediationOf = (result: RaceResult, alarm: string) =>
      result.remediations.find((r) => r.execution.input.alarmName === alarm);

    for (const schedule of schedules) {
      const title = {
        'rollout-holds-the-service-lock':
          'the rollout holds the service lock: the scale-in is refused naming the rollout, the unhealthy-tasks runbook does nothing',
        'scale-in-holds-the-service-lock':
          'a scale-in holds the service lock: the rollout fails LockHeld naming it, before changing anything',
        'a-remediation-holds-the-lease':
          'one remediation holds the lease: the other two are refused naming it',
        free: `free interleaving (seeded delays), scale by ${schedule.scaleDelta > 0 ? '+' : ''}${schedule.scaleDelta}`,
      }[schedule.order];
      it(`seed ${schedule.seed}: ${title}; the end state is consistent and every refusal explained`, async () => {
        const result = await race(schedule);
        try {
          switch (schedule.order) {
            case 'rollout-holds-the-service-lock': {
              // If this fails, say whether the rollout still held the lock (or ended before the scale looked).
              const rolloutEnd = `rollout ${result.rollout.status} ${result.rollout.error ?? ''} ${result.rollout.cause ?? ''}`;
              expect(result.scale.plan?.decision, `${result.scale.plan?.summary}; ${rolloutEnd}`).toBe(
                'refused',
              );
              expect(result.scale.plan?.blockedBy?.guardrail).toBe('rollout-lock');
              expect(result.scale.plan?.summary).toContain(result.rollout.executionArn);
              const unhealthy = remediationOf(result, ALARMS.unhealthy);
              expect(unhealthy?.plan?.decision, unhealthy?.plan?.summary).toBe('refused');
              break;
            }
            case 'scale-in-holds-the-service-lock':
              expect(result.scale.plan?.decision, result.scale.plan?.summary).toBe('scale');
              expect(result.rollout.error).toBe('LockHeld');
              expect(result.rollout.cause).toContain(result.scale.executionArn);
              expect(result.rollout.states).toEqual([
                'Validate input',
                'Take service lock',
                'Another rollout is running',
              ]);
              break;
            case 'a-remediation-holds-the-lease': {
              const cpu = remediationOf(result, ALARMS.cpu);
              for (const alarm of [ALARMS.fiveHundreds, ALARMS.unhealthy]) {
                const other = remediationOf(result, alarm);
                expect(other?.plan?.decision, `${alarm}: ${other?.plan?.summary}`).toBe('refused');
                expect(other?.plan?.summary).toContain(`another remediation (${cpu?.execution.arn})`);
              }
              break;
            }
            case 'free':
              break;
          }
        } finally {
          await afterTheStorm(result);
        }
      }, 120_000);
    }
  });
}
