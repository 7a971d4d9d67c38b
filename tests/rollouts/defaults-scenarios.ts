// Rollout scenarios: safe by default, with the service's defaults, never blind without saying so.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { expect } from 'vitest';
import { collectReport } from '../../cli/report/collect.ts';
import { renderReport } from '../../cli/report/render.ts';
import { rolloutInputFromFlags } from '../../cli/rollout.ts';
import type { Verdict } from '../../events/rollout-state.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import { type MinuteOfTraffic, runRollout } from '../../local/rollouts.ts';
import {
  ANALYSIS,
  env,
  expectSettled,
  input,
  journalOf,
  quick,
  record,
  SERVICE,
  scenarioClock,
  shiftedWeights,
  takeAlerts,
  writeTraffic,
} from './scenario-support.ts';
import type { RolloutWorld } from './world.ts';

// ------------------------------------------------------------------------------------------
// Safe by default: a rollout that names no analysis is still analysed, and none runs blind
// unless it says so.

/** Blue as the issue found it: 0.07% 5xx at 70 ms; green: half its requests fail, p95 2.7 s. */
const issueBlue = (minute: number): MinuteOfTraffic => ({
  requests: 905,
  errors: minute % 5 === 0 ? 1 : 0,
  latencyMs: 70,
});
const issueGreen = (): MinuteOfTraffic => ({ requests: 104, errors: 52, latencyMs: 2700 });

export async function readmeCommandRollsBackAFailingGreen(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, { live: issueBlue, next: issueGreen });
  await takeAlerts(world);
  // Exactly what `ops rollout --service api --image … --strategy canary:10:5m` starts.
  const draft = rolloutInputFromFlags(
    { service: SERVICE, image: `registry.local/api:readme-${world.throttleRate}`, strategy: 'canary:10:5m' },
    () => ({}),
  );
  expect(draft).not.toHaveProperty('analysis');
  const result = await runRollout(world.stack, draft as Record<string, unknown>, quick(clock));
  expect(result.error, `${result.status}: ${result.cause}`).toBe('RolledBack');
  expect(result.cause).toContain('green 5xx rate 50.00% (260 of 520 requests) is above its limit 1.00%');
  expect(result.cause).toContain('green p95 latency 2700 ms is above its limit 140 ms');

  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual([10]);
  const verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.verdict).toBe('fail');
  expect(verdict.limits).toMatchObject({ errorRate: 0.01, p95LatencyMs: 140 });
  expect(verdict.comparisons.map((c) => `${c.metric}:${c.verdict}`)).toEqual([
    'errorRate:fail',
    'latency:fail',
  ]);
  await expectSettled(world, clock, before.primary.image);

  const critical = (await takeAlerts(world)).filter((a) => a.severity === 'critical');
  expect(critical.map((a) => a.kind)).toEqual(['rollout-rolled-back']);
  // The verdict's numbers, green's and blue's, in the one critical alert.
  expect(critical[0]?.summary).toContain('green 5xx 50.00% (260 of 520 requests), p95 2700 ms');
  expect(critical[0]?.summary).toMatch(/blue 5xx 0\.\d\d% \(\d of 4525\), p95 70 ms/);
  return result;
}

export async function consoleInputGetsServiceDefaults(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const image = `registry.local/api:console-${world.throttleRate}`;
  // What an operator pastes in the console: the service and the image, nothing else.
  const result = await runRollout(world.stack, { service: SERVICE, image }, quick(clock));
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  const journal = await journalOf(world, result);
  const started = journal.find((r) => r.action === 'rollout-started');
  // config/rollouts/local.json: canary 10% for 5 minutes, a p95 ceiling of 1000 ms; the rest built in.
  expect(started?.details?.plan).toEqual([
    { weight: 10, bakeSeconds: 300 },
    { weight: 100, bakeSeconds: 0 },
  ]);
  expect(started?.details?.analysis).toMatchObject({
    enabled: true,
    maxP95LatencyMs: 1000,
    relativeLimits: { enabled: true },
    baseline: { enabled: true },
    noData: 'inconclusive',
  });
  expect(started?.reason).toContain('analysis on');
  const verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.verdict).toBe('pass');
  expect(verdict.limits?.basis).toContain('p95 ceiling 1000 ms');
  expect(verdict.comparisons.map((c) => c.verdict)).toEqual(['pass', 'pass']);
  // The plan in words is on the record, for --watch and the report.
  const r = await record(world);
  expect(r?.plan.blind).toBe(false);
  expect(r?.plan.analysis).toContain("green p95 latency at most max(50 ms, 2x blue's) and 1000 ms");
  // The window came from the service's defaults too (600 s, not the built-in 900 s).
  const final = result.output as {
    rollout: { rollbackWindowSeconds: number; terminationWaitSeconds: number };
  };
  expect(final.rollout).toMatchObject({ rollbackWindowSeconds: 600, terminationWaitSeconds: 300 });
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}

