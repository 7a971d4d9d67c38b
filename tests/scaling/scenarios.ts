// The scaling acceptance scenarios of issue 6, written once and run twice: on a clean emulator
// and behind the fault proxy (20% throttling). Each scenario first brings the service to a known
// count (moving the shared clock past earlier cooldowns) and asserts exact end states, so both
// runs must end in the same states.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
} from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { clockTime } from '../../functions/scale-service-step/guardrails.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import {
  acquireServiceLock,
  releaseServiceLock,
  serviceLockHolder,
} from '../../functions/shared/service-lock.ts';
import { loadScalingConfig, scheduledInput } from '../../infra/control-plane/scaling/scaling.ts';
import { readJournal } from '../../local/control-plane.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { observerClient } from '../../local/observer.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { putEvents } from '../../local/spot-harness.ts';
import { drainEventSource } from '../../local/sqs-event-source.ts';
import { deployedWorkflow } from '../../local/workflows.ts';
import { type ScalingWorld, WORKER } from './world.ts';

const API = 'api';
const CLUSTER = 'web';
const HOUR = 3600_000;

export async function desired(service: string): Promise<number> {
  const out = await awsClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [service] }),
  );
  return out.services?.[0]?.desiredCount ?? -1;
}

async function groupDesired(group: string): Promise<number> {
  const out = await awsClient(AutoScalingClient).send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
  );
  return out.AutoScalingGroups?.[0]?.DesiredCapacity ?? -1;
}

async function scalableTarget(service: string) {
  const out = await awsClient(ApplicationAutoScalingClient).send(
    new DescribeScalableTargetsCommand({
      ServiceNamespace: 'ecs',
      ResourceIds: [`service/${CLUSTER}/${service}`],
    }),
  );
  const t = out.ScalableTargets?.[0];
  return t ? { min: t.MinCapacity, max: t.MaxCapacity } : undefined;
}

async function journalOf(world: ScalingWorld, executionArn: string): Promise<JournalRecord[]> {
  return (await readJournal(world.env('JOURNAL_TABLE'))).filter((r) => r.actor === executionArn);
}

/** Past every cooldown and rate window an earlier scenario may have left. */
const fresh = (world: ScalingWorld) => world.clock.advance(2 * HOUR);

/** Brings a service to `count` through the workflow itself (steps are limited, so maybe in several runs). */
export async function scaleTo(world: ScalingWorld, service: string, count: number): Promise<void> {
  for (let i = 0; i < 10 && (await desired(service)) !== count; i++) {
    fresh(world);
    const r = await world.run({ cluster: CLUSTER, service, desiredCount: count, reason: 'test setup' });
    expect(r.status, r.cause).toBe('SUCCEEDED');
  }
  expect(await desired(service)).toBe(count);
  fresh(world);
  await world.raisedAlerts();
}

