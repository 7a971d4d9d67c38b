// DynamoDB's batch calls, written once: a batch may come back with part of it unprocessed (the
// table throttled), which is retried with exponential backoff until done or out of attempts.
import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './dynamo.ts';

const KEYS_PER_GET = 100;
const ITEMS_PER_WRITE = 25;
const MAX_ATTEMPTS = 9;

const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));

/** Consistent reads of the items at `keys`, 100 per call; `what` names them in an error. */
export async function batchGetItems(
  db: Db,
  table: string,
  keys: readonly Record<string, unknown>[],
  what: string,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_GET) {
    let pending = keys.slice(i, i + KEYS_PER_GET);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(`${what}: ${pending.length} keys still unprocessed after retries`);
      const out = await db.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(out.Responses?.[table] ?? []));
      pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      if (pending.length > 0) await backoff(attempt);
    }
  }
  return found;
}

/** Puts `items`, 25 per call; `what` names them in an error. */
export async function batchPutItems(
  db: Db,
  table: string,
  items: readonly Record<string, unknown>[],
  what: string,
): Promise<void> {
  for (let i = 0; i < items.length; i += ITEMS_PER_WRITE) {
    let pending: Record<string, unknown>[] = items
      .slice(i, i + ITEMS_PER_WRITE)
      .map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(`${what}: ${pending.length} records still unprocessed after retries`);
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
      if (pending.length > 0) await backoff(attempt);
    }
  }
}
