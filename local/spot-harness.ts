// Drives the spot capability the way AWS would: events are put on the emulator's event bus,
// the deployed rules route them to the queue, and the queue's event source invokes the handler.
// The handler raises alerts onto the alert queue, whose event source runs the alert router: one
// process() runs every event source of the stack until all queues are quiet (local/event-sources.ts).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Clock } from '../functions/shared/clock.ts';
import type { DeployedStack, EventSourceMapping } from './deploy.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from './emulator.ts';
import { emptyPollResult, eventSources } from './event-sources.ts';
import { type LocalFunction, localFunction } from './lambda-host.ts';
import { observerClient } from './observer.ts';
import { REPO_ROOT } from './python-env.ts';
import type { PollResult } from './sqs-event-source.ts';

export const SAMPLE_INSTANCE_ID = 'i-1234567890abcdef0';

export type SampleName =
  | 'ec2-spot-instance-interruption-warning'
  | 'ec2-instance-rebalance-recommendation'
  | 'ecs-task-state-change-fargate-spot-interruption'
  | 'autoscaling-launch-unsuccessful'
  | 'fis-experiment-state-change';

/** A sample event as AWS documents it, with the sample instance id swapped for a seeded one. */
export function sampleEvent(name: SampleName, instanceId?: string): Record<string, unknown> {
  const folder = name.startsWith('ecs-task') ? 'constructed' : 'aws';
  const text = readFileSync(join(REPO_ROOT, 'events', 'samples', folder, `${name}.json`), 'utf8');
  return JSON.parse(instanceId ? text.split(SAMPLE_INSTANCE_ID).join(instanceId) : text);
}

/**
 * A Fargate Spot reclaim of one of a service's tasks, as ECS sends it on the two-minute notice
 * (AWS's sample shape, with a task of its own), at `at`.
 */
export function fargateSpotReclaim(cluster: string, service: string, at: number): Record<string, unknown> {
  const sample = sampleEvent('ecs-task-state-change-fargate-spot-interruption');
  const arn = (kind: string, name: string) =>
    `arn:aws:ecs:${EMULATOR_REGION}:${EMULATOR_ACCOUNT_ID}:${kind}/${name}`;
  const taskArn = arn('task', `${cluster}/${randomUUID().replaceAll('-', '')}`);
  return {
    ...sample,
    id: randomUUID(),
    time: new Date(at).toISOString(),
    resources: [taskArn],
    detail: {
      ...(sample.detail as Record<string, unknown>),
      clusterArn: arn('cluster', cluster),
      taskArn,
      group: `service:${service}`,
    },
  };
}

/** Puts events on the default bus, as EC2 and ECS do; the stack's rules decide where they go. */
export async function putEvents(events: Record<string, unknown>[]): Promise<void> {
  // AWS emitting its events, not the code under test: past any fault proxy (a PutEvents retried
  // after a lost answer would emit each event again, as a second event).
  const bus = observerClient(EventBridgeClient);
  for (let i = 0; i < events.length; i += 10) {
    const out = await bus.send(
      new PutEventsCommand({
        Entries: events.slice(i, i + 10).map((e) => ({
          Source: String(e.source),
          DetailType: String(e['detail-type']),
          Detail: JSON.stringify(e.detail),
          Resources: (e.resources as string[] | undefined) ?? [],
          ...(e.time ? { Time: new Date(String(e.time)) } : {}),
        })),
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
  }
}

export function spotMapping(stack: DeployedStack): EventSourceMapping {
  const mapping = stack.eventSourceMappings.find((m) => m.functionName === 'spot-interruption');
  if (!mapping) throw new Error('the stack has no event source mapping for spot-interruption');
  return mapping;
}

/** Sends exact copies of events straight to the queue: EventBridge's at-least-once duplicates. */
export async function enqueueRaw(stack: DeployedStack, events: unknown[]): Promise<void> {
  const sqs = observerClient(SQSClient);
  const { queueUrl } = spotMapping(stack);
  for (let i = 0; i < events.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: events
          .slice(i, i + 10)
          .map((e, j) => ({ Id: String(j), MessageBody: typeof e === 'string' ? e : JSON.stringify(e) })),
      }),
    );
  }
}

export interface SpotHarness {
  fn: LocalFunction;
  /** Invocations so far, each with its SQS batch and what the handler returned. */
  invocations: { records: number; messageIds: string[]; response: unknown }[];
  /**
   * Runs every event source of the stack until all queues are quiet (alerts included, group
   * windows waited for); returns what the spot-interruption function's event source did.
   */
  process(opts?: { waitForDelayed?: boolean }): Promise<PollResult>;
  /** Called after each invocation, before its failed items go back to the queue (a test's hook). */
  afterInvoke?: () => void;
}

export async function spotHarness(
  stack: DeployedStack,
  opts: { clock?: Clock; bundled?: boolean; clocks?: Record<string, Clock> } = {},
): Promise<SpotHarness> {
  const fn = await localFunction(stack, 'spot-interruption', opts);
  const invocations: SpotHarness['invocations'] = [];
  const harness: SpotHarness = {
    fn,
    invocations,
    process: async (runOpts = {}) =>
      (await sources.run(runOpts)).byFunction['spot-interruption'] ?? emptyPollResult(),
  };
  const sources = eventSources(stack, {
    ...opts,
    onInvoke: (name, event, response) => {
      if (name === 'spot-interruption')
        invocations.push({
          records: event.Records.length,
          messageIds: event.Records.map((r) => r.messageId),
          response,
        });
      harness.afterInvoke?.();
    },
  });
  return harness;
}
