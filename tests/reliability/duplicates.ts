// Duplicates and order (issue 9): every event type the control plane consumes, delivered twice and
// out of order, through the event bus, the stack's rules and queues (EventBridge delivers at least
// once, in no particular order). One action per episode or transition, and an older transition
// arriving late never undoes a newer one.
//
// - EC2 spot warning and rebalance recommendation: one episode per instance, whatever the order.
// - Fargate Spot task events (several per reclaimed task, as it stops): one record, one alert.
// - A scale-out alarm: one execution and one scale-out per ALARM transition.
// - Remediation alarm transitions: ALARM and OK each handled once; a late older ALARM does not run
//   the runbook after a newer OK, and a late older OK does not close the episode of a newer ALARM.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import type { ScalePlan } from '../../events/scale-input.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { readJournal, takeAlerts } from '../../local/control-plane.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { observerClient } from '../../local/observer.ts';
import { takeRaisedAlerts } from '../../local/rollouts.ts';
import type { SeededInstance } from '../../local/seed.ts';
import { enqueueRaw, putEvents, sampleEvent } from '../../local/spot-harness.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { deployedWorkflow, runDeployedWorkflow, type WorkflowName } from '../../local/workflows.ts';
import { statuses } from '../spot/scenarios.ts';
import { useSpotWorld } from '../spot/world.ts';
import { answersMayBeLost, expectFaultsInjected } from '../support/emulator.ts';
import { alarmEvent, deliverAlarmEvents, putAlarm, setAlarm, startedExecutions } from './alarm-events.ts';

const HOUR = 3_600_000;
const CLUSTER = 'web';
const SERVICE = 'api';

/**
 * The duplicate and order scenarios, clean or behind `faults`. Where faults may lose answers, a
 * raise or a Publish retried after one arrives twice word for word: those copies are collapsed.
 */
