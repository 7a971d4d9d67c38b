// Rollout scenarios: failures roll back, traffic first (read back), then green.
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { expect } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { setWeights } from '../../functions/shared/rollouts/traffic.ts';
import { scriptGreenReadiness, type TargetState } from '../../local/green-readiness.ts';
import { observerClient } from '../../local/observer.ts';
import { runRollout } from '../../local/rollouts.ts';
import {
  ANALYSIS,
  expectSettled,
  input,
  journalOf,
  quick,
  record,
  scenarioClock,
  serviceState,
  shiftedWeights,
  takeAlerts,
  writeTraffic,
} from './scenario-support.ts';
import type { RolloutWorld } from './world.ts';

// ------------------------------------------------------------------------------------------
// Failures roll back: traffic first (read back), then green; the lock is freed.

export async function high5xxRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {
    next: (m) => ({ requests: 1000, errors: 120 + (m % 4), latencyMs: 50 }),
  });
  await takeAlerts(world);
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:bad-5xx-${world.throttleRate}`, {
      strategy: { type: 'canary', percent: 20, bakeSeconds: 300 },
      analysis: { ...ANALYSIS, maxErrorRate: 0.01 },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(result.status).toBe('FAILED');
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('5xx rate');
  expect(result.states).toContain('Restore blue traffic');
  // No spot storm on the cluster: the failing verdict is not held.
  expect(result.states).not.toContain('Hold for the spot storm');

  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual([20]);
  const restore = journal.find((r) => r.action === 'restore-blue');
  expect(restore?.after).toEqual({ blue: 100, green: 0 });
  expect(journal.map((r) => r.action).slice(-3)).toEqual([
    'restore-blue',
    'remove-green',
    'rollout-rolled-back',
  ]);

  await expectSettled(world, clock, before.primary.image);
  expect((await serviceState(world)).primary.arn).toBe(before.primary.arn);
  expect((await record(world))?.phase).toBe('rolled-back');

  const alerts = await takeAlerts(world);
  const critical = alerts.filter((a) => a.severity === 'critical');
  expect(critical).toHaveLength(1);
  expect(critical[0]?.kind).toBe('rollout-rolled-back');
  // The verdict's numbers: green's 5xx rate and request count, blue's for comparison.
  expect(critical[0]?.summary).toMatch(/green 5xx 12\.\d\d% \(\d+ of \d+ requests\)/);
  expect(critical[0]?.summary).toContain('above its limit 1.00%');
  return result;
}

/**
 * Green takes time to come up (a documented stand-in scripts what moto cannot: the task set
 * stabilizes after 90 s, its targets are `initial` for a minute, then healthy): the rollout
 * waits for it, checking every 15 s, and only then shifts traffic.
 */
export async function greenTakesTimeToBecomeReady(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const { idleTargetGroup } = await serviceState(world);
  const stop = scriptGreenReadiness(clock, {
    targetGroupArn: idleTargetGroup,
    tasks: 2,
    steadyAfterMs: 90_000,
    targets: [
      [0, 'initial'],
      [60_000, 'healthy'],
    ],
  });
  try {
    const image = `registry.local/api:slow-start-${world.throttleRate}`;
    const result = await runRollout(world.stack, input(image) as Record<string, unknown>, quick(clock));
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(result.states.filter((s) => s === 'Check green').length).toBeGreaterThanOrEqual(7);
    const journal = await journalOf(world, result);
    expect(journal.find((r) => r.action === 'green-ready')?.reason).toContain(
      'STEADY_STATE; 2 of 2 task(s) running; targets 2 healthy of 2',
    );
    await expectSettled(world, clock, image);
  } finally {
    stop();
  }
  await takeAlerts(world);
}

/**
 * Green's targets never pass their health checks, or pass and then drain (their tasks replaced,
 * or deregistered by someone else) before green is steady: no traffic moves, and the rollout goes
 * back.
 */
export async function greenNeverHealthyRollsBack(world: RolloutWorld) {
  const scripts: [label: string, steadyAfterMs: number, targets: [number, TargetState][]][] = [
    [
      'never healthy',
      0,
      [
        [0, 'initial'],
        [30_000, 'unhealthy'],
      ],
    ],
    [
      'healthy, then draining',
      60_000,
      [
        [0, 'initial'],
        [20_000, 'healthy'],
        [40_000, 'draining'],
      ],
    ],
  ];
  for (const [label, steadyAfterMs, targets] of scripts) {
    const clock = scenarioClock();
    const before = await writeTraffic(world, clock, {});
    await takeAlerts(world);
    const { idleTargetGroup } = await serviceState(world);
    const stop = scriptGreenReadiness(clock, {
      targetGroupArn: idleTargetGroup,
      tasks: 2,
      steadyAfterMs,
      targets,
    });
    try {
      const result = await runRollout(
        world.stack,
        input(`registry.local/api:not-ready-${label.replace(/\W+/g, '-')}-${world.throttleRate}`, {
          greenReadyTimeoutSeconds: 120,
        }) as Record<string, unknown>,
        quick(clock),
      );
      expect(result.error, label).toBe('RolledBack');
      expect(result.cause, label).toContain('green was not ready by');
      expect(result.cause, label).toContain('targets 0 healthy of 2');
      const journal = await journalOf(world, result);
      expect(shiftedWeights(journal), label).toEqual([]);
      expect(
        journal.map((r) => r.action),
        label,
      ).toContain('green-not-ready');
      await expectSettled(world, clock, before.primary.image);
    } finally {
      stop();
    }
    const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
    expect(
      critical.map((a) => a.kind),
      label,
    ).toEqual(['rollout-rolled-back']);
  }
}

/**
 * Someone changes the production listener between two shifts (a hand edit, a stack update that
 * resets the weights): the next shift notices before it changes anything, and the rollout goes
 * back to blue with one critical alert naming the drift.
 */
export async function listenerDriftStopsTheRollout(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  let drifted = false;
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:drift-${world.throttleRate}`, {
      strategy: { type: 'linear', stepPercent: 25, intervalSeconds: 300 },
      analysis: ANALYSIS,
    }) as Record<string, unknown>,
    {
      ...quick(clock),
      beforeLambda: async (fn, event) => {
        const step = event as {
          action?: string;
          state?: { progress?: { index?: number }; topology?: never };
        };
        if (fn !== 'rollout-step' || step.action !== 'shift' || step.state?.progress?.index !== 0 || drifted)
          return;
        drifted = true;
        // Someone else puts 60% on green by hand.
        const r = await record(world);
        if (!r) throw new Error('no record');
        await setWeights(observerClient(ElasticLoadBalancingV2Client), r.topology, 60);
      },
    },
  );
  expect(drifted).toBe(true);
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('ListenerDrift');
  expect(result.cause).toContain('blue 40% / green 60% where this rollout left blue 75% / green 25%');
  const journal = await journalOf(world, result);
  // The second shift never happened: the drift was noticed first.
  expect(shiftedWeights(journal)).toEqual([25]);
  expect(journal.find((r) => r.action === 'restore-blue')?.after).toEqual({ blue: 100, green: 0 });
  await expectSettled(world, clock, before.primary.image);
  const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
  expect(critical.map((a) => a.kind)).toEqual(['rollout-rolled-back']);
  expect(critical[0]?.summary).toContain('someone else changed it');
}

