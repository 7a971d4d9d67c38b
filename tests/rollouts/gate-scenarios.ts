// Rollout scenarios: approval gates and the inconclusive pause.
import { expect } from 'vitest';
import { answerGate } from '../../functions/shared/rollouts/operator.ts';
import { localOperatorDeps, runRollout } from '../../local/rollouts.ts';
import { nextTaskToken } from '../../local/workflow-runner.ts';
import {
  ANALYSIS,
  expectSettled,
  input,
  journalOf,
  quick,
  scenarioClock,
  shiftedWeights,
  takeAlerts,
  waitForAlert,
  waitForRecord,
  writeTraffic,
} from './scenario-support.ts';
import type { RolloutWorld } from './world.ts';

// ------------------------------------------------------------------------------------------
// Gates.

export async function rejectedApprovalRollsBack(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const run = runRollout(
    world.stack,
    input(`registry.local/api:rejected-${world.throttleRate}`, {
      approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'approve' },
    }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 30_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  const gate = await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  expect(gate.gate?.kind).toBe('before-traffic');
  // The gate's alert says what to decide and how to answer.
  const approval = await waitForAlert(world, 'rollout-approval');
  expect(approval?.nextSteps.join('\n')).toContain(`ops reject ${token.executionName}`);
  // Its own alert episode: a later gate of the same rollout is not a repeat of this one.
  expect(approval.dedupKey).toMatch(
    new RegExp(`^rollout-approval/.+/${token.executionName}/before-traffic@0%$`),
  );

  await answerGate(
    localOperatorDeps(world.stack, clock),
    token.executionName,
    'reject',
    'alice',
    'not today',
  );
  const result = await run;
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('alice rejected the rollout at the before-traffic gate: not today');
  const journal = await journalOf(world, result);
  expect(shiftedWeights(journal)).toEqual([]);
  expect(journal.find((r) => r.action === 'gate-answered')?.reason).toContain('reject by alice');
  await expectSettled(world, clock, before.primary.image);
  const alerts = await takeAlerts(world);
  expect(alerts.filter((a) => a.severity === 'critical')).toEqual([]);
  expect(alerts.map((a) => a.kind)).toContain('rollout-rolled-back');
}

/**
 * The operator's answer is claimed on the record, then its SendTaskSuccess is lost: the gate
 * times out, and the claimed answer, not the default, decides it.
 */
export async function claimedAnswerSurvivesALostCallback(world: RolloutWorld) {
  const clock = scenarioClock();
  const before = await writeTraffic(world, clock, {});
  await takeAlerts(world);
  const run = runRollout(
    world.stack,
    input(`registry.local/api:lost-answer-${world.throttleRate}`, {
      approval: { gate: 'before-traffic', timeoutSeconds: 3600, defaultAction: 'approve' },
    }) as Record<string, unknown>,
    // Long enough for the answer's claim to land under faults (a held answer is 2.8 s) before the
    // gate times out and reads the record.
    { clock, taskTokenTimeoutMs: 8_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  const lost = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
  const operator = {
    ...localOperatorDeps(world.stack, clock),
    callbacks: {
      success: async () => {
        throw lost;
      },
    },
  };
  await expect(answerGate(operator, token.executionName, 'reject', 'alice', 'not today')).rejects.toBe(lost);
  const result = await run;
  expect(result.error).toBe('RolledBack');
  expect(result.cause).toContain('alice rejected the rollout at the before-traffic gate: not today');
  const journal = await journalOf(world, result);
  expect(journal.find((r) => r.action === 'gate-answered')?.reason).toContain('reject by alice');
  expect(journal.map((r) => r.action)).not.toContain('gate-timed-out');
  expect(shiftedWeights(journal)).toEqual([]);
  await expectSettled(world, clock, before.primary.image);
  await takeAlerts(world);
}

export async function timedOutApprovalTakesDefault(world: RolloutWorld) {
  // Default approve: nobody answers the finalize gate, the rollout completes.
  let clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const approveImage = `registry.local/api:default-approve-${world.throttleRate}`;
  const approved = await runRollout(
    world.stack,
    input(approveImage, {
      approval: { gate: 'before-finalize', timeoutSeconds: 900, defaultAction: 'approve' },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(approved.status).toBe('SUCCEEDED');
  const approvedJournal = await journalOf(world, approved);
  expect(approvedJournal.find((r) => r.action === 'gate-timed-out')?.reason).toContain(
    'before-finalize gate: approve',
  );
  await expectSettled(world, clock, approveImage);

  // Default reject: nobody answers the traffic gate, the rollout goes back before any traffic.
  clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const rejected = await runRollout(
    world.stack,
    input(`registry.local/api:default-reject-${world.throttleRate}`, {
      approval: { gate: 'before-traffic', timeoutSeconds: 900, defaultAction: 'reject' },
    }) as Record<string, unknown>,
    quick(clock),
  );
  expect(rejected.error).toBe('RolledBack');
  expect(rejected.cause).toContain('timed out after 900s; default action: reject');
  expect(shiftedWeights(await journalOf(world, rejected))).toEqual([]);
  await expectSettled(world, clock, approveImage);
  await takeAlerts(world);
}

export async function inconclusivePausesForAHuman(world: RolloutWorld) {
  const clock = scenarioClock();
  await writeTraffic(world, clock, {});
  const image = `registry.local/api:inconclusive-${world.throttleRate}`;
  const run = runRollout(
    world.stack,
    input(image, {
      // Three minutes give three samples per color; ten are asked for.
      strategy: { type: 'canary', percent: 10, bakeSeconds: 180 },
      analysis: { ...ANALYSIS, baseline: { enabled: true, minSamples: 10 } },
      // No window: the only wait that needs an answer is the inconclusive gate.
      rollbackWindowSeconds: 0,
    }) as Record<string, unknown>,
    { clock, taskTokenTimeoutMs: 30_000 },
  );
  const token = await nextTaskToken({ stateName: 'Wait for approval', timeoutMs: 30_000 });
  const paused = await waitForRecord(world, token.executionName, (r) => r.gate?.token === token.token);
  expect(paused.gate?.kind).toBe('inconclusive');
  expect(paused.verdicts.at(-1)?.verdict).toBe('inconclusive');
  await answerGate(localOperatorDeps(world.stack, clock), token.executionName, 'approve', 'bob');
  const result = await run;
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  const journal = await journalOf(world, result);
  expect(journal.find((r) => r.action === 'gate-answered')?.reason).toContain(
    'inconclusive gate: approve by bob',
  );
  await expectSettled(world, clock, image);
  await takeAlerts(world);
}