export async function manualScaleWithinGuardrails(world: ScalingWorld) {
  await scaleTo(world, API, 4);
  const reason = 'marketing campaign starts at noon';
  const r = await world.run({ cluster: CLUSTER, service: API, desiredCount: 6, reason });

  expect(r.status).toBe('SUCCEEDED');
  expect(r.plan.decision).toBe('scale');
  expect(r.plan.summary).toBe(`web/api: scaled out from 4 to 6 because "${reason}"`);
  expect(r.plan.verification).toMatchObject({
    status: 'reached',
    observed: { desiredCount: 6, runningCount: 6 },
  });
  expect(await desired(API)).toBe(6);

  const alerts = (await world.raisedAlerts()).filter((a) => a.kind === 'service-scaled');
  expect(alerts).toHaveLength(1);
  expect(alerts[0]).toMatchObject({
    severity: 'info',
    title: 'web/api scaled out from 4 to 6',
    cluster: CLUSTER,
    service: API,
    summary: expect.stringContaining(reason),
    dedupKey: expect.stringMatching(/^scale\/web\/api\//),
  });
  const journal = await journalOf(world, r.executionArn);
  expect(journal).toEqual([
    expect.objectContaining({
      resource: 'service/web/api',
      action: 'scale-service',
      outcome: 'changed',
      before: expect.objectContaining({ desiredCount: 4 }),
      after: expect.objectContaining({ desiredCount: 6 }),
      reason: r.plan.summary,
    }),
  ]);
  // The scaling lease went with the execution.
  const lease = await documentClient().send(
    new GetCommand({
      TableName: world.env('LOCKS_TABLE'),
      Key: { resource: 'scaling/web/api' },
      ConsistentRead: true,
    }),
  );
  expect(lease.Item).toBeUndefined();
}

export async function pastMaxIsClampedOrRefusedAsConfigured(world: ScalingWorld) {
  // web/api clamps (overLimit: clamp, maxTasks 12).
  await scaleTo(world, API, 10);
  const clamped = await world.run({ cluster: CLUSTER, service: API, desiredCount: 40, reason: 'flash sale' });
  expect(clamped.status).toBe('SUCCEEDED');
  expect(clamped.plan.decision).toBe('scale');
  expect(clamped.plan.explanation).toContain(
    'clamped to 12: 40 is past the maximum of 12 (the configured maxTasks)',
  );
  expect(clamped.plan.summary).toBe('web/api: scaled out from 10 to 12 because "flash sale"');
  expect(await desired(API)).toBe(12);
  const scaled = await world.raisedAlerts();
  expect(scaled).toEqual([
    expect.objectContaining({ kind: 'service-scaled', title: 'web/api scaled out from 10 to 12' }),
  ]);

  // web/worker refuses (overLimit: refuse, maxTasks 6).
  await scaleTo(world, WORKER, 2);
  const refused = await world.run({ cluster: CLUSTER, service: WORKER, desiredCount: 10, reason: 'backlog' });
  expect(refused.status).toBe('SUCCEEDED');
  expect(refused.plan.decision).toBe('refused');
  expect(refused.plan.blockedBy).toEqual({ guardrail: 'limit' });
  expect(refused.plan.summary).toBe(
    'web/worker: refused because 10 is past the maximum of 6 (the configured maxTasks) and this service refuses such requests (overLimit: refuse)',
  );
  expect(refused.states).toEqual(['Validate input', 'Decide', 'What to do?', 'Decision reported']);
  expect(await desired(WORKER)).toBe(2);
  const alerts = await world.raisedAlerts();
  expect(alerts.map((a) => a.kind)).toEqual(['scale-refused']);
  expect(alerts[0]?.summary).toBe(refused.plan.summary);
  const journal = await journalOf(world, refused.executionArn);
  expect(journal.map((j) => [j.action, j.outcome])).toEqual([['scale-service', 'refused']]);
}

export async function secondRequestInsideCooldownDoesNothingAndSaysUntilWhen(world: ScalingWorld) {
  await scaleTo(world, API, 8);
  const first = await world.run({ cluster: CLUSTER, service: API, delta: 2, reason: 'queue depth rising' });
  expect(first.plan.decision).toBe('scale');
  expect(await desired(API)).toBe(10);

  const second = await world.run({ cluster: CLUSTER, service: API, delta: 1, reason: 'still rising' });
  expect(second.status).toBe('SUCCEEDED');
  expect(second.plan.decision).toBe('no-change');
  expect(second.plan.blockedBy?.guardrail).toBe('cooldown');
  const until = Date.parse(second.plan.blockedBy?.until ?? '');
  // 60 s after the first scale-out was recorded, which happened before the second decided.
  expect(until).toBeGreaterThan(world.clock.now());
  expect(until - world.clock.now()).toBeLessThanOrEqual(60_000);
  expect(second.plan.summary).toMatch(
    new RegExp(
      `^web/api: did nothing because the scale-out cooldown ends at ${clockTime(until)} \\(last scale-out, 8 -> 10, at `,
    ),
  );
  expect(await desired(API)).toBe(10);
  const journal = await journalOf(world, second.executionArn);
  expect(journal).toEqual([
    expect.objectContaining({ action: 'scale-service', outcome: 'unchanged', reason: second.plan.summary }),
  ]);

  // Once the cooldown has ended, the same request scales.
  world.clock.advance(until - world.clock.now() + 1000);
  const third = await world.run({ cluster: CLUSTER, service: API, delta: 1, reason: 'still rising' });
  expect(third.plan.decision).toBe('scale');
  expect(await desired(API)).toBe(11);
}

export async function scaleInRefusedDuringRolloutScaleOutAllowed(world: ScalingWorld) {
  await scaleTo(world, API, 6);
  const db = documentClient();
  const locks = world.env('LOCKS_TABLE');
  const rollout = 'arn:aws:states:us-east-1:123456789012:execution:blue-green-rollout:release-42';
  // Held the way the rollout workflow holds it (functions/shared/service-lock.ts).
  await acquireServiceLock(db, locks, world.clock, {
    cluster: CLUSTER,
    service: API,
    owner: rollout,
    leaseMs: HOUR,
    reason: 'rollout of api:42',
  });
  try {
    const scaleIn = await world.run({ cluster: CLUSTER, service: API, delta: -2, reason: 'quiet night' });
    expect(scaleIn.plan.decision).toBe('refused');
    expect(scaleIn.plan.blockedBy?.guardrail).toBe('rollout-lock');
    expect(scaleIn.plan.summary).toContain(`a rollout (${rollout}) holds the service's lock`);
    expect(await desired(API)).toBe(6);

    const scaleOut = await world.run({
      cluster: CLUSTER,
      service: API,
      delta: 2,
      reason: 'traffic during release',
    });
    expect(scaleOut.plan.decision).toBe('scale');
    expect(scaleOut.plan.explanation.join('\n')).toContain(
      'scale-out is allowed and applies to both task sets',
    );
    expect(await desired(API)).toBe(8);
    // Scaling never takes the rollout's lease from it.
    const holder = await serviceLockHolder(db, locks, world.clock, CLUSTER, API);
    expect(holder?.owner).toBe(rollout);
  } finally {
    await releaseServiceLock(db, locks, { cluster: CLUSTER, service: API, owner: rollout });
  }
  const alerts = await world.raisedAlerts();
  expect(alerts.map((a) => a.kind)).toEqual(['scale-refused', 'service-scaled']);
}

export async function dryRunChangesNothingAndReturnsThePlan(world: ScalingWorld) {
  await scaleTo(world, API, 6);
  const spotBefore = await groupDesired(world.seed.autoScalingGroups.spot);
  const targetBefore = await scalableTarget(API);
  const journalBefore = (await readJournal(world.env('JOURNAL_TABLE'))).length;

  const r = await world.run({
    cluster: CLUSTER,
    service: API,
    desiredCount: 9,
    reason: 'what if',
    dryRun: true,
  });
  expect(r.status).toBe('SUCCEEDED');
  expect(r.plan).toMatchObject({
    decision: 'dry-run',
    direction: 'out',
    from: { desiredCount: 6 },
    to: { desiredCount: 9 },
    summary: 'web/api: dry run, would scale out from 6 to 9; changed nothing',
    leases: [],
  });
  expect(r.plan.explanation.at(-1)).toBe('dry run: nothing was changed');
  expect(r.plan.capacity?.kind).toBe('ec2');
  expect(r.states).toEqual(['Validate input', 'Decide', 'What to do?', 'Decision reported']);

  expect(await desired(API)).toBe(6);
  expect(await groupDesired(world.seed.autoScalingGroups.spot)).toBe(spotBefore);
  expect(await scalableTarget(API)).toEqual(targetBefore);
  expect(await world.raisedAlerts()).toEqual([]);
  // A dry run leaves no cooldown behind: the real request right after it scales.
  const real = await world.run({ cluster: CLUSTER, service: API, desiredCount: 9, reason: 'do it' });
  expect(real.plan.decision).toBe('scale');
  expect(await desired(API)).toBe(9);
  // The dry run's decision is journaled (evidence), as "unchanged".
  const dry = (await readJournal(world.env('JOURNAL_TABLE')))
    .slice(journalBefore)
    .filter((j) => j.actor === r.executionArn);
  expect(dry).toEqual([expect.objectContaining({ outcome: 'unchanged', reason: r.plan.summary })]);
}

export async function badInputNamesTheFieldAndChangesNothing(world: ScalingWorld) {
  await scaleTo(world, API, 6);
  const cases: [Record<string, unknown>, string][] = [
    [
      { cluster: CLUSTER, service: API, desiredCount: 8, delta: 2, reason: 'both' },
      'input.delta: cannot be combined with desiredCount',
    ],
    [{ cluster: CLUSTER, service: API, desiredCount: -1, reason: 'negative' }, 'input.desiredCount'],
    [{ cluster: CLUSTER, service: API, desiredCount: 8 }, 'input.reason: is required'],
    [
      { cluster: CLUSTER, service: 'nope', desiredCount: 8, reason: 'unknown' },
      'input.service: is not a scaled service of cluster web',
    ],
    [{ cluster: 'other', service: API, desiredCount: 8, reason: 'unknown cluster' }, 'input.cluster'],
    [{ cluster: CLUSTER, service: API, reason: 'nothing asked' }, 'input.desiredCount: is required'],
    [
      { cluster: CLUSTER, service: API, min: 8, max: 4, reason: 'inverted' },
      'input.min: must not exceed max (4)',
    ],
  ];
  for (const [input, message] of cases) {
    const r = await world.run(input);
    expect(r.status, JSON.stringify(input)).toBe('FAILED');
    expect(r.error).toBe('InvalidInput');
    expect(r.cause).toContain(message);
    expect(r.states).toEqual(['Validate input', 'Input rejected']);
  }
  expect(await desired(API)).toBe(6);
  expect(await world.raisedAlerts()).toEqual([]);
}

export async function scheduledRaiseOfTheMinimumRunsOnce(world: ScalingWorld) {
  await scaleTo(world, API, 6);
  const config = loadScalingConfig('local');
  const api = config?.find((s) => s.service === API);
  const peak = api?.schedules.find((s) => s.name === 'weekday-peak');
  if (!api || !peak) throw new Error('config/scaling/local.json has no weekday-peak schedule for web/api');
  // What EventBridge Scheduler sends at 07:30 Berlin time (the template test checks it is this input).
  const input = scheduledInput(api, peak, '2026-11-23T06:30:00Z');

  const r = await world.run(input);
  expect(r.status).toBe('SUCCEEDED');
  expect(r.plan.decision).toBe('set-limits');
  expect(r.states).toContain('Set scalable target limits');
  expect(await scalableTarget(API)).toEqual({ min: 6, max: 12 });
  expect(r.plan.summary).toBe(
    'web/api: scaling limits no scalable target -> min 6, max 12 because "schedule weekday-peak: raise the floor before the weekday morning peak"',
  );
  const alerts = await world.raisedAlerts();
  expect(alerts).toEqual([
    expect.objectContaining({
      kind: 'scaling-limits-changed',
      title: 'web/api: scaling limits no scalable target -> min 6, max 12',
    }),
  ]);

  // The scheduler delivers at least once: the same scheduled run again does nothing.
  fresh(world);
  const again = await world.run(input);
  expect(again.plan.decision).toBe('no-change');
  expect(again.plan.blockedBy?.guardrail).toBe('duplicate');
  expect(again.plan.summary).toContain(`request ${input.requestId} was already handled by ${r.executionArn}`);
}

/** The AWS sample alarm event, renamed to an alarm of ours (and optionally another state). */
function alarmEvent(
  alarmName: string,
  state?: { value: string; timestamp?: string },
): Record<string, unknown> {
  const text = readFileSync(join(REPO_ROOT, 'events/samples/aws/cloudwatch-alarm-state-change.json'), 'utf8');
  const event = JSON.parse(text.split('ServerCpuTooHigh').join(alarmName)) as {
    detail: { state: Record<string, unknown> };
  };
  if (state) Object.assign(event.detail.state, state);
  return event as unknown as Record<string, unknown>;
}

async function scaleExecutions(world: ScalingWorld) {
  const { arn } = deployedWorkflow(world.stack, 'scale-service');
  const out = await awsClient(SFNClient).send(new ListExecutionsCommand({ stateMachineArn: arn }));
  return out.executions ?? [];
}

export async function alarmEventScalesOutOnceWhenDeliveredTwice(world: ScalingWorld) {
  await scaleTo(world, API, 6);
  const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'scale-alarm');
  if (!mapping) throw new Error('no event source mapping for scale-alarm');
  const fn = await localFunction(world.stack, 'scale-alarm', { clock: world.clock });
  const deliver = async (event: Record<string, unknown>) => {
    await putEvents([event]);
    return drainEventSource(mapping, (e) => fn.invoke(e));
  };
  const known = new Set((await scaleExecutions(world)).map((e) => e.executionArn));

  // Not ours, or not ALARM: the rule does not even deliver them.
  expect((await deliver(alarmEvent('ServerCpuTooHigh'))).delivered).toBe(0);
  expect(
    (
      await deliver(
        alarmEvent('web-api-cpu-burst', { value: 'OK', timestamp: '2026-01-01T00:00:00.000+0000' }),
      )
    ).delivered,
  ).toBe(0);

  const event = alarmEvent('web-api-cpu-burst');
  const first = await deliver(event);
  const second = await deliver(event);
  expect([first.delivered, first.failed, second.delivered, second.failed]).toEqual([1, 0, 1, 0]);
  const started = (await scaleExecutions(world)).filter((e) => !known.has(e.executionArn));
  expect(started).toHaveLength(1);
  const execution = started[0];
  expect(execution?.name).toMatch(/^alarm-web-api-cpu-burst-[0-9a-f]{32}$/);
  const described = await awsClient(SFNClient).send(
    new DescribeExecutionCommand({ executionArn: execution?.executionArn }),
  );
  const input = JSON.parse(described.input ?? '{}');
  // The sample's datapoint is 99.50 against a threshold of 50: 99.003% past it, so +100%.
  expect(input).toMatchObject({
    cluster: CLUSTER,
    service: API,
    percent: 100,
    requestId: execution?.name,
    trigger: { kind: 'alarm', id: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-api-cpu-burst' },
  });

  // The execution Step Functions started, run from the synthesized definition.
  const r = await world.run(input, { executionName: execution?.name as string });
  expect(r.plan.decision).toBe('scale');
  // +100% of 6 is +6, past the largest step (+4): clamped, as configured.
  expect(r.plan.summary).toMatch(
    /^web\/api: scaled out from 6 to 10 because "alarm web-api-cpu-burst is in ALARM/,
  );
  expect(await desired(API)).toBe(10);
  // Even a second execution of the same alarm state (a redrive, say) scales nothing more.
  fresh(world);
  const again = await world.run(input);
  expect(again.plan.blockedBy?.guardrail).toBe('duplicate');
  expect(await desired(API)).toBe(10);

  const journal = await readJournal(world.env('JOURNAL_TABLE'));
  const alarmRecords = journal.filter(
    (j) => j.actor === 'scale-alarm' && j.trigger.at === '2019-10-02T17:04:40.989+0000',
  );
  expect(alarmRecords.map((j) => j.action)).toEqual(['start-alarm-scale-out', 'ignore-duplicate-alarm']);
}

export async function scaleOutThatWouldNotFitRaisesTheAutoScalingGroupFirst(world: ScalingWorld) {
  await scaleTo(world, API, 6);
  // Set up past the fault proxy: a StartTask retried after a lost answer would start a second filler.
  const ecs = observerClient(ECSClient);
  // Other work fills the instances: 7000 of 7482 MiB each, so no 512 MiB api task fits.
  const filler = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'batch-filler',
      containerDefinitions: [
        { name: 'batch', image: 'public.ecr.aws/docker/library/busybox:stable', memory: 7000 },
      ],
    }),
  );
  // One per instance (StartTask names it: RunTask's placement in the emulator is not exact).
  for (const ci of world.seed.containerInstances) {
    await ecs.send(
      new StartTaskCommand({
        cluster: CLUSTER,
        taskDefinition: filler.taskDefinition?.taskDefinitionArn,
        containerInstances: [ci.containerInstanceArn],
      }),
    );
  }
  const group = world.seed.autoScalingGroups.spot;
  const groupBefore = await groupDesired(group);

  const r = await world.run({ cluster: CLUSTER, service: API, delta: 2, reason: 'evening peak' });
  expect(r.status).toBe('SUCCEEDED');
  expect(r.plan.capacity).toEqual({
    kind: 'ec2',
    tasksToPlace: 2,
    slots: 0,
    raise: [{ group, add: 1, before: groupBefore, after: groupBefore + 1 }],
  });
  const raiseAt = r.states.indexOf('Raise capacity first');
  expect(raiseAt).toBeGreaterThan(0);
  expect(r.states.indexOf('Set desired count')).toBeGreaterThan(raiseAt);
  expect(await groupDesired(group)).toBe(groupBefore + 1);
  expect(await desired(API)).toBe(8);
  expect(r.plan.explanation.join('\n')).toContain(`raising the Auto Scaling group(s) first (${group} +1)`);
  const journal = await journalOf(world, r.executionArn);
  expect(journal.map((j) => [j.resource, j.action, j.outcome])).toEqual([
    [`asg/${group}`, 'raise-capacity', 'changed'],
    ['service/web/api', 'scale-service', 'changed'],
  ]);

  // On Fargate there is nothing to provide.
  await scaleTo(world, WORKER, 2);
  const fargate = await world.run({ cluster: CLUSTER, service: WORKER, delta: 1, reason: 'more jobs' });
  expect(fargate.plan.capacity).toMatchObject({ kind: 'fargate', raise: [] });
  expect(fargate.plan.explanation).toContain('capacity: runs on Fargate: no instances to provide');
  expect(await desired(WORKER)).toBe(3);
  expect(await groupDesired(group)).toBe(groupBefore + 1);
}
