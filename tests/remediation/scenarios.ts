// The remediation acceptance scenarios of issue 7, written once and run twice: on a clean emulator
// and behind the fault proxy (20% throttling). Alarm events are shaped like the AWS sample and go
// through the event bus, the rule, the queue and the trigger; the executions it starts run from
// the synthesized definition. Nothing evaluates alarms in the emulator, so each scenario plays
// CloudWatch: it sets the alarm's state, and where the runbook's effect would make the metric
// recover, a hook sets the alarm OK when the workflow next reads it and the effect is visible.

import { EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  StartTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { RolloutInputDraft } from '../../events/rollout-input.ts';
import { answerRemediationGate, findRemediationGate } from '../../functions/remediate-step/operator.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { answerGate } from '../../functions/shared/rollouts/operator.ts';
import { getRolloutRecord } from '../../functions/shared/rollouts/record.ts';
import { readWeights } from '../../functions/shared/rollouts/traffic.ts';
import { serviceLockHolder } from '../../functions/shared/service-lock.ts';
import { stepFunctionsCallbacks } from '../../functions/shared/task-callbacks.ts';
import { observerClient, observerDocumentClient } from '../../local/observer.ts';
import { localOperatorDeps, runRollout } from '../../local/rollouts.ts';
import { nextTaskToken } from '../../local/workflow-runner.ts';
import type { RemediationWorld } from './world.ts';

const CLUSTER = 'web';
const API = 'api';
const HOUR = 3_600_000;

// The scenarios' own read-backs go straight to the emulator (observer clients): through the
// functions' shared clients they would meet the injected faults and drain the retry quota the
// functions' calls rely on.
export async function desired(service = API): Promise<number> {
  const out = await observerClient(ECSClient).send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [service] }),
  );
  return out.services?.[0]?.desiredCount ?? -1;
}

const locks = (world: RemediationWorld) => ({
  service: () =>
    serviceLockHolder(observerDocumentClient(), world.env('LOCKS_TABLE'), world.clock, CLUSTER, API),
  /** The remediation lease on web/api, if anyone holds it (every run must leave it free). */
  remediation: async () =>
    (
      await observerDocumentClient().send(
        new GetCommand({
          TableName: world.env('LOCKS_TABLE'),
          Key: { resource: `remediation/${CLUSTER}/${API}` },
          ConsistentRead: true,
        }),
      )
    ).Item,
});

/** Past every cooldown and rate window an earlier scenario left. */
const fresh = (world: RemediationWorld) => world.clock.advance(3 * HOUR);

const onVerify =
  (when: () => Promise<boolean>, then: () => Promise<void>) => async (fn: string, event: unknown) => {
    if (fn === 'remediate-step' && (event as { action?: string }).action === 'verify' && (await when()))
      await then();
  };

// ------------------------------------------------------------------------------------------

/** A canary of `image` that waits at a finalize gate (default approve) with a five-minute window. */
function gatedRollout(image: string): Record<string, unknown> {
  const input: RolloutInputDraft = {
    cluster: CLUSTER,
    service: API,
    image,
    strategy: { type: 'canary', percent: 20, bakeSeconds: 60 },
    // No metrics are written here: the rollout's own analysis is off, the alarm catches green.
    analysis: { enabled: false },
    approval: { gate: 'before-finalize', timeoutSeconds: 3600, defaultAction: 'approve' },
    rollbackWindowSeconds: 300,
    terminationWaitSeconds: 60,
    requestedBy: 'scenario',
  };
  return input as Record<string, unknown>;
}

