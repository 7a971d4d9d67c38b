// What Lambda's SQS event source mapping does, done locally against the emulator: receive a
// batch, invoke the handler with an SQS event, delete what succeeded, hand back what failed.
// Failed messages become visible again at once (time compressed), so redrive to the
// dead-letter queue after maxReceiveCount happens in the emulator, as it would on AWS.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsClient } from '../functions/shared/clients.ts';
import type { EventSourceMapping } from './deploy.ts';

export interface PollResult {
  batches: number;
  delivered: number;
  failed: number;
  errors: string[];
}

export async function receiveBatch(queueUrl: string, batchSize: number): Promise<Message[]> {
  const sqs = awsClient(SQSClient);
  const batch: Message[] = [];
  while (batch.length < batchSize) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, batchSize - batch.length),
        MessageSystemAttributeNames: ['All'],
        VisibilityTimeout: 30,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    batch.push(...messages);
  }
  return batch;
}

export function toSqsEvent(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId as string,
      receiptHandle: m.ReceiptHandle as string,
      body: m.Body ?? '',
      attributes: (m.Attributes ?? {}) as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
    })),
  };
}

/** Polls until the queue is empty (or maxBatches), invoking `invoke` once per batch. */
export async function drainEventSource(
  mapping: EventSourceMapping,
  invoke: (event: SQSEvent) => Promise<unknown>,
  opts: { maxBatches?: number } = {},
): Promise<PollResult> {
  const sqs = awsClient(SQSClient);
  const result: PollResult = { batches: 0, delivered: 0, failed: 0, errors: [] };
  const maxBatches = opts.maxBatches ?? 100;
  while (result.batches < maxBatches) {
    const messages = await receiveBatch(mapping.queueUrl, mapping.batchSize);
    if (messages.length === 0) break;
    result.batches++;
    let failedIds: Set<string>;
    try {
      const response = (await invoke(toSqsEvent(messages, mapping.queueArn))) as SQSBatchResponse | undefined;
      failedIds = new Set(
        mapping.reportBatchItemFailures
          ? (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier)
          : [],
      );
    } catch (error) {
      // A thrown error fails the whole batch, as on AWS.
      result.errors.push(`${(error as Error).name}: ${(error as Error).message}`);
      failedIds = new Set(messages.map((m) => m.MessageId as string));
    }
    const ok = messages.filter((m) => !failedIds.has(m.MessageId as string));
    const bad = messages.filter((m) => failedIds.has(m.MessageId as string));
    result.delivered += ok.length;
    result.failed += bad.length;
    for (let i = 0; i < ok.length; i += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: mapping.queueUrl,
          Entries: ok
            .slice(i, i + 10)
            .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
    for (let i = 0; i < bad.length; i += 10) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: mapping.queueUrl,
          Entries: bad.slice(i, i + 10).map((m, j) => ({
            Id: String(j),
            ReceiptHandle: m.ReceiptHandle as string,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }
  return result;
}
