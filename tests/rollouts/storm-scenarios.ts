// Rollout scenarios: a spot storm pauses a rollout instead of failing it, for a bounded time.
import { ECSClient, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { observerClient } from '../../local/observer.ts';
import { runRollout } from '../../local/rollouts.ts';
import { sampleEvent } from '../../local/spot-harness.ts';
import { drainEventSource } from '../../local/sqs-event-source.ts';
import type { VirtualClock } from '../../local/virtual-clock.ts';
import {
  CLUSTER,
  expectSettled,
  healthy,
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
// Spot storms pause a rollout instead of failing it: the storm is real, handled by the deployed
// spot-interruption function (it drains the instances and counts the interruptions per minute).

async function spotStorm(world: RolloutWorld, clock: VirtualClock, instances: number[]): Promise<string[]> {
  const spot = world.seed.containerInstances.filter((c) => c.spot);
  const hit = instances.map((i) => spot[i] as (typeof spot)[number]);
  // The warnings reach the function as EventBridge delivers them, on its queue, through Lambda's
  // event source: what the handler fails (or a batch it throws on, under faults) comes back.
  const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'spot-interruption');
  if (!mapping) throw new Error('the stack maps no queue to spot-interruption');
  await observerClient(SQSClient).send(
    new SendMessageBatchCommand({
      QueueUrl: mapping.queueUrl,
      Entries: hit.map((c, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify(sampleEvent('ec2-spot-instance-interruption-warning', c.ec2InstanceId)),
      })),
    }),
  );
  const fn = await localFunction(world.stack, 'spot-interruption', { clock });
  const delivered = await drainEventSource(mapping, (event) => fn.invoke(event));
  expect(delivered.delivered, delivered.errors.join('; ')).toBe(hit.length);
  return hit.map((c) => c.containerInstanceArn);
}

/** The storm is over: the drained instances serve again (the next scenarios need the room). */
async function afterTheStorm(containerInstances: string[]) {
  await awsClient(ECSClient).send(
    new UpdateContainerInstancesStateCommand({ cluster: CLUSTER, containerInstances, status: 'ACTIVE' }),
  );
}

const rolloutAlerts = async (world: RolloutWorld) =>
  (await takeAlerts(world))
    .filter((a) => a.kind.startsWith('rollout-'))
    .map((a) => `${a.severity}:${a.kind}:${a.state}`);

export async function spotStormPausesThenResumes(world: RolloutWorld) {
  const clock = scenarioClock();
  const t0 = clock.now();
  // Green's 5xx come with the storm: 12% in its first four minutes, healthy from then on.
  const before = await writeTraffic(world, clock, {
    next: (minute, at) =>
      at + 30_000 < t0 + 4 * 60_000 ? { requests: 1000, errors: 120, latencyMs: 50 } : healthy(minute),
  });
  const drained = await spotStorm(world, clock, [0, 1, 2]);
  await takeAlerts(world);
  try {
    const image = `registry.local/api:storm-resumes-${world.throttleRate}`;
    const started = clock.now();
    const result = await runRollout(world.stack, input(image) as Record<string, unknown>, quick(clock));
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');

    const journal = await journalOf(world, result);
    const actions = journal.map((r) => r.action);
    // The first bake would have failed; the rollout held 10%, baked again, and went on.
    expect(actions.filter((a) => a === 'spot-storm-pause')).toHaveLength(1);
    expect(shiftedWeights(journal)).toEqual([10, 100]);
    const pause = journal.find((r) => r.action === 'spot-storm-pause');
    // Most of the first bake fell into the storm's minutes (how many depends on the minute edges).
    expect(pause?.reason).toMatch(
      /green 5xx rate \d+\.\d\d% \(\d+ of \d+ requests\) is above its limit 1\.00%/,
    );
    expect(pause?.reason).toContain(
      'paused for a spot storm: 3 spot interruption(s) on cluster web in the last 10 min',
    );
    expect(pause?.details).toMatchObject({ holdSeconds: 300, storm: { interruptions: 3, storming: true } });
    const shiftAt = (weight: number) =>
      journal.findIndex(
        (r) => r.action === 'shift-traffic' && (r.after as { green: number }).green === weight,
      );
    const pauseAt = actions.indexOf('spot-storm-pause');
    const resumeAt = actions.indexOf('spot-storm-pause-ended');
    expect(shiftAt(10)).toBeLessThan(pauseAt);
    expect(pauseAt).toBeLessThan(resumeAt);
    expect(resumeAt).toBeLessThan(shiftAt(100));
    expect(journal[resumeAt]?.reason).toContain('step 1 at 10% is now pass');
    expect(result.states.filter((s) => s === 'Hold for the spot storm')).toHaveLength(1);
    // Virtual time: the bake, the hold (a second bake) and the termination wait.
    expect(clock.now() - started).toBeGreaterThanOrEqual((300 + 300 + 300) * 1000);
    expect((await record(world))?.verdicts.map((v) => v.verdict)).toEqual(['paused', 'pass', 'pass']);

    await expectSettled(world, clock, image);
    expect((await serviceState(world)).primary.targetGroup).toBe(before.idleTargetGroup);
    expect((await rolloutAlerts(world)).sort()).toEqual([
      'info:rollout-complete:resolved',
      'info:rollout-paused:resolved',
      'info:rollout-promoted:firing',
      'info:rollout-started:firing',
      'warning:rollout-paused:firing',
    ]);
  } finally {
    await afterTheStorm(drained);
  }
}

