// Rollout scenarios: each strategy reaches 100% green, and the transitions a rollout takes do
// not grow with its bake time.
import { expect } from 'vitest';
import type { Strategy } from '../../events/rollout-input.ts';
import { runRollout } from '../../local/rollouts.ts';
import {
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
// Strategies reach 100% green; blue is gone after the termination wait.

export async function strategyReachesGreen(
  world: RolloutWorld,
  name: string,
  strategy: Strategy,
  expectedWeights: number[],
) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const image = `registry.local/api:${name}-${world.throttleRate}`;
  const started = clock.now();
  const result = await runRollout(
    world.stack,
    input(image, { strategy }) as Record<string, unknown>,
    quick(clock),
  );
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');

  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual(expectedWeights);
  // Every shift was verified: what the listener reported after it, blue and green add up.
  for (const r of journal.filter((j) => j.action === 'shift-traffic')) {
    const after = r.after as { blue: number; green: number };
    expect(after.blue + after.green).toBe(100);
  }
  expect(journal.filter((r) => r.action === 'analyse-step').length).toBe(expectedWeights.length);

  // Green is primary at 100% behind what was the idle target group; blue's task set is gone.
  await expectSettled(world, clock, image);
  const after = await serviceState(world);
  expect(after.primary.targetGroup).toBe(before.idleTargetGroup);
  expect(after.taskSets.map((t) => t.arn)).not.toContain(before.primary.arn);
  const order = result.states.slice(result.states.indexOf('Scale blue to zero'));
  expect(order).toEqual([
    'Scale blue to zero',
    'Termination wait',
    'Delete blue',
    'Finish',
    'Rollout complete',
  ]);
  const complete = journal.find((r) => r.action === 'rollout-complete');
  const promoted = journal.find((r) => r.action === 'promote');
  expect(
    Date.parse(complete?.at.slice(0, 24) ?? '') - Date.parse(promoted?.at.slice(0, 24) ?? ''),
  ).toBeGreaterThanOrEqual(300_000);
  // Virtual time moved by every bake and the termination wait (each one Wait state).
  expect(clock.now() - started).toBeGreaterThanOrEqual((bakeTotal(strategy) + 300) * 1000);

  const r = await record(world);
  expect(r?.phase).toBe('finalized');
  const alerts = await takeAlerts(world);
  expect(alerts.map((a) => `${a.severity}:${a.kind}`).sort()).toEqual([
    'info:rollout-complete',
    'info:rollout-promoted',
    'info:rollout-started',
    // No step of all-at-once bakes: nothing can be judged, and it says so.
    ...(strategy.type === 'all-at-once' ? ['warning:rollout-blind'] : []),
  ]);
  return result;
}

function bakeTotal(strategy: Strategy): number {
  switch (strategy.type) {
    case 'all-at-once':
      return 0;
    case 'canary':
      return strategy.bakeSeconds;
    case 'linear':
      return Math.ceil(100 / strategy.stepPercent - 1) * strategy.intervalSeconds;
    case 'steps':
      return strategy.steps.reduce((s, x) => s + x.bakeSeconds, 0);
  }
}

// ------------------------------------------------------------------------------------------
// State transitions grow with the number of steps, not with bake time.

export async function transitionsDoNotGrowWithBakeTime(world: RolloutWorld) {
  const transitions: Record<string, number> = {};
  // Each plan gets traffic for its own bakes only: moto scans every datapoint per query, so
  // traffic written for runs that do not need it slows every later query of the file.
  for (const [label, strategy, hours] of [
    ['canary, 1 min bake', { type: 'canary', percent: 10, bakeSeconds: 60 }, 0.25],
    ['canary, 60 min bake', { type: 'canary', percent: 10, bakeSeconds: 3600 }, 1.1],
    ['linear 4 steps, 1 min', { type: 'linear', stepPercent: 25, intervalSeconds: 60 }, 0.25],
    // Three hours of bakes, the longest plan.
    ['linear 4 steps, 60 min', { type: 'linear', stepPercent: 25, intervalSeconds: 3600 }, 3.1],
  ] as const) {
    const clock = scenarioClock();
    await writeTraffic(world, clock, { hours });
    const result = await runRollout(
      world.stack,
      input(`registry.local/api:transitions-${Object.keys(transitions).length}`, {
        strategy,
        // A one-minute bake gives one sample per color: limits only, the comparison switched off.
        analysis: { maxErrorRate: 0.02, maxP95LatencyMs: 400, baseline: { enabled: false } },
      }) as Record<string, unknown>,
      quick(clock),
    );
    expect(result.status, `${label}: ${result.error} ${result.cause}`).toBe('SUCCEEDED');
    transitions[label] = result.transitions;
  }
  expect(transitions['canary, 60 min bake']).toBe(transitions['canary, 1 min bake']);
  expect(transitions['linear 4 steps, 60 min']).toBe(transitions['linear 4 steps, 1 min']);
  // Two more steps cost the same few states each: shift, bake, analyse, verdict, next.
  expect(
    (transitions['linear 4 steps, 1 min'] as number) - (transitions['canary, 1 min bake'] as number),
  ).toBe(2 * 5);
  await takeAlerts(world);
}
