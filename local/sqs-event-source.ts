// What Lambda's SQS event source mapping does, done locally against the emulator: receive a
// batch, invoke the handler with an SQS event, delete what succeeded, hand back what failed.
// Failed messages become visible again at once (time compressed), so redrive to the
// dead-letter queue after maxReceiveCount happens in the emulator, as it would on AWS.
// The poller is part of Lambda, not of the code under test: its calls go to the emulator past any
// fault proxy (a lost receive would hide a batch for the whole visibility timeout).
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { EventSourceMapping } from './deploy.ts';
import { checkPolling } from './iam-enforcement.ts';
import { observerClient } from './observer.ts';

export interface PollResult {
  batches: number;
  delivered: number;
  failed: number;
  errors: string[];
}

export async function receiveBatch(queueUrl: string, batchSize: number): Promise<Message[]> {
  const sqs = observerClient(SQSClient);
  const batch: Message[] = [];
  while (batch.length < batchSize) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, batchSize - batch.length),
        MessageSystemAttributeNames: ['All'],
        // No override: Lambda's poller hides a batch for the queue's own visibility timeout. A
        // shorter one here handed a slow storm batch to a second invocation while the first was
        // still draining it.
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

/**
 * Batches of one queue in flight at once: Lambda's SQS event source starts with five concurrent
 * invocations for a standard queue (and scales up from there), or fewer when the mapping sets a
 * maximum concurrency.
 */
export const DEFAULT_SQS_CONCURRENCY = 5;

/**
 * Polls until the queue is empty (or maxBatches), invoking `invoke` once per batch, with up to
 * `concurrency` batches in flight, as Lambda runs them: each poller receives, invokes, deletes
 * what succeeded and releases what failed, on its own. It stops only when no poller holds a
 * batch and the queue answers empty, so a batch released by one poller is picked up by another.
 */
export async function drainEventSource(
  mapping: EventSourceMapping,
  invoke: (event: SQSEvent) => Promise<unknown>,
  opts: { maxBatches?: number; concurrency?: number } = {},
): Promise<PollResult> {
  const result: PollResult = { batches: 0, delivered: 0, failed: 0, errors: [] };
  // Lambda reads the queue with the function's role: a role that cannot would never be invoked.
  if (mapping.functionArn) await checkPolling(mapping.functionArn, mapping.queueArn);
  const maxBatches = opts.maxBatches ?? 100;
  const concurrency = Math.max(1, opts.concurrency ?? mapping.maximumConcurrency ?? DEFAULT_SQS_CONCURRENCY);
  // An idle poller waits for a busy one to end its batch (as Lambda's pollers long-poll) rather
  // than asking the emulator again and again; the last one to find the queue empty ends them all.
  // It looks again once a visibility timeout has passed too: a batch still running by then is
  // visible again and another poller receives it, as on AWS.
  const visibilityMs = await visibilityTimeoutMs(mapping.queueUrl);
  let busy = 0;
  let wake: () => void = () => undefined;
  let batchEnded = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const notify = () => {
    const waking = wake;
    batchEnded = new Promise<void>((resolve) => {
      wake = resolve;
    });
    waking();
  };
  // Receives take turns: moto's ReceiveMessage is not atomic, so two at once can hand out the
  // same message (SQS hides a received message from other receives). Batches still run at once.
  let receiving: Promise<unknown> = Promise.resolve();
  const receiveInTurn = (): Promise<Message[]> => {
    const next = receiving.then(() => receiveBatch(mapping.queueUrl, mapping.batchSize));
    receiving = next.catch(() => undefined);
    return next;
  };
  const poller = async () => {
    while (result.batches < maxBatches) {
      busy++;
      let messages: Message[];
      try {
        messages = await receiveInTurn();
      } catch (error) {
        busy--;
        notify();
        throw error;
      }
      if (messages.length === 0) {
        busy--;
        if (busy === 0) {
          notify();
          return;
        }
        // A batch another poller fails comes back: wait for it to end, then look again.
        await untilOrAfter(batchEnded, visibilityMs);
        continue;
      }
      result.batches++;
      try {
        await deliver(mapping, messages, invoke, result);
      } finally {
        busy--;
        notify();
      }
    }
  };
  // Every poller ends before the drain does, even when one of them failed.
  const ended = await Promise.allSettled(Array.from({ length: concurrency }, poller));
  const failed = ended.find((e): e is PromiseRejectedResult => e.status === 'rejected');
  if (failed) throw failed.reason;
  return result;
}

async function visibilityTimeoutMs(queueUrl: string): Promise<number> {
  const { Attributes } = await observerClient(SQSClient).send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }),
  );
  return Number(Attributes?.VisibilityTimeout ?? 30) * 1000;
}

/** Resolves when `event` does, or after `ms`, whichever comes first. */
async function untilOrAfter(event: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([event, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** One batch: invoke, delete what succeeded, make what failed visible again at once. */
async function deliver(
  mapping: EventSourceMapping,
  messages: Message[],
  invoke: (event: SQSEvent) => Promise<unknown>,
  result: PollResult,
): Promise<void> {
  const sqs = observerClient(SQSClient);
  let failedIds: Set<string>;
  try {
    const response = (await invoke(toSqsEvent(messages, mapping.queueArn))) as SQSBatchResponse | undefined;
    failedIds = new Set(
      mapping.reportBatchItemFailures ? (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier) : [],
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