export async function fiveHundredsDuringRolloutRollBack(world: RemediationWorld) {
  fresh(world);
  const alarm = 'web-api-green-5xx';
  await world.putAlarm(alarm);
  await world.setAlarm(alarm, 'OK');
  const rollout = runRollout(world.stack, gatedRollout('registry.local/api:bad'), {
    clock: world.clock,
    taskTokenTimeoutMs: 60_000,
  });
  const before = await until(async () => {
    const r = await rolloutRecord(world);
    return r?.phase === 'gate' ? r : undefined;
  }, 'the rollout never reached its finalize gate');
  expect(before.weights).toEqual({ blue: 0, green: 100 });

  // Green answers 5xx: the alarm fires.
  await world.setAlarm(alarm, 'ALARM', 'Threshold Crossed: 1 datapoint [57.0] was greater than 10.0');
  const delivered = await world.deliver([world.alarmEvent(alarm, 'ALARM')]);
  expect(delivered.delivered).toBe(1);
  const elb = observerClient(ElasticLoadBalancingV2Client);
  const onBlue = async () => (await readWeights(elb, before.topology)).blue === 100;
  const [remediation, ...more] = await world.runStarted({
    beforeLambda: onVerify(onBlue, () => world.setAlarm(alarm, 'OK', 'errors stopped')),
  });
  expect(more).toHaveLength(0);
  expect(remediation?.status, remediation?.cause).toBe('SUCCEEDED');
  expect(remediation?.plan).toMatchObject({
    decision: 'execute',
    outcome: 'remediated',
    runbook: { id: 'api-5xx-rollback', kind: 'rollback-rollout' },
  });

  const ended = await rollout;
  expect(ended.status).toBe('FAILED');
  expect(ended.error).toBe('RolledBack');
  expect(await readWeights(elb, before.topology)).toEqual({ blue: 100, green: 0 });
  expect((await rolloutRecord(world))?.phase).toBe('rolled-back');
  expect(await locks(world).service()).toBeUndefined();
  expect(await locks(world).remediation()).toBeUndefined();

  const actions = (await world.journalOf(remediation?.executionName as string)).map((r) => r.action);
  expect(actions).toEqual(['start-remediation', 'run-rollback-rollout', 'remediation-verified']);
  const alerts = (await world.raisedAlerts()).filter((a) => a.kind === 'remediation');
  expect(alerts.map((a) => a.state)).toEqual(['firing', 'resolved']);
}

/**
 * The 5xx alarm fires at the finalize gate, and by the time its runbook acts the rollout has been
 * approved and green promoted (its rollback window not open yet). Rolling back now would move the
 * listener off the new primary: the runbook is refused, changes nothing, and escalates with the
 * reason; the release goes on.
 */
export async function fiveHundredsAsGreenIsPromotedEscalate(world: RemediationWorld) {
  fresh(world);
  const alarm = 'web-api-green-5xx';
  await world.putAlarm(alarm);
  await world.setAlarm(alarm, 'OK');
  await world.raisedAlerts();
  const promoted = latch();
  const remediated = latch();
  const rollout = runRollout(world.stack, gatedRollout('registry.local/api:promoted'), {
    clock: world.clock,
    taskTokenTimeoutMs: 5_000,
    // Green is primary; the window waits until the runbook has acted.
    beforeLambda: async (fn, event) => {
      if (fn !== 'rollout-step' || (event as { action?: string }).action !== 'open-window') return;
      promoted.open();
      await remediated.promise;
    },
  });
  const gated = await until(async () => {
    const r = await rolloutRecord(world);
    return r?.phase === 'gate' ? r : undefined;
  }, 'the rollout never reached its finalize gate');

  await world.setAlarm(alarm, 'ALARM', 'Threshold Crossed: 1 datapoint [57.0] was greater than 10.0');
  expect((await world.deliver([world.alarmEvent(alarm, 'ALARM')])).delivered).toBe(1);
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const [remediation, ...more] = await world.runStarted({
    beforeLambda: async (fn, event) => {
      if (fn !== 'remediate-step' || (event as { action?: string }).action !== 'execute') return;
      // Someone approves the gate (or it times out to its default) between decision and action.
      await answerGate(localOperatorDeps(world.stack, world.clock), gated.execution, 'approve', 'kim').catch(
        () => undefined,
      );
      await promoted.promise;
    },
  });
  remediated.open();
  expect(more).toHaveLength(0);
  expect(remediation?.error, remediation?.cause).toBe('NotRemediated');
  expect(remediation?.cause).toMatch(/green of \S+ was just promoted: nothing was changed/);
  // The listener stayed on the new primary (an abort would have put blue back at 100).
  expect(await readWeights(elb, gated.topology)).toEqual({ blue: 0, green: 100 });
  const actions = (await world.journalOf(remediation?.executionName as string)).map((r) => r.action);
  expect(actions).toEqual(['start-remediation', 'escalate-remediation']);
  const critical = (await world.raisedAlerts()).filter((a) => a.severity === 'critical');
  expect(critical.map((a) => a.kind)).toContain('remediation-escalated');
  expect(await locks(world).remediation()).toBeUndefined();

  const ended = await rollout;
  expect(ended.status, `${ended.error}: ${ended.cause}`).toBe('SUCCEEDED');
  expect(await readWeights(elb, gated.topology)).toEqual({ blue: 0, green: 100 });
  expect(await locks(world).service()).toBeUndefined();
  await world.setAlarm(alarm, 'OK');
}