export function describeDuplicates(title: string, faults?: Partial<FaultSettings>): void {
  describe(title, () => {
    const { world, proxy } = useSpotWorld({ instances: 8, spotFraction: 0.5, ...(faults ? { faults } : {}) });
    const copies = { collapseCopies: answersMayBeLost(faults) };
    const clock = new VirtualClock();
    const seen: Record<WorkflowName, Set<string>> = {
      'spot-surge': new Set(),
      'blue-green-rollout': new Set(),
      'release-train': new Set(),
      'scale-service': new Set(),
      'remediate-alarm': new Set(),
    };
    let spot: SeededInstance[] = [];

    beforeAll(() => {
      spot = world.seed.containerInstances.filter((c) => c.spot);
    });

    const env = (name: string) => {
      const value = world.stack.functions['remediate-step']?.environment[name];
      if (!value) throw new Error(`remediate-step has no ${name}`);
      return value;
    };
    const journal = async (): Promise<JournalRecord[]> => readJournal(env('JOURNAL_TABLE'));
    /** What subscribers got (the stack's event sources run the alert router first). */
    const published = async () => {
      await world.harness.process();
      const q = world.seed.alertQueues;
      return [
        ...(await takeAlerts(q.critical, copies)),
        ...(await takeAlerts(q.warning, copies)),
        ...(await takeAlerts(q.info, copies)),
      ];
    };
    const capacity = async () => {
      const groups = world.seed.autoScalingGroups;
      const out = await observerClient(AutoScalingClient).send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groups.spot, groups.onDemand] }),
      );
      return (out.AutoScalingGroups ?? []).reduce((n, g) => n + (g.DesiredCapacity ?? 0), 0);
    };
    const surges = async () => {
      const out = await observerClient(SFNClient).send(
        new ListExecutionsCommand({ stateMachineArn: deployedWorkflow(world.stack, 'spot-surge').arn }),
      );
      return out.executions?.length ?? 0;
    };
    const desired = async () => {
      const out = await observerClient(ECSClient).send(
        new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }),
      );
      return out.services?.[0]?.desiredCount ?? -1;
    };
    /** An EC2 event for a seeded instance, at `time` (its own notice time). */
    const ec2Event = (
      kind: 'ec2-spot-instance-interruption-warning' | 'ec2-instance-rebalance-recommendation',
      instance: SeededInstance,
      time: string,
    ) => ({
      ...sampleEvent(kind, instance.ec2InstanceId),
      time,
      id: `${kind}-${instance.ec2InstanceId}-${time}`,
    });

    // ------------------------------------------------------------------------------------------
    // Spot: EC2 warnings and rebalance recommendations, Fargate Spot task events.

    it('a warning delivered twice, then its rebalance recommendation arriving late (older), twice: one drain, one replacement, one alert, no surge', async () => {
      const [instance] = spot.slice(0, 1) as [SeededInstance];
      const drains = world.calls('ecs:UpdateContainerInstancesState');
      const [capacityBefore, surgesBefore] = [await capacity(), await surges()];
      await published();

      const warning = ec2Event('ec2-spot-instance-interruption-warning', instance, '2026-11-20T10:15:00Z');
      // Through the rule, and an exact duplicate straight onto the queue (at-least-once delivery).
      await putEvents([warning]);
      await enqueueRaw(world.stack, [warning]);
      await world.harness.process();
      // The rebalance recommendation came first at EC2 (older time) but arrives after the warning.
      const rebalance = ec2Event('ec2-instance-rebalance-recommendation', instance, '2026-11-20T10:13:00Z');
      await putEvents([rebalance]);
      await enqueueRaw(world.stack, [rebalance, warning]);
      await world.harness.process();

      expect((await statuses(world)).get(instance.ec2InstanceId)).toBe('DRAINING');
      expect(world.calls('ecs:UpdateContainerInstancesState') - drains).toBe(1);
      expect(await capacity()).toBe(capacityBefore + 1);
      // The late recommendation does not turn the drain back into a surge.
      expect(await surges()).toBe(surgesBefore);
      const alerts = await published();
      expect(alerts.map((a) => a.alert.kind)).toEqual(['spot-interruption']);
      expect(alerts[0]?.alert.resources).toEqual([instance.containerInstanceArn]);
      const records = (await journal()).filter((r) => r.resource.endsWith(instance.ec2InstanceId));
      expect(records.map((r) => [r.action, r.outcome])).toEqual([['drain-instance', 'changed']]);
    });

    it('a rebalance recommendation delivered twice, then its warning twice: one surge, one replacement, one drain', async () => {
      const [instance] = spot.slice(1, 2) as [SeededInstance];
      const drains = world.calls('ecs:UpdateContainerInstancesState');
      const [capacityBefore, surgesBefore] = [await capacity(), await surges()];
      await published();

      const rebalance = ec2Event('ec2-instance-rebalance-recommendation', instance, '2026-11-20T11:00:00Z');
      await putEvents([rebalance]);
      await enqueueRaw(world.stack, [rebalance]);
      await world.harness.process();
      expect((await statuses(world)).get(instance.ec2InstanceId)).toBe('ACTIVE');
      expect(await surges()).toBe(surgesBefore + 1);
      expect(await capacity()).toBe(capacityBefore + 1);

      const warning = ec2Event('ec2-spot-instance-interruption-warning', instance, '2026-11-20T11:02:00Z');
      await enqueueRaw(world.stack, [warning, rebalance, warning]);
      await world.harness.process();
      expect((await statuses(world)).get(instance.ec2InstanceId)).toBe('DRAINING');
      expect(world.calls('ecs:UpdateContainerInstancesState') - drains).toBe(1);
      // The surge already asked for the replacement: the warning adds none.
      expect(await capacity()).toBe(capacityBefore + 1);
      expect(await surges()).toBe(surgesBefore + 1);
      const alerts = await published();
      // One announcement of the episode (the surge), none for the drain that upgraded it.
      expect(alerts.map((a) => a.alert.kind)).toEqual(['spot-interruption']);
    });

    it('Fargate Spot task events of one reclaimed task (notice, then stopped) delivered twice and in reverse order: one record, one alert', async () => {
      await published();
      const notice = sampleEvent('ecs-task-state-change-fargate-spot-interruption');
      const detail = notice.detail as Record<string, unknown>;
      const taskArn = String(detail.taskArn).replace(/[0-9a-f]{32}$/, '0a1b2c3d4e5f60718293a4b5c6d7e8f9');
      const at = (minute: number) => `2026-11-20T12:${String(minute).padStart(2, '0')}:00Z`;
      const version = (n: number, lastStatus: string, minute: number) => ({
        ...notice,
        id: `fargate-${n}`,
        time: at(minute),
        resources: [taskArn],
        detail: { ...detail, taskArn, lastStatus, version: n, updatedAt: at(minute) },
      });
      const first = version(4, 'RUNNING', 0);
      const stopped = version(6, 'STOPPED', 2);
      // The later state change arrives first, each twice.
      await putEvents([stopped]);
      await enqueueRaw(world.stack, [stopped, first]);
      await world.harness.process();
      await putEvents([first]);
      await world.harness.process();

      const resource = `task/web/${taskArn.split('/').pop()}`;
      const records = (await journal()).filter((r) => r.resource === resource);
      expect(records.map((r) => [r.action, r.outcome])).toEqual([
        ['note-fargate-spot-interruption', 'unchanged'],
      ]);
      const alerts = await published();
      expect(alerts.map((a) => a.alert.kind)).toEqual(['fargate-spot-interruption']);
      expect(alerts[0]?.alert.resources).toEqual([taskArn]);
    });

    // ------------------------------------------------------------------------------------------
    // Alarms: the fast scale-out and remediation.

    it('a scale-out alarm entering ALARM delivered twice (and again after it ran, and late after a newer transition) scales out once per transition; its OK is never delivered', async () => {
      clock.advance(2 * HOUR);
      const alarm = 'web-api-cpu-burst';
      const from = await desired();
      const t1 = new Date(clock.now()).toISOString();
      const alarmIn = alarmEvent(world.stack, alarm, 'ALARM', { timestamp: t1 });
      const first = await deliverAlarmEvents(world.stack, 'scale-alarm', clock, [alarmIn, alarmIn]);
      expect([first.delivered, first.failed]).toEqual([2, 0]);
      const started = await startedExecutions(world.stack, 'scale-service', seen['scale-service']);
      expect(started).toHaveLength(1);
      const run = await runDeployedWorkflow(world.stack, 'scale-service', started[0]?.input, {
        clock,
        executionName: started[0]?.name as string,
      });
      const plan = run.output as ScalePlan;
      expect(plan.decision, plan.summary).toBe('scale');
      const scaledTo = await desired();
      expect(scaledTo).toBeGreaterThan(from);

      // Delivered again after the execution ended, and its return to OK: nothing starts.
      const ok = alarmEvent(world.stack, alarm, 'OK', {
        timestamp: new Date(clock.now() + 60_000).toISOString(),
      });
      const again = await deliverAlarmEvents(world.stack, 'scale-alarm', clock, [alarmIn, ok]);
      expect([again.delivered, again.failed]).toEqual([1, 0]);
      expect(await startedExecutions(world.stack, 'scale-service', seen['scale-service'])).toEqual([]);
      expect(await desired()).toBe(scaledTo);
      const records = (await journal()).filter((r) => r.actor === 'scale-alarm' && r.trigger.at === t1);
      expect(records.map((r) => r.action).sort()).toEqual([
        'ignore-duplicate-alarm',
        'ignore-duplicate-alarm',
        'start-alarm-scale-out',
      ]);

      // The alarm fires again (a new transition, past the cooldown); the old one is delivered once
      // more, late, after it: one execution, for the new transition only, scaling once.
      clock.advance(5 * 60_000);
      const t3 = new Date(clock.now()).toISOString();
      const newer = alarmEvent(world.stack, alarm, 'ALARM', { timestamp: t3 });
      const late = await deliverAlarmEvents(world.stack, 'scale-alarm', clock, [newer, alarmIn, newer]);
      expect([late.delivered, late.failed]).toEqual([3, 0]);
      const next = await startedExecutions(world.stack, 'scale-service', seen['scale-service']);
      expect(next.map((e) => (e.input.trigger as { at?: string }).at)).toEqual([t3]);
      const rerun = await runDeployedWorkflow(world.stack, 'scale-service', next[0]?.input, {
        clock,
        executionName: next[0]?.name as string,
      });
      expect((rerun.output as ScalePlan).decision).toBe('scale');
      expect(await desired()).toBeGreaterThan(scaledTo);
    });

    describe('remediation alarm transitions', () => {
      const alarm = 'web-api-cpu-high';
      const resolvedKey = `remediation/${alarm}`;

      beforeAll(async () => {
        await putAlarm(alarm, { namespace: 'AWS/ECS', metricName: 'CPUUtilization' });
      });

      /** Delivers the events through the trigger and runs every execution it started. */
      const deliverAndRun = async (events: Record<string, unknown>[]) => {
        const delivered = await deliverAlarmEvents(world.stack, 'remediation-trigger', clock, events);
        expect(delivered.failed, delivered.errors.join('; ')).toBe(0);
        const started = await startedExecutions(world.stack, 'remediate-alarm', seen['remediate-alarm']);
        const runs = [];
        for (const execution of started) {
          const result = await runDeployedWorkflow(world.stack, 'remediate-alarm', execution.input, {
            clock,
            executionName: execution.name,
            // The runbook acted: the alarm recovers when the workflow next reads it.
            beforeLambda: async (fn, event) => {
              if (fn === 'remediate-step' && (event as { action?: string }).action === 'verify')
                await setAlarm(alarm, 'OK', 'CPU back under the threshold');
            },
          });
          runs.push({ ...result, execution, plan: result.output as RemediationPlan | undefined });
        }
        return runs;
      };
      /** Each case starts from the seeded count, inside the guardrails whatever ran before. */
      const resetCount = async () => {
        await observerClient(ECSClient).send(
          new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, desiredCount: 4 }),
        );
        return desired();
      };
      const ofExecution = async (arn: string) => (await journal()).filter((r) => r.actor === arn);
      const at = (offsetMs: number) => new Date(clock.now() + offsetMs).toISOString();
      const resolved = async () =>
        (await takeRaisedAlerts(env('ALERT_QUEUE_URL'), copies)).filter(
          (a) => a.state === 'resolved' && a.dedupKey === resolvedKey,
        );

      it('ALARM then OK, each delivered twice: the runbook runs once, the episode closes once', async () => {
        clock.advance(3 * HOUR);
        await takeRaisedAlerts(env('ALERT_QUEUE_URL'), copies);
        const from = await resetCount();
        await setAlarm(alarm, 'ALARM');
        const alarmIn = alarmEvent(world.stack, alarm, 'ALARM', { timestamp: at(0) });
        const [acted, ...more] = await deliverAndRun([alarmIn, alarmIn]);
        expect(more).toHaveLength(0);
        expect(acted?.plan?.outcome, acted?.cause).toBe('remediated');
        expect(await desired()).toBe(from + 2);
        // Verified: the run itself resolved its alert. The OK transition then closes the episode.
        expect(await resolved()).toHaveLength(1);
        const okEvent = alarmEvent(world.stack, alarm, 'OK', { timestamp: at(120_000) });
        const [closed, ...moreOk] = await deliverAndRun([okEvent, okEvent, alarmIn]);
        expect(moreOk).toHaveLength(0);
        expect(closed?.plan?.decision).toBe('resolved');
        expect(await desired()).toBe(from + 2);
        expect(await resolved()).toHaveLength(1);
        const runs = (await journal()).filter(
          (r) => r.action === 'run-scale-out' && r.details?.alarm === alarm,
        );
        expect(runs.filter((r) => r.actor === acted?.execution.arn)).toHaveLength(1);
      });

      it('OK arriving before the older ALARM it followed (each twice): the late ALARM runs no runbook', async () => {
        clock.advance(3 * HOUR);
        await takeRaisedAlerts(env('ALERT_QUEUE_URL'), copies);
        const from = await resetCount();
        // CloudWatch: ALARM at t, OK at t + 2 min. Delivered: the OK first, the ALARM late.
        await setAlarm(alarm, 'OK');
        const older = alarmEvent(world.stack, alarm, 'ALARM', { timestamp: at(0) });
        const newer = alarmEvent(world.stack, alarm, 'OK', {
          timestamp: at(120_000),
          previousTimestamp: at(0),
        });
        const [closed] = await deliverAndRun([newer, newer]);
        expect(closed?.plan?.decision).toBe('resolved');
        const [late, ...more] = await deliverAndRun([older, older]);
        expect(more).toHaveLength(0);
        expect(late?.status, late?.cause).toBe('SUCCEEDED');
        expect(late?.plan?.decision, late?.plan?.summary).toBe('skipped');
        expect(late?.states).not.toContain('Scale out');
        expect(await desired()).toBe(from);
        const records = await ofExecution(late?.execution.arn as string);
        expect(records.map((r) => [r.action, r.outcome])).toEqual([['remediation-skipped', 'unchanged']]);
        expect(records[0]?.reason).toContain('older than');
      });

      it('an older OK arriving after a newer ALARM was handled does not close the new episode', async () => {
        clock.advance(3 * HOUR);
        await takeRaisedAlerts(env('ALERT_QUEUE_URL'), copies);
        const from = await resetCount();
        // CloudWatch: OK at t, ALARM again at t + 2 min. Delivered: the ALARM first, the OK late.
        await setAlarm(alarm, 'ALARM');
        const older = alarmEvent(world.stack, alarm, 'OK', { timestamp: at(0) });
        const newer = alarmEvent(world.stack, alarm, 'ALARM', {
          timestamp: at(120_000),
          previousTimestamp: at(0),
        });
        const [acted] = await deliverAndRun([newer]);
        expect(acted?.plan?.outcome, acted?.cause).toBe('remediated');
        expect(await desired()).toBe(from + 2);
        await resolved();
        const [late, ...more] = await deliverAndRun([older, older, newer]);
        expect(more).toHaveLength(0);
        expect(late?.plan?.decision, late?.plan?.summary).toBe('skipped');
        // No resolved alert for the episode the late OK would have closed.
        expect(await resolved()).toEqual([]);
        const records = await ofExecution(late?.execution.arn as string);
        expect(records.map((r) => [r.action, r.outcome])).toEqual([['remediation-skipped', 'unchanged']]);
        expect(records[0]?.reason).toContain('older than');
      });
    });
    if (faults) it('really injected faults', () => expectFaultsInjected(proxy.stats()));
  });
}
