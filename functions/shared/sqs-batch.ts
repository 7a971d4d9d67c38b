// A handler fed by an SQS queue (EventBridge rule -> queue -> Lambda) may also be invoked with a
// single event directly (console test, `ops invoke`). Both become a list of items.
import type { SQSBatchResponse } from 'aws-lambda';
import type * as z from '../../events/zod.ts';
import { InvalidInputError } from './errors.ts';
import { parseOrThrow } from './validation.ts';

export interface Item {
  id: string;
  body: unknown;
}

interface SqsRecordLike {
  messageId: string;
  body: string;
}

export function isSqsEvent(event: unknown): event is { Records: SqsRecordLike[] } {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && records.every((r) => typeof (r as SqsRecordLike)?.messageId === 'string');
}

/** A body that is not JSON stays a string, so the schema rejects it with a clear message. */
export function toItems(event: unknown): { items: Item[]; fromSqs: boolean } {
  if (isSqsEvent(event)) {
    return {
      fromSqs: true,
      items: event.Records.map((r) => ({ id: r.messageId, body: parseJson(r.body) })),
    };
  }
  const id = String((event as { id?: unknown } | null)?.id ?? 'direct');
  return { fromSqs: false, items: [{ id, body: event }] };
}

export function batchResponse(failedIds: readonly string[]): SQSBatchResponse {
  return { batchItemFailures: failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Items of a batch that failed their schema: reported per item, with the field named. */
export interface BatchRejections {
  invalid: { id: string; field: string; problem: string; received?: unknown }[];
  failedItemIds: string[];
}

/** The item's body parsed with `schema`, or undefined after recording why it was rejected. */
export function parseItem<S extends z.ZodMiniType>(
  schema: S,
  item: Item,
  rejections: BatchRejections,
): z.infer<S> | undefined {
  try {
    return parseOrThrow(schema, item.body);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    rejections.invalid.push({
      id: item.id,
      field: error.field,
      problem: error.problem,
      received: error.received,
    });
    rejections.failedItemIds.push(item.id);
    return undefined;
  }
}
