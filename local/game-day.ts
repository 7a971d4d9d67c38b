// AWS FIS on the rig, for game days. moto keeps FIS experiments but neither resolves targets by tag
// nor interrupts anything, so this plays FIS's part: it resolves the spot target as FIS does
// (running spot instances carrying the group's tag, PERCENT rounded down, picked at random), and
// makes the events an experiment makes, in AWS's shapes: the experiment's state changes, and for
// each target EC2's rebalance recommendation and two-minute warning, together (PT2M).
import { randomInt, randomUUID } from 'node:crypto';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { awsClient } from '../functions/shared/clients.ts';
import { GROUP_NAME_TAG } from '../infra/application/spot-game-day.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from './emulator.ts';
import { sampleEvent } from './spot-harness.ts';

/** A running spot instance of the group, where FIS would find it. */
export interface SpotTarget {
  instanceId: string;
  availabilityZone: string;
}

/** What FIS's target of the game-day template resolves to: the group's running spot instances. */
export async function runningSpotInstances(group: string): Promise<SpotTarget[]> {
  const ec2 = awsClient(EC2Client);
  const found: SpotTarget[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${GROUP_NAME_TAG}`, Values: [group] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      // The resource type aws:ec2:spot-instance: on-demand instances are never targets.
      if (instance.InstanceLifecycle !== 'spot') continue;
      found.push({
        instanceId: instance.InstanceId as string,
        availabilityZone: instance.Placement?.AvailabilityZone ?? `${EMULATOR_REGION}a`,
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return found.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

/** FIS picks the targets of a PERCENT or COUNT selection at random. */
export function pickAtRandom<T>(items: readonly T[], count: number): T[] {
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, count);
}

/** An id in FIS's format: EXP or EXT and 15 to 17 letters and digits. */
export function fisId(prefix: 'EXP' | 'EXT'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + Array.from({ length: 15 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** FIS's "FIS Experiment State Change" event (AWS's sample, with this experiment's ids and states). */
export function experimentStateChange(
  experiment: { id: string; templateId: string },
  from: string,
  to: string,
  at: number,
): Record<string, unknown> {
  const sample = sampleEvent('fis-experiment-state-change');
  const reason = (status: string) => `Experiment is ${status}.`;
  return {
    ...sample,
    id: randomUUID(),
    time: new Date(at).toISOString(),
    account: EMULATOR_ACCOUNT_ID,
    region: EMULATOR_REGION,
    resources: [`arn:aws:fis:${EMULATOR_REGION}:${EMULATOR_ACCOUNT_ID}:experiment/${experiment.id}`],
    detail: {
      'experiment-id': experiment.id,
      'experiment-template-id': experiment.templateId,
      'new-state': { status: to, reason: reason(to) },
      'old-state': { status: from, reason: reason(from) },
    },
  };
}

/**
 * What EC2 sends for one target of aws:ec2:send-spot-instance-interruptions with PT2M: the
 * rebalance recommendation at once and the two-minute warning with it (AWS's samples, this
 * instance, this time, each its own event id).
 */
export function interruptionEvents(target: SpotTarget, at: number): Record<string, unknown>[] {
  const time = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return (['ec2-instance-rebalance-recommendation', 'ec2-spot-instance-interruption-warning'] as const).map(
    (name) => ({
      ...sampleEvent(name, target.instanceId),
      id: randomUUID(),
      time,
      account: EMULATOR_ACCOUNT_ID,
      region: EMULATOR_REGION,
      resources: [`arn:aws:ec2:${EMULATOR_REGION}:${EMULATOR_ACCOUNT_ID}:instance/${target.instanceId}`],
    }),
  );
}