export async function blindRolloutIsLabelled(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, { live: issueBlue, next: issueGreen });
  await takeAlerts(world);
  const image = `registry.local/api:blind-${world.throttleRate}`;
  const draft = rolloutInputFromFlags(
    { service: SERVICE, image, strategy: 'canary:10:5m', 'no-analysis': true },
    () => ({}),
  );
  expect(draft.analysis).toEqual({ enabled: false });
  const result = await runRollout(world.stack, draft as Record<string, unknown>, quick(clock));
  // Asked for: the failing green is promoted, and everybody can see it ran blind.
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  const journal = await journalOf(world, result);
  expect(journal.find((r) => r.action === 'rollout-started')?.reason).toContain(
    'analysis OFF (a blind rollout)',
  );
  const off = journal.find((r) => r.action === 'analysis-off');
  expect(off?.reason).toMatch(
    /started \S+ blind \(analysis.enabled is false\): no metric of green is judged/,
  );
  const verdicts = journal
    .filter((r) => r.action === 'analyse-step')
    .map((r) => r.details?.verdict as Verdict);
  expect(verdicts.map((v) => v.verdict)).toEqual(['pass', 'pass']);
  expect(verdicts[0]?.reasons).toContain(
    'analysis is off (a blind rollout): no metric was judged, only alarms',
  );
  expect(verdicts[0]?.green).toBeUndefined();
  const r = await record(world);
  expect(r?.plan.blind).toBe(true);
  expect(r?.plan.analysis?.[0]).toBe(
    'analysis OFF: a blind rollout (analysis.enabled is false); only alarms are checked',
  );
  const alerts = await takeAlerts(world);
  const blind = alerts.filter((a) => a.kind === 'rollout-blind');
  expect(blind.map((a) => a.severity)).toEqual(['warning']);
  expect(blind[0]?.title).toContain('Blind rollout of web/api: analysis is off');
  // The report says so, in its banner, its facts and what the analysis judged.
  const data = await collectReport(
    { db: documentClient(), cloudwatch: awsClient(CloudWatchClient) },
    { journal: env(world).JOURNAL_TABLE as string, operations: env(world).OPERATIONS_TABLE as string },
    result.executionName,
  );
  expect(data.analysis.blind).toBe(true);
  const page = renderReport(data);
  expect(page).toContain('Blind rollout: analysis was switched off');
  expect(page).toContain('OFF: blind rollout');
  expect(page).toContain(
    'analysis OFF: a blind rollout (analysis.enabled is false); only alarms are checked',
  );
  await expectSettled(world, clock, image);
  return result;
}

export async function noDataIsNotAPass(world: RolloutWorld) {
  // Green gets no requests at all: by default a human decides; nobody answers, so it goes back.
  let clock = scenarioClock();
  const before = await writeTraffic(world, clock, {
    next: () => ({ requests: 0, errors: 0, latencyMs: 0 }),
  });
  const silent = await runRollout(
    world.stack,
    input(`registry.local/api:no-data-${world.throttleRate}`, { rollbackWindowSeconds: 0 }) as Record<
      string,
      unknown
    >,
    quick(clock),
  );
  expect(silent.error, `${silent.status}: ${silent.cause}`).toBe('RolledBack');
  expect(silent.states).toContain('Gate: inconclusive verdict');
  let journal = await journalOf(world, silent);
  let verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.verdict).toBe('inconclusive');
  expect(verdict.reasons.join('; ')).toContain(
    'green received no requests in the bake window: nothing to judge, so a human decides',
  );
  expect(journal.find((r) => r.action === 'gate-timed-out')?.reason).toContain('inconclusive gate: reject');
  await expectSettled(world, clock, before.primary.image);

  // noData: fail rolls back at once; noData: pass goes on, and says why.
  clock = scenarioClock();
  await writeTraffic(world, clock, { next: () => ({ requests: 0, errors: 0, latencyMs: 0 }) });
  const failed = await runRollout(
    world.stack,
    input(`registry.local/api:no-data-fail-${world.throttleRate}`, {
      analysis: { ...ANALYSIS, noData: 'fail' },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(failed.error).toBe('RolledBack');
  expect(failed.cause).toContain('nothing to judge, and analysis.noData is fail');
  expect(failed.states).not.toContain('Gate: inconclusive verdict');
  await expectSettled(world, clock, before.primary.image);

  clock = scenarioClock();
  await writeTraffic(world, clock, { next: () => ({ requests: 0, errors: 0, latencyMs: 0 }) });
  const image = `registry.local/api:no-data-pass-${world.throttleRate}`;
  const passed = await runRollout(
    world.stack,
    input(image, { analysis: { ...ANALYSIS, noData: 'pass' } }) as Record<string, unknown>,
    quick(clock),
  );
  expect(passed.status, `${passed.error}: ${passed.cause}`).toBe('SUCCEEDED');
  journal = await journalOf(world, passed);
  verdict = journal.find((r) => r.action === 'analyse-step')?.details?.verdict as Verdict;
  expect(verdict.reasons.join('; ')).toContain('passed because analysis.noData is pass');
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}
