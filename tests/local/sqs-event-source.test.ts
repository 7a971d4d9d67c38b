// The rig's stand-in for Lambda's SQS event source mapping, held to what Lambda does: several
// batches of one queue in flight at once, partial batch responses, redelivery of what failed,
// the dead-letter queue after maxReceiveCount, and a batch that outlives the queue's visibility
// timeout received again by another poller.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EventSourceMapping } from '../../local/deploy.ts';
import { observerClient } from '../../local/observer.ts';
import { drainEventSource } from '../../local/sqs-event-source.ts';
import { useEmulator } from '../support/emulator.ts';

const emulator = useEmulator();
const sqs = () => observerClient(SQSClient);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function queueWithDlq(
  name: string,
  visibilityTimeout = 30,
): Promise<{ mapping: EventSourceMapping; dlq: string }> {
  const dlq = (await sqs().send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl as string;
  const dlqArn = (
    await sqs().send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn as string;
  const url = (
    await sqs().send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(visibilityTimeout),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
        },
      }),
    )
  ).QueueUrl as string;
  const arn = (
    await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn as string;
  return {
    dlq,
    mapping: {
      functionName: 'consumer',
      functionArn: '',
      queueUrl: url,
      queueArn: arn,
      batchSize: 2,
      reportBatchItemFailures: true,
    },
  };
}

async function send(queueUrl: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs().send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
      }),
    );
  }
}

/** An invoke that records every body it was given and how many batches ran at once. */
function recorder(handle: (body: string, receiveCount: number) => 'ok' | 'fail' = () => 'ok', ms = 40) {
  const seen: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const invoke = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    try {
      await sleep(ms);
      const failed = event.Records.filter((r) => {
        seen.push(r.body);
        return handle(r.body, Number(r.attributes.ApproximateReceiveCount)) === 'fail';
      });
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
    } finally {
      inFlight--;
    }
  };
  return { invoke, seen, mostInFlight: () => mostInFlight };
}

beforeEach(() => emulator.reset());

describe("Lambda's SQS event source on the rig", () => {
  it('runs five batches of a queue at once, or the maximum concurrency the mapping sets, each message once', async () => {
    const { mapping } = await queueWithDlq('storm');
    const bodies = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await send(mapping.queueUrl, bodies);
    // Each batch takes 300 ms, far longer than the pollers' turns to receive: the fifth batch is
    // received while the first still runs, even on a busy machine.
    const five = recorder(undefined, 300);
    const result = await drainEventSource(mapping, five.invoke);
    expect(five.mostInFlight()).toBe(5);
    // A received batch is hidden from the other pollers: no message reaches two invocations.
    expect(five.seen.sort()).toEqual([...bodies].sort());
    expect(result).toMatchObject({ delivered: 20, failed: 0, batches: 10 });

    await send(mapping.queueUrl, bodies);
    const two = recorder(undefined, 300);
    await drainEventSource({ ...mapping, maximumConcurrency: 2 }, two.invoke);
    expect(two.mostInFlight()).toBe(2);
    expect(two.seen).toHaveLength(20);
  });

  it('redelivers the items a partial batch response names, and dead-letters one after maxReceiveCount', async () => {
    const { mapping, dlq } = await queueWithDlq('partial');
    await send(mapping.queueUrl, ['ok-1', 'ok-2', 'flaky', 'poison', 'ok-3']);
    const consumer = recorder((body, receiveCount) =>
      body === 'poison' || (body === 'flaky' && receiveCount === 1) ? 'fail' : 'ok',
    );
    const result = await drainEventSource(mapping, consumer.invoke);
    const count = (body: string) => consumer.seen.filter((b) => b === body).length;
    expect([count('ok-1'), count('ok-2'), count('ok-3')]).toEqual([1, 1, 1]);
    expect(count('flaky')).toBe(2);
    expect(count('poison')).toBe(3);
    expect(result).toMatchObject({ delivered: 4, failed: 4 });
    const parked = await sqs().send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10 }));
    expect(parked.Messages?.map((m) => m.Body)).toEqual(['poison']);
  });

  it('fails the whole batch when the function throws', async () => {
    const { mapping } = await queueWithDlq('throws');
    mapping.batchSize = 10;
    await send(mapping.queueUrl, ['a', 'b', 'c']);
    let calls = 0;
    const result = await drainEventSource(mapping, async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return { batchItemFailures: [] };
    });
    expect(result.errors).toEqual(['Error: boom']);
    expect(result).toMatchObject({ failed: 3, delivered: 3 });
  });

  it('hands a batch that outlives the visibility timeout to another poller, as Lambda would', async () => {
    const { mapping } = await queueWithDlq('slow', 1);
    await send(mapping.queueUrl, ['slow']);
    const consumer = recorder(() => 'ok', 1_600);
    await drainEventSource(mapping, consumer.invoke);
    // Received again while the first invocation still ran: at-least-once, not exactly-once. (Lambda
    // refuses a mapping whose function may run longer than the queue's visibility timeout; the
    // batch here outlives it as a slow poll, batching window and function together can.)
    expect(consumer.seen.filter((b) => b === 'slow').length).toBeGreaterThanOrEqual(2);
    expect(consumer.mostInFlight()).toBeGreaterThanOrEqual(2);
  });
});