export async function spotStormPauseIsBounded(world: RolloutWorld) {
  const stormy = { enabled: true, minInterruptions: 3, windowMinutes: 60, maxPauseSeconds: 600 };
  const bad = () => ({ requests: 1000, errors: 120, latencyMs: 50 });

  // The storm lasts longer than the rollout may hold: after 600 s of holds the verdict stands.
  let clock = scenarioClock();
  let before = await writeTraffic(world, clock, { next: bad });
  const drained = await spotStorm(world, clock, [3, 4, 5]);
  await takeAlerts(world);
  try {
    const held = await runRollout(
      world.stack,
      input(`registry.local/api:storm-bounded-${world.throttleRate}`, { spotStorm: stormy }) as Record<
        string,
        unknown
      >,
      quick(clock),
    );
    expect(held.error).toBe('RolledBack');
    expect(held.cause).toContain('green 5xx rate 12.00%');
    expect(held.cause).toContain(
      'the rollout already held 600s of at most 600s for spot storms: the verdict stands',
    );
    const journal = await journalOf(world, held);
    expect(journal.filter((r) => r.action === 'spot-storm-pause')).toHaveLength(2);
    expect(shiftedWeights(journal)).toEqual([10]);
    expect(journal.find((r) => r.action === 'restore-blue')?.after).toEqual({ blue: 100, green: 0 });
    expect(held.states.filter((s) => s === 'Hold for the spot storm')).toHaveLength(2);
    await expectSettled(world, clock, before.primary.image);
    expect((await rolloutAlerts(world)).sort()).toEqual([
      'critical:rollout-rolled-back:firing',
      'info:rollout-paused:resolved',
      'info:rollout-started:firing',
      'warning:rollout-paused:firing',
    ]);

    // The same storm with spotStorm.enabled false: the failing verdict rolls back at once.
    // (The same instances, serving again; their episodes expired in the six hours between.)
    await afterTheStorm(drained);
    clock = scenarioClock();
    before = await writeTraffic(world, clock, { next: bad });
    await spotStorm(world, clock, [3, 4, 5]);
    const unheld = await runRollout(
      world.stack,
      input(`registry.local/api:storm-ignored-${world.throttleRate}`, {
        spotStorm: { ...stormy, enabled: false },
      }) as Record<string, unknown>,
      quick(clock),
    );
    expect(unheld.error).toBe('RolledBack');
    expect(unheld.states).not.toContain('Hold for the spot storm');
    expect((await journalOf(world, unheld)).filter((r) => r.action === 'spot-storm-pause')).toEqual([]);
    await expectSettled(world, clock, before.primary.image);
    await takeAlerts(world);
  } finally {
    await afterTheStorm(drained);
  }
}