function latch(): { promise: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function rolloutRecord(world: RemediationWorld) {
  return getRolloutRecord(observerDocumentClient(), world.env('OPERATIONS_TABLE'), CLUSTER, API);
}

export async function cpuAlarmScalesOutAndOkResolves(world: RemediationWorld) {
  fresh(world);
  const alarm = 'web-api-cpu-high';
  await world.putAlarm(alarm, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
  await world.setAlarm(alarm, 'ALARM');
  await world.raisedAlerts();
  const from = await desired();
  const [run] = await deliverAndRun(world, alarm, 'ALARM', {
    beforeLambda: onVerify(
      async () => (await desired()) >= from + 2,
      () => world.setAlarm(alarm, 'OK', 'CPU back under the threshold'),
    ),
  });
  expect(run?.status, run?.cause).toBe('SUCCEEDED');
  expect(run?.plan?.outcome).toBe('remediated');
  expect(run?.plan?.action?.details).toMatchObject({ decision: 'scale' });
  expect(await desired()).toBe(from + 2);
  // The scaling workflow did it, with its own journal record and guardrails.
  expect(String(run?.plan?.action?.done)).toContain(`scaled out from ${from} to ${from + 2}`);

  // The alarm's own transition back to OK closes the episode at once.
  const [ok] = await deliverAndRun(world, alarm, 'OK');
  expect(ok?.plan?.decision).toBe('resolved');
  const resolved = (await world.raisedAlerts()).filter((a) => a.state === 'resolved');
  expect(resolved.map((a) => a.dedupKey)).toContain(`remediation/${alarm}`);
}

export async function alarmStayingInAlarmEscalatesOnce(world: RemediationWorld) {
  fresh(world);
  const alarm = 'web-api-cpu-high';
  await world.putAlarm(alarm, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
  await world.setAlarm(alarm, 'ALARM');
  await world.raisedAlerts();
  const from = await desired();
  const [run, ...more] = await deliverAndRun(world, alarm, 'ALARM');
  expect(more).toHaveLength(0);
  expect(run?.status).toBe('FAILED');
  expect(run?.error).toBe('NotRemediated');
  // It acted once, then watched; no second attempt.
  expect(await desired()).toBe(from + 2);
  const critical = (await world.raisedAlerts()).filter((a) => a.severity === 'critical');
  expect(critical).toHaveLength(1);
  expect(critical[0]).toMatchObject({
    kind: 'remediation-escalated',
    dedupKey: `remediation/${alarm}/escalated`,
  });
  expect(critical[0]?.whatWeDid).toContain('api-cpu-scale-out');
  const actions = (await world.journalOf(run?.executionName as string)).map((r) => r.action);
  expect(actions).toEqual(['start-remediation', 'run-scale-out', 'escalate-remediation']);
  expect(run?.states.filter((s) => s === 'Scale out')).toHaveLength(1);
  expect(await locks(world).remediation()).toBeUndefined();
  await world.setAlarm(alarm, 'OK');
}

export async function duplicatesRunOnceAndCooldownExplains(world: RemediationWorld) {
  fresh(world);
  const alarm = 'web-api-cpu-high';
  await world.putAlarm(alarm, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
  await world.setAlarm(alarm, 'ALARM');
  const from = await desired();
  const event = world.alarmEvent(alarm, 'ALARM');
  const first = await world.deliver([event]);
  const again = await world.deliver([event]);
  expect([first.delivered, first.failed, again.delivered, again.failed]).toEqual([1, 0, 1, 0]);
  const runs = await world.runStarted({
    beforeLambda: onVerify(
      async () => (await desired()) >= from + 2,
      () => world.setAlarm(alarm, 'OK'),
    ),
  });
  expect(runs).toHaveLength(1);
  expect(runs[0]?.executionName).toMatch(/^remediate-web-api-cpu-high-[0-9a-f]{32}$/);
  expect(await desired()).toBe(from + 2);

  // A second transition inside the runbook's cooldown (600 s): nothing, and the journal says why.
  world.clock.advance(120_000);
  await world.setAlarm(alarm, 'ALARM');
  const [second] = await deliverAndRun(world, alarm, 'ALARM');
  expect(second?.plan?.decision).toBe('refused');
  expect(second?.plan?.summary).toMatch(/cooling down until \d\d:\d\d:\d\d UTC/);
  expect(await desired()).toBe(from + 2);
  const journal = await world.journalOf(second?.executionName as string);
  expect(journal.map((r) => [r.action, r.outcome])).toEqual([['remediation-refused', 'refused']]);
  expect(journal[0]?.reason).toContain('cooling down');
  await world.setAlarm(alarm, 'OK');
}

export async function guardAlarmAbortsAndDryRunChangesNothing(world: RemediationWorld) {
  fresh(world);
  const alarm = 'web-api-cpu-high';
  await world.putAlarm(alarm, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
  await world.putAlarm('web-change-freeze', { namespace: 'Ops', metricName: 'Freeze' });
  await world.setAlarm('web-change-freeze', 'ALARM', 'release freeze');
  await world.setAlarm(alarm, 'ALARM');
  await world.raisedAlerts();
  const from = await desired();
  const [guarded] = await deliverAndRun(world, alarm, 'ALARM');
  expect(guarded?.plan?.decision).toBe('refused');
  expect(guarded?.plan?.summary).toContain('guard alarm web-change-freeze is in ALARM');
  expect(await desired()).toBe(from);
  expect(guarded?.states).not.toContain('Scale out');
  const refusals = (await world.raisedAlerts()).filter((a) => a.kind === 'remediation-refused');
  expect(refusals).toHaveLength(1);
  await world.setAlarm('web-change-freeze', 'OK');

  // From the console: a dry run decides and explains, and changes nothing.
  const dry = await world.run({ alarmName: alarm, dryRun: true });
  expect(dry.status, dry.cause).toBe('SUCCEEDED');
  expect(dry.plan?.decision).toBe('dry-run');
  expect(dry.plan?.runbook?.scaleInput).toMatchObject({ cluster: CLUSTER, service: API, delta: 2 });
  expect(dry.plan?.explanation?.at(-1)).toBe('dry run: nothing was changed');
  expect(dry.plan?.lease).toBeUndefined();
  expect(await locks(world).remediation()).toBeUndefined();
  expect(await desired()).toBe(from);
  expect(dry.states).not.toContain('Scale out');
  await world.setAlarm(alarm, 'OK');
}

export async function replaceUnhealthyTasksStaysInsideBlastRadius(world: RemediationWorld) {
  fresh(world);
  // The world is set up past the fault proxy: StartTask has no client token, so a start retried
  // after a lost answer would start a seventh task (a fifth unhealthy one) that the test never made.
  const ecs = observerClient(ECSClient);
  const instances = world.seed.containerInstances.slice(0, 6);
  // Six tasks of web/api, one per instance, each instance a target of blue.
  const tasks: { taskArn: string; instanceId: string }[] = [];
  for (const ci of instances) {
    const out = await ecs.send(
      new StartTaskCommand({
        cluster: CLUSTER,
        taskDefinition: world.seed.service.taskDefinition,
        containerInstances: [ci.containerInstanceArn],
        group: `service:${API}`,
        startedBy: 'ecs-svc/scenario',
      }),
    );
    tasks.push({ taskArn: out.tasks?.[0]?.taskArn as string, instanceId: ci.ec2InstanceId });
  }
  await observerClient(ElasticLoadBalancingV2Client).send(
    new RegisterTargetsCommand({
      TargetGroupArn: world.seed.loadBalancer.blueTargetGroupArn,
      Targets: instances.map((ci) => ({ Id: ci.ec2InstanceId, Port: 8080 })),
    }),
  );
  // Four instances stop: the load balancer reports their targets unused (Target.InvalidState).
  const sick = instances.slice(0, 4).map((ci) => ci.ec2InstanceId);
  await observerClient(EC2Client).send(new StopInstancesCommand({ InstanceIds: sick }));

  const alarm = 'web-api-unhealthy-hosts';
  await world.putAlarm(alarm, {
    metricName: 'UnHealthyHostCount',
    tags: { 'ecs-ops:runbook': 'replace-unhealthy-tasks' },
  });
  await world.setAlarm(alarm, 'ALARM');
  const [run] = await deliverAndRun(world, alarm, 'ALARM', {
    beforeLambda: onVerify(
      async () => true,
      () => world.setAlarm(alarm, 'OK'),
    ),
  });
  expect(run?.status, run?.cause).toBe('SUCCEEDED');
  expect(run?.plan?.decision, run?.plan?.summary).toBe('execute');
  // Four unhealthy of six running; at most 2 tasks (and 50%) per run.
  expect(run?.plan?.runbook?.blastRadius).toMatchObject({ allowed: 2, wanted: 4, maxTasks: 2 });
  const stopped = (run?.plan?.action?.details?.stopped as string[]) ?? [];
  expect(stopped).toHaveLength(2);
  const described = await ecs.send(
    new DescribeTasksCommand({
      cluster: CLUSTER,
      tasks: tasks.map((t) => t.taskArn),
    }),
  );
  const stoppedNow = (described.tasks ?? [])
    .filter((t) => t.desiredStatus === 'STOPPED')
    .map((t) => t.taskArn);
  expect(stoppedNow.sort()).toEqual([...stopped].sort());
  for (const arn of stoppedNow) {
    expect(sick).toContain(tasks.find((t) => t.taskArn === arn)?.instanceId);
  }
}

export async function unknownAndMalformedChangeNothing(world: RemediationWorld) {
  fresh(world);
  await world.raisedAlerts();
  const from = await desired();
  const unknown = 'billing-estimate-high';
  await world.putAlarm(unknown, { namespace: 'AWS/Billing', metricName: 'EstimatedCharges' });
  await world.setAlarm(unknown, 'ALARM');
  const [run] = await deliverAndRun(world, unknown, 'ALARM');
  expect(run?.plan?.decision).toBe('unknown-alarm');
  expect(run?.states).not.toContain('Which runbook?');
  const info = (await world.raisedAlerts()).filter((a) => a.kind === 'remediation-unknown-alarm');
  expect(info.map((a) => a.severity)).toEqual(['info']);
  const journal = await world.journalOf(run?.executionName as string);
  expect(journal.map((r) => r.action)).toEqual(['remediation-unknown-alarm']);

  // A malformed event: the trigger names the field, starts nothing, and the queue dead-letters it.
  const broken = world.alarmEvent(unknown, 'ALARM') as { detail: { state: Record<string, unknown> } };
  broken.detail.state.value = 'ON_FIRE';
  // Received, failed and released three times (maxReceiveCount), then moved to the DLQ.
  const rejected = await world.deliver([broken as unknown as Record<string, unknown>]);
  expect([rejected.delivered, rejected.failed]).toEqual([0, 3]);
  expect(await world.runStarted()).toHaveLength(0);
  const dlq = world.stack.outputs.RemediationQueueDlqUrl as string;
  const dead = await observerClient(SQSClient).send(
    new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10 }),
  );
  expect(dead.Messages).toHaveLength(1);
  expect(JSON.parse(dead.Messages?.[0]?.Body ?? '{}').detail.state.value).toBe('ON_FIRE');

  // Console input: every problem names its field, before anything is read or changed.
  for (const [input, field] of [
    [{ alarmName: '' }, 'alarmName'],
    [{ alarmName: 'web-api-cpu-high', dryrun: true }, 'dryrun'],
    [{ alarmName: 'no-such-alarm' }, 'alarmName'],
    [{ alarmName: 'web-api-cpu-high', dryRun: 'yes' }, 'dryRun'],
  ] as const) {
    const bad = await world.run(input);
    expect(bad.status).toBe('FAILED');
    expect(bad.error).toBe('InvalidInput');
    expect(bad.cause).toContain(field);
    expect(bad.states).toEqual(['Validate input', 'Input rejected']);
  }
  expect(await desired()).toBe(from);
}

export async function firstTransitionAfterDeployIsNoise(world: RemediationWorld) {
  fresh(world);
  const alarm = 'web-api-cpu-high';
  // (Re)configured just now, as a deploy does; its first evaluation leaves INSUFFICIENT_DATA.
  await world.putAlarm(alarm, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
  await world.setAlarm(alarm, 'ALARM');
  const from = await desired();
  const [run] = await deliverAndRun(world, alarm, 'ALARM', { previous: 'INSUFFICIENT_DATA', realTime: true });
  expect(run?.plan?.decision).toBe('skipped');
  expect(run?.plan?.summary).toContain('deploy noise');
  expect(await desired()).toBe(from);
  await world.setAlarm(alarm, 'OK');
}

export async function riskyRunbookWaitsForApproval(world: RemediationWorld) {
  fresh(world);
  const [approvedOne, ignoredOne] = world.seed.containerInstances.slice(6, 8);
  if (!approvedOne || !ignoredOne) throw new Error('the seed has too few instances');
  const status = async (arn: string) => {
    const out = await observerClient(ECSClient).send(
      new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [arn] }),
    );
    return out.containerInstances?.[0]?.status;
  };

  // Approved: the gate's alert says how to answer; the drain happens after the answer.
  const alarm = `web-instance-impaired-${approvedOne.ec2InstanceId}`;
  await world.putAlarm(alarm, {
    namespace: 'AWS/EC2',
    metricName: 'StatusCheckFailed',
    dimensions: { InstanceId: approvedOne.ec2InstanceId },
  });
  await world.setAlarm(alarm, 'ALARM');
  await world.raisedAlerts();
  await world.deliver([world.alarmEvent(alarm, 'ALARM')]);
  const running = world.runStarted({
    taskTokenTimeoutMs: 60_000,
    beforeLambda: onVerify(
      async () => (await status(approvedOne.containerInstanceArn)) === 'DRAINING',
      () => world.setAlarm(alarm, 'OK'),
    ),
  });
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 60_000 });
  expect(await status(approvedOne.containerInstanceArn)).toBe('ACTIVE');
  // The token exists before the gate's step has raised its alert.
  const gate = await until(
    async () => (await world.raisedAlerts()).find((a) => a.kind === 'remediation-approval'),
    'no approval alert',
  );
  expect(gate?.nextSteps).toContain(`ops approve ${token.executionName}`);
  // Answered as `ops approve` does: the gate record claimed, then SendTaskSuccess through the SDK.
  await answerRemediationGate(
    {
      db: documentClient(),
      clock: world.clock,
      env: { OPERATIONS_TABLE: world.env('OPERATIONS_TABLE') },
      callbacks: stepFunctionsCallbacks(awsClient(SFNClient)),
    },
    token.executionName,
    'approve',
    'scenario',
  );
  const [approved] = await running;
  expect(approved?.status, approved?.cause).toBe('SUCCEEDED');
  expect(approved?.plan?.outcome).toBe('remediated');
  expect(await status(approvedOne.containerInstanceArn)).toBe('DRAINING');

  // Nobody answers: the default (reject) is taken, and nothing is drained.
  const quiet = `web-instance-impaired-${ignoredOne.ec2InstanceId}`;
  await world.putAlarm(quiet, {
    namespace: 'AWS/EC2',
    metricName: 'StatusCheckFailed',
    dimensions: { InstanceId: ignoredOne.ec2InstanceId },
  });
  await world.setAlarm(quiet, 'ALARM');
  world.clock.advance(HOUR);
  const [timedOut] = await deliverAndRun(world, quiet, 'ALARM', { taskTokenTimeoutMs: 50 });
  expect(timedOut?.status, timedOut?.cause).toBe('SUCCEEDED');
  expect(timedOut?.plan).toMatchObject({ decision: 'refused', outcome: 'rejected' });
  expect(timedOut?.plan?.summary).toContain('no answer in time');
  expect(await status(ignoredOne.containerInstanceArn)).toBe('ACTIVE');
  await world.setAlarm(quiet, 'OK');

  // Approved, but the answer's SendTaskSuccess is lost: the answer claimed on the gate record
  // decides when the gate times out, not the default (reject).
  const lostOne = world.seed.containerInstances[8];
  if (!lostOne) throw new Error('the seed has too few instances');
  const lostAlarm = `web-instance-impaired-${lostOne.ec2InstanceId}`;
  await world.putAlarm(lostAlarm, {
    namespace: 'AWS/EC2',
    metricName: 'StatusCheckFailed',
    dimensions: { InstanceId: lostOne.ec2InstanceId },
  });
  await world.setAlarm(lostAlarm, 'ALARM');
  world.clock.advance(HOUR);
  await world.deliver([world.alarmEvent(lostAlarm, 'ALARM')]);
  const lostRun = world.runStarted({
    // Long enough for the answer to be claimed before the gate times out on a loaded machine
    // (2 s was not, behind the fault proxy); the claim decides when it does.
    taskTokenTimeoutMs: 8_000,
    beforeLambda: onVerify(
      async () => (await status(lostOne.containerInstanceArn)) === 'DRAINING',
      () => world.setAlarm(lostAlarm, 'OK'),
    ),
  });
  const lost = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
  const gateDeps = {
    db: documentClient(),
    clock: world.clock,
    env: { OPERATIONS_TABLE: world.env('OPERATIONS_TABLE') },
    callbacks: {
      success: async () => {
        throw lost;
      },
    },
  };
  const waiting = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 60_000 });
  await until(async () => findRemediationGate(gateDeps, waiting.executionName), 'no gate record');
  await expect(answerRemediationGate(gateDeps, waiting.executionName, 'approve', 'zoe')).rejects.toBe(lost);
  const [claimed] = await lostRun;
  expect(claimed?.status, claimed?.cause).toBe('SUCCEEDED');
  expect(claimed?.plan?.outcome).toBe('remediated');
  expect(await status(lostOne.containerInstanceArn)).toBe('DRAINING');
  await world.setAlarm(lostAlarm, 'OK');
}