export async function alarmDuringBakeRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  const cloudwatch = awsClient(CloudWatchClient);
  const alarm = `api-p99-latency-${world.throttleRate}`;
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: alarm,
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'TargetResponseTime',
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
  await cloudwatch.send(
    new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'ALARM', StateReason: 'latency above 1 s' }),
  );
  await takeAlerts(world);
  try {
    const result = await runRollout(
      world.stack,
      input(`registry.local/api:alarm-${world.throttleRate}`, {
        analysis: { ...ANALYSIS, alarms: [alarm] },
      }) as Record<string, unknown>,
      quick(clock),
    );
    expect(result.error).toBe('RolledBack');
    expect(result.cause).toContain(`alarm ${alarm} is ALARM`);
    const journal = await journalOf(world, result);
    // Traffic reached green (10%), the bake's analysis found the alarm, traffic went back.
    expect(shiftedWeights(journal)).toEqual([10]);
    expect(journal.find((r) => r.action === 'restore-blue')?.after).toEqual({ blue: 100, green: 0 });
    await expectSettled(world, clock, before.primary.image);
    const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
    expect(critical.map((a) => a.kind)).toEqual(['rollout-rolled-back']);
    expect(critical[0]?.summary).toContain(`${alarm}=ALARM`);
  } finally {
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [alarm] }));
  }
}

export async function worseThanBlueRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {
    // Within the 400 ms threshold, but three times blue's latency: only the comparison sees it.
    next: (m) => ({ requests: 1000, errors: 0, latencyMs: 150 + (m % 5) }),
  });
  const result = await runRollout(
    world.stack,
    input(`registry.local/api:slow-${world.throttleRate}`) as Record<string, unknown>,
    quick(clock),
  );
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('green latency is worse than blue');
  const journal = await journalOf(world, result);
  const verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as {
    comparisons: { metric: string; verdict: string; pValue: number }[];
  };
  const latency = verdict.comparisons.find((c) => c.metric === 'latency');
  expect(latency?.verdict).toBe('fail');
  expect(latency?.pValue).toBeLessThan(0.05);
  await expectSettled(world, clock, before.primary.image);
  await takeAlerts(world);
}