/**
 * Alarm names may have 255 characters. The scale-out's nested execution is named after the
 * remediation's own (80 characters once the alarm's name has 37 or more): the name must stay
 * valid, or Step Functions refuses the nested start and nothing scales.
 */
export async function longAlarmNameScalesOutUnderAValidChildName(world: RemediationWorld) {
  fresh(world);
  const alarm = `web-api-cpu-high-${'in-the-checkout-path-of-eu-west-1-'.repeat(7)}`.slice(0, 255);
  await world.putAlarm(alarm, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
  await world.setAlarm(alarm, 'ALARM');
  const from = await desired();
  const [run] = await deliverAndRun(world, alarm, 'ALARM', {
    beforeLambda: onVerify(
      async () => (await desired()) >= from + 2,
      () => world.setAlarm(alarm, 'OK', 'CPU back under the threshold'),
    ),
  });
  expect(run?.executionName.length).toBe(80);
  expect(run?.status, run?.cause).toBe('SUCCEEDED');
  expect(run?.plan?.outcome, JSON.stringify(run?.plan?.action)).toBe('remediated');
  expect(await desired()).toBe(from + 2);
  await deliverAndRun(world, alarm, 'OK');
}

async function deliverAndRun(
  world: RemediationWorld,
  alarm: string,
  state: 'OK' | 'ALARM',
  opts: {
    previous?: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
    realTime?: boolean;
    beforeLambda?: (fn: string, event: unknown) => Promise<void>;
    taskTokenTimeoutMs?: number;
  } = {},
) {
  const event = world.alarmEvent(alarm, state, {
    ...(opts.previous ? { previous: opts.previous } : {}),
    // The alarm's configuration time is real time; a transition right after it is compared with it.
    ...(opts.realTime ? { timestamp: new Date().toISOString() } : {}),
  });
  const delivered = await world.deliver([event]);
  expect(delivered.delivered).toBe(1);
  return world.runStarted({
    ...(opts.beforeLambda ? { beforeLambda: opts.beforeLambda } : {}),
    ...(opts.taskTokenTimeoutMs !== undefined ? { taskTokenTimeoutMs: opts.taskTokenTimeoutMs } : {}),
  });
}

export const SCENARIOS = {
  'a mapped 5xx alarm during a rollout rolls that rollout back': fiveHundredsDuringRolloutRollBack,
  'a mapped CPU alarm scales out through the scaling workflow; OK resolves the episode':
    cpuAlarmScalesOutAndOkResolves,
  'an alarm with a 255-character name scales out through a nested execution whose name is valid':
    longAlarmNameScalesOutUnderAValidChildName,
  'an alarm that stays in ALARM escalates with one critical alert, no second attempt':
    alarmStayingInAlarmEscalatesOnce,
  'the same event twice runs once; a transition inside the cooldown does nothing and says why':
    duplicatesRunOnceAndCooldownExplains,
  'a guard alarm in ALARM aborts before any change; a dry run changes nothing':
    guardAlarmAbortsAndDryRunChangesNothing,
  'replace-unhealthy-tasks never stops more than its blast radius':
    replaceUnhealthyTasksStaysInsideBlastRadius,
  'unknown alarms and malformed events change nothing; malformed ones name the field':
    unknownAndMalformedChangeNothing,
  'the first transition out of INSUFFICIENT_DATA after a deploy runs no runbook':
    firstTransitionAfterDeployIsNoise,
  'a risky runbook waits for approval; no answer takes the default and changes nothing':
    riskyRunbookWaitsForApproval,
  // Last: it leaves green primary on the other target group, and earlier scenarios seed blue's.
  'a 5xx alarm whose rollout was promoted before the runbook acted escalates and changes nothing':
    fiveHundredsAsGreenIsPromotedEscalate,
} as const;
